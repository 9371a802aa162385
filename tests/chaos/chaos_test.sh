#!/usr/bin/env bash
# Chaos on six namespace hosts, a pod on each, real agents, real kernel routes: frozen, crashed,
# starved and cut-off agents, partitions, loss, link flaps and mass restarts, each asserting what
# the pods see (ping every 50 ms) and what the kernels' routing tables do (`ip monitor route`).
#
# h1 runs with `--route-hold 0`: it behaves as shoal did before the host check (a dead agent's
# route goes), so every scenario also measures "today" on the same event. The assertions are
# about h2..h6; h1's figures are reported.
#
# Usage: chaos_test.sh path/to/shoal [short|full] [results.tsv]
#   short (ctest -L chaos, ~4 min): the scenarios with shortened durations
#   full (bench/chaos.sh): the durations of issue 14 (~15 min)
SHOAL=$(realpath "$1")
MODE=${2:-short}
RESULTS=${3:-/dev/null}
E2E_PROFILE=lan
source "$(dirname "$0")/../e2e/lib.sh"
pick() { if [ "$MODE" = full ]; then echo "$2"; else echo "$1"; fi; }  # SHORT FULL

HOSTS=(1 2 3 4 5 6)
V=6            # the victim, unless a scenario says otherwise
declare -A POD SUB MON
printf 'scenario\tlost_today\tlost\twithdrawn_today\twithdrawn\tconverge_ms\tnote\n' >"$RESULTS"

# --- measuring -----------------------------------------------------------------------------

# Route changes on every host, one line each, for the whole run.
monitor_routes() {
    local n
    for n in "${HOSTS[@]}"; do
        on "$n" ip -o monitor route >"$E2E_DIR/mon$n" 2>/dev/null &
        MON[$n]=$!
    done
}
mark() { for n in "${HOSTS[@]}"; do MARK[$n]=$(wc -l <"$E2E_DIR/mon$n"); done; }
declare -A MARK
# withdrawn HOSTS PATTERN: pod-network routes deleted on those hosts since the mark.
withdrawn() {
    local hosts=$1 pat=${2:-10\\.244\\.} total=0 n c
    for n in $hosts; do
        c=$(tail -n +$((MARK[$n] + 1)) "$E2E_DIR/mon$n" | grep -cE "^Deleted ($pat)")
        total=$((total + c))
    done
    echo "$total"
}
# ping_from NAME FROM TO SECONDS: pod FROM pings pod TO every 50 ms, in the background. Ended by
# SIGINT, not `-w`: with a deadline, ping stops at its first error (a withdrawn route's ICMP
# unreachable), which would hide every loss after it.
declare -A PING
ping_from() {
    pod "$2" timeout -s INT "$4" ping -q -n -i 0.05 -W 1 "${POD[$3]}" >"$E2E_DIR/ping.$1" 2>&1 &
    PING[$1]=$!
}
# pings_done: waits for the pings (in this shell: a $(...) subshell cannot wait for them).
pings_done() { for k in "${!PING[@]}"; do wait "${PING[$k]}" 2>/dev/null; done; PING=(); }
lost() { # NAME: packets that ping sent and got no answer to
    awk '/packets transmitted/ {print $1 - $4}' "$E2E_DIR/ping.$1" | grep . ||
        { echo "no ping summary:" >&2; cat "$E2E_DIR/ping.$1" >&2; echo "?"; }
}
all_alive() { for n in "${HOSTS[@]}"; do [ "$(alive_count "$n")" = 6 ] || return 1; done; }
mesh_ok() {
    local n others
    for n in "${HOSTS[@]}"; do
        others=$(printf '%s ' "${HOSTS[@]}" | sed "s/\b$n \?//")
        # shellcheck disable=SC2086
        routes_exact "$n" $others || return 1
    done
}
converged() { all_alive && mesh_ok; }
subnets() { for n in "${HOSTS[@]}"; do subnet_of "$n"; done; }
# converge_ms T0: waits (30 s at most) until all are alive everywhere with every route right;
# prints the milliseconds since T0, nothing if it never happened.
converge_ms() { wait_for 30 converged >/dev/null && echo $(( $(now_ms) - $1 )); }
record() { # SCENARIO LOST_TODAY LOST WITHDRAWN_TODAY WITHDRAWN CONVERGE_MS NOTE
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"
    echo "   $1: pod packets lost today(h1) $2, here(h2) $3; routes withdrawn today(h1) $4," \
        "here(h2..h6) $5; converged in $6 ms${7:+; $7}"
}
restart() { # N [SIGNAL]: stop (default SIGKILL) and start again
    stop_agent "$1" "${2:-KILL}"
    start_agent "$1" $(agent_args "$1")
}
agent_args() { [ "$1" = 1 ] && echo "--route-hold 0"; }

# --- the cluster ---------------------------------------------------------------------------
e2e_switch
for n in "${HOSTS[@]}"; do add_host "$n"; done
for n in "${HOSTS[@]}"; do start_agent "$n" $(agent_args "$n"); done
ms=$(wait_for 30 converged)
check "six hosts converge (${ms:-never} ms)" test -n "$ms"
for n in "${HOSTS[@]}"; do POD[$n]=$(add_pod "$n"); SUB[$n]=$(subnet_of "$n"); done
before_subnets=$(subnets)
check "pods reach each other" pod 2 ping -q -c 2 -W 1 "${POD[$V]}"
monitor_routes
sleep 2  # every host's baseline echo answered (first one within 200 ms of learning a member)

# SIGSTOP of one agent: the host forwards whatever its agent does.
for secs in 3 "$(pick 6 20)"; do
    echo "== SIGSTOP h$V's agent for $secs s"
    mark
    ping_from today 1 $V $((secs + 3)); ping_from here 2 $V $((secs + 3))
    sleep 0.5
    kill -STOP "${E2E_PID[$V]}"; sleep "$secs"; kill -CONT "${E2E_PID[$V]}"
    ms=$(converge_ms "$(now_ms)")
    pings_done; l1=$(lost today); l2=$(lost here)
    w1=$(withdrawn 1); w=$(withdrawn "2 3 4 5 6")
    record "SIGSTOP ${secs} s" "$l1" "$l2" "$w1" "$w" "$ms"
    check "SIGSTOP $secs s: no pod packet lost to h$V ($l2)" test "$l2" = 0
    check "SIGSTOP $secs s: no route withdrawn on h2..h6 ($w)" test "$w" = 0
    check "SIGSTOP $secs s: h2 showed h$V dead with its route kept" \
        grep -q "dead member h$V .*its host answers, route kept" "$E2E_DIR/h2.log"
done

# kill -9 of one agent, host up, started again 2 s later: a crash, an OOM kill, a bad upgrade.
echo "== kill -9 h$V's agent, restart after 2 s"
mark
ping_from today 1 $V 10; ping_from here 2 $V 10
sleep 0.5
stop_agent $V KILL
killed=$(now_ms)
ms=$(wait_for 5 state_is 2 "h$V" dead) || true
check "killed agent: h2 holds h$V dead (${ms:-never} ms)" test -n "$ms"
check "... and shows it so in members: dead, route kept: host answers" \
    eval "shoal_at 2 members | grep -E '^h$V .* dead .*route kept: host answers'"
check "... and in routes" eval "shoal_at 2 routes | grep -q 'route kept: host answers'"
left=$((2000 - ($(now_ms) - killed)))
[ "$left" -gt 0 ] && sleep "$(printf '0.%03d' "$left")" 2>/dev/null
[ "$left" -ge 1000 ] && sleep 1
start_agent $V
ms=$(converge_ms "$(now_ms)")
pings_done; l1=$(lost today); l2=$(lost here); w1=$(withdrawn 1); w=$(withdrawn "2 3 4 5 6")
record "kill -9, restart after 2 s" "$l1" "$l2" "$w1" "$w" "$ms"
check "killed and restarted agent: no pod packet lost ($l2)" test "$l2" = 0
check "... no route withdrawn on h2..h6 ($w)" test "$w" = 0
check "... same subnet" test "$(subnet_of $V)" = "${SUB[$V]}"

# kill -9 and link down: a dead host. Withdrawn as fast as today (h1, route-hold 0) + 0.3 s.
reps=$(pick 3 5)
echo "== kill -9 + link down of h$V, $reps times"
today=() here=()
for _ in $(seq "$reps"); do
    mark
    stop_agent $V KILL
    ip -n "$E2E_SW" link set "vp$V-$E2E_ID" down
    t0=$(now_ms)
    declare -A gone=()
    while (( $(now_ms) - t0 < 10000 )) && [ "${#gone[@]}" -lt 5 ]; do
        for n in 1 2 3 4 5; do
            [ -z "${gone[$n]:-}" ] && no_route "$n" "${SUB[$V]}" && gone[$n]=$(( $(now_ms) - t0 ))
        done
        sleep 0.01
    done
    today+=("${gone[1]:-99999}")
    # Against h1 alone, the median of h2..h5 (the last of four would add their spread).
    here+=("$(printf '%s\n' "${gone[2]:-99999}" "${gone[3]:-99999}" "${gone[4]:-99999}" \
        "${gone[5]:-99999}" | sort -n | sed -n 2p)")
    t1=$(now_ms); pod 2 ping -c 1 -W 3 "${POD[$V]}" >/dev/null 2>&1; unreach=$(( $(now_ms) - t1 ))
    unset gone
    ip -n "$E2E_SW" link set "vp$V-$E2E_ID" up
    start_agent $V
    wait_for 30 converged >/dev/null
    sleep 1  # baseline echoes again (within 200 ms of learning a member)
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
m_today=$(median "${today[@]}"); m_here=$(median "${here[@]}")
record "kill -9 + link down" - - "${today[*]} ms" "${here[*]} ms (median of h2..h5)" - \
    "median today $m_today ms, here $m_here ms"
check "dead host withdrawn on h2..h5 no slower than today's median + 0.3 s ($m_here vs $m_today ms)" \
    test "$m_here" -le $((m_today + $(ms_bound 300)))
check "... and a pod gets an error at once, not a timeout ($unreach ms)" test "$unreach" -lt 1000

# Partition 3|3 at the switch (bridge rules: ARP is cut too), then heal.
A="vp1-$E2E_ID, vp2-$E2E_ID, vp3-$E2E_ID" B="vp4-$E2E_ID, vp5-$E2E_ID, vp6-$E2E_ID"
partition() { # [extra match]: drop between the halves, in both directions
    ip netns exec "$E2E_SW" nft -f - <<EOF
table bridge chaos {
    chain cut {
        type filter hook forward priority 0; policy accept;
        iifname { $A } oifname { $B } $1 drop
        iifname { $B } oifname { $A } $1 drop
    }
}
EOF
}
heal() { ip netns exec "$E2E_SW" nft delete table bridge chaos; }
secs=$(pick 20 60)
echo "== partition 3|3 for $secs s"
mark
partition ""
sleep "$secs"
heal
ms=$(converge_ms "$(now_ms)")
record "partition 3|3 ${secs} s" - - "$(withdrawn 1)" "$(withdrawn "2 3 4 5 6")" "$ms" \
    "withdrawals across the cut are right: neither half reaches the other"
check "partition healed: all alive and every route right within 10 s (${ms:-never} ms)" \
    test -n "$ms" -a "${ms:-99999}" -le 10000
check "... no subnet changed" test "$(subnets)" = "$before_subnets"

# The gossip port cut between the halves, the data plane connected: nobody's route goes.
secs=$(pick 6 30)
echo "== gossip port partition 3|3 for $secs s"
mark
ping_from today 1 $V $((secs + 2)); ping_from here 2 $V $((secs + 2))
partition "udp dport 7946"
sleep "$secs"
heal
ms=$(converge_ms "$(now_ms)")
pings_done; l1=$(lost today); l2=$(lost here)
w=$(withdrawn "2 3 4 5 6")
record "gossip port partition ${secs} s" "$l1" "$l2" "$(withdrawn 1)" "$w" "$ms"
check "gossip cut, data plane up: no route withdrawn on h2..h6 ($w)" test "$w" = 0
check "... no pod packet lost h2 -> h$V ($l2)" test "$l2" = 0

# Loss on every host's egress (nftables numgen; no netem on this kernel).
secs=$(pick 10 300)
for pct in 10 20; do
    echo "== ${pct} % loss on every host for $secs s"
    mark
    for n in "${HOSTS[@]}"; do
        on "$n" nft -f - <<EOF
table inet chaos_loss {
    chain out {
        type filter hook output priority 0; policy accept;
        numgen random mod 100 < $pct drop
    }
}
EOF
    done
    sleep "$secs"
    for n in "${HOSTS[@]}"; do on "$n" nft delete table inet chaos_loss; done
    ms=$(converge_ms "$(now_ms)")
    w=$(withdrawn "2 3 4 5 6")
    record "${pct} % loss ${secs} s" - - "$(withdrawn 1)" "$w" "$ms"
    check "${pct} % loss for $secs s: no route withdrawn on h2..h6 ($w)" test "$w" = 0
done

# A link flap of one host: no other host's route goes, anywhere.
others_pat=$(for n in 1 2 3 4 5; do printf '%s|' "${SUB[$n]//./\\.}"; done)
others_pat=${others_pat%|}
for secs in 1 10 $(pick "" 30); do
    echo "== link flap of h$V for $secs s"
    mark
    ip -n "$E2E_SW" link set "vp$V-$E2E_ID" down
    sleep "$secs"
    ip -n "$E2E_SW" link set "vp$V-$E2E_ID" up
    ms=$(converge_ms "$(now_ms)")
    w=$(withdrawn "1 2 3 4 5 6" "$others_pat")
    record "link flap ${secs} s" - - "$(withdrawn 1)" "$(withdrawn "2 3 4 5 6")" "$ms" \
        "routes of hosts other than h$V withdrawn: $w"
    check "link flap $secs s: no other host's route withdrawn anywhere ($w)" test "$w" = 0
    check "... converged after it (${ms:-never} ms)" test -n "$ms"
done

# Mass restarts: SIGTERM (planned) and kill -9 (crash) of 3 of 6 and of all 6, back after 2 s.
for how in TERM KILL; do
    for set in "4 5 6" "1 2 3 4 5 6"; do
        echo "== mass SIG$how of h${set// /,h}, restart after 2 s"
        mark
        for n in $set; do kill -"$how" "${E2E_PID[$n]}"; done
        for n in $set; do stop_agent "$n" "$how"; done
        sleep 2
        for n in $set; do start_agent "$n" $(agent_args "$n"); done
        ms=$(converge_ms "$(now_ms)")
        survivors=""
        for n in 2 3 4 5 6; do [[ " $set " == *" $n "* ]] || survivors+="$n "; done
        w=$(withdrawn "$survivors")
        record "SIG$how of ${set// /,}" - - "$(withdrawn 1)" "$(withdrawn "2 3 4 5 6")" "$ms" \
            "withdrawn on survivors h2..h6: $w"
        check "SIG$how of $set, back after 2 s: converged (${ms:-never} ms)" test -n "$ms"
        check "... no route churn on survivors ($w)" test "$w" = 0
        check "... no subnet changed" test "$(subnets)" = "$before_subnets"
    done
done

# A starved agent: it and a SCHED_FIFO busy loop on CPU 1, everything else on CPU 0.
if [ "$(nproc)" -ge 2 ]; then
    secs=$(pick 6 30)
    echo "== h$V's agent starved by a SCHED_FIFO busy loop on CPU 1 for $secs s"
    for n in 1 2 3 4 5; do taskset -a -p 1 "${E2E_PID[$n]}" >/dev/null; done
    taskset -a -p 2 "${E2E_PID[$V]}" >/dev/null
    mark
    taskset -p 1 $$ >/dev/null  # this script and what it starts now: CPU 0
    ping_from today 1 $V $((secs + 2)); ping_from here 2 $V $((secs + 2))
    chrt -f 50 taskset -c 1 bash -c 'while :; do :; done' &
    hog=$!
    cpu0=$(awk '{print $14 + $15}' "/proc/${E2E_PID[$V]}/stat")
    sleep "$secs"
    cpu1=$(awk '{print $14 + $15}' "/proc/${E2E_PID[$V]}/stat")
    kill "$hog"; wait "$hog" 2>/dev/null
    for n in "${HOSTS[@]}"; do taskset -a -p 3 "${E2E_PID[$n]}" >/dev/null; done
    taskset -p 3 $$ >/dev/null
    got=$(( (cpu1 - cpu0) * 1000 / $(getconf CLK_TCK) / secs ))
    ms=$(converge_ms "$(now_ms)")
    pings_done; l1=$(lost today); l2=$(lost here)
    w=$(withdrawn "2 3 4 5 6")
    record "starved agent ${secs} s" "$l1" "$l2" "$(withdrawn 1)" "$w" "$ms" \
        "the agent got $got ms of CPU per second"
    check "starved agent: no route withdrawn on h2..h6 ($w)" test "$w" = 0
    check "... no pod packet lost h2 -> h$V ($l2)" test "$l2" = 0
fi

for n in "${HOSTS[@]}"; do kill "${MON[$n]}" 2>/dev/null; wait "${MON[$n]}" 2>/dev/null; done
check_summary
