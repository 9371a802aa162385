#!/usr/bin/env bash
# A rolling upgrade from protocol 1, end to end in namespaces: agents of an old build (protocol 1,
# e.g. shoal 0.1.0) and of this one with accept-protocol-1 form one cluster (routes everywhere,
# in both directions); the old seed is replaced host by host; then accept-protocol-1 is turned off
# with a planned restart of each upgraded host, and the cluster stays whole.
# Not in ctest (it needs a second build): run it by hand, as root:
#   git worktree add /tmp/old v0.1.0-commit && cmake -S /tmp/old -B /tmp/old/build \
#       -DCMAKE_BUILD_TYPE=Release && ninja -C /tmp/old/build shoal
#   bash tests/e2e/upgrade_test.sh /tmp/old/build/shoal build/shoal
# Usage: upgrade_test.sh OLD_SHOAL NEW_SHOAL
OLD=$(realpath "$1")
NEW=$(realpath "$2")
SHOAL=$NEW
source "$(dirname "$0")/lib.sh"

e2e_switch
for n in 1 2 3 4; do add_host $n; done
# routes_to N M...: host N has a shoal route to the subnet of every host M.
routes_to() {
    local n=$1 m; shift
    for m in "$@"; do
        [ -s "$E2E_DIR/h$m/subnet.env" ] || return 1
        routes_of "$n" | grep -q "^$(subnet_of "$m") via $SEGMENT.$m " || return 1
    done
}
whole() { # every running host routes to every other one in $@
    local n others
    for n in "$@"; do
        others=$(printf '%s\n' "$@" | grep -vx "$n" | tr '\n' ' ')
        # shellcheck disable=SC2086
        routes_to "$n" $others || return 1
    done
}
start_old() { local n=$1; shift; SHOAL=$OLD start_agent "$n" "$@"; }
# sees_all N...: each upgraded host N holds all four members alive (routes alone would not show
# it: they outlive a planned restart).
sees_all() { local n; for n in "$@"; do [ "$(alive_count "$n")" = 4 ] || return 1; done; }

start_old 1
start_old 2
check "two old agents form a cluster" wait_for 20 whole 1 2
start_agent 3 --accept-protocol-1
start_agent 4 --accept-protocol-1
ms=$(wait_for 30 whole 1 2 3 4)
check "old and upgraded agents (accept-protocol-1) route to each other (${ms:-never} ms)" test -n "$ms"
check "the upgraded agents hold every member alive" wait_for 10 sees_all 3 4

# The old seed (h1) is upgraded: a planned restart into the new binary.
stop_agent 1 TERM
start_agent 1 --accept-protocol-1
ms=$(wait_for 30 whole 1 2 3 4)
check "the seed upgraded in place: still whole (${ms:-never} ms)" test -n "$ms"
check "... and the upgraded agents hold every member alive" wait_for 10 sees_all 1 3 4
stop_agent 2 TERM
start_agent 2 --accept-protocol-1
ms=$(wait_for 30 whole 1 2 3 4)
check "every host upgraded: still whole (${ms:-never} ms)" test -n "$ms"
check "... every host holds every member alive" wait_for 10 sees_all 1 2 3 4

# accept-protocol-1 off, one host at a time (planned restarts).
for n in 1 2 3 4; do
    stop_agent "$n" TERM
    start_agent "$n"
    ms=$(wait_for 30 whole 1 2 3 4)
    check "h$n restarted without accept-protocol-1: still whole (${ms:-never} ms)" test -n "$ms"
    check "... every host holds every member alive" wait_for 10 sees_all 1 2 3 4
done
check "no agent logged a malformed datagram" bash -c "! grep -h 'dropped a datagram.*malformed' $E2E_DIR/h*.log"
check_summary
