#!/usr/bin/env bash
# Writes OUT/BENCHMARKS.md from OUT/membership.tsv (figures of bench/run.sh) and the fragments of
# the other benchmarks, and the membership plots OUT/membership-*.png (gnuplot).
# Usage: report.sh OUT FRAGMENT.md...   (environment: as exported by run.sh)
set -uo pipefail
OUT=$1; shift
TSV=$OUT/membership.tsv
MD=$OUT/BENCHMARKS.md
NMAX=$(for n in $NS_LIST; do echo "$n"; done | sort -n | tail -1)

# stat SYSTEM N METRIC FIELD: median|max|count|na of the samples (NA = the event was never seen)
stat() {
    awk -F'\t' -v s="$1" -v n="$2" -v m="$3" -v f="$4" '
        $1 == s && $2 == n && $3 == m { if ($5 == "NA") na++; else v[++k] = $5 + 0 }
        END {
            if (f == "na") { print na + 0; exit }
            if (f == "count") { print k + 0; exit }
            if (k == 0) { print "-"; exit }
            for (i = 2; i <= k; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
            if (f == "max") r = v[k]; else r = (k % 2) ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
            printf (r == int(r) ? "%d" : r >= 100 ? "%.0f" : r >= 10 ? "%.1f" : r >= 1 ? "%.2f" : "%.3f"), r
        }' "$TSV"
}
cell() { # SYSTEM N METRIC: "median / max" (+ "(k never)")
    local med max na; med=$(stat "$1" "$2" "$3" median); max=$(stat "$1" "$2" "$3" max); na=$(stat "$1" "$2" "$3" na)
    local s="$med / $max"; [ "$med" = - ] && s="-"
    [ "$na" != 0 ] && s="$s ($na never)"
    echo "$s"
}
row() { # N SYSTEM:METRIC...: one table row, a cell per system and metric
    local n=$1 line="| $1 |" sm; shift
    for sm; do line+=" $(cell "${sm%%:*}" "$n" "${sm#*:}") |"; done
    echo "$line"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.1f×", a / b }'; }

machine() {
    local cpu; cpu=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
    echo "| | |"
    echo "|---|---|"
    echo "| CPU | ${cpu:-unknown} ($(nproc) cores available) |"
    echo "| RAM | $(awk '/^MemTotal/{printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) |"
    echo "| kernel | $(uname -r) |"
    echo "| OS | $(. /etc/os-release; echo "$PRETTY_NAME") |"
    echo "| shoal | $("$SHOAL" version 2>&1 | head -1) (commit $(git -C "$(dirname "$0")/.." rev-parse --short HEAD 2>/dev/null), Release -O2) |"
    echo "| serf | Debian package $(dpkg-query -W -f='${Version}' serf 2>/dev/null) (\`serf version\`: $(serf version 2>/dev/null | head -1)) |"
    echo "| iperf3 | $(dpkg-query -W -f='${Version}' iperf3 2>/dev/null) |"
    echo "| iproute2, nftables, gnuplot | $(dpkg-query -W -f='${Version}' iproute2), $(dpkg-query -W -f='${Version}' nftables), $(dpkg-query -W -f='${Version}' gnuplot-nox 2>/dev/null) |"
}

# verdict OK TEXT: "met" or "missed: TEXT"
verdict() { if [ "$1" = 1 ]; then echo "met ($2)"; else echo "**missed** ($2)"; fi; }
le() { awk -v a="$1" -v b="$2" 'BEGIN{exit !(a != "-" && a + 0 <= b + 0)}' && echo 1 || echo 0; }

targets() {
    local n=$NMAX
    local fs fsv fsm js ls tx txs rss prv cpu cpus
    fs=$(stat shoal "$n" failover_s median); fsv=$(stat serf "$n" failover_s median)
    js=$(stat shoal "$n" join_s median); ls=$(stat shoal "$n" leave_s median)
    echo "Targets of issue 5 at N=$n (the largest N of this run$([ "$QUICK" = 1 ] && echo '; a --quick run: the targets name N=32'))."
    echo
    echo "| target | measured | verdict |"
    echo "|---|---|---|"
    echo "| failover median ≤ 2.0 s | $fs s | $(verdict "$(le "$fs" 2.0)" "$(awk -v a="$fs" 'BEGIN{ if (a > 2) printf "over by %.2f s", a - 2; else printf "%.2f s to spare", 2 - a }')") |"
    fsm=$(awk -v a="$fsv" -v b="$fs" 'BEGIN{ if (a == "-" || b == "-" || b == 0) print 0; else print a / b }')
    echo "| failover ≥ 3× faster than Serf's detection | Serf $fsv s / shoal $fs s = $(printf '%.1f' "$fsm")× | $(verdict "$(awk -v r="$fsm" 'BEGIN{print ((r >= 3) ? 1 : 0)}')" "$(awk -v r="$fsm" 'BEGIN{ if (r >= 3) printf "%.1f×", r; else printf "%.1f× short of 3×", 3 - r }')") |"
    echo "| join ≤ 0.5 s to all | $js s (max $(stat shoal "$n" join_s max) s) | $(verdict "$(le "$js" 0.5)" "median") |"
    echo "| leave ≤ 0.5 s | $ls s (max $(stat shoal "$n" leave_s max) s) | $(verdict "$(le "$ls" 0.5)" "median") |"
    local m all=1 worst=""
    for m in $NS_LIST; do
        tx=$(stat shoal "$m" idle_tx_Bps median); txs=$(stat serf "$m" idle_tx_Bps median)
        [ "$(le "$tx" "$txs")" = 1 ] || all=0
        worst+="N=$m: $tx vs $txs B/s ($(awk -v a="$tx" -v b="$txs" 'BEGIN{ if (b > 0) printf "%+.0f B/s, %.2f×", a - b, a / b; else print "-" }')); "
    done
    echo "| idle traffic sent per agent ≤ Serf's (median) | ${worst%; } | $(verdict "$all" "$([ "$all" = 1 ] && echo "at every N" || echo "shoal sends more; the excess is given per N")") |"
    rss=$(stat shoal "$n" rss_mib max)
    echo "| RSS ≤ 8 MiB per agent | max $rss MiB (Serf median $(stat serf "$n" rss_mib median) MiB) | $(verdict "$(le "$rss" 8)" "$(awk -v a="$rss" 'BEGIN{ if (a > 8) printf "over by %.2f MiB", a - 8; else printf "%.2f MiB to spare", 8 - a }')") |"
    prv=$(stat shoal "$n" private_mib max)
    echo "| private memory ≤ 2 MiB | max $prv MiB (Serf $(stat serf "$n" private_mib median) MiB) | $(verdict "$(le "$prv" 2)" "$(awk -v a="$prv" 'BEGIN{ if (a > 2) printf "over by %.2f MiB", a - 2; else printf "%.2f MiB to spare", 2 - a }')") |"
    cpu=$(stat shoal "$n" idle_cpu_pct median); cpus=$(stat serf "$n" idle_cpu_pct median)
    echo "| idle CPU ≤ Serf's | $cpu % vs $cpus % of a core | $(verdict "$(le "$cpu" "$cpus")" "median per agent") |"
    local p w
    for p in 5 10; do
        w=$(stat shoal "$LOSS_N" "loss${p}_false_withdrawals" max)
        echo "| zero false withdrawals at $p % loss (${LOSS_S} s, N=$LOSS_N) | $w (Serf: $(stat serf "$LOSS_N" "loss${p}_false_failed" max) members marked failed) | $(verdict "$([ "$w" = 0 ] && echo 1 || echo 0)" "$w withdrawn") |"
    done
    echo
    echo "Route programming and the data plane have their targets in their own sections below."
}

tables() {
    local n
    echo "### 1-3. Failover, join, leave (seconds until the slowest host; median / max over $REPS repetitions)"
    echo
    echo "shoal: until every other host's kernel table shows the change to the host's route (\`ip -ts monitor route\`). Serf: until every other agent logged the member as failed / joined / left (its own log, streamed by \`serf monitor\`). Serf + handler: until the event handler changed the route on every other host. \"(k never)\": k repetitions where some host had not reacted within the wait (20 s for shoal, 25 s for Serf and 45 s for its failure detection, 15 s more for the handler's routes); they are left out of median and max."
    echo
    echo "| N | shoal failover | Serf sees failed | Serf + handler route | Serf / shoal |"
    echo "|---|---|---|---|---|"
    for n in $NS_LIST; do
        echo "$(row "$n" shoal:failover_s serf:failover_s serf-route:failover_s) $(ratio "$(stat serf "$n" failover_s median)" "$(stat shoal "$n" failover_s median)") |"
    done
    echo
    echo "| N | shoal join | Serf join | Serf + handler | shoal rejoin after failure | Serf rejoin | shoal leave | Serf leave | Serf + handler leave |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for n in $NS_LIST; do
        row "$n" shoal:join_s serf:join_s serf-route:join_s shoal:rejoin_s serf:rejoin_s shoal:leave_s serf:leave_s serf-route:leave_s
    done
    echo
    echo "Serf confirmed the member \`failed\` in \`serf members\` on host 1 after $SERF_VERIFIED of its failovers. In ${SERF_FALLBACK:-0} (host, event) cases the \`serf monitor\` stream lacked the line and the handler's later timestamp was used instead (an upper bound)."
    echo
    echo "### 4. Idle traffic per agent (eth0 counters over ${IDLE} s; median / max over the agents)"
    echo
    echo "| N | shoal sent B/s | Serf sent B/s | shoal recv B/s | Serf recv B/s | shoal sent pkt/s | Serf sent pkt/s | shoal recv pkt/s | Serf recv pkt/s |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for n in $NS_LIST; do
        row "$n" shoal:idle_tx_Bps serf:idle_tx_Bps shoal:idle_rx_Bps serf:idle_rx_Bps shoal:idle_tx_pps serf:idle_tx_pps shoal:idle_rx_pps serf:idle_rx_pps
    done
    echo
    echo "### 5. Memory and CPU per agent (median / max over the agents)"
    echo
    echo "RSS = VmRSS; private = sum of Private_* in /proc/PID/smaps_rollup, both at the end of the idle phase. CPU = utime+stime of the agent process in % of one core, over ${IDLE} s idle and over ${CHURN} s of churn (one extra host joining or leaving every 2 s); Serf's handler processes are not counted."
    echo
    echo "| N | shoal RSS MiB | Serf RSS MiB | shoal private MiB | Serf private MiB | shoal idle CPU % | Serf idle CPU % | shoal churn CPU % | Serf churn CPU % | shoal RSS after churn | Serf RSS after churn |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    for n in $NS_LIST; do
        row "$n" shoal:rss_mib serf:rss_mib shoal:private_mib serf:private_mib shoal:idle_cpu_pct serf:idle_cpu_pct shoal:churn_cpu_pct serf:churn_cpu_pct shoal:churn_rss_mib serf:churn_rss_mib
    done
    echo
    echo "### 6. False failures under random egress loss (N=$LOSS_N, ${LOSS_S} s, every host)"
    echo
    echo "| loss | measured drop rate (shoal / Serf runs) | shoal routes withdrawn for live hosts | Serf members marked failed | Serf + handler routes withdrawn |"
    echo "|---|---|---|---|---|"
    for p in 5 10; do
        echo "| $p % | $(stat shoal "$LOSS_N" "loss${p}_measured_pct" max) % / $(stat serf "$LOSS_N" "loss${p}_measured_pct" max) % | $(stat shoal "$LOSS_N" "loss${p}_false_withdrawals" max) | $(stat serf "$LOSS_N" "loss${p}_false_failed" max) | $(stat serf-route "$LOSS_N" "loss${p}_false_withdrawals" max) |"
    done
}

# Plots: one data file per figure, "N med max" per system.
plots() {
    local d=$OUT/plotdata; mkdir -p "$d"
    local m s n
    for m in failover_s join_s leave_s idle_tx_Bps idle_rx_Bps rss_mib private_mib idle_cpu_pct; do
        for s in shoal serf serf-route; do
            : >"$d/$m.$s"
            for n in $NS_LIST; do
                local med max; med=$(stat "$s" "$n" "$m" median); max=$(stat "$s" "$n" "$m" max)
                [ "$med" != - ] && echo "$n $med $max" >>"$d/$m.$s"
            done
        done
    done
    gp() { # FILE TITLE YLABEL SERIES...(file:title)
        local f=$1 t=$2 y=$3; shift 3
        local cmd="" sep=""
        for x in "$@"; do
            [ -s "$d/${x%%:*}" ] || continue
            cmd+="$sep'$d/${x%%:*}' using 1:2:2:3 with yerrorlines lw 2 title '${x#*:}'"; sep=", "
        done
        [ -z "$cmd" ] && return
        gnuplot <<EOF
set terminal pngcairo size 800,480 font "sans,10"
set output '$OUT/$f'
set title '$t'
set xlabel 'hosts (N)'
set ylabel '$y'
set xtics ($(echo "$NS_LIST" | sed 's/ /, /g'))
set yrange [0:*]
set offsets 2, 2, 0, 0
set key top left
set grid
plot $cmd
EOF
    }
    gp membership-failover.png "Failover: until every survivor reacted (median, bar to max)" seconds \
        failover_s.shoal:"shoal (route withdrawn)" failover_s.serf:"Serf (member failed)" failover_s.serf-route:"Serf + handler (route deleted)"
    gp membership-join-leave.png "Join and leave: until every other host reacted" seconds \
        join_s.shoal:"shoal join (route added)" join_s.serf:"Serf join" join_s.serf-route:"Serf + handler join" \
        leave_s.shoal:"shoal leave (route withdrawn)" leave_s.serf:"Serf leave" leave_s.serf-route:"Serf + handler leave"
    gp membership-traffic.png "Idle traffic per agent (eth0 counters)" "bytes/s" \
        idle_tx_Bps.shoal:"shoal sent" idle_tx_Bps.serf:"Serf sent" idle_rx_Bps.shoal:"shoal received" idle_rx_Bps.serf:"Serf received"
    gp membership-memory.png "Memory per agent" MiB \
        rss_mib.shoal:"shoal RSS" rss_mib.serf:"Serf RSS" private_mib.shoal:"shoal private" private_mib.serf:"Serf private"
    gp membership-cpu.png "Idle CPU per agent" "% of one core" idle_cpu_pct.shoal:shoal idle_cpu_pct.serf:Serf
}

plots
{
    echo "# Benchmarks: shoal and HashiCorp Serf"
    echo
    echo "Generated by \`bash bench/run.sh$([ "$QUICK" = 1 ] && echo ' --quick')\` on $(date -u '+%Y-%m-%d %H:%M UTC') in $((TOTAL_S / 60)) min $((TOTAL_S % 60)) s (membership part: $((MEM_S / 60)) min $((MEM_S % 60)) s)."
    [ "$QUICK" = 1 ] && echo "This is a **--quick** run: fewer hosts, repetitions and shorter phases; the figures are indicative only."
    echo
    echo "## Machine"
    echo
    machine
    echo
    echo "## How it runs"
    echo
    echo "One command, as root on Debian 12: \`bash bench/run.sh\` (about 45 minutes; \`--quick\` under 10; \`--out DIR\` for the raw figures, default \`build-bench/report\`). It installs serf, iperf3, iputils-ping, gnuplot-nox and nftables with apt-get, builds shoal (\`cmake -DCMAKE_BUILD_TYPE=Release\`, -O2, in \`build-bench/\`), and removes every namespace and process it made on exit."
    echo
    echo "- Hosts are network namespaces, each with eth0 (a veth) on one bridge, 192.168.101.0/24, IPv6 off. N = $NS_LIST, plus one extra host for the churn phase."
    echo "- shoal: \`shoal agent --name hI --iface eth0 --network 10.244.0.0/16 --cluster-key-file KEY --seed 192.168.101.1:7946 --profile lan\` (+ its own state dir, socket and subnet file)."
    echo "- Serf: \`serf agent -node hI -bind 192.168.101.I:7946 -profile lan -encrypt KEY -tag subnet=10.245.I.0/24 -event-handler bench/serf-handler.sh -join 192.168.101.1:7946\`. The handler adds \`ip route replace SUBNET via ADDR proto 78\` on member-join and deletes it on member-failed and member-leave. Note that the Serf agent coalesces member events before running handlers (1 s of quiet, at most 3 s), which is part of the handler path's delay."
    echo "- Shoal first, then Serf, on the same namespaces; never both at once. Each N: start all agents and wait until every host has a route to every other; settle; idle phase ($IDLE s); churn phase ($CHURN s); then $REPS repetitions on a victim host (rotating, never the seed): kill -9 its agent and set its eth0 down (failover); set the link up and start the agent again (rejoin); SIGINT (graceful leave); start it again (join). The time origin is taken right before the kill / signal / start."
    echo "- Route changes are timed with \`ip -ts monitor route\` running in every host namespace (stamped when the kernel's notification arrives); Serf's membership with \`serf monitor\` lines stamped on arrival (\`bench/serf-watch.sh\`)."
    echo "- Loss: two clusters of $LOSS_N hosts at once (5 % and 10 %), each host with an nftables rule \`numgen random mod 100 < P drop\` on its output hook, for $LOSS_S s after the cluster converged; counted: route deletions (shoal, and the Serf handler's) and EventMemberFailed lines (Serf)."
    echo
    echo "## Targets"
    echo
    targets
    echo
    echo "## Membership: shoal and Serf"
    echo
    tables
    echo
    for f in membership-failover membership-join-leave membership-traffic membership-memory membership-cpu; do
        [ -f "$OUT/$f.png" ] && echo "![$f](bench/$f.png)" && echo
    done
    for frag in "$@"; do
        echo
        cat "$frag"
    done
    echo
    echo "Raw figures: \`membership.tsv\` (system, N, metric, sample, value) and the other benchmarks' .tsv files in the --out directory."
} >"$MD"
# The report's images are referenced as bench/*.png (relative to docs/): mirror that in OUT.
mkdir -p "$OUT/bench"
cp "$OUT"/*.png "$OUT/bench/" 2>/dev/null
echo "report: $MD"
