# Sourced by bench/run.sh: measurements 1-6 of issue 5 for one system on one cluster. Every figure
# is a row "system<TAB>N<TAB>metric<TAB>sample<TAB>value" of $TSV. Systems: shoal (its routes),
# serf (membership as Serf's own log shows it), serf-route (routes of the Serf event handler).

emit() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$TSV"; }

# routes_of_sys SYS C H: peer routes the system installed on host H
n_routes() {
    local proto=77; [ "$1" = serf ] && proto=78
    ip -n "$(ns "$2" "$3")" -4 route show proto "$proto" | grep -c via
}

# converge SYS C N TIMEOUT: every host 1..N has a route to every other one
converge() {
    local sys=$1 c=$2 n=$3 limit=$4 h t0; t0=$(now)
    for ((h = 1; h <= n; h++)); do
        until [ "$(n_routes "$sys" "$c" "$h")" -ge $((n - 1)) ]; do
            awk -v a="$(now)" -v b="$t0" -v l="$limit" 'BEGIN{exit !(a - b > l)}' && {
                log "  $sys: host $h has $(n_routes "$sys" "$c" "$h") of $((n - 1)) routes after ${limit}s"
                return 1
            }
            sleep 0.2
        done
    done
}

start_cluster() { # SYS C N
    local sys=$1 c=$2 n=$3 h
    start_agent "$sys" "$c" 1
    sleep 0.3
    for ((h = 2; h <= n; h++)); do start_agent "$sys" "$c" "$h"; done
    local t0; t0=$(now)
    converge "$sys" "$c" "$n" 90 || return 1
    log "  $sys: $n agents, all routes in $(awk -v a="$(now)" -v b="$t0" 'BEGIN{printf "%.1f", a - b}') s"
}

stop_cluster() {
    local c=$1 h
    for ((h = 1; h <= ${B_HOSTS[$c]}; h++)); do stop_agent "$c" "$h" KILL; done
    flush_routes "$c"
}

# idle SYS C N SECONDS: traffic from the veth counters, CPU, RSS, private memory per agent
idle_phase() {
    local sys=$1 c=$2 n=$3 secs=$4 h
    declare -A c0 t0
    local s0; s0=$(now)
    for ((h = 1; h <= n; h++)); do c0[$h]=$(counters "$c" "$h"); t0[$h]=$(cpu_ticks "${B_PID["$c $h"]}"); done
    sleep "$secs"
    local el; el=$(awk -v a="$(now)" -v b="$s0" 'BEGIN{print a - b}')
    local hz; hz=$(getconf CLK_TCK)
    for ((h = 1; h <= n; h++)); do
        local p=${B_PID["$c $h"]} c1 t1
        c1=$(counters "$c" "$h"); t1=$(cpu_ticks "$p")
        read -r a b d e <<<"${c0[$h]}"; read -r A B D E <<<"$c1"
        emit "$sys" "$n" idle_tx_Bps "$h" "$(awk -v x=$((A - a)) -v t="$el" 'BEGIN{printf "%.1f", x / t}')"
        emit "$sys" "$n" idle_rx_Bps "$h" "$(awk -v x=$((B - b)) -v t="$el" 'BEGIN{printf "%.1f", x / t}')"
        emit "$sys" "$n" idle_tx_pps "$h" "$(awk -v x=$((D - d)) -v t="$el" 'BEGIN{printf "%.2f", x / t}')"
        emit "$sys" "$n" idle_rx_pps "$h" "$(awk -v x=$((E - e)) -v t="$el" 'BEGIN{printf "%.2f", x / t}')"
        emit "$sys" "$n" idle_cpu_pct "$h" "$(awk -v x=$((t1 - t0[$h])) -v t="$el" -v hz="$hz" 'BEGIN{printf "%.3f", 100 * x / hz / t}')"
        emit "$sys" "$n" rss_mib "$h" "$(awk -v k="$(rss_kib "$p")" 'BEGIN{printf "%.2f", k / 1024}')"
        emit "$sys" "$n" private_mib "$h" "$(awk -v k="$(private_kib "$p")" 'BEGIN{printf "%.2f", k / 1024}')"
    done
}

# churn SYS C N SECONDS: host N+1 joins, leaves gracefully, joins... every 2 s; CPU and RSS of the
# N other agents meanwhile.
churn_phase() {
    local sys=$1 c=$2 n=$3 secs=$4 h x=$(($3 + 1))
    declare -A t0
    local s0; s0=$(now)
    for ((h = 1; h <= n; h++)); do t0[$h]=$(cpu_ticks "${B_PID["$c $h"]}"); done
    local k=0 events=0
    while awk -v a="$(now)" -v b="$s0" -v s="$secs" 'BEGIN{exit !(a - b < s)}'; do
        if ((k % 2 == 0)); then start_agent "$sys" "$c" "$x"; else stop_agent "$c" "$x" INT 3; fi
        events=$((events + 1)); k=$((k + 1))
        local next; next=$(awk -v b="$s0" -v k="$k" 'BEGIN{printf "%.3f", b + 2 * k}')
        local wait_s; wait_s=$(awk -v a="$(now)" -v n="$next" 'BEGIN{d = n - a; if (d < 0) d = 0; printf "%.3f", d}')
        sleep "$wait_s"
    done
    local el; el=$(awk -v a="$(now)" -v b="$s0" 'BEGIN{print a - b}')
    local hz; hz=$(getconf CLK_TCK)
    for ((h = 1; h <= n; h++)); do
        local p=${B_PID["$c $h"]}
        emit "$sys" "$n" churn_cpu_pct "$h" "$(awk -v x=$(($(cpu_ticks "$p") - t0[$h])) -v t="$el" -v hz="$hz" 'BEGIN{printf "%.3f", 100 * x / hz / t}')"
        emit "$sys" "$n" churn_rss_mib "$h" "$(awk -v k="$(rss_kib "$p")" 'BEGIN{printf "%.2f", k / 1024}')"
    done
    stop_agent "$c" "$x" INT 3
    log "  $sys: churn: $events joins/leaves of h$x in $(printf '%.0f' "$el") s"
}

# measure SYS N METRIC C N V T0 TIMEOUT: waits for the shoal route / Serf log / handler route event
# about V on every host but V; emits the slowest host's delay ("NA" if one never saw it).
wait_emit() {
    local sys=$1 metric=$2 rep=$3 c=$4 n=$5 v=$6 t0=$7 limit=$8 pat=$9 file=${10}
    local fl; mapfile -t fl < <(files "$c" "$n" "$file" "$v")
    local val=NA
    wait_all "$limit" "$pat" "${fl[@]}" && val=$(latest "$t0" "$pat" "${fl[@]}")
    emit "$sys" "$n" "$metric" "$rep" "$val"
    echo "$val"
}

# serf_emit METRIC REP C N V T0 TIMEOUT LOGEVENT HANDLEREVENT: when every other Serf agent knew of
# the event: its own log line (streamed by serf-watch.sh). Serf runs the handler only after that
# line (coalescing), so the wait is on the handlers; a host whose log stream missed the line counts
# with its handler's time instead, an upper bound (SERF_FALLBACK counts those).
serf_emit() {
    local metric=$1 rep=$2 c=$3 n=$4 v=$5 t0=$6 limit=$7 ev=$8 hev=$9
    local hl; mapfile -t hl < <(files "$c" "$n" events.log "$v")
    local val=NA
    if wait_all "$limit" "$(pat_event "$v" "$hev")" "${hl[@]}"; then
        sleep 0.1
        local h worst="" s
        for ((h = 1; h <= n; h++)); do
            [ "$h" = "$v" ] && continue
            s=$(grep -m1 -E -- "$(pat_watch "$v" "$ev")" "$(hdir "$c" "$h")/watch.log" | stamp_of)
            if [ -z "$s" ]; then
                s=$(grep -m1 -E -- "$(pat_event "$v" "$hev")" "$(hdir "$c" "$h")/events.log" | stamp_of)
                echo "$metric $rep h$h" >>"$B_DIR/serf_fallback"
            fi
            worst=$(awk -v a="$worst" -v b="$s" 'BEGIN{print ((a == "" || b > a) ? b : a)}')
        done
        val=$(awk -v w="$worst" -v t="$t0" 'BEGIN{printf "%.3f\n", w - t}')
    fi
    emit serf "$n" "$metric" "$rep" "$val"
    echo "$val"
}

# event_emit SYS METRIC REP C N V T0 ROUTE_PATTERN SERF_EVENT HANDLER_EVENT: a join or leave of V
# as every other host saw it (shoal: its route; Serf: its log, and the handler's route as
# serf-route); prints shoal's or Serf's figure.
event_emit() {
    local sys=$1 metric=$2 rep=$3 c=$4 n=$5 v=$6 t0=$7 pat=$8 ev=$9 hev=${10}
    if [ "$sys" = shoal ]; then
        wait_emit shoal "$metric" "$rep" "$c" "$n" "$v" "$t0" 20 "$pat" routes.mon
    else
        serf_emit "$metric" "$rep" "$c" "$n" "$v" "$t0" 25 "$ev" "$hev"
        wait_emit serf-route "$metric" "$rep" "$c" "$n" "$v" "$t0" 15 "$pat" routes.mon >/dev/null
    fi
}

# One repetition on victim V: kill -9 + link down (failover), restart (rejoin), SIGINT (leave),
# start (join).
rep_cycle() {
    local sys=$1 c=$2 n=$3 rep=$4 v=$5 t0 a b
    local x; x=$(ns "$c" "$v")
    local del add; del=$(pat_route_del "$c" "$v"); add=$(pat_route_add "$c" "$v")
    # failover
    reset_logs "$c" "$n"; t0=$(now)
    kill -9 "${B_PID["$c $v"]}"; ip -n "$x" link set eth0 down
    if [ "$sys" = shoal ]; then
        a=$(wait_emit shoal failover_s "$rep" "$c" "$n" "$v" "$t0" 20 "$del" routes.mon)
    else
        a=$(serf_emit failover_s "$rep" "$c" "$n" "$v" "$t0" 45 EventMemberFailed member-failed)
        b=$(wait_emit serf-route failover_s "$rep" "$c" "$n" "$v" "$t0" 15 "$del" routes.mon)
        ip netns exec "$(ns "$c" 1)" serf members -status failed 2>/dev/null | grep -q "^h$v " &&
            SERF_VERIFIED=$((SERF_VERIFIED + 1))
    fi
    stop_agent "$c" "$v" KILL
    ip -n "$x" link set eth0 up
    # rejoin after the failure: same name, same state
    reset_logs "$c" "$n"; t0=$(now)
    start_agent "$sys" "$c" "$v"
    local r j l
    r=$(event_emit "$sys" rejoin_s "$rep" "$c" "$n" "$v" "$t0" "$add" EventMemberJoin member-join)
    converge "$sys" "$c" "$n" 20 >/dev/null
    sleep 1
    # graceful leave
    reset_logs "$c" "$n"; t0=$(now)
    kill -INT "${B_PID["$c $v"]}"
    l=$(event_emit "$sys" leave_s "$rep" "$c" "$n" "$v" "$t0" "$del" EventMemberLeave member-leave)
    stop_agent "$c" "$v" INT 6
    # join
    reset_logs "$c" "$n"; t0=$(now)
    start_agent "$sys" "$c" "$v"
    j=$(event_emit "$sys" join_s "$rep" "$c" "$n" "$v" "$t0" "$add" EventMemberJoin member-join)
    converge "$sys" "$c" "$n" 20 >/dev/null
    log "  $sys N=$n rep $rep (h$v): failover ${a}s${b:+ (route ${b}s)}  rejoin ${r}s  leave ${l}s  join ${j}s"
    sleep 1
}

# All of 1-5 for SYS on cluster C (N agents + one churn host).
membership_run() {
    local sys=$1 c=$2 n=$3 i
    log "$sys N=$n: start"
    start_cluster "$sys" "$c" "$n" || { log "$sys N=$n: did not converge, skipped"; stop_cluster "$c"; return 1; }
    sleep "$SETTLE"
    log "  $sys N=$n: idle ${IDLE}s"
    idle_phase "$sys" "$c" "$n" "$IDLE"
    log "  $sys N=$n: churn ${CHURN}s"
    churn_phase "$sys" "$c" "$n" "$CHURN"
    converge "$sys" "$c" "$n" 20 >/dev/null
    for ((i = 1; i <= REPS; i++)); do rep_cycle "$sys" "$c" "$n" "$i" $((2 + (i - 1) % (n - 1))); done
    stop_cluster "$c"
}

# 6: false failures under egress loss, every given cluster at once (one per loss level).
loss_run() { # SYS SECONDS N C:PERCENT...
    local sys=$1 secs=$2 n=$3; shift 3
    local cp c p h
    declare -A sent0
    for cp in "$@"; do
        c=${cp%%:*}
        start_cluster "$sys" "$c" "$n" || log "  $sys: cluster $c did not converge before the loss phase"
    done
    sleep "$SETTLE"
    for cp in "$@"; do
        c=${cp%%:*} p=${cp#*:}
        sent0[$c]=0
        for ((h = 1; h <= n; h++)); do
            set_loss "$c" "$h" "$p"
            sent0[$c]=$((sent0[$c] + $(counters "$c" "$h" | awk '{print $3}')))
        done
        reset_logs "$c" "$n"
    done
    log "  $sys: loss on every host ($*: cluster:percent), $n hosts each, ${secs}s"
    sleep "$secs"
    for cp in "$@"; do
        c=${cp%%:*} p=${cp#*:}
        local mons=() watch=() dropped=0 sent=$((-sent0[$c]))
        for ((h = 1; h <= n; h++)); do
            mons+=("$(hdir "$c" "$h")/routes.mon"); watch+=("$(hdir "$c" "$h")/watch.log")
            dropped=$((dropped + $(dropped_by_loss "$c" "$h")))
            sent=$((sent + $(counters "$c" "$h" | awk '{print $3}')))
        done
        local withdrawn; withdrawn=$(count_lines '^\[[^]]*\] Deleted [0-9.]+/[0-9]+ via ' "${mons[@]}")
        if [ "$sys" = shoal ]; then
            emit shoal "$n" "loss${p}_false_withdrawals" 1 "$withdrawn"
        else
            emit serf-route "$n" "loss${p}_false_withdrawals" 1 "$withdrawn"
            emit serf "$n" "loss${p}_false_failed" 1 "$(count_lines 'EventMemberFailed: ' "${watch[@]}")"
        fi
        # The loss really applied: drops over all egress attempts of the cluster in the window.
        emit "$sys" "$n" "loss${p}_measured_pct" 1 "$(awk -v d="$dropped" -v s="$sent" 'BEGIN{printf "%.2f", s + d ? 100 * d / (s + d) : 0}')"
        log "  $sys ${p}% loss: $withdrawn routes withdrawn for live hosts"
        for ((h = 1; h <= n; h++)); do clear_loss "$c" "$h"; done
        stop_cluster "$c"
    done
}
