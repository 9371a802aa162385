#!/usr/bin/env bash
# The host rules shoal keeps for pod traffic, with real CNI pods, kernel rules and packets.
# ip-masq: pods reach the outside under their host's address, pod-to-pod traffic between hosts
# keeps the pod's own; shoal's nftables table is put back after `nft flush ruleset`, outlives the
# agent (SIGTERM) and goes with a graceful leave. forward-rules: hosts whose FORWARD policy is
# drop (iptables-nft, as Docker sets it) still forward pod traffic; with forward-rules off such a
# host is not ready and says the command that fixes it.
#
# h1 and h2 run agents; h3 is on the segment but in no cluster: "the outside". A listener replies
# with the address it saw the connection come from.
# Usage: pod_traffic_test.sh path/to/shoal
SHOAL=$(realpath "$1")
source "$(dirname "$0")/lib.sh"
PORT=9100

# listen KEY NAMESPACE: a TCP listener on PORT that answers each connection with its peer's
# address. Started directly (not through a shell function, which would background a subshell),
# so $! is socat itself and the cleanup ends it by that pid.
listen() {
    ip netns exec "$2" socat TCP-LISTEN:$PORT,reuseaddr,fork SYSTEM:'echo $SOCAT_PEERADDR' >/dev/null 2>&1 &
    E2E_PID[$1]=$!
}
# seen_by ADDR: from the pod on h1, the address the listener at ADDR saw us come from.
seen_by() { pod 1 timeout 5 socat -T 3 - "TCP:$1:$PORT" </dev/null; }
table_on() { on "$1" nft list table inet shoal 2>/dev/null; }
masquerades() { table_on "$1" | grep -q "masquerade"; }

M=127.0.0.1:9477  # each host namespace has its own loopback
readyz() { on "$1" curl -s -w ' %{http_code}' "http://$M/readyz"; }
ours_in_forward() { on "$1" iptables -S FORWARD | grep -c 'shoal: pod network'; }
forward_rules_are() { [ "$(ours_in_forward "$1")" = "$2" ]; }   # N COUNT

e2e_switch
for n in 1 2 3; do add_host $n; done
# As Docker leaves a host: nothing is forwarded unless a rule accepts it.
for n in 1 2; do on $n iptables -P FORWARD DROP; done
start_agent 1
start_agent 2 --metrics "$M"
check "h1 and h2 each have a subnet" wait_for 20 bash -c \
    "test -s $E2E_DIR/h1/subnet.env && test -s $E2E_DIR/h2/subnet.env"
check "subnet.env says shoal masquerades" grep -qx FLANNEL_IPMASQ=true "$E2E_DIR/h1/subnet.env"
check "the conflist asks the bridge plugin not to" \
    test "$(jq '.plugins[0].ipMasq' "$E2E_DIR/h1/10-shoal.conflist")" = false
check "h1 holds shoal's nftables table" wait_for 10 masquerades 1
check "h1 accepts the pod network in its FORWARD chain, whose policy is drop" \
    wait_for 10 forward_rules_are 1 2
check "status says where" bash -c "$(declare -f shoal_at); SHOAL=$SHOAL E2E_DIR=$E2E_DIR \
    shoal_at 1 status --json | jq -e '.forwarding == \"accepted in ip filter FORWARD\"'"

p1=$(add_pod_from_conflist 1)
p2=$(add_pod_from_conflist 2)
check "pods on h1 ($p1) and h2 ($p2)" test -n "$p1" -a -n "$p2"
check "h1 routes h2's subnet" wait_for 20 has_route 1 "$(subnet_of 2)"
check "h2 routes h1's subnet" wait_for 20 has_route 2 "$(subnet_of 1)"

listen pod2 "shoal-p2-$E2E_ID"
listen out3 "$(host 3)"
wait_for 5 bash -c "pod 2 ss -ltn | grep -q :$PORT" >/dev/null
wait_for 5 bash -c "ip netns exec $(host 3) ss -ltn | grep -q :$PORT" >/dev/null
got=$(seen_by "$p2")
check "pod to pod across hosts keeps the pod's address (h2's pod saw '$got')" \
    test "$got" = "$p1"
got=$(seen_by "$SEGMENT.3")
check "pod to the outside leaves as its host (the outside saw '$got')" \
    test "$got" = "$SEGMENT.1"

on 1 nft flush ruleset
ms=$(wait_for 5 masquerades 1)
check "after nft flush ruleset the table is back (${ms:-never} ms)" test -n "$ms"
check "the agent said so, once" test "$(grep -c 'changed by someone else; put back' "$E2E_DIR/h1.log")" = 1
got=$(seen_by "$SEGMENT.3")
check "and the outside sees the host again ('$got')" test "$got" = "$SEGMENT.1"

stop_agent 2 TERM
check "a planned restart (SIGTERM) leaves h2's table in place" masquerades 2
check "... its accept rules" forward_rules_are 2 2
check "... and its routes" has_route 2 "$(subnet_of 1)"
start_agent 2 --metrics "$M" --no-forward-rules
check "with forward-rules off, h2 takes its accept rules out" wait_for 10 forward_rules_are 2 0
check "... and is not ready, saying the command that fixes it" wait_for 10 bash -c \
    "$(declare -f readyz on host); E2E_ID=$E2E_ID M=$M readyz 2 | tr -d '\n' | grep -q 'fix: iptables -I FORWARD -s 10.244.0.0/16 -j ACCEPT.* 503\$'"

shoal_at 1 leave >/dev/null
check "after a graceful leave h1's agent exits" wait_for 10 agent_exited 1
check "... holding no shoal table" not table_on 1
check "... no accept rule in FORWARD" forward_rules_are 1 0
check "... and no shoal route" bash -c "[ -z \"\$(ip netns exec $(host 1) ip -4 route show proto 77)\" ]"
check_summary
