# Hosts as network namespaces on one L2 segment: a switch namespace holding a bridge, and host
# namespaces plugged into it by veth pairs. Shared by the namespace tests (tests/e2e/lib.sh) and
# the benchmark (bench/lib.sh), which choose every name and address, so that each run's names
# carry its own suffix and removing them can never touch what another run made. Source it.

# netns_switch SWITCH: the switch namespace, its bridge br0 up.
netns_switch() {
    ip netns add "$1"
    ip -n "$1" link add br0 type bridge
    ip -n "$1" link set br0 up
}

# netns_host SWITCH HOST ADDR/LEN HOST_LINK SWITCH_LINK [COMMAND...]: the host namespace, with
# eth0 = ADDR/LEN and lo up, plugged into SWITCH's bridge. The veth pair is born in the calling
# namespace, shared with every other run, hence link names of the caller's choosing. COMMAND runs
# in HOST before its link moves in, so that a change to the namespace's defaults (IPv6 off)
# already holds for eth0. NETNS_BRIDGE names another bridge of SWITCH than br0 (a second segment).
netns_host() {
    local sw=$1 h=$2 addr=$3 hl=$4 sl=$5; shift 5
    ip netns add "$h"
    [ $# -gt 0 ] && ip netns exec "$h" "$@"
    ip link add "$hl" type veth peer name "$sl"
    ip link set "$hl" netns "$h"
    ip link set "$sl" netns "$sw"
    ip -n "$h" link set "$hl" name eth0
    ip -n "$h" link set lo up
    ip -n "$h" addr add "$addr" dev eth0
    ip -n "$h" link set eth0 up
    ip -n "$sw" link set "$sl" master "${NETNS_BRIDGE:-br0}"
    ip -n "$sw" link set "$sl" up
}

# netns_drop NAMESPACE...: removes these (a host's veth pair goes with it); absent ones are no
# error. Stop the processes inside first, by pid: a namespace with a process in it lives on,
# unnamed, after `ip netns del`.
netns_drop() {
    local x
    for x in "$@"; do ip netns del "$x" 2>/dev/null; done
}

# netns_drop_run SUFFIX: removes every namespace whose name ends in SUFFIX (a run's "-ID"),
# including those made in subshells, which a list kept in a variable would miss. An exact string
# comparison, not a pattern: the suffix decides alone what is ours.
netns_drop_run() {
    local x
    for x in $(ip netns list | awk -v s="$1" '{n = $1; k = length(n) - length(s)}
                                             k > 0 && substr(n, k + 1) == s {print n}'); do
        ip netns del "$x"
    done
}
