#!/usr/bin/env bash
# The demo: three hosts (network namespaces on one bridge) run `shoal agent`; each gets a pod
# subnet, routes every other host's subnet straight to that host (host-gw: no tunnel), and a pod
# on one host pings a pod on another. An agent freezes and its host's route stays; then a host
# dies and the others withdraw its route.
# Everything it creates is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build shoal >/dev/null
SHOAL=$(realpath build/shoal)
set +e
source tests/e2e/lib.sh
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "three hosts on one L2 segment ($SEGMENT.0/24), pod network $NETWORK"
e2e_switch
for n in 1 2 3; do add_host "$n"; start_agent "$n"; done
for n in 1 2 3; do wait_for 10 test -s "$E2E_DIR/h$n/subnet.env" >/dev/null; done
two_routes() { [ "$(routes_of "$1" | grep -c via)" = 2 ]; }
for n in 1 2 3; do wait_for 10 two_routes "$n" >/dev/null; done

say "shoal members (as host 1 sees them)"
shoal_at 1 members
for n in 1 2 3; do
    say "host $n: its subnet.env and its routes (proto 77 = shoal)"
    cat "$E2E_DIR/h$n/subnet.env"
    routes_of "$n"
done

say "a pod on each host, made by the CNI bridge + host-local plugins from subnet.env"
pod1=$(add_pod 1); pod2=$(add_pod 2); pod3=$(add_pod 3)
echo "pod on host 1: $pod1   pod on host 2: $pod2   pod on host 3: $pod3"
say "pod on host 1 pings the pod on host 2: plain routing, host 1 -> host 2 -> pod"
pod 1 ping -c 3 "$pod2"
pod 1 ip route get "$pod2"
on 1 ip route get "$pod2"

say "host 2's agent freezes (SIGSTOP) for 6 s; host 2 still forwards, so its route stays"
kill -STOP "${E2E_PID[2]}"
pod 1 ping -q -i 0.1 -w 6 "$pod2" | grep 'packets transmitted'
shoal_at 1 members
kill -CONT "${E2E_PID[2]}"

say "host 3 dies (kill -9 of its agent, its link down)"
s3=$(subnet_of 3)
gone() { ! routes_of "$1" | grep -q "^$s3 "; }
t0=$(now_ms)
stop_agent 3 KILL 2>/dev/null
on 3 ip link set eth0 down
wait_for 10 gone 1 >/dev/null; ms1=$(( $(now_ms) - t0 ))
wait_for 10 gone 2 >/dev/null; ms2=$(( $(now_ms) - t0 ))
echo "after the kill, host 1 had withdrawn the route to $s3 within ${ms1} ms, host 2 within ${ms2} ms"
routes_of 1
say "the pod on host 1 now gets an immediate error for host 3's pods (the unreachable route)"
pod 1 ping -c 1 -W 2 "$pod3" || true
shoal_at 1 members

say "cleaning up: agents stopped, namespaces removed"
