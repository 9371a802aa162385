#!/usr/bin/env bash
# Admission (node certificates), end to end in namespaces, with real kernel routes and metrics:
#  1. `ca sign --subnet auto` gives five hosts five subnets; five agents under admission = enforce
#     route each other's certified subnet, and each writes its certificate's subnet to subnet.env.
#  2. A sixth host is refused and counted, and gets no route anywhere: (a) without a certificate
#     (admission off: `uncertified`), (b) with a certificate of another CA, naming a subnet that is
#     already certified here (`untrusted_certificate`), (c) with a certificate issued for another
#     name: the agent itself refuses to start (exit 2). An unmodified agent never announces a name
#     other than its certificate's, so the peers' `certificate_name` check cannot be reached from
#     here; tests/sim/admission_test.cpp covers it with a forged announcement.
#  3. A revocation sent to one host (SIGHUP) withdraws the revoked host's route everywhere within
#     5 s, while that host keeps running.
#  4. CA rotation: both CAs in every ca-file (planned restarts), one certificate re-issued by the
#     new CA: admitted everywhere, and no host's kernel sees a route change.
#  5. A running four-host cluster switched off -> permissive -> enforce by planned restarts, with
#     no route change on any host.
# Usage: admission_test.sh path/to/shoal
set -Eeuo pipefail
SHOAL=$(realpath "$1")
source "$(dirname "$0")/lib.sh"
M=127.0.0.1:9477  # each host namespace has its own loopback
T0=$(now_ms)
# Anything that fails outside a check stops the test (set -e): say where, then the EXIT trap of
# lib.sh removes every agent, namespace and file of this run.
trap 'echo "FAIL: unexpected error at line $LINENO: $BASH_COMMAND"' ERR
CA=$E2E_DIR/ca

# ---- helpers (outputs are captured before they are searched: no early-exiting reader in a pipe)
# metric N NAME_WITH_LABELS: its value on host N (empty when absent or not answering).
metric() {
    local out
    out=$(on "$1" curl -s --max-time 2 "http://$M/metrics") || return 0
    awk -v m="$2" '$1 == m {print $2}' <<<"$out"
}
rejected() { local v; v=$(metric "$1" "shoal_announcements_rejected_total{reason=\"$2\"}"); echo "${v:-0}"; }
# rejected_on REASON N...: "N=count ..." for the hosts, for messages.
rejected_on() { local r=$1 n; shift; for n in "$@"; do printf 'h%s=%s ' "$n" "$(rejected "$n" "$r")"; done; }
# rose REASON BEFORE N...: every host N counts more REASON than in BEFORE (from rejected_on).
rose() {
    local r=$1 before=$2 n was; shift 2
    for n in "$@"; do
        was=$(tr ' ' '\n' <<<"$before" | sed -n "s/^h$n=//p")
        [ "$(rejected "$n" "$r")" -gt "${was:-0}" ] || return 1
    done
}
uncertified() { metric "$1" shoal_members_uncertified; }
uncertified_is() { local v; v=$(uncertified "$1"); [ "$v" = "$2" ] || { echo "h$1: members_uncertified '$v'"; return 1; }; }
kroutes() { ip -n "$(host "$1")" -4 route show; }
# pod_routes N...: the kernel's routes of the pod network on each host, for before/after equality.
pod_routes() { local n; for n in "$@"; do echo "h$n:"; ip -n "$(host "$n")" -4 route show root "$NETWORK"; done; }
# has_route N SUBNET VIA: host N's kernel routes SUBNET via VIA (a shoal route, protocol 77).
has_route() {
    local r; r=$(ip -n "$(host "$1")" -4 route show proto 77)
    awk -v s="$2" -v v="$3" '$1 == s && $2 == "via" && $3 == v {f = 1} END {exit !f}' <<<"$r" ||
        { echo "h$1 has no route $2 via $3; its routes:"; echo "$r"; return 1; }
}
# no_route_via N VIA: host N's kernel has no route via VIA at all.
no_route_via() {
    local r; r=$(kroutes "$1")
    ! awk -v v="$2" '$2 == "via" && $3 == v {f = 1} END {exit !f}' <<<"$r" ||
        { echo "h$1 routes via $2:"; echo "$r"; return 1; }
}
# no_route_to N SUBNET: host N's kernel has no route for SUBNET.
no_route_to() {
    local r; r=$(kroutes "$1")
    ! awk -v s="$2" '$1 == s {f = 1} END {exit !f}' <<<"$r" || { echo "h$1 routes $2:"; echo "$r"; return 1; }
}
cert_subnet() { sed -n 's/^# subnet //p' "$1"; }
cert_fp() { sed -n 's/^# fingerprint //p' "$1"; }
env_subnet() { sed -n 's/^FLANNEL_SUBNET=\(.*\)\.1\/\(.*\)/\1.0\/\2/p' "$E2E_DIR/h$1/subnet.env" 2>/dev/null; }
declare -A SUB  # host -> the subnet it should be routed by (certified or, in case 5, claimed)
# mesh N...: each host N routes every other host's SUB via that host's address.
mesh() {
    local n m
    for n in "$@"; do
        for m in "$@"; do
            [ "$n" = "$m" ] || has_route "$n" "${SUB[$m]}" "$SEGMENT.$m" || return 1
        done
    done
}
# all_alive N...: every host N holds every host of the list alive.
all_alive() {
    local n m st
    for n in "$@"; do
        for m in "$@"; do
            st=$(member_state "$n" "h$m" 2>/dev/null) || st=
            [ "$st" = alive ] || { echo "h$n sees h$m '${st}'"; return 1; }
        done
    done
}
# identity N: host N's node key (made now in its state directory) into $E2E_DIR/hN.pub.
identity() { "$SHOAL" identity show --state-dir "$E2E_DIR/h$1/state" 2>/dev/null >"$E2E_DIR/h$1.pub"; }
sign() { # CA_DIR N OUT [ca sign args]: a certificate for host N's key, named hN unless --name
    local ca=$1 n=$2 out=$3; shift 3
    "$SHOAL" ca sign --ca-key "$ca/ca.key" --node-pub "$E2E_DIR/h$n.pub" --out "$out" "$@" \
        >>"$E2E_DIR/ca.log" 2>&1
}
running() { kill -0 "${E2E_PID[$1]}" 2>/dev/null; }
# monitor_start N...: `ip monitor route` on each host, to prove that no route changed.
monitor_start() {
    local n
    for n in "$@"; do
        ip -n "$(host "$n")" -4 monitor route >"$E2E_DIR/monitor$n.log" 2>&1 &
        E2E_PID["mon$n"]=$!
    done
    sleep 0.3
}
monitor_stop() {
    local n
    for n in "$@"; do
        kill "${E2E_PID["mon$n"]}" 2>/dev/null || true
        wait "${E2E_PID["mon$n"]}" 2>/dev/null || true
        unset "E2E_PID[mon$n]"
    done
}
quiet_monitor() { [ ! -s "$E2E_DIR/monitor$1.log" ] || { cat "$E2E_DIR/monitor$1.log"; return 1; }; }
same() { [ "$1" = "$2" ] || { echo "before:"; echo "$1"; echo "after:"; echo "$2"; return 1; }; }
elapsed() { echo "$(( ($(now_ms) - T0) / 1000 )) s"; }

e2e_switch
"$SHOAL" ca init --out "$CA" --network "$NETWORK" >>"$E2E_DIR/ca.log" 2>&1

# ---- 1. five certified hosts under enforce ------------------------------------------------------
echo "== 1. five hosts, certified subnets, admission = enforce"
enforce_args() { # N [CA_FILE]: the settings of hosts 1-5
    echo --metrics "$M" --admission enforce --ca-file "${2:-$CA/ca.pub}" \
        --revocations-file "$E2E_DIR/h$1/revocations"
}
for n in 1 2 3 4 5; do
    add_host "$n"
    identity "$n"
    sign "$CA" "$n" "$E2E_DIR/h$n/state/node.crt" --name "h$n" --subnet auto
    SUB[$n]=$(cert_subnet "$E2E_DIR/h$n/state/node.crt")
    : >"$E2E_DIR/h$n/revocations"
done
check "ca sign --subnet auto: five distinct subnets (${SUB[*]})" \
    test "$(printf '%s\n' "${SUB[@]}" | sort -u | grep -c /)" = 5
# shellcheck disable=SC2046
for n in 1 2 3 4 5; do start_agent "$n" $(enforce_args $n); done
ms=$(wait_for 20 mesh 1 2 3 4 5) || true
check "every host routes every other host's certified subnet via its address (${ms:-never} ms)" \
    mesh 1 2 3 4 5
for n in 1 2 3 4 5; do
    check "h$n: subnet.env FLANNEL_SUBNET is its certificate's subnet ${SUB[$n]}" \
        test "$(env_subnet "$n")" = "${SUB[$n]}"
done
check "five members alive on every host" wait_for 10 all_alive 1 2 3 4 5
for n in 1 2 3 4 5; do check "h$n: members_uncertified 0" uncertified_is "$n" 0; done
echo "   ($(elapsed))"

# ---- 2. newcomers refused and counted ---------------------------------------------------------
echo "== 2. a sixth host without a valid certificate is refused and counted"
# A refused announcement is counted only by the hosts that receive it from the newcomer itself:
# no member passes on what it refused. The newcomer gossips its own announcement to random
# members a few times (retransmit-mult); with 30 times, every one of the five hears it.
NEWCOMER=(--metrics "$M" --retransmit-mult 30)
# (a) admission off and no certificate: it announces none.
add_host 6
before=$(rejected_on uncertified 1 2 3 4 5)
start_agent 6 "${NEWCOMER[@]}"
ms=$(wait_for 15 rose uncertified "$before" 1 2 3 4 5) || true
check "(a) no certificate: uncertified rises on all five (${ms:-never} ms; $before-> $(rejected_on uncertified 1 2 3 4 5))" \
    test -n "$ms"
sleep 1  # time enough for a route, were it admitted
for n in 1 2 3 4 5; do
    check "(a) h$n: no route via h6" no_route_via $n "$SEGMENT.6"
    check "(a) h$n: h6 is not a member" not knows $n h6
done
check "(a) the refused host was running" running 6
stop_agent 6 KILL || true

# (b) a certificate from another CA, naming the subnet already certified to h1 (the first subnet
# of a fresh CA). The newcomer trusts that CA, so it starts, and the cluster's CA too, so it
# admits the five and talks to each of them (trusting only its own CA, it would admit none and
# talk to its seed alone, and only the seed would count it).
"$SHOAL" ca init --out "$E2E_DIR/ca-other" --network "$NETWORK" >>"$E2E_DIR/ca.log" 2>&1
add_host 7
identity 7
sign "$E2E_DIR/ca-other" 7 "$E2E_DIR/h7/state/node.crt" --name h7 --subnet auto
check "(b) the other CA's certificate names h1's subnet ${SUB[1]}" \
    test "$(cert_subnet "$E2E_DIR/h7/state/node.crt")" = "${SUB[1]}"
before=$(rejected_on untrusted_certificate 1 2 3 4 5)
cat "$E2E_DIR/ca-other/ca.pub" "$CA/ca.pub" >"$E2E_DIR/h7-cas.pub"
start_agent 7 "${NEWCOMER[@]}" --admission enforce --ca-file "$E2E_DIR/h7-cas.pub"
ms=$(wait_for 15 rose untrusted_certificate "$before" 1 2 3 4 5) || true
check "(b) another CA: untrusted_certificate rises on all five (${ms:-never} ms; $before-> $(rejected_on untrusted_certificate 1 2 3 4 5))" \
    test -n "$ms"
sleep 1
for n in 1 2 3 4 5; do
    check "(b) h$n: no route via h7" no_route_via $n "$SEGMENT.7"
    check "(b) h$n: h7 is not a member" not knows $n h7
done
for n in 2 3 4 5; do check "(b) h$n: h1's subnet still via h1" has_route $n "${SUB[1]}" "$SEGMENT.1"; done
check "(b) the refused host was running" running 7
stop_agent 7 KILL || true

# (c) a certificate issued for another name: the agent refuses it before it announces anything.
add_host 8
identity 8
sign "$CA" 8 "$E2E_DIR/h8/state/node.crt" --name other-name
rc=0
timeout 10 ip netns exec "$(host 8)" "$SHOAL" agent --name h8 --iface eth0 --network "$NETWORK" \
    --cluster-key-file "$E2E_DIR/cluster.key" --state-dir "$E2E_DIR/h8/state" \
    --socket "$E2E_DIR/h8.sock" --subnet-file "$E2E_DIR/h8/subnet.env" --seed "$SEGMENT.1:7946" \
    --profile fast --admission enforce --ca-file "$CA/ca.pub" >"$E2E_DIR/h8.log" 2>&1 || rc=$?
check "(c) a certificate for another name: the agent exits 2 (exit $rc)" test "$rc" = 2
check "(c) ... naming the setting and both names" \
    grep -q "name: 'h8' differs from the name in node-cert .*('other-name')" "$E2E_DIR/h8.log"
for n in 1 2 3 4 5; do check "(c) h$n: no route via h8" no_route_via $n "$SEGMENT.8"; done
echo "   ($(elapsed))"

# ---- 3. revocation of a running host ------------------------------------------------------------
echo "== 3. h5's certificate revoked, h5 still running"
"$SHOAL" ca revoke --ca-key "$CA/ca.key" "$(cert_fp "$E2E_DIR/h5/state/node.crt")" >>"$E2E_DIR/ca.log" 2>&1
before=$(rejected_on certificate_revoked 1 2 3 4)
cp "$CA/revocations" "$E2E_DIR/h1/revocations.tmp"
mv "$E2E_DIR/h1/revocations.tmp" "$E2E_DIR/h1/revocations"
kill -HUP "${E2E_PID[1]}"
withdrawn() { local n; for n in 1 2 3 4; do no_route_to $n "${SUB[5]}" || return 1; done; }
ms=$(wait_for 5 withdrawn) || true
check "h5's route is gone on h1-h4 within 5 s (${ms:-never} ms)" test -n "$ms"
for n in 1 2 3 4; do check "h$n: no route to h5's subnet ${SUB[5]}" no_route_to $n "${SUB[5]}"; done
revoked_rose() { rose certificate_revoked "$before" "$@"; }
ms=$(wait_for 10 revoked_rose 1 2 3 4) || true
check "certificate_revoked rises on h1-h4 (${ms:-never} ms; $before-> $(rejected_on certificate_revoked 1 2 3 4))" \
    test -n "$ms"
check "h5's agent is still running" running 5
check "the others still route each other" mesh 1 2 3 4
check "h1 logged the revocation it read" grep -q "SIGHUP: applied 1 new revocations" "$E2E_DIR/h1.log"
for n in 2 3 4; do
    check "h$n learned it by gossip and expelled h5" wait_for 5 state_is $n h5 left
    check "h$n logged the revocation learned" grep -q "learned the revocation of certificate" "$E2E_DIR/h$n.log"
done
# h5 itself learns it only if the gossip reaches it before every member has expelled it, or at
# its next anti-entropy transfer (20 s): not asserted (it passed in the release build and failed
# under ASan's slower timing), only reported.
if grep -q "this node's certificate has been revoked by its CA" "$E2E_DIR/h5.log"; then
    echo "   (h5 learned its own revocation)"
else
    echo "   (h5 has not learned its own revocation yet)"
fi
stop_agent 5 KILL || true
echo "   ($(elapsed))"

# ---- 4. CA rotation -------------------------------------------------------------------------------
echo "== 4. CA rotation: both CAs trusted, h1 re-issued by the new CA, no route change"
"$SHOAL" ca init --out "$E2E_DIR/ca-new" --network "$NETWORK" >>"$E2E_DIR/ca.log" 2>&1
cat "$CA/ca.pub" "$E2E_DIR/ca-new/ca.pub" >"$E2E_DIR/both.pub"
routes_before=$(pod_routes 1 2 3 4)
monitor_start 1 2 3 4
for n in 1 2 3 4; do
    stop_agent "$n" TERM || true
    # shellcheck disable=SC2046
    start_agent "$n" $(enforce_args $n "$E2E_DIR/both.pub")
    ms=$(wait_for 15 all_alive 1 2 3 4) || true
    check "h$n restarted trusting both CAs: all four alive everywhere (${ms:-never} ms)" test -n "$ms"
done
cp "$E2E_DIR/h1/state/node.crt" "$E2E_DIR/h1-old.crt"
sign "$E2E_DIR/ca-new" 1 "$E2E_DIR/h1/state/node.crt" --name h1 --subnet "${SUB[1]}" --force
check "h1's new certificate is the new CA's, for the same subnet" \
    grep -qF "# CA $(awk '{print $2}' "$E2E_DIR/ca-new/ca.pub")" "$E2E_DIR/h1/state/node.crt"
stop_agent 1 TERM || true
# shellcheck disable=SC2046
start_agent 1 $(enforce_args 1 "$E2E_DIR/both.pub")
ms=$(wait_for 15 all_alive 1 2 3 4) || true
check "h1 with the new CA's certificate is admitted by all (${ms:-never} ms)" test -n "$ms"
# Proof that h1 announces the new certificate: the old one revoked (sent to h2 only), h1 stays.
old_fp=$(cert_fp "$E2E_DIR/h1-old.crt")
"$SHOAL" ca revoke --ca-key "$CA/ca.key" "$old_fp" >>"$E2E_DIR/ca.log" 2>&1
cp "$CA/revocations" "$E2E_DIR/h2/revocations.tmp"
mv "$E2E_DIR/h2/revocations.tmp" "$E2E_DIR/h2/revocations"
kill -HUP "${E2E_PID[2]}"
learned_old() { local n; for n in 1 3 4; do grep -q "learned the revocation of certificate ${old_fp:0:16}" "$E2E_DIR/h$n.log" || return 1; done; }
ms=$(wait_for 5 learned_old) || true
check "h1's old certificate revoked: h1, h3, h4 learn it from h2 (${ms:-never} ms)" test -n "$ms"
sleep 1
check "... and h1, on its new certificate, stays alive everywhere" all_alive 1 2 3 4
for n in 2 3 4; do check "h$n: route to h1's subnet via h1" has_route $n "${SUB[1]}" "$SEGMENT.1"; done
check "all four still route each other" mesh 1 2 3 4
for n in 1 2 3 4; do check "h$n: members_uncertified 0" uncertified_is "$n" 0; done
monitor_stop 1 2 3 4
check "the pod network's routes on every host are what they were" same "$routes_before" "$(pod_routes 1 2 3 4)"
for n in 1 2 3 4; do check "h$n's kernel saw no route change during the rotation" quiet_monitor "$n"; done
for n in 1 2 3 4; do stop_agent "$n" KILL || true; done
echo "   ($(elapsed))"

# ---- 5. off -> permissive -> enforce on a running cluster ---------------------------------------
echo "== 5. four hosts switched off -> permissive -> enforce, no route change"
# Certificates without a subnet: claims stay dynamic, as they were under off.
H=(11 12 13 14)
for n in "${H[@]}"; do
    add_host "$n"
    identity "$n"
    sign "$CA" "$n" "$E2E_DIR/h$n/state/node.crt" --name "h$n"
done
check "certificates without a subnet" \
    grep -q '^# subnet any' "$E2E_DIR/h11/state/node.crt"
for n in "${H[@]}"; do E2E_SEED=$SEGMENT.11:7946 start_agent "$n" --metrics "$M"; done
claimed() { local n; for n in "${H[@]}"; do SUB[$n]=$(env_subnet "$n"); [ -n "${SUB[$n]}" ] || return 1; done; }
wait_for 20 claimed >/dev/null || true
claimed || true
ms=$(wait_for 20 mesh "${H[@]}") || true
check "admission off: four hosts route each other (${ms:-never} ms)" mesh "${H[@]}"
for n in "${H[@]}"; do check "h$n: members_uncertified 0 under off (it checks none)" uncertified_is "$n" 0; done
routes_before=$(pod_routes "${H[@]}")
monitor_start "${H[@]}"
step() { # MODE N: a planned restart of host N into admission MODE
    local mode=$1 n=$2
    stop_agent "$n" TERM || true
    E2E_SEED=$SEGMENT.11:7946 start_agent "$n" --metrics "$M" --admission "$mode" --ca-file "$CA/ca.pub"
    ms=$(wait_for 15 all_alive "${H[@]}") || true
    check "h$n restarted under $mode: all four alive everywhere (${ms:-never} ms)" test -n "$ms"
    check "h$n under $mode: the pod routes on every host are unchanged" same "$routes_before" "$(pod_routes "${H[@]}")"
}
step permissive 11
check "permissive h11 counts the three hosts still off as uncertified" wait_for 5 uncertified_is 11 3
for n in 12 13 14; do step permissive "$n"; done
for n in "${H[@]}"; do
    check "all permissive: h$n counts no uncertified member" wait_for 5 uncertified_is "$n" 0
done
for n in "${H[@]}"; do step enforce "$n"; done
sleep 1
check "all enforce: still every route" mesh "${H[@]}"
for n in "${H[@]}"; do check "h$n: members_uncertified 0 at the end" uncertified_is "$n" 0; done
for n in "${H[@]}"; do check "h$n: its subnet.env still names ${SUB[$n]}" test "$(env_subnet "$n")" = "${SUB[$n]}"; done
monitor_stop "${H[@]}"
check "the pod network's routes on every host are what they were" same "$routes_before" "$(pod_routes "${H[@]}")"
for n in "${H[@]}"; do check "h$n's kernel saw no route change during the switch" quiet_monitor "$n"; done
echo "   ($(elapsed))"

# ---- 6. force-leave under admission --------------------------------------------------------------
echo "== 6. force-leave under enforce: only on the CA's order"
stop_agent 14 KILL || true
dead_everywhere() { local n; for n in 11 12 13; do state_is $n h14 dead || return 1; done; }
ms=$(wait_for 15 dead_everywhere) || true
check "h14 killed: dead on h11-h13 (${ms:-never} ms)" test -n "$ms"
check "an unsigned force-leave is refused, naming the command that signs one" \
    bash -c '! "$0" force-leave h14 --socket "$1" 2>"$2" && grep -q "shoal ca force-leave" "$2"' \
    "$SHOAL" "$E2E_DIR/h11.sock" "$E2E_DIR/fl.err"
id14=$(shoal_at 11 members --json | jq -r '.[] | select(.name == "h14") | .id')
inc14=$(shoal_at 11 members --json | jq -r '.[] | select(.name == "h14") | .incarnation')
order=$("$SHOAL" ca force-leave --ca-key "$CA/ca.key" --id "$id14" --incarnation "$inc14" 2>/dev/null)
check "the CA's order is accepted" shoal_at 11 force-leave h14 --ca-signed "$order"
left_everywhere() { local n; for n in 11 12 13; do state_is $n h14 left || return 1; done; }
ms=$(wait_for 5 left_everywhere) || true
check "h14 is left on h11-h13 within 5 s (${ms:-never} ms)" test -n "$ms"
echo "   ($(elapsed))"

check "no sanitizer report in any agent log" bash -c "! grep -E 'Sanitizer|runtime error' $E2E_DIR/h*.log"
trap - ERR
check_summary
