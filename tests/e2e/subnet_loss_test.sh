#!/usr/bin/env bash
# A node that loses its subnet stops offering it at once: subnet.env removed, the CNI conflist
# fails closed, /readyz 503 with the reason, `status` names the subnet and the winner, one error
# line names both files; when a subnet is free again, both files come back.
#
# The pod network has one subnet. h1 and h2 start as two one-node clusters and both claim it;
# h3 knows both, so through it they meet and the older claim (equal clocks: the lower id) wins.
# Usage: subnet_loss_test.sh path/to/shoal
SHOAL=$(realpath "$1")
source "$(dirname "$0")/lib.sh"
M=127.0.0.1:9477  # each host namespace has its own loopback
ONE_SUBNET=(--subnet-min 10.244.1.0 --subnet-max 10.244.1.0)
SUBNET=10.244.1.0/24
env_of() { echo "$E2E_DIR/h$1/subnet.env"; }
conf_of() { echo "$E2E_DIR/h$1/10-shoal.conflist"; }
owns() { [ "$(status_of "$1" .subnet)" = "$SUBNET" ]; }
owns_nothing() { [ "$(status_of "$1" .subnet)" = null ]; }
readyz() { on "$1" curl -s -w ' %{http_code}' "http://$M/readyz"; }

e2e_switch
for n in 1 2 3; do add_host $n; done
E2E_SEED=$SEGMENT.1:7946 start_agent 1 --metrics "$M" "${ONE_SUBNET[@]}"
E2E_SEED=$SEGMENT.2:7946 start_agent 2 --metrics "$M" "${ONE_SUBNET[@]}"
check "two lone clusters both claim the only subnet" wait_for 10 bash -c \
    "grep -q FLANNEL_SUBNET=10.244.1.1/24 $(env_of 1) && grep -q FLANNEL_SUBNET=10.244.1.1/24 $(env_of 2)"

start_agent 3 --seed "$SEGMENT.2:7946" "${ONE_SUBNET[@]}"
one_lost() { owns_nothing 1 || owns_nothing 2; }
ms=$(wait_for 20 one_lost)
check "after they meet, one of them owns no subnet (${ms:-never} ms)" test -n "$ms"
if owns_nothing 1; then loser=1 winner=2; else loser=2 winner=1; fi
check "the other keeps it" owns $winner

check "the loser's subnet.env is gone" test ! -e "$(env_of $loser)"
check "the winner's subnet.env still serves $SUBNET" grep -q FLANNEL_SUBNET=10.244.1.1/24 "$(env_of $winner)"
plugin=$(jq -r '.plugins[0].type' "$(conf_of $loser)")
check "the loser's conflist is still named shoal, so the runtime keeps choosing it" \
    test "$(jq -r .name "$(conf_of $loser)")" = shoal
check "its only plugin ($plugin) names shoal and does not exist, so new pods fail" \
    bash -c "[[ '$plugin' == shoal-* ]] && [ ! -e /usr/lib/cni/$plugin ] && [ \$(jq '.plugins | length' $(conf_of $loser)) = 1 ]"
check "and it offers no address range" bash -c "! grep -q -e host-local -e ranges $(conf_of $loser)"
check "readyz is 503 and says what was lost to whom" \
    bash -c "readyz() { ip netns exec $(host $loser) curl -s -w ' %{http_code}' http://$M/readyz; }; r=\$(readyz); [[ \$r == *'lost subnet $SUBNET to h$winner'*' 503' ]]"
check "the winner's readyz stays 200" bash -c "[[ \$(ip netns exec $(host $winner) curl -s -o /dev/null -w '%{http_code}' http://$M/readyz) == 200 ]]"
check "status says which subnet was lost to whom" \
    shows $loser "^lost subnet $SUBNET to h$winner " status
check "status --json too" test "$(status_of $loser .lost_subnet.subnet)" = $SUBNET
check "one error line names the subnet, the winner and the files" \
    grep -q "^error: lost subnet $SUBNET to h$winner .*removed $(env_of $loser) and $(conf_of $loser)" \
    "$E2E_DIR/h$loser.log"
check "the loser routes $SUBNET to the winner, as every host does" \
    wait_for 10 bash -c "ip netns exec $(host $loser) ip -4 route show proto 77 | grep -q '^$SUBNET via $SEGMENT.$winner '"

# The winner leaves: the subnet is free, and the loser takes it and writes both files again. h3,
# which has no subnet either, leaves first so that the loser is the only claimant.
shoal_at 3 leave >/dev/null
left_or_unknown() { local s; s=$(member_state "$1" "$2"); [ -z "$s" ] || [ "$s" = left ]; }
wait_for 10 left_or_unknown $loser h3 >/dev/null
shoal_at $winner leave >/dev/null
ms=$(wait_for 15 owns $loser)
check "when the subnet is free again, the loser claims it (${ms:-never} ms)" test -n "$ms"
check "and writes subnet.env again" wait_for 5 grep -q FLANNEL_SUBNET=10.244.1.1/24 "$(env_of $loser)"
check "and the bridge conflist again" wait_for 5 bash -c \
    "[ \$(jq -r '.plugins[0].type' $(conf_of $loser)) = bridge ]"
pod=$(add_pod_from_conflist $loser)
check "a pod made from it gets an address in $SUBNET ($pod)" bash -c "[[ '$pod' == 10.244.1.* ]]"
check "readyz is 200 again" wait_for 5 bash -c \
    "[[ \$(ip netns exec $(host $loser) curl -s -o /dev/null -w '%{http_code}' http://$M/readyz) == 200 ]]"

check "no sanitizer report in any agent log" bash -c "! grep -E 'Sanitizer|runtime error' $E2E_DIR/h*.log"
check_summary
