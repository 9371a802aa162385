# Shared by the namespace tests and the demo: hosts as network namespaces on one bridge (the L2
# segment), one `shoal agent` per host. Only addresses inside these namespaces are used, and
# everything is torn down on exit, also when a test fails. Source it; set SHOAL to the binary.
set -u
# netns.sh makes the namespaces, bridge and links, for bench/lib.sh too: a change there is to both.
# shellcheck source=tests/e2e/netns.sh
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"
E2E_ID=${E2E_ID:-$$}
E2E_DIR=$(mktemp -d "/tmp/shoal-e2e-$E2E_ID.XXXX")
E2E_SW="shoal-sw-$E2E_ID"   # the namespace holding the bridge
declare -A E2E_PID
SEGMENT=192.168.77       # the hosts' L2 segment: .1, .2, ...
NETWORK=10.244.0.0/16    # the pod network

e2e_cleanup() {
    # Only a child of this shell: an agent that left the cluster has ended, and its pid may
    # since be another process's. `|| true`: a caller under `set -e` (bench/dataplane.sh) must
    # not stop here when one ends meanwhile, or the namespaces below are left behind.
    local h pid
    for h in "${!E2E_PID[@]}"; do
        pid=${E2E_PID[$h]}
        if [ "$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null)" = "$$" ]; then
            kill -9 "$pid" 2>/dev/null || true
        fi
    done
    wait 2>/dev/null || true
    # Hosts, switch and pods (made in subshells, so kept in no list) all end in -$E2E_ID.
    netns_drop_run "-$E2E_ID"
    # E2E_KEEP=DIR keeps a copy of the run's files (agents' logs, subnet files) for a post-mortem.
    if [ -n "${E2E_KEEP:-}" ]; then cp -r "$E2E_DIR" "$E2E_KEEP" || true; fi
    rm -rf "$E2E_DIR"
}
trap e2e_cleanup EXIT

# check DESCRIPTION COMMAND...: one assertion of a test; the command's output is shown only when
# it fails. check_summary prints the counts and fails if any check did.
pass=0 fail=0
check() {
    local what=$1 out; shift
    if out=$("$@" 2>&1); then
        echo "ok: $what"; pass=$((pass + 1))
    else
        echo "FAIL: $what"; [ -n "$out" ] && sed 's/^/    /' <<<"$out"; fail=$((fail + 1))
    fi
}
check_summary() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}

host() { echo "shoal-h$1-$E2E_ID"; }
on() { local h; h=$(host "$1"); shift; ip netns exec "$h" "$@"; }

e2e_switch() {
    netns_switch "$E2E_SW"
    "$SHOAL" keygen --out "$E2E_DIR/cluster.key"
}

# add_host N: namespace with eth0 = $SEGMENT.N/24, plugged into the bridge.
add_host() {
    local n=$1
    netns_host "$E2E_SW" "$(host "$n")" "$SEGMENT.$n/24" "ve$n-$E2E_ID" "vp$n-$E2E_ID"
    mkdir -p "$E2E_DIR/h$n"
}

# start_agent N [extra args]: the seed is host 1, or E2E_SEED (HOST:PORT) when set.
start_agent() {
    local n=$1; shift
    # Not through `on`: a backgrounded function is a subshell, and $! must be the agent itself.
    ip netns exec "$(host "$n")" "$SHOAL" agent --name "h$n" --iface eth0 --network "$NETWORK" \
        --cluster-key-file "${E2E_KEY:-$E2E_DIR/cluster.key}" --state-dir "$E2E_DIR/h$n/state" \
        --socket "$E2E_DIR/h$n.sock" --subnet-file "$E2E_DIR/h$n/subnet.env" \
        --cni-conf "$E2E_DIR/h$n/10-shoal.conflist" \
        --seed "${E2E_SEED:-$SEGMENT.1:7946}" --profile "${E2E_PROFILE:-fast}" "$@" >>"$E2E_DIR/h$n.log" 2>&1 &
    E2E_PID[$n]=$!
}

stop_agent() { # N SIGNAL
    kill -"${2:-TERM}" "${E2E_PID[$1]}" 2>/dev/null
    wait "${E2E_PID[$1]}" 2>/dev/null
    unset "E2E_PID[$1]"
}

# agent_exited N: host N's agent has ended (this shell reaps its children as they end). Its
# leave's last steps (the VXLAN device, nftables table and FORWARD rules) come after the routes:
# check them once it has.
agent_exited() { ! kill -0 "${E2E_PID[$1]}" 2>/dev/null; }

shoal_at() { local n=$1; shift; "$SHOAL" "$@" --socket "$E2E_DIR/h$n.sock"; }
routes_of() { on "$1" ip -4 route show proto 77; }
# The subnet host N serves, from its subnet.env (10.244.3.0/24).
subnet_of() { sed -n 's/^FLANNEL_SUBNET=\(.*\)\.1\/\(.*\)/\1.0\/\2/p' "$E2E_DIR/h$1/subnet.env"; }
# ... and its IPv6 one (fd00:244:0:3::/64), with ipv6-network set.
subnet6_of() { sed -n 's/^FLANNEL_IPV6_SUBNET=\(.*\)::1\/\(.*\)/\1::\/\2/p' "$E2E_DIR/h$1/subnet.env"; }
# routes_exact N PEER...: exactly one shoal route per peer subnet on host N, via that peer.
routes_exact() {
    local n=$1; shift
    local want="" got
    for p in "$@"; do want+="$(subnet_of "$p") via $SEGMENT.$p dev eth0"$'\n'; done
    got=$(routes_of "$n" | grep -v unreachable | sed 's/ *$//' | sort)
    [ "$got" = "$(printf '%s' "$want" | sort)" ]
}
has_route() { routes_of "$1" | grep -q "^$2 "; }   # N SUBNET
no_route() { ! has_route "$@"; }

# The membership and state as host N's agent reports them, read from --json only: the text output
# is for people and may change. Each prints nothing (or fails) when the agent does not answer.
# member_state N NAME: NAME's state (alive, suspect, dead, left, restarting...), empty if unknown.
member_state() {
    shoal_at "$1" members --json | jq -r --arg m "$2" '.[] | select(.name == $m) | .state'
}
state_is() { member_state "$1" "$2" | grep -qx -- "$3"; }   # N NAME STATE
knows() { [ -n "$(member_state "$1" "$2")" ]; }             # N NAME: in any state, left too
alive_count() { shoal_at "$1" members --json | jq '[.[] | select(.state == "alive")] | length'; }
# status_of N FILTER: a jq filter over `status --json`, raw output (null when absent).
status_of() { shoal_at "$1" status --json | jq -r "$2"; }
# shows N PATTERN CMD...: a line of the text output of `shoal CMD` matches the (basic) PATTERN;
# for the checks that are about what people read.
shows() { local n=$1 pat=$2; shift 2; shoal_at "$n" "$@" | grep -q -- "$pat"; }
# not COMMAND...: a check that COMMAND fails.
not() { ! "$@"; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# ms_bound MS: a time bound of a release-build target. The sanitizer build (E2E_TIME_SCALE=3,
# set by tests/CMakeLists.txt) runs the same code about three times slower, CLI start-up
# included: it checks the behaviour, the release build the figure.
ms_bound() { echo $(( $1 * ${E2E_TIME_SCALE:-1} )); }

# wait_for SECONDS COMMAND...: polls every 20 ms; prints the milliseconds it took.
wait_for() {
    local limit_ms=$(( $1 * 1000 )); shift
    local start; start=$(now_ms)
    until "$@" >/dev/null 2>&1; do
        (( $(now_ms) - start > limit_ms )) && return 1
        sleep 0.02
    done
    echo $(( $(now_ms) - start ))
}

# add_pod N: a pod on host N, made the way a container runtime does it: the real CNI bridge and
# host-local plugins, config on stdin, CNI_* in the environment, IPAM over the host's subnet.env.
# Prints the pod's address.
add_pod() {
    local n=$1 pod="shoal-p$1-$E2E_ID"
    ip netns add "$pod"
    local gw subnet
    gw=$(sed -n 's/^FLANNEL_SUBNET=//p' "$E2E_DIR/h$n/subnet.env")   # e.g. 10.244.3.1/24
    subnet="${gw%.*/*}.0/${gw#*/}"
    local conf
    conf=$(printf '{"cniVersion":"0.4.0","name":"shoal","type":"bridge","bridge":"cni0","isGateway":true,"ipMasq":false,"ipam":{"type":"host-local","subnet":"%s","routes":[{"dst":"0.0.0.0/0"}],"dataDir":"%s"}}' \
        "$subnet" "$E2E_DIR/h$n/ipam")
    on "$n" env CNI_COMMAND=ADD CNI_CONTAINERID="pod-$n" CNI_NETNS="/var/run/netns/$pod" CNI_IFNAME=eth0 \
        CNI_PATH=/usr/lib/cni /usr/lib/cni/bridge <<<"$conf" | sed -n 's/.*"address": "\([0-9.]*\)\/.*/\1/p'
}
pod() { local n=$1; shift; ip netns exec "shoal-p$n-$E2E_ID" "$@"; }
# pod6_of N: the global IPv6 address of host N's pod (dual stack).
pod6_of() { pod "$1" ip -6 -o addr show dev eth0 scope global | awk '{print $4}' | cut -d/ -f1; }

# add_pod_from_conflist N: the same, from the conflist the agent wrote (--cni-conf), handing the
# plugin its entry with the list's name and version, as a runtime does.
add_pod_from_conflist() {
    local n=$1 pod="shoal-p$1-$E2E_ID"
    ip netns add "$pod"
    jq -c '.plugins[0] + {cniVersion: .cniVersion, name: .name}
           | .ipam.dataDir = "'"$E2E_DIR/h$n/ipam"'"' "$E2E_DIR/h$n/10-shoal.conflist" |
        on "$n" env CNI_COMMAND=ADD CNI_CONTAINERID="pod-$n" CNI_NETNS="/var/run/netns/$pod" \
            CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni /usr/lib/cni/bridge |
        jq -r '.ips[0].address' | cut -d/ -f1
}
