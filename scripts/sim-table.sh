#!/usr/bin/env bash
# Runs `shoal simulate` over cluster sizes and seeds and prints a markdown table of medians
# across seeds (detection: the median over seeds of each run's median survivor).
# With --tail, the table is the detection tail instead: per N, the median of the runs' medians,
# the p99 over every (seed, survivor) pair, the slowest seed's last survivor (and that seed),
# false deaths and idle traffic. --jobs runs that many seeds at once.
# SHOAL=path runs another build of shoal (default build/shoal).
# Usage: scripts/sim-table.sh [--profile lan|fast] [--loss F] [--seeds K] [--seconds S] [--tail]
#                             [--jobs J] N...
set -euo pipefail
cd "$(dirname "$0")/.."
profile=lan loss=0 seeds=5 seconds=60 tail=0 jobs=1
while [ $# -gt 0 ]; do
  case $1 in
    --profile) profile=$2; shift 2 ;;
    --loss) loss=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --tail) tail=1; shift ;;
    --jobs) jobs=$2; shift 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || set -- 16 64 256 1024
out_dir=$(mktemp -d /tmp/shoal-sim-table.XXXX)
trap 'rm -rf "$out_dir"' EXIT
# run N: every seed's JSON in $out_dir/N.SEED, at most $jobs at once.
run() {
  local n=$1 s
  for s in $(seq 1 "$seeds"); do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
    # shellcheck disable=SC2086
    "${SHOAL:-./build/shoal}" simulate --nodes "$n" --profile "$profile" --loss "$loss" --seconds "$seconds" \
      --rng-seed "$s" ${SIM_SET:-} --json >"$out_dir/$n.$s" &
  done
  wait
}
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print a[(NR+1)/2]; else printf "%.4f\n", (a[NR/2]+a[NR/2+1])/2}'; }
max() { sort -g | tail -1; }
# p99 by the nearest rank: the value below which 99 % of the samples fall.
p99() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "-"; else {k=int(0.99*NR+0.999999); if (k<1) k=1; print a[k]}}'; }
q() { jq -r "$1" "$out_dir/$n".*; }  # one line per seed

if [ "$tail" = 1 ]; then
  echo "| N | seeds | median of medians (s) | p99 of all survivors (s) | slowest seed's last survivor (s) | false deaths | survivors that never saw it | idle B/s/node |"
  echo "|---|---|---|---|---|---|---|---|"
else
  echo "| N | detect median (s) | detect p99 (s) | detect all (s) | join (s) | leave (s) | idle B/s/node | false deaths | wall (s) |"
  echo "|---|---|---|---|---|---|---|---|---|"
fi
for n in "$@"; do
  run "$n"
  fp=$(q '.false_positives' | awk '{s+=$1} END {print s}')
  if [ "$tail" = 1 ]; then
    worst=$(jq -r '[.detect_s.all // 1e9, .rng_seed] | @tsv' "$out_dir/$n".* | sort -g | tail -1)
    printf '| %s | %s | %s | %s | %s (seed %s) | %s | %s | %s |\n' "$n" "$seeds" \
      "$(q '.detect_s.median' | median)" "$(q '.detect_s.samples[]' | p99)" \
      "$(cut -f1 <<<"$worst")" "$(cut -f2 <<<"$worst")" "$fp" \
      "$(q '.detect_s.survivors_missing' | awk '{s+=$1} END {print s}')" \
      "$(q '.bytes_per_node_per_s' | median)"
  else
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$n" \
      "$(q '.detect_s.median' | median)" "$(q '.detect_s.p99' | median)" \
      "$(q '.detect_s.all // "never"' | max)" "$(q '.join_converge_s' | median)" \
      "$(q '.leave_all_s' | median)" "$(q '.bytes_per_node_per_s' | median)" "$fp" \
      "$(q '.wall_s' | median)"
  fi
done
