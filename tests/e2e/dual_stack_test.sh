#!/usr/bin/env bash
# Dual stack with real CNI pods, kernel routes and packets: with ipv6-network set, every host
# routes each peer's IPv6 subnet via the IPv6 address the peer announced (taken from its eth0,
# followed when it changes), pods get an address of each family from shoal's conflist and reach
# each other over IPv6 through those routes, keeping their source address, and reach the outside
# masqueraded. Forwarding is turned on with accept_ra = 2 on eth0 first; a FORWARD policy of drop
# in ip6tables (as Docker sets it) is opened for the IPv6 pod network. A graceful leave takes the
# IPv6 routes and rules too.
#
# h1 and h2 run agents; h3 is on the segment but in no cluster: "the outside".
# Usage: dual_stack_test.sh path/to/shoal
SHOAL=$(realpath "$1")
source "$(dirname "$0")/lib.sh"
PORT=9100
# Each run its own IPv6 segment too, like its names; written as ip prints it (no leading zero).
SEGMENT6=fd77:$(printf %x $((E2E_ID % 65535 + 1)))
NETWORK6=fd00:244::/56

listen6() { # KEY NAMESPACE: answers each connection with the address it came from
    ip netns exec "$2" socat TCP6-LISTEN:$PORT,reuseaddr,fork SYSTEM:'echo $SOCAT_PEERADDR' >/dev/null 2>&1 &
    E2E_PID[$1]=$!
}
# full6 ADDR: the eight groups without leading zeros and without "::", whichever way ADDR is
# written (socat spells out every digit; ip and the CNI plugins compress).
full6() {
    local a=$1 out="" g i head tail nh=0 nt=0
    if [[ $a == *::* ]]; then
        head=${a%%::*} tail=${a#*::}
        [ -n "$head" ] && nh=$(awk -F: '{print NF}' <<<"$head")
        [ -n "$tail" ] && nt=$(awk -F: '{print NF}' <<<"$tail")
        a=$head
        for ((i = 0; i < 8 - nh - nt; i++)); do a+=${a:+:}0; done
        [ -n "$tail" ] && a+=:$tail
    fi
    IFS=: read -ra groups <<<"$a"
    for g in "${groups[@]}"; do out+=$(printf '%x:' "0x$g"); done
    echo "${out%:}"
}
# seen_by6 ADDR: from the pod on h1, the address the listener at ADDR saw us come from.
seen_by6() { full6 "$(pod 1 timeout 5 socat -T 3 - "TCP6:[$1]:$PORT" </dev/null | tr -d '[]')"; }
routes6_of() { on "$1" ip -6 route show proto 77; }
has_route6() { routes6_of "$1" | grep -q "^$2 via $3 dev eth0"; }   # N SUBNET VIA

e2e_switch
for n in 1 2 3; do
    add_host $n
    on $n ip -6 addr add "$SEGMENT6::$n/64" dev eth0 nodad
    on $n sysctl -qw net.ipv6.conf.eth0.accept_ra=1 net.ipv6.conf.all.forwarding=0
done
# As Docker leaves a host with ip6tables on: nothing is forwarded in either family unless a rule
# accepts it.
for n in 1 2; do on $n iptables -P FORWARD DROP; on $n ip6tables -P FORWARD DROP; done
M=127.0.0.1:9477  # each host namespace has its own loopback
start_agent 1 --ipv6-network "$NETWORK6" --metrics "$M"
start_agent 2 --ipv6-network "$NETWORK6"
check "h1 and h2 each have a subnet" wait_for 20 bash -c \
    "test -s $E2E_DIR/h1/subnet.env && test -s $E2E_DIR/h2/subnet.env"
check "subnet.env carries flannel's IPv6 pair" bash -c \
    "grep -qx FLANNEL_IPV6_NETWORK=$NETWORK6 $E2E_DIR/h1/subnet.env && grep -q '^FLANNEL_IPV6_SUBNET=fd00:244:.*::1/64$' $E2E_DIR/h1/subnet.env"
check "the conflist has a range per family" \
    test "$(jq '.plugins[0].ipam.ranges | length' "$E2E_DIR/h1/10-shoal.conflist")" = 2
check "h1 kept router advertisements (accept_ra 2) before turning on IPv6 forwarding" \
    test "$(on 1 sysctl -n net.ipv6.conf.eth0.accept_ra net.ipv6.conf.all.forwarding | tr '\n' ' ')" = "2 1 "
check "the agent said both" bash -c "grep -q 'set accept_ra = 2 on eth0' $E2E_DIR/h1.log && grep -q 'turned on IPv6 forwarding' $E2E_DIR/h1.log"
check "h1 accepts the IPv6 pod network in ip6tables' FORWARD chain, whose policy is drop" \
    wait_for 10 bash -c "[ \"\$(ip netns exec $(host 1) ip6tables -S FORWARD | grep -c 'shoal: pod network')\" = 2 ]"
check "status says where, for each family" bash -c "$(declare -f shoal_at); SHOAL=$SHOAL E2E_DIR=$E2E_DIR \
    shoal_at 1 status --json | jq -e '.forwarding == \"accepted in ip filter FORWARD; accepted in ip6 filter FORWARD\"'"

s1=$(subnet6_of 1) s2=$(subnet6_of 2)
check "h1 routes h2's IPv6 subnet ($s2) via h2's IPv6 address" wait_for 20 has_route6 1 "$s2" "$SEGMENT6::2"
check "h2 routes h1's IPv6 subnet ($s1) via h1's" wait_for 20 has_route6 2 "$s1" "$SEGMENT6::1"
check "... and IPv4 as before" wait_for 5 has_route 1 "$(subnet_of 2)"
check "h1 keeps the IPv6 pod network unreachable" bash -c \
    "ip netns exec $(host 1) ip -6 route show proto 77 | grep -q '^unreachable $NETWORK6'"
check "members shows h2's IPv6 address and subnet" bash -c "$(declare -f shoal_at); SHOAL=$SHOAL E2E_DIR=$E2E_DIR \
    shoal_at 1 members --json | jq -e '.[] | select(.name == \"h2\") | .addr6 == \"$SEGMENT6::2\" and .subnet6 == \"$s2\"'"
check "/metrics counts an installed route of each family" wait_for 5 bash -c \
    "ip netns exec $(host 1) curl -s http://$M/metrics | grep -q '^shoal_routes{family=\"ipv6\",state=\"installed\"} 1\$' && ip netns exec $(host 1) curl -s http://$M/metrics | grep -q '^shoal_routes{family=\"ipv4\",state=\"installed\"} 1\$'"
check "routes lists the IPv6 route installed" bash -c "$(declare -f shoal_at); SHOAL=$SHOAL E2E_DIR=$E2E_DIR \
    shoal_at 1 routes --json | jq -e '.[] | select(.subnet == \"$s2\") | .via == \"$SEGMENT6::2\" and .state == \"installed\"'"

p1=$(add_pod_from_conflist 1)
p2=$(add_pod_from_conflist 2)
q1=$(pod6_of 1) q2=$(pod6_of 2)
check "pods have an address of each family (h1: $p1 $q1, h2: $p2 $q2)" \
    test -n "$p1" -a -n "$p2" -a -n "$q1" -a -n "$q2"
check "h1's pod pings h2's pod over IPv6" pod 1 ping -6 -c 3 -i 0.2 -W 2 "$q2"
check "... and over IPv4" pod 1 ping -c 2 -i 0.2 -W 2 "$p2"

listen6 pod2 "shoal-p2-$E2E_ID"
listen6 out3 "$(host 3)"
wait_for 5 bash -c "pod 2 ss -ltn | grep -q :$PORT" >/dev/null
wait_for 5 bash -c "ip netns exec $(host 3) ss -ltn | grep -q :$PORT" >/dev/null
got=$(seen_by6 "$q2")
check "pod to pod over IPv6 keeps the pod's address (h2's pod saw '$got')" test "$got" = "$(full6 "$q1")"
got=$(seen_by6 "$SEGMENT6::3")
check "pod to the outside over IPv6 leaves as its host (the outside saw '$got')" \
    test "$got" = "$(full6 "$SEGMENT6::1")"

# advertise6 not set: the agent follows eth0's global address and announces the new one.
on 2 ip -6 addr add "$SEGMENT6::22/64" dev eth0 nodad
on 2 ip -6 addr del "$SEGMENT6::2/64" dev eth0
check "h2's new IPv6 address is announced and h1's route follows it" \
    wait_for 10 has_route6 1 "$s2" "$SEGMENT6::22"
check "... and the pods still reach each other" pod 1 ping -6 -c 2 -i 0.2 -W 2 "$q2"

shoal_at 2 leave >/dev/null
check "after h2's graceful leave h1 routes neither of its subnets" wait_for 10 bash -c \
    "! ip netns exec $(host 1) ip route show proto 77 | grep -q '$(subnet_of 2)' && ! ip netns exec $(host 1) ip -6 route show proto 77 | grep -q '^$s2'"
check "... and h2, its leave complete, holds no shoal route of either family" wait_for 10 bash -c \
    "[ -z \"\$(ip netns exec $(host 2) ip route show proto 77; ip netns exec $(host 2) ip -6 route show proto 77)\" ]"
check "... and its agent exits" wait_for 10 agent_exited 2
check "... leaving no accept rule in either FORWARD chain" bash -c \
    "! ip netns exec $(host 2) sh -c 'iptables -S FORWARD; ip6tables -S FORWARD' | grep -q 'shoal: pod network'"
check_summary
