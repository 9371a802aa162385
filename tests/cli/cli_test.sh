#!/usr/bin/env bash
# The CLI contract: `shoal simulate`'s JSON fields, exit code 2 on every kind of bad usage (agent
# settings included, checked before anything is touched), exit 1 from clients without an agent and
# from an agent without CAP_NET_ADMIN.
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
# One detection time per survivor, sorted: the tails across seeds are built on them.
samples=$(jq -c '.detect_s.samples' <<<"$out")
if jq -e '.detect_s.samples | length >= 7 and . == sort and .[-1] == $all' --argjson all "$(jq '.detect_s.all' <<<"$out")" <<<"$out" >/dev/null; then
    echo "ok: detect_s.samples: one per survivor, sorted, the last is 'all' ($samples)"
else
    echo "FAIL: detect_s.samples ($samples)"; fail=1
fi
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
dir=$(mktemp -d)
trap 'rm -rf "$dir" /tmp/shoal-cli-test.out' EXIT
"$shoal" keygen --out "$dir/key"
# keygen --out: a new file of mode 600 whatever the umask, one 44-character line; never overwrites.
out_ok() { # description, condition...
    local what=$1; shift
    if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; sed 's/^/    /' /tmp/shoal-cli-test.out; fail=1; fi
}
# shellcheck disable=SC2016 # $0 and $1 are the inner shell's
check "keygen --out (umask 000)" 0 sh -c 'umask 000; exec "$0" keygen --out "$1"' "$shoal" "$dir/out.key"
out_ok "keygen --out: mode 600 ($(stat -c %a "$dir/out.key"))" test "$(stat -c %a "$dir/out.key")" = 600
out_ok "keygen --out: one line of 44 characters" \
    test "$(wc -l <"$dir/out.key") $(head -n 1 "$dir/out.key" | tr -d '\n' | wc -c) $(wc -c <"$dir/out.key")" = "1 44 45"
before=$(cat "$dir/out.key")
check "keygen --out: an existing file exits 1" 1 "$shoal" keygen --out "$dir/out.key"
out_ok "keygen --out: ... says it is not overwriting it" grep -q "$dir/out.key exists; not overwriting" /tmp/shoal-cli-test.out
out_ok "keygen --out: ... and leaves it unchanged" test "$(cat "$dir/out.key") $(stat -c %a "$dir/out.key")" = "$before 600"
ln -s "$dir/link-target" "$dir/link.key"
check "keygen --out: a (dangling) symlink exits 1" 1 "$shoal" keygen --out "$dir/link.key"
out_ok "keygen --out: ... and creates nothing through it" test ! -e "$dir/link-target"
check "keygen --out: a missing directory exits 1" 1 "$shoal" keygen --out /nonexistent-dir/k
out_ok "keygen --out: ... with a message naming the file" grep -q "cannot create /nonexistent-dir/k: " /tmp/shoal-cli-test.out
agent() { "$shoal" agent --state-dir "$dir/state" --socket "$dir/sock" --subnet-file "$dir/env" "$@"; }
expect_msg() { # description, text, command...: exit 2 and the text in the message
    local what=$1 text=$2; shift 2
    "$@" >/tmp/shoal-cli-test.out 2>&1
    local got=$?
    if [ "$got" = 2 ] && grep -q -- "$text" /tmp/shoal-cli-test.out; then echo "ok: $what"
    else echo "FAIL: $what (exit $got)"; sed 's/^/    /' /tmp/shoal-cli-test.out; fail=1; fi
}
expect_msg "agent: network with host bits" "network: '10.244.0.1/16' has host bits set" agent --network 10.244.0.1/16 --cluster-key-file "$dir/key"
expect_msg "agent: network missing" "network: not set" agent --cluster-key-file "$dir/key"
expect_msg "agent: subnet length" "subnet-len:" agent --network 10.244.0.0/16 --subnet-len 31 --cluster-key-file "$dir/key"
expect_msg "agent: no cluster key" "cluster-key-file: not set" agent --network 10.244.0.0/16
echo "not a key" > "$dir/badkey"
expect_msg "agent: bad keyring" "cluster-key-file: .*line 1" agent --network 10.244.0.0/16 --cluster-key-file "$dir/badkey"
install -m 0644 "$dir/key" "$dir/openkey"
expect_msg "agent: keyring readable by others" "cluster-key-file: .*(mode 0644).*chmod 600 $dir/openkey" agent --network 10.244.0.0/16 --cluster-key-file "$dir/openkey"
expect_msg "agent: bad name" "name: 'a b' is not a valid host name" agent --network 10.244.0.0/16 --cluster-key-file "$dir/key" --name "a b"
expect_msg "agent: restart-hold above restart-hold-max" "restart-hold: 20m is longer than restart-hold-max" agent --network 10.244.0.0/16 --cluster-key-file "$dir/key" --restart-hold 20m
expect_msg "agent: route-hold not a duration" "route-hold: '10' is not a duration" agent --network 10.244.0.0/16 --cluster-key-file "$dir/key" --route-hold 10
expect_msg "agent: route-hold above grace-period" "route-hold: 2h is longer than grace-period (1h)" agent --network 10.244.0.0/16 --cluster-key-file "$dir/key" --route-hold 2h --grace-period 1h
expect_msg "agent: bad seed" "seed: 'nowhere'" agent --network 10.244.0.0/16 --cluster-key-file "$dir/key" --seed nowhere
expect_msg "agent: bad timer" "probe-interval" agent --network 10.244.0.0/16 --cluster-key-file "$dir/key" --probe-interval 5
expect_msg "agent: bad route table" "route-table:" agent --network 10.244.0.0/16 --cluster-key-file "$dir/key" --route-table 255
expect_msg "agent: unknown interface" "iface: no interface named 'nosuch0'" agent --network 10.244.0.0/16 --cluster-key-file "$dir/key" --iface nosuch0
expect_msg "agent: advertise6 without ipv6-network" "advertise6: set, but ipv6-network is not" agent --network 10.244.0.0/16 --cluster-key-file "$dir/key" --iface lo --advertise 127.0.0.1 --advertise6 fd10::1
expect_msg "agent: a link-local advertise6" "advertise6: 'fe80::1' is not a global unicast IPv6 address" agent --network 10.244.0.0/16 --ipv6-network fd00:244::/56 --cluster-key-file "$dir/key" --iface lo --advertise 127.0.0.1 --advertise6 fe80::1
printf 'network = "10.244.0.0/16"\nno-such-setting = 1\n' > "$dir/bad.toml"
expect_msg "agent: unknown key in the config file" "no-such-setting" agent --config "$dir/bad.toml" --cluster-key-file "$dir/key"
check "agent: missing config file" 2 agent --config "$dir/missing.toml"
check "clients without an agent exit 1" 1 "$shoal" members --socket "$dir/none.sock"
# Admission: the trust settings and this node's own certificate, checked before anything else.
"$shoal" ca init --out "$dir/ca" --network 10.244.0.0/16 >/dev/null
"$shoal" ca init --out "$dir/other-ca" --network 10.244.0.0/16 >/dev/null
"$shoal" identity show --state-dir "$dir/state" >"$dir/node.pub" 2>/dev/null
"$shoal" ca sign --ca-key "$dir/ca/ca.key" --name node-a --node-pub "$dir/node.pub" --subnet auto --out "$dir/a.crt" >/dev/null
"$shoal" ca sign --ca-key "$dir/other-ca/ca.key" --name node-a --node-pub "$dir/node.pub" --out "$dir/foreign.crt" >/dev/null
"$shoal" identity show --state-dir "$dir/state-b" >"$dir/b.pub" 2>/dev/null
"$shoal" ca sign --ca-key "$dir/ca/ca.key" --name node-b --node-pub "$dir/b.pub" --out "$dir/b.crt" >/dev/null
check "ca force-leave: a bad id exits 2" 2 "$shoal" ca force-leave --ca-key "$dir/ca/ca.key" --id nothex --incarnation 3
check "ca force-leave: prints the CA's signed order" 0 "$shoal" ca force-leave --ca-key "$dir/ca/ca.key" --id "$(cut -d' ' -f3 "$dir/node.pub")" --incarnation 3
out_ok "ca force-leave: ... one shoal-force-leave line" grep -q "^shoal-force-leave $(cut -d' ' -f3 "$dir/node.pub") 3 " /tmp/shoal-cli-test.out
net=(--network 10.244.0.0/16 --cluster-key-file "$dir/key" --iface lo --advertise 127.0.0.1)
expect_msg "agent: admission value" "admission: 'strict' is not off, permissive or enforce" agent "${net[@]}" --admission strict
expect_msg "agent: admission without ca-file" "ca-file: not set" agent "${net[@]}" --admission enforce
expect_msg "agent: enforce without a certificate" "node-cert: .*does not exist.*shoal ca sign" agent "${net[@]}" --admission enforce --ca-file "$dir/ca/ca.pub"
expect_msg "agent: a certificate of another CA" "node-cert: .*not in ca-file" agent "${net[@]}" --admission enforce --ca-file "$dir/ca/ca.pub" --node-cert "$dir/foreign.crt"
expect_msg "agent: a name other than the certificate's" "name: 'node-z' differs from the name in node-cert" agent "${net[@]}" --admission enforce --ca-file "$dir/ca/ca.pub" --node-cert "$dir/a.crt" --name node-z
expect_msg "agent: a certificate outside the network" "node-cert: .*not one of network" agent --network 10.245.0.0/16 --cluster-key-file "$dir/key" --iface lo --advertise 127.0.0.1 --admission enforce --ca-file "$dir/ca/ca.pub" --node-cert "$dir/a.crt"
expect_msg "agent: a certificate for another node's key" "node-cert: .*another node key" agent "${net[@]}" --admission enforce --ca-file "$dir/ca/ca.pub" --node-cert "$dir/b.crt"
if command -v setpriv >/dev/null; then
    check "agent without CAP_NET_ADMIN exits 1" 1 setpriv --bounding-set -net_admin --inh-caps -net_admin \
        "$shoal" agent --network 10.244.0.0/16 --cluster-key-file "$dir/key" --iface lo --advertise 127.0.0.1 \
        --state-dir "$dir/state" --socket "$dir/sock" --subnet-file "$dir/env"
fi
exit $fail
