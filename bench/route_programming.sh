#!/usr/bin/env bash
# Measurement 7: how fast routes are programmed. shoal's netlink reconciler against `ip -batch`,
# adding N routes into an empty table and deleting them again (N = 1,000 and 10,000), each run in
# a fresh network namespace with the same starting state (route_bench unshares its own), the two
# tools alternating run by run. Writes DIR/route_programming.{md,tsv} and DIR/route_programming-*.png.
# Usage: bash bench/route_programming.sh --out DIR --build BUILDDIR [--quick]   (as root)
set -euo pipefail

source "$(dirname "$0")/part-args.sh"
bench=$(realpath "$build/route_bench")
[ -x "$bench" ] || { echo "route_programming: no $build/route_bench (build the route_bench target)" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "route_programming: gnuplot is missing" >&2; exit 1; }

reps=30
[ "$quick" = 1 ] && reps=5
sizes=(1000 10000)

# route_bench's namespace dies with it; what is left to clean up is the child itself (on Ctrl-C)
# and its batch files.
work=$(mktemp -d /tmp/route-programming.XXXX)
child=""
cleanup() {
    if [ -n "$child" ]; then kill "$child" 2>/dev/null; wait "$child" 2>/dev/null; fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tsv="$out/route_programming.tsv"
printf 'rep\troutes\ttool\tphase\tseconds\troutes_per_s\n' > "$tsv"
echo "route_programming: $reps repetitions of N = ${sizes[*]}, shoal and ip -batch alternating" >&2
for rep in $(seq 1 "$reps"); do
    for n in "${sizes[@]}"; do
        for tool in shoal ip; do
            flag=()
            [ "$tool" = ip ] && flag=(--ip-batch)
            TMPDIR=$work "$bench" "${flag[@]}" "$n" > "$work/run.out" &
            child=$!
            if ! wait "$child"; then
                child=""
                echo "route_programming: route_bench ${flag[*]} $n failed (rep $rep)" >&2
                exit 1
            fi
            child=""
            # "<tool> <phase> <n> routes: <seconds> s, <rate> routes/s (...)"
            awk -v rep="$rep" '{ printf "%s\t%s\t%s\t%s\t%s\t%s\n", rep, $3, $1, $2, $5, $7 }' \
                "$work/run.out" >> "$tsv"
        done
    done
done

# median and max of routes/s per (routes, tool, phase)
stats() { # routes tool phase -> "median max"
    awk -F'\t' -v n="$1" -v t="$2" -v p="$3" 'NR > 1 && $2 == n && $3 == t && $4 == p { print $6 }' "$tsv" |
        sort -g | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
                                           printf "%.0f %.0f\n", m, v[NR] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

md="$out/route_programming.md"
{
    echo "## Route programming"
    echo
    echo "Time to program N host-gw routes into an empty table and to withdraw them again:"
    echo "shoal's netlink reconciler (\`RouteReconciler::reconcile\`, the code the agent runs: one"
    echo "dump of the table, then batched requests) against \`ip -batch\` with the same adds and"
    echo "deletes (same /28 prefixes inside 10.0.0.0/8, same gateway 192.168.50.2, device eth0,"
    echo "protocol 77). Every run is a fresh \`route_bench\` process in a network namespace of its own"
    echo "(one veth, one address, empty table); the tools alternate run by run; $reps repetitions."
    echo "\`ip -batch\` is timed around the whole \`ip\` process (its start included, the batch file"
    echo "written beforehand), as a script calling it pays; the reconciler is timed around"
    echo "\`reconcile()\` on an open socket, as the running agent pays. Both are checked afterwards"
    echo "(exactly N routes with protocol 77 after the add, none after the delete)."
    echo
    echo '```'
    if [ "$quick" = 1 ]; then echo "bash bench/route_programming.sh --out DIR --build BUILDDIR --quick"
    else echo "bash bench/route_programming.sh --out DIR --build BUILDDIR"; fi
    echo "# one run each:  BUILDDIR/route_bench N   and   BUILDDIR/route_bench --ip-batch N"
    echo '```'
    echo
    echo "| routes | phase | shoal median (routes/s) | shoal max | ip -batch median | ip -batch max | shoal / ip (median) | shoal / ip (max) | target ≥ 1.0 (aim 2.0) |"
    echo "|---:|---|---:|---:|---:|---:|---:|---:|---|"
    for n in "${sizes[@]}"; do
        for phase in add delete; do
            read -r sm sx <<<"$(stats "$n" shoal "$phase")"
            read -r im ix <<<"$(stats "$n" ip "$phase")"
            r=$(ratio "$sm" "$im"); rx=$(ratio "$sx" "$ix")
            verdict=$(awk -v r="$r" 'BEGIN { if (r >= 2) print "met, aim met";
                else if (r >= 1) print "met; aim (2.0) missed by " sprintf("%.0f", (2 - r) / 2 * 100) "%";
                else print "**missed** by " sprintf("%.0f", (1 - r) * 100) "%" }')
            printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$n" "$phase" "$sm" "$sx" "$im" "$ix" "$r" "$rx" "$verdict"
        done
    done
    echo
    echo "Raw samples: \`route_programming.tsv\` (one line per run and phase). Single runs are noisy"
    echo "(two cores, shared with whatever else runs), the medians less so."
    echo
    echo "![routes/s, add](bench/route_programming-add.png)"
    echo "![routes/s, delete](bench/route_programming-delete.png)"
} > "$md"

for phase in add delete; do
    plot=""
    for n in "${sizes[@]}"; do
        for tool in shoal ip; do
            f="$work/$phase-$n-$tool.dat"
            awk -F'\t' -v n="$n" -v t="$tool" -v p="$phase" \
                'NR > 1 && $2 == n && $3 == t && $4 == p { print $1, $6 }' "$tsv" > "$f"
            label="$tool, N=$n"
            [ "$tool" = ip ] && label="ip -batch, N=$n"
            plot+="${plot:+, }'$f' using 1:2 with linespoints title '$label'"
        done
    done
    gnuplot <<EOF
set terminal pngcairo size 800,450
set output '$out/route_programming-$phase.png'
set title 'Route programming: $phase N routes (fresh namespace per run)'
set xlabel 'repetition'
set ylabel 'routes/s'
set yrange [0:*]
set key bottom right
set xtics 1
set grid
plot $plot
EOF
done
echo "route_programming: wrote $md" >&2
