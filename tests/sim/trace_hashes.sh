#!/usr/bin/env bash
# Behaviour unchanged, bit for bit: `shoal simulate` must give the recorded trace_hash (a hash of
# every datagram delivered) for each recorded run. A refactoring that changes the wire, a message's
# order or the order of random draws changes a hash. A deliberate behaviour change records anew:
#   tests/sim/trace_hashes.sh SHOAL --record > tests/sim/trace_hashes.txt
# One thread: the test runs beside others, where a second thread only waits for a core; that two
# threads give the same runs is ParallelStepping's to show (tests/sim/parallel_test.cpp).
# Usage: trace_hashes.sh path/to/shoal [--record]
set -uo pipefail
shoal=$1 record=${2:-}
table=$(dirname "$0")/trace_hashes.txt
runs() { # seed nodes profile loss seconds
    for nodes in 16 128; do for profile in lan fast; do for loss in 0 0.05; do for seed in 1 2 3; do
        echo "$seed $nodes $profile $loss 60"
    done; done; done; done
    echo "1 512 lan 0 20"
}
hash_of() {
    "$shoal" simulate --threads 1 --rng-seed "$1" --nodes "$2" --profile "$3" --loss "$4" --seconds "$5" --json |
        sed -n 's/.*"trace_hash": *"\([0-9a-f]*\)".*/\1/p'
}
if [ "$record" = --record ]; then
    echo "# seed nodes profile loss seconds trace_hash (tests/sim/trace_hashes.sh records and checks)"
    runs | while read -r seed nodes profile loss seconds; do
        echo "$seed $nodes $profile $loss $seconds $(hash_of "$seed" "$nodes" "$profile" "$loss" "$seconds")"
    done
    exit 0
fi
pass=0 fail=0
while read -r seed nodes profile loss seconds want; do
    [[ $seed == \#* ]] && continue
    got=$(hash_of "$seed" "$nodes" "$profile" "$loss" "$seconds")
    if [ "$got" = "$want" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: --rng-seed $seed --nodes $nodes --profile $profile --loss $loss --seconds $seconds: trace_hash $got, recorded $want"
    fi
done <"$table"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
