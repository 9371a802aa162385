# Sourced by bench/run.sh: clusters of namespace hosts on one bridge each, shoal and Serf agents
# on them, route monitors and timestamps. Every namespace ends in -$B_ID and every process this
# file starts is recorded by pid, so bench_cleanup removes exactly what the run made.
# Needs: B_ID, B_DIR (scratch dir), SHOAL (binary), SERF_KEY, SHOAL_KEYFILE.

declare -A B_PID     # "c h" -> agent pid
declare -A B_MON     # "c h" -> `ip monitor route` pid
declare -A B_HOSTS   # c -> number of hosts made
declare -A B_WATCH   # "c h" -> serf-watch.sh pid
B_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
B_HANDLER="$B_HERE/serf-handler.sh"
# The same hosts-on-a-bridge as the namespace tests, with the benchmark's own names.
# shellcheck source=tests/e2e/netns.sh
source "$B_HERE/../tests/e2e/netns.sh"

seg() { echo "192.168.$((100 + $1))"; }        # cluster c's L2 segment
ns() { echo "bh$1-$2-$B_ID"; }                  # host h of cluster c
sw() { echo "bsw$1-$B_ID"; }                    # the namespace holding cluster c's bridge
hdir() { echo "$B_DIR/c$1/h$2"; }

now() { echo "$EPOCHREALTIME"; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# make_cluster C H: H hosts, host h at $(seg C).h/24 on eth0, no IPv6 (its router/neighbour
# solicitations would add to the traffic counters), a route monitor in each host.
make_cluster() {
    local c=$1 n=$2 h
    netns_switch "$(sw "$c")"
    for ((h = 1; h <= n; h++)); do
        local x; x=$(ns "$c" "$h")
        netns_host "$(sw "$c")" "$x" "$(seg "$c").$h/24" "b${c}v$h-$B_ID" "b${c}p$h-$B_ID" \
            sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
        mkdir -p "$(hdir "$c" "$h")"
        # Appending, so the file can be truncated under the writer between events.
        ip -n "$x" -ts monitor route >>"$(hdir "$c" "$h")/routes.mon" 2>&1 &
        B_MON["$c $h"]=$!
    done
    B_HOSTS[$c]=$n
}

drop_cluster() {
    local c=$1 h
    for ((h = 1; h <= ${B_HOSTS[$c]:-0}; h++)); do
        stop_agent "$c" "$h" KILL
        [ -n "${B_MON["$c $h"]:-}" ] && kill "${B_MON["$c $h"]}" 2>/dev/null
        wait "${B_MON["$c $h"]:-}" 2>/dev/null
        unset "B_MON[$c $h]"
        netns_drop "$(ns "$c" "$h")"
    done
    netns_drop "$(sw "$c")"
    unset "B_HOSTS[$c]"
}

# start_agent SYSTEM C H: shoal (lan profile, plus $B_SHOAL_ARGS) or serf (lan profile,
# encrypted, route handler).
# Not through a function in the background: $! must be the agent itself (ip netns exec execs it).
start_agent() {
    local sys=$1 c=$2 h=$3 d; d=$(hdir "$c" "$h")
    local s; s=$(seg "$c")
    if [ "$sys" = shoal ]; then
        ip netns exec "$(ns "$c" "$h")" "$SHOAL" agent --name "h$h" --iface eth0 \
            --network 10.244.0.0/16 --cluster-key-file "$SHOAL_KEYFILE" --state-dir "$d/state" \
            --socket "$d/shoal.sock" --subnet-file "$d/subnet.env" --seed "$s.1:7946" \
            --profile lan ${B_SHOAL_ARGS:-} >>"$d/shoal.log" 2>&1 &
    else
        ip netns exec "$(ns "$c" "$h")" env SERF_BENCH_LOG="$d/events.log" \
            serf agent -node "h$h" -bind "$s.$h:7946" -profile lan -encrypt "$SERF_KEY" \
            -tag "subnet=10.245.$h.0/24" -event-handler "$B_HANDLER" -join "$s.1:7946" \
            -log-level info >>"$d/serf.log" 2>&1 &
        B_PID["$c $h"]=$!
        ip netns exec "$(ns "$c" "$h")" bash "$B_HERE/serf-watch.sh" "$d/watch.log" &
        B_WATCH["$c $h"]=$!
        return
    fi
    B_PID["$c $h"]=$!
}

stop_agent() { # C H SIGNAL [timeout s]: waits for the exit, SIGKILL after the timeout
    local p=${B_PID["$1 $2"]:-}
    [ -z "$p" ] && return 0
    kill -"${3:-TERM}" "$p" 2>/dev/null
    local t=$(( ${4:-5} * 20 ))
    while kill -0 "$p" 2>/dev/null && ((t-- > 0)); do sleep 0.05; done
    kill -9 "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    unset "B_PID[$1 $2]"
    # The watcher's `serf monitor` ends with its agent; the script itself is ours to reap.
    p=${B_WATCH["$1 $2"]:-}
    [ -n "$p" ] && { kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; unset "B_WATCH[$1 $2]"; }
    return 0
}

# Routes the agents made (shoal: protocol 77, the Serf handler: 78) go when a system is done.
flush_routes() {
    local c=$1 h
    for ((h = 1; h <= ${B_HOSTS[$c]}; h++)); do
        ip -n "$(ns "$c" "$h")" route flush proto 77 2>/dev/null
        ip -n "$(ns "$c" "$h")" route flush proto 78 2>/dev/null
        rm -rf "$(hdir "$c" "$h")/state" "$(hdir "$c" "$h")"/*.sock
    done
}

# Empties the route monitors' and handlers' logs of hosts 1..N so a wait sees only new lines.
reset_logs() {
    local c=$1 n=$2 h
    for ((h = 1; h <= n; h++)); do
        : >"$(hdir "$c" "$h")/routes.mon"
        : >"$(hdir "$c" "$h")/events.log"
        : >"$(hdir "$c" "$h")/watch.log"
    done
}

# The patterns a wait looks for, per host, for member V of cluster C.
pat_route_add() { echo "^\[[^]]*\] [0-9.]+/[0-9]+ via $(seg "$1")\.$2 dev"; }
pat_route_del() { echo "^\[[^]]*\] Deleted [0-9.]+/[0-9]+ via $(seg "$1")\.$2 dev"; }
pat_event() { echo "^[0-9.]+ $2 h$1\$"; }             # V EVENT (serf handler log)
pat_watch() { echo "^[0-9.]+ .*$2: h$1 "; }            # V EventMemberFailed|Join|Leave (serf log)

# files C N FILE SKIP: the given log of hosts 1..N except SKIP
files() {
    local c=$1 n=$2 f=$3 skip=$4 h
    for ((h = 1; h <= n; h++)); do [ "$h" = "$skip" ] || echo "$(hdir "$c" "$h")/$f"; done
}

# wait_all TIMEOUT PATTERN FILE...: until every file has a line matching; 0 if all did.
wait_all() {
    local limit=$1 pat=$2; shift 2
    local want=$# deadline; deadline=$(awk -v n="$(now)" -v l="$limit" 'BEGIN{printf "%.3f", n + l}')
    while :; do
        [ "$(grep -l -E -- "$pat" "$@" 2>/dev/null | wc -l)" -ge "$want" ] && return 0
        awk -v n="$(now)" -v d="$deadline" 'BEGIN{exit !(n > d)}' && return 1
        sleep 0.1
    done
}

# latest T0 PATTERN FILE...: seconds from T0 (epoch) to the first matching line of the file that
# saw it last; "NA" if one never did. Route monitor lines carry `ip -ts` wall-clock stamps, handler
# lines an epoch stamp.
latest() {
    local t0=$1 pat=$2; shift 2
    local f worst="" v
    for f in "$@"; do
        v=$(grep -m1 -E -- "$pat" "$f" 2>/dev/null | stamp_of)
        [ -z "$v" ] && { echo NA; return; }
        worst=$(awk -v a="$worst" -v b="$v" 'BEGIN{print ((a == "" || b > a) ? b : a)}')
    done
    awk -v w="$worst" -v t="$t0" 'BEGIN{printf "%.3f\n", w - t}'
}

# The epoch time of a monitor line ("[2026-11-26T08:19:41.998514] ...") or handler line.
stamp_of() {
    awk '{
        if ($1 ~ /^\[/) {
            split(substr($1, 2, 26), p, "T"); split(p[2], t, ":")
            if (!(p[1] in day)) { cmd = "date -u -d " p[1] " +%s"; cmd | getline day[p[1]]; close(cmd) }
            printf "%.6f\n", day[p[1]] + t[1] * 3600 + t[2] * 60 + t[3]
        } else print $1
    }'
}

# count_lines PATTERN FILE...: matching lines over all files
count_lines() { local pat=$1; shift; cat "$@" 2>/dev/null | grep -c -E -- "$pat"; }

# Per-process figures from /proc: CPU ticks (utime+stime), VmRSS and Private_* in KiB.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kib() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null; }
private_kib() { awk '/^Private_/{s += $2} END{print s}' "/proc/$1/smaps_rollup" 2>/dev/null; }
# eth0 counters of a host: "tx_bytes rx_bytes tx_packets rx_packets"
counters() {
    ip -n "$(ns "$1" "$2")" -s -j link show dev eth0 |
        jq -r '.[0].stats64 | "\(.tx.bytes) \(.rx.bytes) \(.tx.packets) \(.rx.packets)"'
}

# Loss on every egress datagram of a host: nftables numgen in the host's own namespace.
set_loss() { # C H PERCENT
    ip netns exec "$(ns "$1" "$2")" nft -f - <<EOF
table inet bench_loss {
    chain out {
        type filter hook output priority 0; policy accept;
        numgen random mod 100 < $3 counter drop
    }
}
EOF
}
clear_loss() { ip netns exec "$(ns "$1" "$2")" nft delete table inet bench_loss 2>/dev/null; }
dropped_by_loss() {
    ip netns exec "$(ns "$1" "$2")" nft -j list table inet bench_loss 2>/dev/null |
        jq '[.nftables[] | .rule? // empty | .expr[] | .counter? // empty | .packets] | add // 0'
}

bench_cleanup() {
    local k pids=()
    for k in "${!B_PID[@]}"; do kill -9 "${B_PID[$k]}" 2>/dev/null; pids+=("${B_PID[$k]}"); done
    for k in "${!B_MON[@]}"; do kill "${B_MON[$k]}" 2>/dev/null; pids+=("${B_MON[$k]}"); done
    for k in "${!B_WATCH[@]}"; do kill "${B_WATCH[$k]}" 2>/dev/null; pids+=("${B_WATCH[$k]}"); done
    # Only these: a bare `wait` would also wait for run.sh's stderr filter, which never ends first.
    for k in "${pids[@]}"; do wait "$k" 2>/dev/null; done
    netns_drop_run "-$B_ID"
}

# bench_take_over: many hosts talk to each other, so the (shared) neighbour table must hold them
# all: its thresholds are raised, and put back on exit, after every agent, monitor and namespace
# of $B_ID and $B_DIR are gone (bench_cleanup).
bench_take_over() {
    declare -gA SYSCTL0
    local k
    for k in gc_thresh1 gc_thresh2 gc_thresh3; do SYSCTL0[$k]=$(sysctl -n "net.ipv4.neigh.default.$k"); done
    sysctl -qw net.ipv4.neigh.default.gc_thresh1=8192 net.ipv4.neigh.default.gc_thresh2=16384 \
        net.ipv4.neigh.default.gc_thresh3=32768
    trap bench_finish EXIT
    trap 'log "interrupted"; exit 130' INT TERM
}
bench_finish() {
    bench_cleanup
    local k
    for k in "${!SYSCTL0[@]}"; do sysctl -qw "net.ipv4.neigh.default.$k=${SYSCTL0[$k]}"; done
    rm -rf "$B_DIR"
}
