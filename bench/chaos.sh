#!/usr/bin/env bash
# The chaos scenarios of tests/chaos at full length (issue 14: SIGSTOP 3 s and 20 s, 60 s
# partition, 5 min of 10 % and 20 % loss, link flaps up to 30 s, mass restarts, a starved agent):
# six namespace hosts with pods, lan profile; h1 runs with route-hold 0 ("today": before the host
# check) next to five agents with the default. Writes docs/bench/chaos.tsv and prints the table
# docs/BENCHMARKS.md shows ("Chaos").
# Usage: bash bench/chaos.sh     (as root, ~15 min; build/shoal, or $SHOAL)
set -uo pipefail
cd "$(dirname "$0")/.."
SHOAL=${SHOAL:-$(pwd)/build/shoal}
[ "$(id -u)" = 0 ] || { echo "chaos.sh: must run as root (network namespaces)" >&2; exit 1; }
[ -x "$SHOAL" ] || { echo "chaos.sh: no $SHOAL (ninja -C build shoal)" >&2; exit 1; }
TSV=docs/bench/chaos.tsv
bash tests/chaos/chaos_test.sh "$SHOAL" full "$TSV"
rc=$?
echo
echo "| scenario | pod pings lost, h1 (route-hold 0) | lost, h2 (host check) | routes withdrawn, h1 | withdrawn, h2..h6 | converged (ms) | note |"
echo "|---|---|---|---|---|---|---|"
awk -F'\t' 'NR > 1 {printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7}' "$TSV"
exit "$rc"
