#!/usr/bin/env bash
# Measurement 8: the data plane. Pod-to-pod TCP throughput (iperf3) and round-trip latency (ping)
# between pods on two hosts over (a) shoal's host-gw routes with the agents running, (e) the same
# over IPv6 (the agents' IPv6 routes, the same pods' IPv6 addresses), (b) the IPv4 routes added by
# hand with the agents stopped, (g) the IPv6 routes by hand likewise, (h) (g) with the agents'
# nftables table loaded again, (c) a flannel-style VXLAN overlay, (f) shoal's own VXLAN path
# (two more hosts, each off the other's network, with their own agents), (d) two namespaces on one
# veth pair; the setups alternate a,e,b,g,h,c,f,d,a,e,... so noise hits all alike.
# Hosts, bridge and pods are made as in tests/e2e/lib.sh (pods through the real CNI plugins).
# Writes DIR/dataplane.{md,tsv} and DIR/dataplane-*.png.
# Usage: bash bench/dataplane.sh --out DIR --build BUILDDIR [--quick]   (as root)
set -euo pipefail

source "$(dirname "$0")/part-args.sh"
SHOAL=$(realpath "$build/shoal")
[ -x "$SHOAL" ] || { echo "dataplane: no $build/shoal" >&2; exit 1; }
for tool in iperf3 ping jq gnuplot /usr/lib/cni/bridge /usr/lib/cni/host-local; do
    command -v "$tool" >/dev/null || { echo "dataplane: $tool is missing" >&2; exit 1; }
done
repo=$(cd "$(dirname "$0")/.." && pwd)

if [ "$quick" = 1 ]; then reps=3 secs=3 pings=300; else reps=10 secs=5 pings=1000; fi

# lib.sh: hosts shoal-hN-ID on a bridge in shoal-sw-ID, agents, CNI pods; its e2e_cleanup kills
# the agents it started and deletes every namespace ending in -ID. So the ID is our own, never an
# E2E_ID (or E2E_KEY) inherited from a calling harness.
E2E_ID="dp$$"
unset E2E_KEY
source "$repo/tests/e2e/lib.sh"
set -euo pipefail
dp_pids=() # iperf3 servers
dp_cleanup() {
    local p
    for p in "${dp_pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    e2e_cleanup
}
trap dp_cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "dataplane: $*" >&2; exit 1; }

peer_of() { echo $((3 - $1)); }
# The routes to the peer's pod subnets that shoal installs, IPv4 and IPv6, present on both hosts.
shoal_routes_up() {
    local n p
    for n in 1 2; do
        p=$(peer_of $n)
        routes_of $n | grep -q "^$(subnet_of "$p") via $SEGMENT.$p dev eth0" || return 1
        on $n ip -6 route show proto 77 | grep -q "^$(subnet6_of "$p") via $SEGMENT6::$p dev eth0" || return 1
    done
}
tables_up() {
    # Whole listings compared, not piped into grep -q: under pipefail its early exit can fail nft.
    for n in 1 2; do [[ $(on $n nft list chain inet shoal postrouting 2>/dev/null) == *masquerade* ]] || return 1; done
}
agents_alive() { kill -0 "${E2E_PID[1]}" 2>/dev/null && kill -0 "${E2E_PID[2]}" 2>/dev/null; }
vx_agents_alive() { kill -0 "${E2E_PID[5]}" 2>/dev/null && kill -0 "${E2E_PID[6]}" 2>/dev/null; }
mtu_is() { # MTU NAMESPACE DEVICE: DEVICE in NAMESPACE has that MTU, or the run stops
    local m; m=$(ip netns exec "$2" cat "/sys/class/net/$3/mtu")
    [ "$m" = "$1" ] || die "the MTU of $3 in $2 is $m, not $1"
}

# --- setup --------------------------------------------------------------------------------------
# Dual stack: each host also has $SEGMENT6::N on eth0 (nodad, added before its agent starts, which
# announces it), and the agents route each peer's IPv6 pod subnet (fd00:244:0:N::/64) via it.
# The segment's prefix is this run's own, like its names.
SEGMENT6=fd77:$(printf '%x' $(($$ % 65535 + 1)))
NETWORK6=fd00:244::/56
# --no-vxlan: hosts 1 and 2 share a network, so their agents route host-gw either way; without
# VXLAN their pods keep eth0's MTU (1500), as host-gw pods do and as in the runs before issue 16
# (with it on, the conflist says 1450 even when no member is off the segment).
agent_args=(--ipv6-network "$NETWORK6" --no-vxlan)

echo "dataplane: setting up 2+2 hosts, shoal agents, pods, VXLAN, veth pair ($reps repetitions)" >&2
e2e_switch
add_host 1
add_host 2
for n in 1 2; do on $n ip -6 addr add "$SEGMENT6::$n/64" dev eth0 nodad; done
start_agent 1 "${agent_args[@]}"
start_agent 2 "${agent_args[@]}"
for n in 1 2; do
    wait_for 15 test -s "$E2E_DIR/h$n/subnet.env" >/dev/null || die "h$n got no subnet"
    wait_for 15 test -s "$E2E_DIR/h$n/10-shoal.conflist" >/dev/null || die "h$n wrote no CNI conflist"
done
wait_for 15 shoal_routes_up >/dev/null || die "shoal installed no routes within 15 s"
s1=$(subnet_of 1) s2=$(subnet_of 2) s1_6=$(subnet6_of 1) s2_6=$(subnet6_of 2)
[ -n "$s1_6" ] && [ -n "$s2_6" ] || die "subnet.env has no IPv6 subnet"

# (a), (b), (e): one pod per host on cni0 (MTU 1500), made from the conflist the agent wrote
# (bridge cni0, gateway, no ipMasq: the same IPv4 setup as a hand-written one), so with an address
# of each family: (a) and (b) use the IPv4 one, (e) the IPv6 one.
pod_a1=$(add_pod_from_conflist 1)
pod_a2=$(add_pod_from_conflist 2)
[ -n "$pod_a1" ] && [ -n "$pod_a2" ] || die "CNI gave the host-gw pods no address"
[[ $pod_a1 != *:* && $pod_a2 != *:* ]] || die "the host-gw pods' first address is not IPv4 ($pod_a1, $pod_a2)"
pod_e2=$(pod6_of 2)
[ -n "$pod_e2" ] && [ -n "$(pod6_of 1)" ] || die "CNI gave the host-gw pods no IPv6 address"

# (c): flannel's vxlan backend by hand. flannel.1 (VNI 1, UDP 8472, no learning) holds the
# subnet's .0 as a /32; the peer's subnet is routed via the peer's .0, onlink, whose MAC is a
# permanent neighbour entry and whose FDB entry points at the peer host. Its pods sit on a bridge
# of their own (cni1, MTU 1450 like flannel's CNI config) in 10.245.N.0/24, so the host-gw routes
# for 10.244.N.0/24 stay untouched.
vx_subnet() { echo "10.245.$1.0/24"; }
for n in 1 2; do
    on $n ip link add flannel.1 type vxlan id 1 local "$SEGMENT.$n" dev eth0 dstport 8472 nolearning
    on $n ip link set flannel.1 mtu 1450
    on $n ip addr add "10.245.$n.0/32" dev flannel.1
    on $n ip link set flannel.1 up
done
vtep_mac() { on "$1" ip -j link show flannel.1 | jq -r '.[0].address'; }
for n in 1 2; do
    p=$(peer_of $n) mac=$(vtep_mac "$(peer_of $n)")
    on $n ip neigh replace "10.245.$p.0" lladdr "$mac" dev flannel.1 nud permanent
    on $n bridge fdb append "$mac" dev flannel.1 dst "$SEGMENT.$p" self permanent
    on $n ip route add "$(vx_subnet "$p")" via "10.245.$p.0" dev flannel.1 onlink
done
add_vx_pod() { # N: like add_pod, on cni1 with MTU 1450; prints the address
    local n=$1 pod="shoal-q$1-$E2E_ID" conf
    ip netns add "$pod"
    conf=$(printf '{"cniVersion":"0.4.0","name":"vxlan","type":"bridge","bridge":"cni1","mtu":1450,"isGateway":true,"ipMasq":false,"ipam":{"type":"host-local","subnet":"%s","routes":[{"dst":"0.0.0.0/0"}],"dataDir":"%s"}}' \
        "$(vx_subnet "$n")" "$E2E_DIR/h$n/ipam-vx")
    on "$n" env CNI_COMMAND=ADD CNI_CONTAINERID="vx-$n" CNI_NETNS="/var/run/netns/$pod" CNI_IFNAME=eth0 \
        CNI_PATH=/usr/lib/cni /usr/lib/cni/bridge <<<"$conf" | jq -r '.ips[0].address' | cut -d/ -f1
}
pod_c1=$(add_vx_pod 1)
pod_c2=$(add_vx_pod 2)
[ -n "$pod_c1" ] && [ -n "$pod_c2" ] || die "CNI gave the VXLAN pods no address"

# (f): shoal's own VXLAN path. Hosts 5 and 6 on the same bridge, but each on a network of its
# own (192.168.101.5/24, 192.168.102.6/24) with an on-link route to the other's: the underlay
# packets go straight across the bridge, and each agent sees the other's address off its iface's
# networks, so it routes the other's subnet through shoal.1 (VNI 1, UDP 8472, MTU 1450). A cluster
# of their own (seed host 5), agents with their defaults (vxlan, ip-masq) and kept running for the
# whole run; pods from their conflists (MTU 1450, like (c)'s), on cni0 of hosts 5 and 6.
add_vx_host() { # N ADDR/LEN OTHER_NETWORK
    netns_host "$E2E_SW" "$(host "$1")" "$2" "ve$1-$E2E_ID" "vp$1-$E2E_ID"
    on "$1" ip route add "$3" dev eth0
    mkdir -p "$E2E_DIR/h$1"
}
add_vx_host 5 192.168.101.5/24 192.168.102.0/24
add_vx_host 6 192.168.102.6/24 192.168.101.0/24
E2E_SEED=192.168.101.5:7946 start_agent 5
E2E_SEED=192.168.101.5:7946 start_agent 6
for n in 5 6; do
    wait_for 15 test -s "$E2E_DIR/h$n/subnet.env" >/dev/null || die "h$n got no subnet"
    wait_for 15 test -s "$E2E_DIR/h$n/10-shoal.conflist" >/dev/null || die "h$n wrote no CNI conflist"
done
s5=$(subnet_of 5) s6=$(subnet_of 6)
# N SUBNET: host N's shoal route to SUBNET goes through shoal.1, onlink via the subnet's network
# address (the peer's VTEP address), protocol 77.
vx_route_ok() {
    local r; r=$(on "$1" ip -4 route show "$2")
    [[ $r == *"via ${2%/*} dev shoal.1 proto 77 onlink"* ]]
}
vx_routes_up() { vx_route_ok 5 "$s6" && vx_route_ok 6 "$s5"; }
# The entries appear once the peer's address has answered the agent's own probes.
wait_for 30 vx_routes_up >/dev/null ||
    die "(f): no shoal.1 routes within 30 s (h5: '$(on 5 ip -4 route show proto 77 | tr '\n' ';')', h6: '$(on 6 ip -4 route show proto 77 | tr '\n' ';')')"
on 5 bridge fdb show dev shoal.1 | grep -q "dst 192.168.102.6 self permanent" || die "(f): h5 has no FDB entry to h6"
on 5 ip neigh show dev shoal.1 | grep -q "^${s6%/*} lladdr .* PERMANENT" || die "(f): h5 has no neighbour entry for ${s6%/*}"
pod_f5=$(add_pod_from_conflist 5)
pod_f6=$(add_pod_from_conflist 6)
[ -n "$pod_f5" ] && [ -n "$pod_f6" ] || die "CNI gave the shoal VXLAN pods no address"
# Same MTUs as (c): pods and tunnel 1450; (a)'s pods (no VXLAN) 1500.
for n in 5 6; do mtu_is 1450 "shoal-p$n-$E2E_ID" eth0; mtu_is 1450 "$(host $n)" shoal.1; done
for n in 1 2; do mtu_is 1450 "shoal-q$n-$E2E_ID" eth0; mtu_is 1450 "$(host $n)" flannel.1; done
for n in 1 2; do mtu_is 1500 "shoal-p$n-$E2E_ID" eth0; done

# (d): two namespaces on one veth pair.
ip netns add "shoal-d1-$E2E_ID"
ip netns add "shoal-d2-$E2E_ID"
ip link add "vd1-$E2E_ID" netns "shoal-d1-$E2E_ID" type veth peer name "vd2-$E2E_ID" netns "shoal-d2-$E2E_ID"
for n in 1 2; do
    ip netns exec "shoal-d$n-$E2E_ID" ip link set lo up
    ip netns exec "shoal-d$n-$E2E_ID" ip addr add "10.99.0.$n/24" dev "vd$n-$E2E_ID"
    ip netns exec "shoal-d$n-$E2E_ID" ip link set "vd$n-$E2E_ID" up
done
pod_d2=10.99.0.2

# Client namespace and server address per setup.
declare -A SRC DST
SRC[a]="shoal-p1-$E2E_ID" DST[a]=$pod_a2
SRC[b]="shoal-p1-$E2E_ID" DST[b]=$pod_a2
SRC[e]="shoal-p1-$E2E_ID" DST[e]=$pod_e2
SRC[g]="shoal-p1-$E2E_ID" DST[g]=$pod_e2
SRC[h]="shoal-p1-$E2E_ID" DST[h]=$pod_e2
SRC[c]="shoal-q1-$E2E_ID" DST[c]=$pod_c2
SRC[f]="shoal-p5-$E2E_ID" DST[f]=$pod_f6
SRC[d]="shoal-d1-$E2E_ID" DST[d]=$pod_d2
for ns in "shoal-p2-$E2E_ID" "shoal-q2-$E2E_ID" "shoal-p6-$E2E_ID" "shoal-d2-$E2E_ID"; do
    ip netns exec "$ns" iperf3 -s >/dev/null 2>&1 &
    dp_pids+=($!)
done

# --- switching between (a), (e) and (b), (g) -------------------------------------------------
to_a() { # agents running, their proto-77 routes (both families) installed, no hand-made route
    [ -n "${E2E_PID[1]:-}" ] && return 0
    on 1 ip route del "$s2" via "$SEGMENT.2" dev eth0
    on 2 ip route del "$s1" via "$SEGMENT.1" dev eth0
    on 1 ip -6 route del "$s2_6" via "$SEGMENT6::2" dev eth0
    on 2 ip -6 route del "$s1_6" via "$SEGMENT6::1" dev eth0
    start_agent 1 "${agent_args[@]}"
    start_agent 2 "${agent_args[@]}"
    wait_for 15 shoal_routes_up >/dev/null || die "shoal did not reinstall its routes within 15 s"
    # ... and its table: (a) and (e) measure with it, and to_b saves it for (h).
    wait_for 15 tables_up >/dev/null || die "shoal did not write its nftables table within 15 s"
    [ "$(subnet_of 1) $(subnet_of 2) $(subnet6_of 1) $(subnet6_of 2)" = "$s1 $s2 $s1_6 $s2_6" ] ||
        die "an agent came back with another subnet"
}
to_b() { # agents stopped, their routes gone, the same routes of both families by hand
    [ -z "${E2E_PID[1]:-}" ] && return 0
    stop_agent 1 TERM || true
    stop_agent 2 TERM || true
    # Both families' protocol-77 routes (SIGTERM keeps them), so the agents install them anew.
    on 1 ip route flush proto 77
    on 2 ip route flush proto 77
    on 1 ip -6 route flush proto 77
    on 2 ip -6 route flush proto 77
    # ip-masq's table outlives the agent (SIGTERM keeps it): (b) runs without it, so (a) against
    # (b) is also the cost of the masquerade table on pod-to-pod traffic.
    on 1 nft list table inet shoal >"$E2E_DIR/table-1.nft"
    on 2 nft list table inet shoal >"$E2E_DIR/table-2.nft"
    on 1 nft delete table inet shoal
    on 2 nft delete table inet shoal
    on 1 ip route add "$s2" via "$SEGMENT.2" dev eth0
    on 2 ip route add "$s1" via "$SEGMENT.1" dev eth0
    on 1 ip -6 route add "$s2_6" via "$SEGMENT6::2" dev eth0
    on 2 ip -6 route add "$s1_6" via "$SEGMENT6::1" dev eth0
}

# (h): (g) with the agents' table put back as they wrote it (saved by to_b), nothing else of theirs.
table_on() { on 1 nft -f "$E2E_DIR/table-1.nft" && on 2 nft -f "$E2E_DIR/table-2.nft"; }
table_off() { on 1 nft delete table inet shoal && on 2 nft delete table inet shoal; }

# The path each setup takes, checked before every measurement: a wrong route must not pass for
# a fast one.
check_path() {
    local route
    case $1 in
        a) agents_alive || die "an agent died"
           route=$(on 1 ip -4 route show "$s2")
           [[ $route == *"via $SEGMENT.2 dev eth0 proto 77"* ]] || die "(a): h1's route to $s2 is '$route'" ;;
        b) route=$(on 1 ip -4 route show "$s2")
           [[ $route == *"via $SEGMENT.2 dev eth0"* && $route != *"proto 77"* ]] || die "(b): h1's route to $s2 is '$route'" ;;
        g) route=$(on 1 ip -6 route show "$s2_6")
           [[ $route == *"via $SEGMENT6::2 dev eth0"* && $route != *"proto 77"* ]] || die "(g): h1's route to $s2_6 is '$route'"
           ! on 1 nft list table inet shoal >/dev/null 2>&1 || die "(g): h1 has shoal's table" ;;
        h) route=$(on 1 ip -6 route show "$s2_6")
           [[ $route == *"via $SEGMENT6::2 dev eth0"* && $route != *"proto 77"* ]] || die "(h): h1's route to $s2_6 is '$route'"
           tables_up || die "(h): a host lacks shoal's table"
           [ -z "${E2E_PID[1]:-}" ] || die "(h): an agent runs" ;;
        c) route=$(on 1 ip -4 route get "$pod_c2")
           [[ $route == *"dev flannel.1"* ]] || die "(c): h1 routes $pod_c2 as '$route'"
           ! on 1 test -e /sys/class/net/shoal.1 || die "(c): h1 has a shoal.1" ;;
        f) vx_agents_alive || die "an agent of hosts 5 and 6 died"
           vx_route_ok 5 "$s6" || die "(f): h5's route to $s6 is '$(on 5 ip -4 route show "$s6")'"
           vx_route_ok 6 "$s5" || die "(f): h6's route to $s5 is '$(on 6 ip -4 route show "$s5")'"
           route=$(on 5 ip -4 route get "$pod_f6")
           [[ $route == *"dev shoal.1"* ]] || die "(f): h5 routes $pod_f6 as '$route'" ;;
        d) : ;;
        e) agents_alive || die "an agent died"
           route=$(on 1 ip -6 route show "$s2_6")
           [[ $route == *"via $SEGMENT6::2 dev eth0 proto 77"* ]] || die "(e): h1's route to $s2_6 is '$route'" ;;
    esac
}

vx_tx() { on 1 cat /sys/class/net/flannel.1/statistics/tx_packets; }
shoal_vx_tx() { on 5 cat /sys/class/net/shoal.1/statistics/tx_packets; }

tsv="$out/dataplane.tsv"
printf 'rep\tsetup\tgbit_s\tretransmits\trtt_p50_us\trtt_avg_us\trtt_mdev_us\tping_loss_pct\tvxlan_tx_packets\tcpu_pct_per_gbit\tshoal_vxlan_tx_packets\n' > "$tsv"
tmp=$E2E_DIR/run
measure() { # rep setup
    local rep=$1 s=$2 src=${SRC[$2]} dst=${DST[$2]} tx0 stx0 gbit retr cpu p50 avg mdev loss fam=()
    [[ $s == [egh] ]] && fam=(-6)
    check_path "$s"
    # The same pause before every run: (a) follows the wait for the agents' routes, and must not
    # be the only one that starts after a quiet moment.
    sleep 1
    tx0=$(vx_tx) stx0=$(shoal_vx_tx)
    ip netns exec "$src" iperf3 "${fam[@]}" -c "$dst" -t "$secs" -J > "$tmp.iperf" || die "($s) iperf3 to $dst failed"
    gbit=$(jq '.end.sum_received.bits_per_second / 1e9' "$tmp.iperf")
    retr=$(jq '.end.sum_sent.retransmits // 0' "$tmp.iperf")
    # CPU the two iperf3 processes were charged (user + system, kernel work done on their
    # behalf included), per Gbit/s: what a byte costs on each path.
    cpu=$(jq '(.end.cpu_utilization_percent.host_total + .end.cpu_utilization_percent.remote_total)
              / (.end.sum_received.bits_per_second / 1e9)' "$tmp.iperf")
    ip netns exec "$src" ping "${fam[@]}" -n -c "$pings" -i 0.002 "$dst" > "$tmp.ping" || die "($s) ping to $dst failed"
    p50=$(sed -n 's/.*time=\([0-9.]*\) ms/\1/p' "$tmp.ping" | sort -g |
        awk '{ v[NR] = $1 } END { printf "%.0f", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) * 1000 }')
    read -r avg mdev < <(sed -n 's|^rtt [^=]*= [0-9.]*/\([0-9.]*\)/[0-9.]*/\([0-9.]*\) ms|\1 \2|p' "$tmp.ping" |
        awk '{ printf "%.0f %.0f\n", $1 * 1000, $2 * 1000 }')
    loss=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$tmp.ping")
    check_path "$s"
    printf '%s\t%s\t%.3f\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%s\n' "$rep" "$s" "$gbit" "$retr" "$p50" "$avg" "$mdev" "$loss" \
        "$(($(vx_tx) - tx0))" "$cpu" "$(($(shoal_vx_tx) - stx0))" >> "$tsv"
    echo "dataplane: rep $rep ($s): $gbit Gbit/s, rtt p50 $p50 us" >&2
}

# --- runs ---------------------------------------------------------------------------------------
for rep in $(seq 1 "$reps"); do
    to_a; measure "$rep" a
    measure "$rep" e
    to_b; measure "$rep" b
    measure "$rep" g
    table_on || die "cannot put the agents' table back"
    measure "$rep" h
    table_off
    measure "$rep" c
    measure "$rep" f
    measure "$rep" d
done

# --- report ---------------------------------------------------------------------------------------
col() { # setup column -> values, one a line
    awk -F'\t' -v s="$1" -v c="$2" 'NR > 1 && $2 == s { print $c }' "$tsv"
}
median() { sort -g | awk '{ v[NR] = $1 } END { printf "%.6g\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maxof() { sort -g | tail -1; }
minof() { sort -g | head -1; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# Median over repetitions of setup/b in the same repetition (paired: same moment, same noise).
paired() { # setup column
    paste <(col "$1" "$2") <(col b "$2") | awk '{ print $1 / $2 }' | median | awk '{ printf "%.2f", $1 }'
}
# Setup x against setup y on a column, paired by repetition: "median-ratio x-higher n p", with n
# the repetitions that are not a tie and p the two-sided sign test's.
compare() { # x y column
    local r
    r=$(paste <(col "$1" "$3") <(col "$2" "$3") | awk '{ print $1 / $2 }' | median)
    paste <(col "$1" "$3") <(col "$2" "$3") | awk -v r="$r" '
        $1 > $2 { w++ } $1 < $2 { l++ }
        END { n = w + l; k = w < l ? w : l; c = 1; s = 0
              for (i = 0; i <= k; i++) { s += c; c = c * (n - i) / (i + 1) }
              p = n ? 2 * s / 2 ^ n : 1; if (p > 1) p = 1
              printf "%.2f %d %d %.3f\n", r, w, n, p }'
}
# Each vxlan device must have carried its own setup's traffic and nothing else: flannel.1 (c),
# shoal.1 (f).
for s in a b d e f g h; do
    [ "$(col $s 9 | maxof)" -lt 50 ] || die "($s) traffic went through flannel.1"
done
[ "$(col c 9 | minof)" -gt 1000 ] || die "(c) traffic did not go through flannel.1"
for s in a b c d e g h; do
    [ "$(col $s 11 | maxof)" -lt 50 ] || die "h5's shoal.1 sent packets during ($s)"
done
[ "$(col f 11 | minof)" -gt 1000 ] || die "(f) traffic did not go through shoal.1"

declare -A NAME=([a]="(a) shoal host-gw, agents running" [b]="(b) same routes by hand"
    [g]="(g) same IPv6 routes by hand" [h]="(h) (g) with the inet shoal table" [c]="(c) VXLAN, flannel style (MTU 1450)" [d]="(d) one veth pair"
    [e]="(e) shoal host-gw over IPv6, agents running" [f]="(f) shoal VXLAN (shoal.1, MTU 1450), agents running")
bm=$(col b 3 | median) bl=$(col b 5 | median) bc=$(col b 10 | median)
md="$out/dataplane.md"
{
    echo "## Data plane"
    echo
    echo "Pod-to-pod TCP throughput (\`iperf3 -t $secs\`, one stream) and round-trip time"
    echo "(\`ping -c $pings -i 0.002\`, median of the per-packet times) between pods on two hosts."
    echo "The hosts are network namespaces on one bridge, pods are made by the real CNI bridge and"
    echo "host-local plugins, as in tests/e2e/lib.sh. Setups:"
    echo
    echo "- (a) shoal's host-gw routes: \`shoal agent\` running on both hosts (profile fast,"
    echo "  \`--no-vxlan\`: the hosts share a network, so the routes are host-gw either way, and the"
    echo "  pods keep eth0's MTU, 1500, as before issue 16), the route to the peer's pod subnet"
    echo "  installed by it (\`via <peer> dev eth0 proto 77\`), its masquerade table \`inet shoal\`"
    echo "  in place (ip-masq, the default: pod-to-pod traffic passes its postrouting chain and is"
    echo "  not rewritten);"
    echo "- (e) the same over IPv6: the agents run with \`--ipv6-network $NETWORK6\`, each host has"
    echo "  an address in \`fd77:<per run>::/64\` on eth0 (nodad, before its agent starts), and the"
    echo "  route to the peer's IPv6 pod subnet is the agent's (\`via <peer's IPv6> dev eth0 proto"
    echo "  77\`); the same pods as (a), measured to the peer pod's IPv6 address (\`iperf3 -6\`,"
    echo "  \`ping -6\`). The pods of (a), (b) and (e) are made from the conflist the agent writes,"
    echo "  one host-local range per family;"
    echo "- (b) the agents stopped (SIGTERM), their protocol-77 routes flushed and their masquerade"
    echo "  tables deleted, and the same routes added by hand (\`ip route add <peer subnet> via"
    echo "  <peer> dev eth0\`; the IPv6 ones flushed too); the same pods as (a). (a) against (b) is"
    echo "  the cost of the agent and of the masquerade table on pod-to-pod traffic (target: none);"
    echo "- (g) the same state as (b), over IPv6: the IPv6 routes added by hand too (\`ip -6 route"
    echo "  add <peer IPv6 subnet> via <peer's IPv6> dev eth0\`), measured like (e). (g) against (b)"
    echo "  is the kernel's IPv6 path against its IPv4 path with nothing of shoal's in the way, (e)"
    echo "  against (g) what shoal adds over IPv6;"
    echo "- (h) (g) with the agents' \`inet shoal\` table loaded again as they wrote it (\`nft list\`"
    echo "  before (b), \`nft -f\` here, deleted after): the table's own cost over IPv6;"
    echo "- (c) flannel's vxlan backend, set up by hand: \`flannel.1\` (vxlan id 1, local <host>,"
    echo "  dstport 8472, nolearning, MTU 1450, the subnet's .0/32 on it), route"
    echo "  \`<peer subnet> via <peer subnet .0> dev flannel.1 onlink\`, permanent neighbour entry"
    echo "  for the peer's VTEP address, FDB entry VTEP MAC -> peer host. Its pods are other pod"
    echo "  namespaces (on a second CNI bridge, cni1, with \`\"mtu\": 1450\` as flannel writes it, in"
    echo "  10.245.N.0/24) on the same two hosts;"
    echo "- (f) shoal's own VXLAN path (issue 16): two more hosts on the same bridge, each on a"
    echo "  network of its own (192.168.101.5/24 and 192.168.102.6/24, with an on-link route to the"
    echo "  other's /24, so the underlay goes straight across the bridge), a cluster of their own with"
    echo "  \`shoal agent\` at its defaults (profile fast; vxlan and ip-masq on), running for the whole"
    echo "  run. Each sees the other's address off its own network and routes its subnet through"
    echo "  shoal's device: \`shoal.1\` (VNI 1, UDP 8472, nolearning, MTU 1450), \`<peer subnet> via"
    echo "  <peer subnet .0> dev shoal.1 proto 77 onlink\`, the permanent neighbour and FDB entries"
    echo "  the agent adds, and its \`inet shoal\` table (masquerade chain, VXLAN accepted only from"
    echo "  members). Pods from the agents' conflists (MTU 1450, like (c)'s). (f) against (c) is"
    echo "  what shoal's VXLAN path costs next to the same overlay by hand (target: nothing; like"
    echo "  (a) against (b), that includes the agents and their table);"
    echo "- (d) two namespaces directly on one veth pair (no bridge, no routing), MTU 1500."
    echo
    echo "Each repetition runs a, e, b, g, h, c, f, d in that order ($reps repetitions), so noise"
    echo "hits all alike; (e) needs the agents running, so it follows (a), and (g) and (h) the"
    echo "hand-made routes, so they follow (b). (a) restarts both agents and waits"
    echo "for their routes of both families; every run starts after the same 1 s pause, so (a), which"
    echo "follows the wait for the agents' routes, starts like the others. Before and after each"
    echo "measurement the script checks the path (the route's gateway, device, flags and protocol;"
    echo "the agents alive), and that only (c) moved packets through flannel.1 and only (f) through"
    echo "shoal.1 (hosts 1 and 2 have no shoal.1 at all)."
    echo
    echo '```'
    if [ "$quick" = 1 ]; then echo "bash bench/dataplane.sh --out DIR --build BUILDDIR --quick"
    else echo "bash bench/dataplane.sh --out DIR --build BUILDDIR"; fi
    echo "ip netns exec <pod1> iperf3 -c <pod2> -t $secs -J"
    echo "ip netns exec <pod1> ping -n -c $pings -i 0.002 <pod2>"
    echo "ip netns exec <pod1> iperf3 -6 -c <pod2's IPv6> -t $secs -J          # (e), (g)"
    echo "ip netns exec <pod1> ping -6 -n -c $pings -i 0.002 <pod2's IPv6>     # (e), (g)"
    echo '```'
    echo
    echo "| setup | throughput median (Gbit/s) | max | ratio to (b), medians | ratio to (b), paired median | RTT p50 median (µs) | max | ratio to (b) | RTT mdev median (µs) | iperf3 CPU % per Gbit/s, median | ratio to (b) |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for s in a e b g h c f d; do
        m=$(col $s 3 | median) x=$(col $s 3 | maxof) l=$(col $s 5 | median) lx=$(col $s 5 | maxof)
        cp=$(col $s 10 | median)
        printf '| %s | %.2f | %.2f | %s | %s | %s | %s | %s | %s | %.1f | %s |\n' "${NAME[$s]}" "$m" "$x" "$(div "$m" "$bm")" \
            "$(paired $s 3)" "$l" "$lx" "$(div "$l" "$bl")" "$(col $s 7 | median)" "$cp" "$(div "$cp" "$bc")"
    done
    echo
    read -r tr tw tn tp <<<"$(compare a b 3)"
    read -r lr lw ln lp <<<"$(compare a b 5)"
    read -r cr cw cn _ <<<"$(compare a c 3)"
    read -r clr clw cln _ <<<"$(compare a c 5)"
    read -r er ew en ep <<<"$(compare e a 3)"
    read -r elr elw eln elp <<<"$(compare e a 5)"
    read -r gr gw gn gp <<<"$(compare g b 3)"
    read -r glr glw gln glp <<<"$(compare g b 5)"
    read -r gcr _ _ _ <<<"$(compare g b 10)"
    read -r hgr hgw hgn hgp <<<"$(compare h g 3)"
    read -r hgcr _ _ _ <<<"$(compare h g 10)"
    read -r egr egw egn egp <<<"$(compare e g 3)"
    read -r eglr eglw egln eglp <<<"$(compare e g 5)"
    read -r fr fw fn fp <<<"$(compare f c 3)"
    read -r flr flw fln flp <<<"$(compare f c 5)"
    same() { awk -v r="$1" -v p="$2" 'BEGIN { d = r - 1; if (d < 0) d = -d; print (p >= 0.05 || d <= 0.05 ? "met" : "**missed**") }'; }
    echo "Targets, from the per-repetition ratios (paired: the same moment, the same noise)."
    echo "(a) equal to (b) within noise, meaning a sign test over the repetitions finds no"
    echo "difference (p ≥ 0.05) or the median ratio is within 5 % of 1: throughput $(same "$tr" "$tp")"
    echo "(median ratio $tr; (a) higher in $tw of $tn repetitions, p = $tp), RTT $(same "$lr" "$lp")"
    echo "(median ratio $lr; (a) higher in $lw of $ln repetitions without a tie, p = $lp)."
    echo "(a) clearly above (c), meaning at least 10 % better in the median ratio and better in at"
    echo "least 80 % of the repetitions: throughput $(awk -v r="$cr" -v w="$cw" -v n="$cn" \
        'BEGIN { print (r >= 1.1 && w >= 0.8 * n ? "met" : "**missed**") }') (median ratio $cr, higher in $cw of $cn),"
    echo "RTT $(awk -v r="$clr" -v w="$clw" -v n="$cln" \
        'BEGIN { print (r <= 0.9 && n - w >= 0.8 * n ? "met" : "**missed**") }') (median ratio $clr, lower in $((cln - clw)) of $cln without a tie)."
    echo "(e) equal to (a) within noise, the same test: throughput $(same "$er" "$ep") (median ratio"
    echo "(e)/(a) $er; (e) higher in $ew of $en repetitions, p = $ep), RTT $(same "$elr" "$elp") (median"
    echo "ratio $elr; (e) higher in $elw of $eln repetitions without a tie, p = $elp)."
    echo "Where a gap between (e) and (a) comes from, without targets: the kernel's IPv6 path against"
    echo "its IPv4 path, both by hand and without agents or table, (g)/(b): throughput $gr ((g) higher"
    echo "in $gw of $gn, p = $gp), RTT $glr ((g) higher in $glw of $gln without a tie, p = $glp), CPU"
    echo "per Gbit/s $gcr; and what shoal adds over IPv6, (e)/(g): throughput $egr ((e) higher in $egw"
    echo "of $egn, p = $egp), RTT $eglr ((e) higher in $eglw of $egln without a tie, p = $eglp);"
    echo "of which the table alone, (h)/(g): throughput $hgr ((h) higher in $hgw of $hgn, p = $hgp),"
    echo "CPU per Gbit/s $hgcr."
    echo "(f) equal to (c) within noise, the same test: throughput $(same "$fr" "$fp") (median ratio"
    echo "(f)/(c) $fr; (f) higher in $fw of $fn repetitions, p = $fp), RTT $(same "$flr" "$flp") (median"
    echo "ratio $flr; (f) higher in $flw of $fln repetitions without a tie, p = $flp)."
    [ "$reps" -lt 6 ] && echo "With $reps repetitions the sign test cannot reach p < 0.05, so there only the median ratio can find a difference."
    echo "The CPU column is iperf3's own accounting (client + server, user + system, which includes"
    echo "most of the kernel's per-packet work on this path), divided by the throughput: the cost of"
    echo "a byte, less sensitive than the throughput to what else runs on the machine."
    echo "Raw samples: \`dataplane.tsv\` (retransmits, ping avg/mdev/loss and the packets flannel.1"
    echo "and host 5's shoal.1 sent are there too). Everything shares this machine's cores (iperf3"
    echo "is CPU-bound on veth; nothing else is kept off them), so absolute figures are noisy;"
    echo "compare the ratios."
    echo
    echo "![throughput](bench/dataplane-throughput.png)"
    echo "![latency](bench/dataplane-latency.png)"
    echo "![CPU per Gbit/s](bench/dataplane-cpu.png)"
} > "$md"

plot() { # column ylabel title file
    local spec="" s
    # gnuplot's first colours for a, e, b, c as before; (f) one that stands apart from (c)'s.
    local -A color=([a]='#9400d3' [e]='#009e73' [b]='#56b4e9' [g]='#000000' [h]='#999999'
        [c]='#e69f00' [f]='#d55e00' [d]='#0072b2')
    for s in a e b g h c f d; do
        awk -F'\t' -v s="$s" -v c="$1" 'NR > 1 && $2 == s { print $1, $c }' "$tsv" > "$E2E_DIR/plot-$s.dat"
        spec+="${spec:+, }'$E2E_DIR/plot-$s.dat' using 1:2 with linespoints lc rgb '${color[$s]}' title '${NAME[$s]}'"
    done
    gnuplot <<EOF
set terminal pngcairo size 800,520
set output '$out/$4'
set title '$3'
set xlabel 'repetition (setups alternate a, e, b, g, h, c, f, d within each)'
set ylabel '$2'
set yrange [0:*]
set key below
set xtics 1
set grid
plot $spec
EOF
}
plot 3 'Gbit/s' 'Pod-to-pod TCP throughput (iperf3, one stream)' dataplane-throughput.png
plot 5 'microseconds' 'Pod-to-pod round-trip time (ping, median per run)' dataplane-latency.png
plot 10 'CPU % per Gbit/s' 'CPU iperf3 was charged per Gbit/s (client + server)' dataplane-cpu.png
echo "dataplane: wrote $md" >&2
