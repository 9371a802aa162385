#!/usr/bin/env bash
# Operations, end to end in namespaces: sd_notify (READY without any peer, STATUS, RELOADING,
# WATCHDOG, STOPPING) read from a datagram socket as systemd would, and the metrics and health
# endpoints scraped with curl while real events change them.
# Usage: ops_test.sh path/to/shoal
SHOAL=$(realpath "$1")
source "$(dirname "$0")/lib.sh"
M=127.0.0.1:9477  # each host namespace has its own loopback
scrape() { on "$1" curl -s "http://$M/metrics"; }
# metric N NAME_WITH_LABELS: its value on host N (empty when absent).
metric() { scrape "$1" | awk -v m="$2" '$1 == m {print $2}'; }
http_code() { on "$1" curl -s -o /dev/null -w '%{http_code}' "http://$M/$2"; }
metric_is() { [ "$(metric "$1" "$2")" = "$3" ]; }
metric_above() { local v; v=$(metric "$1" "$2"); [ -n "$v" ] && [ "$v" -gt "$3" ]; }
notified() { grep -q "$1" "$E2E_DIR/notify.log"; }

e2e_switch
for n in 1 2; do add_host $n; done

# The notification socket systemd would hold; socat prints each datagram it receives.
socat -u UNIX-RECV:"$E2E_DIR/notify.sock" - > "$E2E_DIR/notify.log" 2>&1 &
E2E_PID[socat]=$!
wait_for 5 test -S "$E2E_DIR/notify.sock" >/dev/null

# h2 starts first: its only seed (h1) is down, so no peer is reachable.
# (Its leave is spread over ~4 s, many times the once-a-second publish: see the SIGINT check.)
NOTIFY_SOCKET="$E2E_DIR/notify.sock" WATCHDOG_USEC=1000000 start_agent 2 --metrics "$M" \
    --retransmit-mult 30 --leave-timeout 5s
ms=$(wait_for 10 notified READY=1)
check "READY=1 arrives with no peer reachable (${ms:-never} ms)" test -n "$ms"
check "the control socket answers once READY=1 has come" shoal_at 2 status
check "READY=1 carries a STATUS line for humans" notified "STATUS=1 members alive"
check "healthz is 200 while the loop runs" test "$(http_code 2 healthz)" = 200
check "readyz is 503 before the first full state exchange" test "$(http_code 2 readyz)" = 503
check "readyz says why it is not ready" bash -c "ip netns exec $(host 2) curl -s http://$M/readyz | grep -q 'state exchange'"
check "metrics: one member alive (itself)" metric_is 2 'shoal_members{state="alive"}' 1
check "metrics: Prometheus content type 0.0.4" bash -c "ip netns exec $(host 2) curl -sI http://$M/metrics | grep -qi 'content-type: text/plain; version=0.0.4'"
check "metrics: build info" bash -c "ip netns exec $(host 2) curl -s http://$M/metrics | grep -q '^shoal_build_info{version=\"[0-9.]*\",profile=\"fast\"} 1'"
check "metrics: keyring size 1" metric_is 2 shoal_keyring_keys 1
ms=$(wait_for 5 notified WATCHDOG=1)
check "watchdog pings come when WATCHDOG_USEC is set (${ms:-never} ms)" test -n "$ms"
installed0=$(metric 2 shoal_routes_installed_total)

# h1 comes up: h2 joins, takes its subnet, installs a route.
start_agent 1 --metrics "$M"
ms=$(wait_for 10 metric_is 2 'shoal_members{state="alive"}' 2)
check "metrics: members alive 1 -> 2 after a peer joins (${ms:-never} ms)" test -n "$ms"
ready200() { [ "$(http_code 2 readyz)" = 200 ]; }
ms=$(wait_for 10 ready200)
check "readyz 503 -> 200 once synced, subnet owned and subnet.env written (${ms:-never} ms)" test -n "$ms"
check "readyz is 200 at once on a lone first node" wait_for 5 bash -c "[ \$(ip netns exec $(host 1) curl -s -o /dev/null -w '%{http_code}' http://$M/readyz) = 200 ]"
sub2=$(sed -n 's/^FLANNEL_SUBNET=\(.*\)\.1\/\(.*\)/\1.0\/\2/p' "$E2E_DIR/h2/subnet.env")
check "metrics: the subnet owned" metric_is 2 "shoal_subnet_owned{subnet=\"$sub2\"}" 1
ms=$(wait_for 10 metric_above 2 shoal_routes_installed_total "$installed0")
check "metrics: routes installed increments ($installed0 -> $(metric 2 shoal_routes_installed_total))" test -n "$ms"
check "STATUS follows the membership" wait_for 5 notified "STATUS=2 members alive, subnet $sub2"
check "metrics: datagrams and bytes flow both ways" bash -c "
    for m in datagrams_in_total datagrams_out_total bytes_in_total bytes_out_total; do
        v=\$(ip netns exec $(host 2) curl -s http://$M/metrics | awk -v m=shoal_\$m '\$1 == m {print \$2}')
        [ \"\${v:-0}\" -gt 0 ] || exit 1
    done"
check "metrics: probes are being sent" wait_for 5 metric_above 2 shoal_probes_sent_total 0

# Garbage UDP at h2's gossip port is counted as rejected.
garbage() { sum=0; for r in truncated oversized newer_version older_version unauthenticated malformed; do
    v=$(metric 2 "shoal_datagrams_rejected_total{reason=\"$r\"}"); sum=$((sum + ${v:-0})); done; echo $sum; }
before=$(garbage)
for _ in 1 2 3; do on 1 bash -c "printf 'not a shoal datagram at all' > /dev/udp/$SEGMENT.2/7946"; done
more_garbage() { [ "$(garbage)" -ge $((before + 3)) ]; }
ms=$(wait_for 5 more_garbage)
check "metrics: rejected datagrams increase after garbage UDP ($before -> $(garbage))" test -n "$ms"
check "status shows the rejected datagrams" shows 2 '^rejected datagrams [a-z_]* [0-9]' status

# A route deleted by hand and put back counts as restored.
restored0=$(metric 2 shoal_routes_restored_total)
sub1=$(sed -n 's/^FLANNEL_SUBNET=\(.*\)\.1\/\(.*\)/\1.0\/\2/p' "$E2E_DIR/h1/subnet.env")
on 2 ip route del "$sub1"
ms=$(wait_for 5 metric_above 2 shoal_routes_restored_total "$restored0")
check "metrics: a route deleted by hand counts as restored (${ms:-never} ms)" test -n "$ms"

# SIGHUP: RELOADING=1, then READY=1 again.
kill -HUP "${E2E_PID[2]}"
reloaded() { grep -A3 RELOADING=1 "$E2E_DIR/notify.log" | grep -q READY=1; }
check "SIGHUP sends RELOADING=1 and then READY=1" wait_for 5 reloaded

# Settings: a wrong value exits 2 naming the setting; a port in use exits 1 naming it.
on 1 "$SHOAL" agent --metrics localhost:http --iface eth0 --network "$NETWORK" \
    --cluster-key-file "$E2E_DIR/cluster.key" > "$E2E_DIR/bad.out" 2>&1
check "a wrong metrics value exits 2" test $? = 2
check "and the message names the setting" grep -q "^shoal agent: metrics: 'localhost:http'" "$E2E_DIR/bad.out"
on 1 "$SHOAL" agent --metrics "$M" --iface eth0 --network "$NETWORK" --bind 0.0.0.0:7947 \
    --cluster-key-file "$E2E_DIR/cluster.key" --state-dir "$E2E_DIR/h1b" \
    --socket "$E2E_DIR/h1b.sock" --subnet-file "$E2E_DIR/h1b.env" > "$E2E_DIR/inuse.out" 2>&1
check "metrics port in use exits 1" test $? = 1
check "and the message names the setting and the address" grep -q "metrics: cannot serve on $M" "$E2E_DIR/inuse.out"
# A keyring others can read is a wrong setting: anyone who read it can join the cluster.
install -m 0644 "$E2E_DIR/cluster.key" "$E2E_DIR/open.key"
on 1 "$SHOAL" agent --iface eth0 --network "$NETWORK" --cluster-key-file "$E2E_DIR/open.key" \
    > "$E2E_DIR/open.out" 2>&1
check "a keyring readable by others exits 2" test $? = 2
check "and the message names chmod 600" \
    grep -q "^shoal agent: cluster-key-file: .*chmod 600 $E2E_DIR/open.key" "$E2E_DIR/open.out"
check "a 0600 keyring is taken without a word" bash -c "! grep -q 'cluster-key-file:.*chmod' $E2E_DIR/h1.log $E2E_DIR/h2.log"

# A cloned disk image: h1's state directory (node key and state) copied to a new host h3 and
# started as h1 was. It finds h1's key alive elsewhere in its first state transfer and exits 3
# without announcing; h1 keeps its member entry and its route everywhere.
add_host 3
cp -a "$E2E_DIR/h1/state" "$E2E_DIR/h3/state"
start_ms=$(now_ms)
ip netns exec "$(host 3)" "$SHOAL" agent --name h1 --iface eth0 --network "$NETWORK" \
    --cluster-key-file "$E2E_DIR/cluster.key" --state-dir "$E2E_DIR/h3/state" \
    --socket "$E2E_DIR/h3.sock" --subnet-file "$E2E_DIR/h3/subnet.env" \
    --seed "$SEGMENT.2:7946" --profile fast >"$E2E_DIR/h3.log" 2>&1 &
E2E_PID[3]=$!
wait_for 15 agent_exited 3 >/dev/null || kill -KILL "${E2E_PID[3]}" 2>/dev/null
wait "${E2E_PID[3]}"
rc=$?
unset "E2E_PID[3]"
took=$(( $(now_ms) - start_ms ))
check "a cloned node key exits 3 (exit $rc after $took ms)" test "$rc" = 3
check "... within 10 s" test "$took" -lt 10000
check "... saying why" grep -q "key is in use elsewhere" "$E2E_DIR/h3.log"
check "... and the original stays alive on its peers" state_is 2 h1 alive
check "... with its route via its own address" \
    bash -c "ip netns exec $(host 2) ip -4 route show proto 77 | grep -q '^$sub1 via $SEGMENT.1 '"

# Tombstones: h4 forgets a dead member after its (short) retention, keeps the tombstone in its
# state file, and has it again after a planned restart.
add_host 4
add_host 5
start_agent 4 --metrics "$M" --dead-retention 2s --grace-period 2s
start_agent 5
check "h4 sees h5 alive" wait_for 15 state_is 4 h5 alive
h5_id=$(shoal_at 4 members --json | jq -r '.[] | select(.name == "h5") | .id')
stop_agent 5 KILL
ms=$(wait_for 20 grep -q "^tombstone $h5_id" "$E2E_DIR/h4/state/state")
check "a forgotten member's tombstone reaches the state file (${ms:-never} ms)" test -n "$ms"
check "metrics: one tombstone" wait_for 5 metric_is 4 shoal_tombstones 1
stop_agent 4 TERM
start_agent 4 --metrics "$M" --dead-retention 2s --grace-period 2s
check "after a planned restart the tombstone is back" wait_for 10 metric_is 4 shoal_tombstones 1
check "... and still in the state file" grep -q "^tombstone $h5_id" "$E2E_DIR/h4/state/state"
stop_agent 4 KILL

# SIGINT: STOPPING=1.
# /readyz during the graceful leave: once it said "stopping", it must never say ready again (the
# once-a-second publish used to, for as long as the leave took).
pid2=${E2E_PID[2]}
(while kill -0 "$pid2" 2>/dev/null; do
    on 2 curl -s -o /dev/null -w '%{http_code}\n' --max-time 0.5 "http://$M/readyz"; sleep 0.05
done) > "$E2E_DIR/readyz.log" 2>/dev/null &
poller=$!
sleep 0.3
start_ms=$(now_ms)
stop_agent 2 INT
leave_ms=$(( $(now_ms) - start_ms ))
wait "$poller"
check "STOPPING=1 on SIGINT" notified STOPPING=1
check "readyz went 200 -> 503 and never back during the ${leave_ms} ms leave" \
    awk '$1 == 503 { stopping = 1 } stopping && $1 == 200 { bad = 1 } END { exit !(stopping && !bad) }' "$E2E_DIR/readyz.log"
check "nothing is sent to the notify socket without NOTIFY_SOCKET (h1 sent nothing)" \
    test "$(grep -c READY=1 "$E2E_DIR/notify.log")" = 2

check "no sanitizer report in any agent log" bash -c "! grep -E 'Sanitizer|runtime error' $E2E_DIR/h*.log"

check_summary
