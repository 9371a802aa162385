#!/usr/bin/env bash
# Hosts on two segments joined by a router (issue 16): members on a host's own segment are
# routed host-gw as before, members behind the router through shoal's VXLAN device (a route
# onlink via the peer's VTEP address, a static neighbour entry, a forwarding entry to the peer's
# address), with real CNI pods and packets. Dual stack: IPv6 subnets follow the same split, host-gw
# via the announced IPv6 address on the segment, through the same (IPv4) tunnel off it. A dead
# off-segment host is withdrawn everywhere, route, neighbour and forwarding entry; a graceful
# leave takes the device.
#
# 192.168.1.0/24 (br0): h1, h2      192.168.2.0/24 (br1): h3, h4      router r: .254 on both
# and IPv6 on each segment: $SEG6:1::N/64 and $SEG6:2::N/64
# Usage: vxlan_test.sh path/to/shoal
SHOAL=$(realpath "$1")
source "$(dirname "$0")/lib.sh"
E2E_SEED=192.168.1.1:7946
R="shoal-r-$E2E_ID"
# Each run its own IPv6 prefix, like its names; written as ip prints it (no leading zero).
SEG6=fd78:$(printf %x $((E2E_ID % 65535 + 1)))
NETWORK6=fd00:244::/56

segment_of() { [ "$1" -le 2 ] && echo 192.168.1 || echo 192.168.2; }
bridge_of() { [ "$1" -le 2 ] && echo br0 || echo br1; }
# add_seg_host N: host N on its segment, its default route via the router.
add_seg_host() {
    local n=$1 seg; seg=$(segment_of "$1")
    NETNS_BRIDGE=$(bridge_of "$n") netns_host "$E2E_SW" "$(host "$n")" "$seg.$n/24" "ve$n-$E2E_ID" "vp$n-$E2E_ID"
    on "$n" ip route add default via "$seg.254"
    on "$n" ip -6 addr add "$SEG6:${seg##*.}::$n/64" dev eth0 nodad
    mkdir -p "$E2E_DIR/h$n"
}
vx_routes() { on "$1" ip -4 route show proto 77 dev shoal.1 2>/dev/null; }
# routed_via N SUBNET DEV: host N's route to SUBNET goes out DEV.
routed_via() { on "$1" ip -4 route show proto 77 | grep "^$2 " | grep -q "dev $3"; }
fdb_to() { on "$1" bridge fdb show dev shoal.1 2>/dev/null | grep -q "dst $2 self permanent"; }
dev_of_path() { on "$1" ip -4 route get "$2" | grep -o 'dev [^ ]*' | cut -d' ' -f2; }

e2e_switch
ip -n "$E2E_SW" link add br1 type bridge
ip -n "$E2E_SW" link set br1 up
netns_host "$E2E_SW" "$R" 192.168.1.254/24 "vr0-$E2E_ID" "vq0-$E2E_ID"
ip link add "vr1-$E2E_ID" type veth peer name "vq1-$E2E_ID"
ip link set "vr1-$E2E_ID" netns "$R"
ip link set "vq1-$E2E_ID" netns "$E2E_SW"
ip -n "$R" link set "vr1-$E2E_ID" name eth1
ip -n "$R" addr add 192.168.2.254/24 dev eth1
ip -n "$R" link set eth1 up
ip -n "$E2E_SW" link set "vq1-$E2E_ID" master br1
ip -n "$E2E_SW" link set "vq1-$E2E_ID" up
ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1
for n in 1 2 3 4; do add_seg_host $n; done
for n in 1 2 3 4; do start_agent $n --ipv6-network "$NETWORK6"; done
check "every host has a subnet" wait_for 20 bash -c \
    "for n in 1 2 3 4; do test -s $E2E_DIR/h\$n/subnet.env || exit 1; done"
check "pods get iface's MTU less VXLAN's 50 bytes" grep -qx FLANNEL_MTU=1450 "$E2E_DIR/h1/subnet.env"

s2=$(subnet_of 2) s3=$(subnet_of 3) s4=$(subnet_of 4) s1=$(subnet_of 1)
check "h1 routes h2 (same segment) host-gw on eth0" wait_for 20 routed_via 1 "$s2" eth0
check "h1 routes h3 and h4 (behind the router) through shoal.1" wait_for 30 bash -c \
    "$(declare -f on host routed_via); E2E_ID=$E2E_ID; routed_via 1 $s3 shoal.1 && routed_via 1 $s4 shoal.1"
check "... onlink via their VTEP addresses" bash -c \
    "ip netns exec $(host 1) ip -4 route show proto 77 | grep -q '^$s3 via ${s3%/*} dev shoal.1 onlink'"
check "h3 routes h4 host-gw and h1, h2 through its own shoal.1" wait_for 30 bash -c \
    "$(declare -f on host routed_via); E2E_ID=$E2E_ID; routed_via 3 $s4 eth0 && routed_via 3 $s1 shoal.1 && routed_via 3 $s2 shoal.1"
check "shoal routes shows them on shoal.1" bash -c "$(declare -f shoal_at); SHOAL=$SHOAL E2E_DIR=$E2E_DIR \
    shoal_at 1 routes --json | jq -e '.[] | select(.subnet == \"$s3\") | .dev == \"shoal.1\" and .state == \"installed\"'"
check "h1 forwards h3's VXLAN traffic to h3's address" fdb_to 1 192.168.2.3
check "... and holds its VTEP address's neighbour entry" bash -c \
    "ip netns exec $(host 1) ip neigh show dev shoal.1 | grep -q '^${s3%/*} lladdr .* PERMANENT'"
check "h1 has no VXLAN entry for h2, its neighbour on the segment" not fdb_to 1 192.168.1.2

for n in 1 2 3; do p[$n]=$(add_pod_from_conflist $n); done
check "pods on h1, h2, h3 (${p[1]} ${p[2]} ${p[3]})" test -n "${p[1]}" -a -n "${p[2]}" -a -n "${p[3]}"
check "h1's pod reaches h3's pod across the router (VXLAN)" pod 1 ping -c 3 -i 0.2 -W 2 "${p[3]}"
check "h1's pod reaches h2's pod on the segment" pod 1 ping -c 2 -i 0.2 -W 2 "${p[2]}"
check "the path to h3's pod leaves h1 on shoal.1, to h2's on eth0" bash -c \
    "[ \"\$(ip netns exec $(host 1) ip -4 route get ${p[3]} | grep -o 'dev [^ ]*')\" = 'dev shoal.1' ] && [ \"\$(ip netns exec $(host 1) ip -4 route get ${p[2]} | grep -o 'dev [^ ]*')\" = 'dev eth0' ]"
check "a full-size packet fits the tunnel (1422 bytes of ICMP, do not fragment)" \
    pod 1 ping -c 1 -W 2 -M do -s 1422 "${p[3]}"

# IPv6 subnets: host-gw on the segment, through the same tunnel off it (IPv4 underneath).
t2=$(subnet6_of 2) t3=$(subnet6_of 3)
check "h1 routes h2's IPv6 subnet host-gw via its announced address" wait_for 10 bash -c \
    "ip netns exec $(host 1) ip -6 route show proto 77 | grep -q '^$t2 via $SEG6:1::2 dev eth0'"
check "... and h3's through shoal.1, onlink via its IPv6 VTEP address" wait_for 10 bash -c \
    "ip netns exec $(host 1) ip -6 route show proto 77 | grep -q '^$t3 via ${t3%/*} dev shoal.1 .*onlink'"
check "... whose neighbour entry is h3's VTEP MAC" bash -c \
    "ip netns exec $(host 1) ip -6 neigh show dev shoal.1 | grep -q '^${t3%/*} lladdr .* PERMANENT'"
q3=$(pod6_of 3) q2=$(pod6_of 2)
check "h1's pod reaches h3's pod over IPv6 across the router (VXLAN)" \
    pod 1 ping -6 -c 3 -i 0.2 -W 2 "$q3"
check "... and h2's on the segment" pod 1 ping -6 -c 2 -i 0.2 -W 2 "$q2"
check "shoal routes shows h3's IPv6 subnet on shoal.1" bash -c "$(declare -f shoal_at); SHOAL=$SHOAL E2E_DIR=$E2E_DIR \
    shoal_at 1 routes --json | jq -e '.[] | select(.subnet == \"$t3\") | .dev == \"shoal.1\" and .state == \"installed\"'"

# iface's MTU changes (jumbo frames turned on, say): pods made from now on, and the device, follow.
on 2 ip link set eth0 mtu 1400
check "h2's subnet.env follows eth0's MTU less 50" wait_for 5 grep -qx FLANNEL_MTU=1350 "$E2E_DIR/h2/subnet.env"
check "... and so does its conflist" wait_for 5 bash -c "[ \"\$(jq '.plugins[0].mtu' $E2E_DIR/h2/10-shoal.conflist)\" = 1350 ]"
check "... and its VXLAN device" wait_for 5 bash -c \
    "ip netns exec $(host 2) ip link show shoal.1 | grep -q 'mtu 1350 '"
on 2 ip link set eth0 mtu 1500

# VXLAN is neither encrypted nor authenticated: only members' addresses may send it. The router,
# no member, makes a VXLAN device of its own aimed at h1 (h1's VTEP MAC and address, as anyone on
# the path can learn them) and pings h1's pod through it.
rx1() { on 1 cat /sys/class/net/shoal.1/statistics/rx_packets; }
mac1=$(on 1 cat /sys/class/net/shoal.1/address)
ip -n "$R" link add vx0 type vxlan id 1 local 192.168.1.254 dev eth0 dstport 8472 nolearning
ip -n "$R" addr add 10.244.250.1/32 dev vx0
ip -n "$R" link set vx0 up
ip netns exec "$R" bridge fdb append "$mac1" dev vx0 dst 192.168.1.1
ip -n "$R" neigh add "${s1%/*}" lladdr "$mac1" dev vx0 nud permanent
ip -n "$R" route add "$s1" via "${s1%/*}" dev vx0 onlink
check "h1 accepts VXLAN from its members' addresses only" bash -c \
    "ip netns exec $(host 1) nft list chain inet shoal vxlan-input | grep -q 'udp dport 8472 ip saddr != { 192.168.1.2, 192.168.2.3, 192.168.2.4 } drop'"
before=$(rx1); pod 3 ping -c 2 -i 0.2 -W 2 "${p[1]}" >/dev/null; after=$(rx1)
check "a member's VXLAN reaches h1's device ($before -> $after packets)" test "$after" -gt "$before"
before=$(rx1); ip netns exec "$R" ping -c 3 -i 0.2 -W 1 "${p[1]}" >/dev/null; after=$(rx1)
check "a non-member's VXLAN is dropped before h1's device sees it ($before -> $after)" \
    test "$after" = "$before"
# The same without the filter (deleted; the agent puts it back within a second): it gets in.
# h1's agent is frozen meanwhile, or its repair could put the filter back before the ping is sent.
kill -STOP "${E2E_PID[1]}"
on 1 nft delete table inet shoal
before=$(rx1); ip netns exec "$R" ping -c 1 -W 0.2 "${p[1]}" >/dev/null; after=$(rx1)
kill -CONT "${E2E_PID[1]}"
check "... which, unfiltered, reaches h1's device ($before -> $after)" test "$after" -gt "$before"
check "... and the filter is back" wait_for 5 bash -c \
    "ip netns exec $(host 1) nft list chain inet shoal vxlan-input >/dev/null 2>&1"

# A planned restart of h1's agent (SIGTERM, started again) keeps its VXLAN path: the device, its
# entries and routes are adopted, nothing is removed until the agent knows the cluster again.
pod 1 ping -i 0.05 -c 100 -W 1 "${p[3]}" >"$E2E_DIR/restart-ping" 2>&1 &
ping_pid=$!
sleep 0.5
stop_agent 1 TERM
start_agent 1 --ipv6-network "$NETWORK6"
wait "$ping_pid"
lost=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$E2E_DIR/restart-ping")
check "a restart of h1's agent loses no pod packet to h3 across the tunnel (${lost:-?} % lost)" \
    test "$lost" = 0
check "... and h1 still routes h3 through shoal.1 afterwards" wait_for 10 routed_via 1 "$s3" shoal.1
check "... without making the device again" bash -c \
    "! sed -n '/SIGTERM/,\$p' $E2E_DIR/h1.log | grep -q 'made VXLAN device'"

# The host check echoes a member off the segment through the tunnel (its VTEP address and its
# pod gateway), not at its underlay address: h3's frozen agent keeps its route on h1 while the
# tunnel answers, and a cut tunnel is no answer even though h3's own address still replies.
kept_on_1() { shoal_at 1 members | grep -Eq "^h3 .* dead .*route kept: host answers"; }
kill -STOP "${E2E_PID[3]}"
check "h3's agent frozen: h1 holds it dead with its route kept, its host answering" \
    wait_for 30 kept_on_1
check "... still through shoal.1" routed_via 1 "$s3" shoal.1
check "... and h1's pod reaches h3's pod" pod 1 ping -c 1 -W 2 "${p[3]}"
on 3 nft add table ip cut-vxlan
on 3 nft add chain ip cut-vxlan in '{ type filter hook input priority -10; }'
on 3 nft add rule ip cut-vxlan in udp dport 8472 ip saddr 192.168.1.1 drop
check "with h3's VXLAN from h1 cut, h1 withdraws the route (two rounds unanswered)" \
    wait_for 10 not routed_via 1 "$s3" shoal.1
check "... though h3's own address still answers h1's echoes" on 1 ping -c 1 -W 1 192.168.2.3
on 3 nft delete table ip cut-vxlan
kill -CONT "${E2E_PID[3]}"
check "h3's agent back: h1 routes it through shoal.1 again" wait_for 20 routed_via 1 "$s3" shoal.1

# h3 dies: agent killed, its link down.
stop_agent 3 KILL
on 3 ip link set eth0 down
ms=$(wait_for 15 bash -c "$(declare -f on host routed_via fdb_to); E2E_ID=$E2E_ID; \
    ! routed_via 1 $s3 shoal.1 && ! fdb_to 1 192.168.2.3 && ! routed_via 4 $s3 eth0")
check "a dead off-segment host is withdrawn: route and forwarding entry on h1, route on h4 (${ms:-never} ms)" test -n "$ms"
check "... and its neighbour entries on h1, both families" bash -c \
    "! ip netns exec $(host 1) ip neigh show dev shoal.1 | grep -q '^${s3%/*} ' && ! ip netns exec $(host 1) ip -6 route show proto 77 | grep -q '^$t3 ' && ! ip netns exec $(host 1) ip -6 neigh show dev shoal.1 | grep -q '^${t3%/*} '"
check "... while h4 stays routed through the tunnel" routed_via 1 "$s4" shoal.1

shoal_at 1 leave >/dev/null
check "a graceful leave takes h1's VXLAN device" wait_for 10 bash -c \
    "! ip netns exec $(host 1) ip link show shoal.1 >/dev/null 2>&1"
check_summary
