#!/usr/bin/env bash
# Memory of one agent in a 32-member cluster (namespaces on one bridge): VmRSS and private memory
# (Private_Clean + Private_Dirty of smaps_rollup) of host 1's agent once membership has settled.
# Usage: scripts/rss32.sh path/to/shoal [extra agent args for host 1, e.g. --metrics 127.0.0.1:9477]
SHOAL=$(realpath "$1"); shift
source "$(dirname "$0")/../tests/e2e/lib.sh"
N=32
# The neighbour table is shared by all namespaces: 32 hosts x 31 peers needs more than the default.
old=$(for i in 1 2 3; do sysctl -n net.ipv4.neigh.default.gc_thresh$i; done | paste -sd' ')
restore() { read -r a b c <<<"$old"; sysctl -qw net.ipv4.neigh.default.gc_thresh1="$a" \
    net.ipv4.neigh.default.gc_thresh2="$b" net.ipv4.neigh.default.gc_thresh3="$c"; e2e_cleanup; }
trap restore EXIT
sysctl -qw net.ipv4.neigh.default.gc_thresh1=4096 net.ipv4.neigh.default.gc_thresh2=8192 \
    net.ipv4.neigh.default.gc_thresh3=16384
e2e_switch
for n in $(seq 1 $N); do add_host "$n"; done
start_agent 1 "$@"
for n in $(seq 2 $N); do start_agent "$n"; done
all() { [ "$("$SHOAL" members --json --socket "$E2E_DIR/h1.sock" | jq '[.[] | select(.state == "alive")] | length')" = $N ]; }
wait_for 60 all >/dev/null || { echo "cluster did not converge"; exit 1; }
sleep 15  # settle: probes, gossip and a few anti-entropy rounds
if [ $# -gt 0 ]; then
    for _ in $(seq 10); do on 1 curl -s "http://${2#*=}/metrics" >/dev/null 2>&1 || true; done
fi
pid=${E2E_PID[1]}
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
priv=$(awk '/^Private_(Clean|Dirty)/ {s += $2} END {print s}' "/proc/$pid/smaps_rollup")
echo "members $N  VmRSS ${rss} kB  private ${priv} kB  threads $(ls /proc/$pid/task | wc -l)  args: $*"
