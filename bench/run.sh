#!/usr/bin/env bash
# shoal against HashiCorp Serf (Debian's serf, lan profile, encrypted, with a route event handler)
# on the same namespace hosts, one system after the other; then the route programming and data
# plane benchmarks; writes docs/BENCHMARKS.md and docs/bench/*.png (--quick: only to --out).
# Usage: bash bench/run.sh [--quick] [--out DIR]      (as root, Debian 12)
# Environment overrides: BENCH_N (list of sizes), BENCH_REPS, BENCH_IDLE, BENCH_CHURN (seconds),
# BENCH_LOSS_S, BENCH_LOSS_N.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
QUICK=0
OUT=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --out) OUT=$2; shift ;;
        -h | --help) sed -n 2,7p "$0"; exit 0 ;;
        *) echo "run.sh: unknown option '$1' (use --quick, --out DIR)" >&2; exit 2 ;;
    esac
    shift
done
[ "$(id -u)" = 0 ] || { echo "run.sh: must run as root (network namespaces)" >&2; exit 1; }
BUILD=$ROOT/build-bench
OUT=${OUT:-$BUILD/report}
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
export TZ=UTC LC_ALL=C
# bash reports every agent it saw die of kill -9 ("... Killed ip netns exec ..."): expected here.
exec 2> >(grep --line-buffered -v '^bench/.*: line [0-9]*: *[0-9]* Killed ' >&2)

if [ "$QUICK" = 1 ]; then
    NS_LIST="8 16"; REPS=3; IDLE=10; CHURN=8; SETTLE=3; LOSS_S=30; LOSS_N=16
else
    NS_LIST="8 16 32"; REPS=10; IDLE=60; CHURN=20; SETTLE=5; LOSS_S=300; LOSS_N=32
fi
# Overrides, e.g. BENCH_N="8 16 32 64" on a machine that copes (the report follows them).
NS_LIST=${BENCH_N:-$NS_LIST}; REPS=${BENCH_REPS:-$REPS}; IDLE=${BENCH_IDLE:-$IDLE}
CHURN=${BENCH_CHURN:-$CHURN}; LOSS_S=${BENCH_LOSS_S:-$LOSS_S}; LOSS_N=${BENCH_LOSS_N:-$LOSS_N}
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
START=$(date +%s)

log "installing packages (serf iperf3 iputils-ping gnuplot-nox nftables jq + scripts/deps.sh)"
bench_pkgs=(serf iperf3 iputils-ping gnuplot-nox nftables jq iproute2)
missing=()
for p in "${bench_pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
        { echo "run.sh: apt-get install ${missing[*]} failed" >&2; exit 1; }
fi
bash scripts/deps.sh || { echo "run.sh: scripts/deps.sh failed" >&2; exit 1; }

log "building shoal (Release, -O2) in $BUILD"
# -O2: GCC 12's -O3 raises a false -Wrestrict in gossip/ownership/network_config.cpp under -Werror.
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" >/dev/null &&
    ninja -C "$BUILD" -j2 shoal route_bench >/dev/null ||
    { echo "run.sh: build failed (ninja -C $BUILD shoal route_bench)" >&2; exit 1; }
SHOAL=$BUILD/shoal

# Estimated durations (s), printed before anything runs (from runs on 2 cores: a repetition takes
# about 4 s + N/16 for shoal, 12 s + N/8 for Serf, whose failure detection dominates).
est_mem=0
for n in $NS_LIST; do
    est_mem=$((est_mem + 2 * (8 + SETTLE + IDLE + CHURN) + REPS * (4 + n / 16) + REPS * (12 + n / 8)))
done
est_loss=$((2 * (LOSS_S + 20 + SETTLE)))
est_routes=$([ "$QUICK" = 1 ] && echo 60 || echo 240)
est_dp=$([ "$QUICK" = 1 ] && echo 120 || echo 420)
log "estimate: membership (1-5) ${est_mem}s, loss (6) ${est_loss}s, route programming (7) <= ${est_routes}s, data plane (8) <= ${est_dp}s; total ~$(((est_mem + est_loss + est_routes + est_dp) / 60)) min"

B_ID=$$
B_DIR=$(mktemp -d "/tmp/shoal-bench-$B_ID.XXXX")
source bench/lib.sh
source bench/membership.sh
TSV=$OUT/membership.tsv
: >"$TSV"
SERF_VERIFIED=0

bench_take_over

"$SHOAL" keygen --out "$B_DIR/cluster.key"
SHOAL_KEYFILE=$B_DIR/cluster.key
SERF_KEY=$(serf keygen)

# 1-5: per N, one cluster of N+1 hosts (the last one churns), shoal then Serf on it.
for n in $NS_LIST; do
    make_cluster 1 $((n + 1))
    membership_run shoal 1 "$n"
    membership_run serf 1 "$n"
    drop_cluster 1
done
# 6: two clusters at once, one per loss level; shoal, then Serf.
make_cluster 2 "$LOSS_N"
make_cluster 3 "$LOSS_N"
log "loss: shoal"
loss_run shoal "$LOSS_S" "$LOSS_N" 2:5 3:10
log "loss: serf"
loss_run serf "$LOSS_S" "$LOSS_N" 2:5 3:10
drop_cluster 2
drop_cluster 3
MEM_S=$(($(date +%s) - START))
SERF_FALLBACK=$(cat "$B_DIR/serf_fallback" 2>/dev/null | wc -l)
log "membership measurements done in ${MEM_S}s (serf members confirmed failed after $SERF_VERIFIED failovers)"

# 7 and 8: the other scripts, same contract (fragment, tsv, png in $OUT).
PARTS=()
for part in route_programming dataplane; do
    if [ ! -f "bench/$part.sh" ]; then
        log "bench/$part.sh missing: skipped"
        printf '## %s\n\nNot run: `bench/%s.sh` is not in this tree.\n' "$part" "$part" >"$OUT/$part.md"
    else
        log "running bench/$part.sh"
        t=$(date +%s)
        q=(); [ "$QUICK" = 1 ] && q=(--quick)
        if ! bash "bench/$part.sh" --out "$OUT" --build "$BUILD" "${q[@]}"; then
            log "bench/$part.sh failed"
            printf '## %s\n\nFailed: `bench/%s.sh --out DIR --build %s` exited non-zero; see the run log.\n' \
                "$part" "$part" "build-bench" >"$OUT/$part.md"
        fi
        log "bench/$part.sh took $(($(date +%s) - t))s"
    fi
    PARTS+=("$OUT/$part.md")
done

TOTAL_S=$(($(date +%s) - START))
export QUICK REPS IDLE CHURN LOSS_S LOSS_N NS_LIST SHOAL SERF_VERIFIED SERF_FALLBACK MEM_S TOTAL_S
bash bench/report.sh "$OUT" "${PARTS[@]}" || { log "report failed"; exit 1; }
if [ "$QUICK" = 0 ]; then
    mkdir -p docs/bench
    cp "$OUT"/*.png docs/bench/ 2>/dev/null
    cp "$OUT/BENCHMARKS.md" docs/BENCHMARKS.md
    log "wrote docs/BENCHMARKS.md and docs/bench/*.png"
else
    log "wrote $OUT/BENCHMARKS.md (--quick leaves docs/ alone)"
fi
log "done in $((TOTAL_S / 60)) min $((TOTAL_S % 60)) s"
