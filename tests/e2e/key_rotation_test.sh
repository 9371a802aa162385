#!/usr/bin/env bash
# Cluster key rotation on a running three-host cluster, in the three documented steps (add the new
# key second, make it first, drop the old one; SIGHUP on every host after each), with
# `ip -4 monitor route` on every host: no route may change, no member may be suspected, and no
# datagram may be refused for want of a key.
# Usage: key_rotation_test.sh path/to/shoal
SHOAL=$(realpath "$1")
source "$(dirname "$0")/lib.sh"
# The keyrings written below must be private, as an operator's must: the agent refuses any other.
umask 077
M=127.0.0.1:9477
metric() { on "$1" curl -s "http://$M/metrics" | awk -v m="$2" '$1 == m {print $2}'; }
# The fingerprint as documented (first 8 bytes of BLAKE2b of the 32 key bytes), computed here
# with coreutils, not with shoal.
fingerprint() { base64 -d <<<"$1" | b2sum -l 64 | cut -d' ' -f1; }
# keys_are N FP...: `shoal keys list --json` on host N lists exactly these, the first primary.
keys_are() {
    local n=$1; shift
    local want got
    want=$(printf '%s\n' "$@" | jq -R . | jq -sc '[to_entries[] | {fingerprint: .value, primary: (.key == 0)}]')
    got=$(shoal_at "$n" keys list --json | jq -c '[.keys[] | {fingerprint, primary}]')
    [ "$want" = "$got" ] || { echo "want $want"; echo "got  $got"; return 1; }
}
all_alive() { for n in 1 2 3; do [ "$(alive_count "$n")" = 3 ] || return 1; done; }
hup_all() { for n in 1 2 3; do kill -HUP "${E2E_PID[$n]}"; done; }
snapshot() { for n in 1 2 3; do echo "h$n"; routes_of "$n"; done; }

e2e_switch
old=$(cat "$E2E_DIR/cluster.key")
new=$("$SHOAL" keygen)
fp_old=$(fingerprint "$old"); fp_new=$(fingerprint "$new")
for n in 1 2 3; do
    add_host $n
    echo "$old" > "$E2E_DIR/h$n.key"
done
for n in 1 2 3; do E2E_KEY="$E2E_DIR/h$n.key" start_agent $n --metrics "$M"; done
ms=$(wait_for 15 all_alive)
check "three members alive on every host (${ms:-never} ms)" test -n "$ms"
routes_ok() { for n in 1 2 3; do [ "$(routes_of "$n" | grep -vc unreachable)" = 2 ] || return 1; done; }
wait_for 10 routes_ok >/dev/null
check "every host has its two peer routes" routes_ok
check "keys list: the one key, primary, from line 1 of the file" \
    shows 1 "^$fp_old primary   $E2E_DIR/h1.key:1\$" keys list
check "status shows the key ring fingerprint" shows 1 "^keys $fp_old (primary)\$" status
leaks_key() { { shoal_at 1 status --json; shoal_at 1 keys list --json; } | grep -qF "$old"; }
check "status and keys list never show the key itself" not leaks_key

before=$(snapshot)
suspicions0=$(for n in 1 2 3; do metric $n shoal_suspicions_raised_total; done | awk '{s += $1} END {print s + 0}')
declare -A MON
for n in 1 2 3; do
    ip netns exec "$(host $n)" ip -4 monitor route > "$E2E_DIR/monitor$n.log" 2>&1 &
    MON[$n]=$!
    E2E_PID[mon$n]=${MON[$n]}
done
sleep 0.3

# Step 1: the new key second everywhere (a comment line too: line numbers follow the file).
for n in 1 2 3; do printf '%s\n# rotating in:\n%s\n' "$old" "$new" > "$E2E_DIR/h$n.key.tmp"; mv "$E2E_DIR/h$n.key.tmp" "$E2E_DIR/h$n.key"; done
hup_all
sleep 2
for n in 1 2 3; do check "step 1: h$n uses the old key, accepts the new" keys_are $n "$fp_old" "$fp_new"; done
check "step 1: the file lines are shown" shows 2 "^$fp_new secondary $E2E_DIR/h2.key:3\$" keys list
check "step 1: all members alive on every host" all_alive
check "step 1: status shows both fingerprints, primary first" \
    shows 3 "^keys $fp_old (primary), $fp_new\$" status

# A keyring file that does not parse is reported and changes nothing.
cp "$E2E_DIR/h1.key" "$E2E_DIR/h1.key.good"
printf '%s\nnot-a-key\n' "$new" > "$E2E_DIR/h1.key"
kill -HUP "${E2E_PID[1]}"
badring() { grep -q "SIGHUP: keyring not reloaded: cluster-key-file: .*line 2" "$E2E_DIR/h1.log"; }
check "a keyring file that does not parse is reported on SIGHUP" wait_for 5 badring
check "and the running keyring stays as it was" keys_are 1 "$fp_old" "$fp_new"
# So is one that others can read: its keys may be known already.
printf '%s\n' "$new" > "$E2E_DIR/h1.key"
chmod 644 "$E2E_DIR/h1.key"
kill -HUP "${E2E_PID[1]}"
openring() { grep -q "^error: SIGHUP: keyring not reloaded: cluster-key-file: .*chmod 600 $E2E_DIR/h1.key" "$E2E_DIR/h1.log"; }
check "a keyring readable by others is refused on SIGHUP, naming chmod 600" wait_for 5 openring
check "and the running keyring stays as it was" keys_are 1 "$fp_old" "$fp_new"
mv "$E2E_DIR/h1.key.good" "$E2E_DIR/h1.key"

# Step 2: the new key first, host by host (hosts send with different keys meanwhile).
for n in 1 2 3; do
    printf '%s\n%s\n' "$new" "$old" > "$E2E_DIR/h$n.key.tmp"; mv "$E2E_DIR/h$n.key.tmp" "$E2E_DIR/h$n.key"
    kill -HUP "${E2E_PID[$n]}"
    sleep 1
done
sleep 1
for n in 1 2 3; do check "step 2: h$n sends with the new key" keys_are $n "$fp_new" "$fp_old"; done
check "step 2: all members alive on every host" all_alive

# Step 3: the old key gone.
for n in 1 2 3; do echo "$new" > "$E2E_DIR/h$n.key.tmp"; mv "$E2E_DIR/h$n.key.tmp" "$E2E_DIR/h$n.key"; done
hup_all
sleep 3
for n in 1 2 3; do check "step 3: h$n has only the new key" keys_are $n "$fp_new"; done
check "step 3: all members alive on every host" all_alive

for n in 1 2 3; do kill "${MON[$n]}" 2>/dev/null; wait "${MON[$n]}" 2>/dev/null; unset "E2E_PID[mon$n]"; done
for n in 1 2 3; do
    check "h$n's kernel saw no route change during the rotation" bash -c "! grep -q . $E2E_DIR/monitor$n.log"
done
check "the route tables are what they were" test "$(snapshot)" = "$before"
suspicions1=$(for n in 1 2 3; do metric $n shoal_suspicions_raised_total; done | awk '{s += $1} END {print s + 0}')
check "no member was suspected during the rotation ($suspicions0 -> $suspicions1)" test "$suspicions1" = "$suspicions0"
for n in 1 2 3; do
    check "h$n refused no datagram for want of a key" \
        test "$(status_of $n .rejected.datagrams.unauthenticated)" = 0
done

# The old key really is gone: a host that still has only it is not admitted.
add_host 4
echo "$old" > "$E2E_DIR/h4.key"
E2E_KEY="$E2E_DIR/h4.key" start_agent 4
sleep 3
check "a host with only the old key is not admitted" not knows 1 h4
check "and its datagrams are refused as unauthenticated" \
    test "$(status_of 1 .rejected.datagrams.unauthenticated)" -gt 0

check "no sanitizer report in any agent log" bash -c "! grep -E 'Sanitizer|runtime error' $E2E_DIR/h*.log"

check_summary
