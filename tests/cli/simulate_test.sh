#!/usr/bin/env bash
# The CLI contract of `shoal simulate`: JSON fields, and exit code 2 on every kind of bad usage.
set -u
shoal=$1
fail=0
check() { # description, expected exit code, command...
    local what=$1 want=$2; shift 2
    "$@" >/tmp/shoal-cli-test.out 2>&1
    local got=$?
    if [ "$got" != "$want" ]; then
        echo "FAIL: $what: exit $got, wanted $want"; sed 's/^/    /' /tmp/shoal-cli-test.out; fail=1
    else
        echo "ok: $what"
    fi
}
check "simulate --json runs" 0 "$shoal" simulate --nodes 8 --seconds 20 --json
out=$("$shoal" simulate --nodes 8 --seconds 20 --json)
for key in nodes profile loss rng_seed join_converge_s detect_s false_positives leave_all_s bytes_per_node_per_s wall_s; do
    grep -q "\"$key\"" <<<"$out" || { echo "FAIL: JSON lacks $key: $out"; fail=1; }
done
check "unknown profile" 2 "$shoal" simulate --profile wan
check "loss out of range" 2 "$shoal" simulate --loss 1.5
check "too few nodes" 2 "$shoal" simulate --nodes 1
check "not a number" 2 "$shoal" simulate --nodes many
check "unknown timer" 2 "$shoal" simulate --set no-such=1s
check "timer without unit" 2 "$shoal" simulate --set probe-interval=5
check "inconsistent timers" 2 "$shoal" simulate --set probe-timeout=2s
check "unknown subcommand" 2 "$shoal" frobnicate
check "no subcommand" 2 "$shoal"
check "version" 0 "$shoal" version
check "keygen" 0 "$shoal" keygen
key=$("$shoal" keygen)
[ ${#key} -eq 44 ] || { echo "FAIL: keygen printed '$key'"; fail=1; }
rm -f /tmp/shoal-cli-test.out
exit $fail
