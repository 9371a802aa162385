#!/usr/bin/env bash
# Runs `shoal simulate` over cluster sizes and seeds and prints a markdown table of medians
# across seeds (detection: the median over seeds of each run's median survivor).
# Usage: scripts/sim-table.sh [--profile lan|fast] [--loss F] [--seeds K] [--seconds S] N...
set -euo pipefail
cd "$(dirname "$0")/.."
profile=lan loss=0 seeds=5 seconds=60
while [ $# -gt 0 ]; do
  case $1 in
    --profile) profile=$2; shift 2 ;;
    --loss) loss=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || set -- 16 64 256 1024
field() { sed -E "s/.*\"$1\":(\{[^}]*\}|[^,}]*).*/\1/" <<<"$2"; }
sub() { sed -E "s/.*\"$1\":([^,}]*).*/\1/" <<<"$2"; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print a[(NR+1)/2]; else printf "%.4f\n", (a[NR/2]+a[NR/2+1])/2}'; }
max() { sort -g | tail -1; }
echo "| N | detect median (s) | detect p99 (s) | detect all (s) | join (s) | leave (s) | idle B/s/node | false deaths | wall (s) |"
echo "|---|---|---|---|---|---|---|---|---|"
for n in "$@"; do
  dm=() dp=() da=() jn=() lv=() bw=() fp=0 wall=()
  for s in $(seq 1 "$seeds"); do
    out=$(./build/shoal simulate --nodes "$n" --profile "$profile" --loss "$loss" --seconds "$seconds" --rng-seed "$s" ${SIM_SET:-} --json)
    det=$(field detect_s "$out")
    dm+=("$(sub median "$det")") dp+=("$(sub p99 "$det")") da+=("$(sub all "$det")")
    jn+=("$(field join_converge_s "$out")") lv+=("$(field leave_all_s "$out")")
    bw+=("$(field bytes_per_node_per_s "$out")") wall+=("$(field wall_s "$out")")
    fp=$((fp + $(field false_positives "$out")))
  done
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$n" \
    "$(printf '%s\n' "${dm[@]}" | median)" "$(printf '%s\n' "${dp[@]}" | median)" \
    "$(printf '%s\n' "${da[@]}" | max)" "$(printf '%s\n' "${jn[@]}" | median)" \
    "$(printf '%s\n' "${lv[@]}" | median)" "$(printf '%s\n' "${bw[@]}" | median)" "$fp" \
    "$(printf '%s\n' "${wall[@]}" | median)"
done
