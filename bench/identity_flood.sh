#!/usr/bin/env bash
# What a flood of new identities costs one agent: three namespace hosts, host 3 (a key holder)
# sends host 2 a fresh signed identity per datagram (tests/bench/identity_flood.cpp). Prints the
# victim's RSS and CPU before, right after and FLOOD_AFTER s after the flood, its rejection
# counters, and whether the cluster stayed whole. Figures, not pass/fail (target: RSS <= 8 MiB).
# Usage: bash bench/identity_flood.sh path/to/shoal [path/to/identity_flood]     (as root)
# Environment: FLOOD_COUNT (20000), FLOOD_RATE (per second, 2000), FLOOD_SOURCES (source
# addresses on host 3, 1), FLOOD_PORTS (source ports per address, 1), FLOOD_AFTER (seconds to the
# last reading, 10), E2E_PROFILE (lan).
SHOAL=$(realpath "$1")
FLOOD=$(realpath "${2:-$(dirname "$SHOAL")/identity_flood}")
COUNT=${FLOOD_COUNT:-20000}
RATE=${FLOOD_RATE:-2000}
SOURCES=${FLOOD_SOURCES:-1}
PORTS=${FLOOD_PORTS:-1}
AFTER=${FLOOD_AFTER:-10}
# The agent's default profile: the one a real cluster runs, not the tests' fast one.
E2E_PROFILE=${E2E_PROFILE:-lan}
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/../tests/e2e/lib.sh"
die() { echo "identity_flood.sh: $*" >&2; exit 1; }
[ -x "$FLOOD" ] || die "no flood tool at $FLOOD"
HZ=$(getconf CLK_TCK)

e2e_switch
for n in 1 2 3; do add_host "$n"; done
start_agent 1
sleep 0.3
start_agent 2
start_agent 3
# By name: the victim's own alive count grows by the identities it admits.
whole() {
    local n m
    for n in 1 2 3; do for m in 1 2 3; do state_is "$n" "h$m" alive || return 1; done; done
}
wait_for 30 whole >/dev/null || die "the 3 agents did not converge"
sub1=$(sed -n 's/^FLANNEL_SUBNET=\(.*\)\.1\/\(.*\)/\1.0\/\2/p' "$E2E_DIR/h1/subnet.env")
route_to_h1() { routes_of 2 | grep -q "^$sub1 via $SEGMENT.1 "; }
wait_for 10 route_to_h1 >/dev/null || die "host 2 has no route to $sub1"
sleep 2

VICTIM=${E2E_PID[2]}
rss_mib() { awk '/^'"${2:-VmRSS}"':/{printf "%.2f", $2 / 1024}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
seconds() { awk -v t="$1" -v hz="$HZ" 'BEGIN{printf "%.2f", t / hz}'; }
# members N: "alive/suspect/dead/left" as host N holds them
members() { status_of "$1" '.members | "\(.alive)/\(.suspect)/\(.dead)/\(.left)"'; }
rejected() { status_of 2 ".rejected.announcements.$1 // 0"; }

# Extra addresses on host 3: the victim limits new identities per source address.
from=()
if [ "$SOURCES" -gt 1 ]; then
    ips=""
    for ((i = 1; i <= SOURCES; i++)); do
        on 3 ip addr add "$SEGMENT.$((100 + i))/24" dev eth0
        ips+="${ips:+,}$SEGMENT.$((100 + i))"
    done
    from=(--from "$ips")
fi

rss0=$(rss_mib "$VICTIM"); cpu0=$(cpu_ticks "$VICTIM"); mem0=$(members 2)
t0=$EPOCHREALTIME
# Not through `on`: $! must be the tool itself, for the cleanup to find it.
ip netns exec "$(host 3)" "$FLOOD" --key "$E2E_DIR/cluster.key" --network "$NETWORK" \
    --to "$SEGMENT.2:7946" --count "$COUNT" --rate "$RATE" --ports "$PORTS" "${from[@]}" \
    >"$E2E_DIR/flood.out" 2>&1 &
E2E_PID[flood]=$!
wait "${E2E_PID[flood]}"
flood_rc=$?
unset "E2E_PID[flood]"
took=$(awk -v a="$EPOCHREALTIME" -v b="$t0" 'BEGIN{printf "%.1f", a - b}')
rss1=$(rss_mib "$VICTIM"); cpu1=$(cpu_ticks "$VICTIM"); mem1=$(members 2)
sleep "$AFTER"
rss2=$(rss_mib "$VICTIM"); cpu2=$(cpu_ticks "$VICTIM"); mem2=$(members 2)
hwm=$(rss_mib "$VICTIM" VmHWM)

echo "identity flood: $COUNT identities at $RATE/s from $SOURCES address(es) x $PORTS port(s)" \
    "on host 3 to host 2 (profile $E2E_PROFILE)"
sed 's/^/  tool: /' "$E2E_DIR/flood.out"
[ "$flood_rc" = 0 ] || echo "  tool exited $flood_rc"
printf '\n%-40s %12s %12s %12s\n' "victim (host 2)" "before" "after flood" "$AFTER s later"
printf '%-40s %12s %12s %12s\n' "RSS MiB" "$rss0" "$rss1" "$rss2"
printf '%-40s %12s %12s %12s\n' "CPU s (since the column before)" "-" \
    "$(seconds $((cpu1 - cpu0)))" "$(seconds $((cpu2 - cpu1)))"
printf '%-40s %12s %12s %12s\n' "members alive/suspect/dead/left" "$mem0" "$mem1" "$mem2"
printf '\n%-40s %12s\n' "flood wall time s" "$took"
printf '%-40s %12s\n' "victim peak RSS (VmHWM) MiB" "$hwm"
for r in identity_rate member_cap bad_signature malformed_name; do
    printf '%-40s %12s\n' "rejected announcements: $r" "$(rejected "$r")"
done
# How far the flood reached past the victim: what the others took from its gossip.
for n in 1 3; do
    printf '%-40s %12s\n' "host $n members a/s/d/l" "$(members "$n")"
    printf '%-40s %12s\n' "host $n RSS MiB" "$(rss_mib "${E2E_PID[$n]}")"
done
printf '%-40s %12s\n' "hosts 1-3 all see h1-h3 alive" "$(whole && echo yes || echo no)"
printf '%-40s %12s\n' "host 2 route to h1 ($sub1)" "$(route_to_h1 && echo yes || echo no)"
printf '%-40s %12s\n' "victim still running" \
    "$(kill -0 "$VICTIM" 2>/dev/null && echo yes || echo no)"
printf '%-40s %12s\n' "target: victim RSS <= 8 MiB" \
    "$(awk -v m="$hwm" 'BEGIN{print (m <= 8 ? "met" : "missed")}') (peak)"
