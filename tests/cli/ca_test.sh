#!/usr/bin/env bash
# The operator's side of admission: `shoal ca init|sign|revoke|show` and `shoal identity show`.
# Exit 0 on success, 2 on a bad flag value (the message names the flag), 1 on a file that cannot
# be used; distinct subnets from `--subnet auto`, a held subnet refused naming its holder, a
# renewal allowed, a revocation freeing its subnet, and no file ever overwritten.
set -euo pipefail
shoal=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
log=$dir/log
fail=0

pass() { echo "ok: $1"; }
flunk() { echo "FAIL: $1"; sed 's/^/    /' "$log"; fail=1; }
# description, expected exit code, extended regex the output must match ("" for none), command...
expect() {
    local what=$1 want=$2 text=$3 got=0
    shift 3
    "$@" >"$log" 2>&1 || got=$?
    if [ "$got" != "$want" ]; then
        flunk "$what: exit $got, wanted $want"
    elif [ -n "$text" ] && ! grep -Eq -- "$text" "$log"; then
        flunk "$what: output lacks /$text/"
    else
        pass "$what"
    fi
}
# description, condition...
check() {
    local what=$1
    shift
    if "$@"; then pass "$what"; else flunk "$what"; fi
}
subnet_of() { sed -n 's/^# subnet //p' "$1"; }
fingerprint_of() { sed -n 's/^# fingerprint //p' "$1"; }

ca=$dir/ca
key=$ca/ca.key

# ---- ca init ----
expect "ca init" 0 "^shoal-ca-pub [A-Za-z0-9+/]{43}= " "$shoal" ca init --out "$ca" --network 10.244.0.0/16
check "ca init: prints the CA key's fingerprint" grep -Eq "^fingerprint [0-9a-f]{64}$" "$log"
check "ca init: says to keep ca.key offline" grep -q "keep it offline" "$log"
check "ca init: ca.pub holds the printed line" grep -qF "$(head -n 1 "$ca/ca.pub")" "$log"
check "ca init: directory 700, key 600" \
    test "$(stat -c %a "$ca") $(stat -c %a "$key")" = "700 600"
check "ca init: the ledger has the network line" grep -q "^network 10.244.0.0/16 subnet-len 24$" "$ca/ledger"
before=$(cat "$key")
expect "ca init: an existing CA is refused" 1 "ca.key exists: .* not overwriting" \
    "$shoal" ca init --out "$ca"
check "ca init: ... and its key is unchanged" test "$(cat "$key")" = "$before"

# ---- identity show ----
for i in 1 2 3 4 5 6; do
    expect "identity show (host $i, new key)" 0 "" "$shoal" identity show --state-dir "$dir/state$i"
    grep "^shoal-node-pub" "$log" >"$dir/host$i.pub"
    check "identity show (host $i): says it made the key" grep -q "did not exist: made" "$log"
done
expect "identity show: the same key again" 0 "" "$shoal" identity show --state-dir "$dir/state1"
check "identity show: ... printed alone, unchanged" test "$(cat "$log")" = "$(cat "$dir/host1.pub")"
check "identity show: one line of three fields" \
    grep -Eq "^shoal-node-pub [A-Za-z0-9+/]{43}= [0-9a-f]{32}$" "$dir/host1.pub"

# ---- ca sign: auto ----
for i in 1 2 3 4 5; do
    expect "ca sign host-0000$i --subnet auto" 0 "^size [0-9]+ bytes$" "$shoal" ca sign \
        --ca-key "$key" --name "host-0000$i" --node-pub "$dir/host$i.pub" --subnet auto \
        --out "$dir/host$i.crt"
done
subnets=$(for i in 1 2 3 4 5; do subnet_of "$dir/host$i.crt"; done | sort -u)
check "ca sign --subnet auto: 5 distinct subnets ($(tr '\n' ' ' <<<"$subnets"))" test "$(wc -l <<<"$subnets")" = 5
check "ca sign --subnet auto: the lowest ones" test "$(subnet_of "$dir/host1.crt")" = 10.244.1.0/24
check "ca sign: the certificate is mode 644" test "$(stat -c %a "$dir/host1.crt")" = 644
check "ca sign: 5 issued lines in the ledger" test "$(grep -c '^issued ' "$ca/ledger")" = 5

# ---- held subnets, renewals ----
held=$(subnet_of "$dir/host3.crt")
expect "ca sign: a held subnet is refused, naming its holder" 1 \
    "subnet $held is held by host-00003 \(certificate $(fingerprint_of "$dir/host3.crt")" \
    "$shoal" ca sign --ca-key "$key" --name host-00006 --node-pub "$dir/host6.pub" \
    --subnet "$held" --out "$dir/host6.crt"
check "ca sign: ... and writes no certificate" test ! -e "$dir/host6.crt"
expect "ca sign: the same name with another key is refused too" 1 "held by host-00003" \
    "$shoal" ca sign --ca-key "$key" --name host-00003 --node-pub "$dir/host6.pub" \
    --subnet "$held" --out "$dir/host6.crt"
expect "ca sign: a held slot is refused" 1 "subnet 10.244.1.0/24 is held by host-00001" \
    "$shoal" ca sign --ca-key "$key" --name host-00006 --node-pub "$dir/host6.pub" --subnet 0 \
    --out "$dir/host6.crt"
expect "ca sign: a renewal (same name and key) keeps its subnet" 0 "subnet $held, expires 20" \
    "$shoal" ca sign --ca-key "$key" --name host-00003 --node-pub "$dir/host3.pub" \
    --subnet "$held" --valid 90d --out "$dir/host3-renewed.crt"
expect "ca sign: a renewal with auto keeps its subnet too" 0 "subnet $held, expires 20" \
    "$shoal" ca sign --ca-key "$key" --name host-00003 --node-pub - --subnet auto --valid 12h \
    --out "$dir/host3-renewed2.crt" <"$dir/host3.pub"

# ---- revoke ----
freed=$(subnet_of "$dir/host2.crt")
fp2=$(fingerprint_of "$dir/host2.crt")
expect "ca revoke" 0 "subnet $freed is free again" "$shoal" ca revoke --ca-key "$key" "$fp2"
check "ca revoke: says to copy the file and send SIGHUP" grep -q "revocations-file and send the agents SIGHUP" "$log"
check "ca revoke: one line in CA/revocations" \
    test "$(grep -c "^shoal-revoke [^ ]* $fp2 " "$ca/revocations")" = 1
check "ca revoke: the ledger records it" grep -q "^revoked $fp2 [0-9]*$" "$ca/ledger"
expect "ca revoke: again adds no second line" 0 "already" "$shoal" ca revoke --ca-key "$key" "$fp2"
check "ca revoke: ... still one line" test "$(grep -c "$fp2" "$ca/revocations")" = 1
expect "ca sign --subnet auto after the revocation gets the freed subnet" 0 "subnet $freed," \
    "$shoal" ca sign --ca-key "$key" --name host-00006 --node-pub "$dir/host6.pub" --subnet auto \
    --out "$dir/host6.crt"
expect "ca revoke: an unknown fingerprint, with a warning" 0 "warning: the ledger does not know" \
    "$shoal" ca revoke --ca-key "$key" --out "$dir/other-revocations" "$(printf 'ab%.0s' {1..32})"
check "ca revoke --out: the file is made, mode 644" test "$(stat -c %a "$dir/other-revocations")" = 644

# ---- show ----
expect "ca show" 0 "^name host-00001$" "$shoal" ca show "$dir/host1.crt"
check "ca show: the signature is checked" grep -q "^signature valid" "$log"
check "ca show: the fingerprint" grep -q "^fingerprint $(fingerprint_of "$dir/host1.crt")$" "$log"
# Byte 86 is the name's first letter (after the headers, the domain and the two keys).
sed -n 's/^shoal-cert //p' "$dir/host1.crt" | base64 -d >"$dir/cert.bin"
printf 'X' | dd of="$dir/cert.bin" bs=1 seek=86 conv=notrunc status=none
{ grep '^#' "$dir/host1.crt"; echo "shoal-cert $(base64 -w0 "$dir/cert.bin")"; } >"$dir/tampered.crt"
expect "ca show: a tampered certificate" 1 "tampered.crt line 8: " "$shoal" ca show "$dir/tampered.crt"
expect "ca show: a missing file" 1 "cannot open $dir/none" "$shoal" ca show "$dir/none"

# ---- no overwriting ----
before=$(cat "$dir/host1.crt")
expect "ca sign: an existing --out is refused" 1 "--out: .*host1.crt exists; not overwriting" \
    "$shoal" ca sign --ca-key "$key" --name host-00001 --node-pub "$dir/host1.pub" \
    --out "$dir/host1.crt"
check "ca sign: ... and left unchanged" test "$(cat "$dir/host1.crt")" = "$before"
expect "ca sign --force replaces it" 0 "subnet any" "$shoal" ca sign --ca-key "$key" \
    --name host-00001 --node-pub "$dir/host1.pub" --out "$dir/host1.crt" --force

# ---- bad flags: exit 2, the flag named ----
# shellcheck disable=SC2317 # called through expect
sign_with() { "$shoal" ca sign --ca-key "$key" --out "$dir/new.crt" "$@"; }
# shellcheck disable=SC2317
sign() { sign_with --node-pub "$dir/host6.pub" "$@"; }
expect "bad --valid unit" 2 "--valid: '5x' is not a duration" sign --name n --valid 5x
expect "bad --valid number" 2 "--valid: 'd' is not a duration" sign --name n --valid d
expect "zero --valid" 2 "--valid: '0d' is zero" sign --name n --valid 0d
expect "--valid beyond a century" 2 "--valid: .* longer than a century" sign --name n --valid 99999999999999999999d
expect "bad --subnet" 2 "--subnet: 'some' is not a slot number" sign --name n --subnet some
expect "--subnet with host bits" 2 "--subnet: .*host bits" sign --name n --subnet 10.244.1.1/24
expect "--subnet slot past the network" 2 "--subnet: slot 300 is not one of the network's slots" sign --name n --subnet 300
expect "--subnet outside the network" 2 "--subnet: 10.245.1.0/24 is outside the network" sign --name n --subnet 10.245.1.0/24
expect "--subnet of the wrong length" 2 "--subnet: 10.244.1.0/25 is not one of the network's subnets" sign --name n --subnet 10.244.1.0/25
expect "bad --name" 2 "--name: 'a b' is not a host name" sign --name "a b"
expect "--name too long" 2 "--name: .* at most 100 characters" sign --name "$(printf 'a%.0s' {1..101})"
expect "missing --name" 2 "--name is required" sign
expect "missing --out" 2 "--out is required" "$shoal" ca sign --ca-key "$key" --name n --node-pub "$dir/host6.pub"
expect "unknown ca sign flag" 2 "--frob" sign --name n --frob
expect "ca without a subcommand" 2 "" "$shoal" ca
expect "ca init: bad --network" 2 "--network: '10.244.0.1/16' has host bits" "$shoal" ca init --out "$dir/ca2" --network 10.244.0.1/16
expect "ca init: bad --subnet-len" 2 "--subnet-len" "$shoal" ca init --out "$dir/ca2" --network 10.244.0.0/16 --subnet-len 40
expect "ca init: --subnet-len 31" 2 "--subnet-len: /31 is longer than /30" "$shoal" ca init --out "$dir/ca2" --network 10.244.0.0/16 --subnet-len 31
expect "ca init: --subnet-min outside" 2 "--subnet-min: 10.245.0.0 is outside" "$shoal" ca init --out "$dir/ca2" --network 10.244.0.0/16 --subnet-min 10.245.0.0
expect "ca init: --subnet-len without --network" 2 "--subnet-len: needs --network" "$shoal" ca init --out "$dir/ca2" --subnet-len 24
expect "ca init: missing --out" 2 "--out is required" "$shoal" ca init
check "ca init: no directory made by a refused command" test ! -e "$dir/ca2"
expect "ca revoke: bad fingerprint" 2 "FINGERPRINT: 'abc' is not 64 hex digits" "$shoal" ca revoke --ca-key "$key" abc
expect "ca revoke: missing fingerprint" 2 "fingerprint is required" "$shoal" ca revoke --ca-key "$key"
expect "identity: no subcommand" 2 "" "$shoal" identity
check "no bad flag left a file" test ! -e "$dir/new.crt"

# ---- bad files: exit 1, the file named ----
echo "shoal-node-pub garbage 00112233445566778899aabbccddeeff" >"$dir/bad.pub"
expect "ca sign: a bad --node-pub" 1 "--node-pub: $dir/bad.pub line 1: the node key is not 32 bytes" sign_with --name n --node-pub "$dir/bad.pub"
expect "ca sign: a missing --node-pub" 1 "--node-pub: cannot open $dir/none" sign_with --name n --node-pub "$dir/none"
expect "ca sign: --node-pub - with nothing on stdin" 1 "standard input holds no 'shoal-node-pub' line" \
    sign_with --name n --node-pub - </dev/null
cp -p "$key" "$dir/open.key"
chmod 644 "$dir/open.key"
expect "ca sign: a CA key others may read" 1 "--ca-key: .*chmod 600 $dir/open.key" \
    "$shoal" ca sign --ca-key "$dir/open.key" --name n --node-pub "$dir/host6.pub" --out "$dir/new.crt"
install -m 600 "$dir/host1.pub" "$dir/not-a-ca.key"
expect "ca sign: a CA key that is not one" 1 "--ca-key: $dir/not-a-ca.key line 1: expected 'shoal-ca-key 1'" \
    "$shoal" ca sign --ca-key "$dir/not-a-ca.key" --name n --node-pub "$dir/host6.pub" --out "$dir/new.crt"
mkdir -m 700 "$dir/lonely"
cp -p "$key" "$dir/lonely/ca.key"
expect "ca sign: a CA key without its ledger" 1 "$dir/lonely/ledger does not exist" \
    "$shoal" ca sign --ca-key "$dir/lonely/ca.key" --name n --node-pub "$dir/host6.pub" --out "$dir/new.crt"
check "no bad file left a certificate" test ! -e "$dir/new.crt"

# ---- a CA without a network ----
expect "ca init without --network" 0 "no --network" "$shoal" ca init --out "$dir/bare"
expect "ca sign --subnet with a ledger without a network" 2 "--subnet: .*shoal ca init --network" \
    "$shoal" ca sign --ca-key "$dir/bare/ca.key" --name host-00001 --node-pub "$dir/host1.pub" \
    --subnet auto --out "$dir/bare1.crt"
expect "ca sign without --subnet on it" 0 "subnet any" "$shoal" ca sign --ca-key "$dir/bare/ca.key" \
    --name host-00001 --node-pub "$dir/host1.pub" --out "$dir/bare1.crt"

# ---- certificate sizes (10-character name), for the record ----
sizes=""
for flags in "" "--subnet auto" "--valid 90d" "--subnet auto --valid 90d"; do
    # shellcheck disable=SC2086 # the flags are meant to split
    "$shoal" ca sign --ca-key "$key" --name host-00004 --node-pub "$dir/host4.pub" $flags \
        --out "$dir/size.crt" --force >"$log" 2>&1
    sizes="$sizes [${flags:-no subnet, no expiry}]: $(sed -n 's/^size \([0-9]*\) bytes$/\1/p' "$log")"
done
echo "certificate sizes:$sizes"

exit $fail
