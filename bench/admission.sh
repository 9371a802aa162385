#!/usr/bin/env bash
# Join time and memory of shoal under admission = enforce against the open mode (issue 13's
# figures): N namespace hosts on one bridge, lan profile; a host N+1 joins REPS times (start ->
# its route on every other host) and leaves gracefully; RSS and private memory of every agent
# after the cluster settled. Every host's certificate comes from `shoal ca sign --subnet auto`.
# Usage: bash bench/admission.sh [N] [REPS]      (as root; default 32 and 5; build/shoal, or $SHOAL)
set -uo pipefail
cd "$(dirname "$0")/.."
N=${1:-32}
REPS=${2:-5}
SHOAL=${SHOAL:-$(pwd)/build/shoal}
[ "$(id -u)" = 0 ] || { echo "admission.sh: must run as root (network namespaces)" >&2; exit 1; }
[ -x "$SHOAL" ] || { echo "admission.sh: no $SHOAL (ninja -C build shoal)" >&2; exit 1; }
export TZ=UTC LC_ALL=C
# bash reports every agent it saw die of kill -9 ("... Killed ip netns exec ..."): expected here.
exec 2> >(grep --line-buffered -v '^bench/.*: line [0-9]*: *[0-9]* Killed ' >&2)
B_ID=$$
B_DIR=$(mktemp -d "/tmp/shoal-admission-$B_ID.XXXX")
source bench/lib.sh
source bench/membership.sh
TSV=$B_DIR/admission.tsv
: >"$TSV"
bench_take_over

"$SHOAL" keygen --out "$B_DIR/cluster.key"
SHOAL_KEYFILE=$B_DIR/cluster.key
"$SHOAL" ca init --out "$B_DIR/ca" --network 10.244.0.0/16 >/dev/null

median() { sort -g | awk '{v[NR] = $1} END{if (!NR) print "NA"; else print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }

for mode in off enforce; do
    make_cluster 1 $((N + 1))
    B_SHOAL_ARGS=""
    if [ "$mode" = enforce ]; then
        B_SHOAL_ARGS="--admission enforce --ca-file $B_DIR/ca/ca.pub"
        for ((h = 1; h <= N + 1; h++)); do
            d=$(hdir 1 "$h")
            "$SHOAL" identity show --state-dir "$d/state" >"$d/node.pub" 2>/dev/null &&
                "$SHOAL" ca sign --ca-key "$B_DIR/ca/ca.key" --node-pub "$d/node.pub" --name "h$h" \
                    --subnet auto --out "$d/state/node.crt" >/dev/null 2>&1 ||
                { log "admission.sh: could not certify h$h"; exit 1; }
        done
    fi
    log "admission $mode: $N hosts"
    start_cluster shoal 1 "$N" || { log "admission $mode: did not converge"; exit 1; }
    sleep 5
    for ((h = 1; h <= N; h++)); do
        p=${B_PID["1 $h"]}
        emit "$mode" "$N" rss_kib "$h" "$(rss_kib "$p")"
        emit "$mode" "$N" private_kib "$h" "$(private_kib "$p")"
    done
    v=$((N + 1))
    for ((i = 1; i <= REPS; i++)); do
        reset_logs 1 "$N"; t0=$(now)
        start_agent shoal 1 "$v"
        j=$(wait_emit "$mode" join_s "$i" 1 "$N" "$v" "$t0" 20 "$(pat_route_add 1 "$v")" routes.mon)
        converge shoal 1 $((N + 1)) 20 >/dev/null
        sleep 1
        reset_logs 1 "$N"; t0=$(now)
        kill -INT "${B_PID["1 $v"]}"
        l=$(wait_emit "$mode" leave_s "$i" 1 "$N" "$v" "$t0" 20 "$(pat_route_del 1 "$v")" routes.mon)
        stop_agent 1 "$v" INT 6
        log "  $mode rep $i: join ${j}s  leave ${l}s"
        sleep 1
    done
    stop_cluster 1
    drop_cluster 1
done

echo
printf '%-8s %4s %12s %12s %12s %12s\n' admission N "join median" "join max" "RSS KiB" "private KiB"
for mode in off enforce; do
    col() { awk -F'\t' -v m="$mode" -v k="$1" '$1 == m && $3 == k && $5 != "NA" {print $5}' "$TSV"; }
    printf '%-8s %4s %12s %12s %12s %12s\n' "$mode" "$N" "$(col join_s | median)" \
        "$(col join_s | sort -g | tail -1)" "$(col rss_kib | median)" "$(col private_kib | median)"
done
