#!/usr/bin/env bash
# Clients that give up before the agent answers (a health check with a deadline, an operator's
# Ctrl-C) must cost the agent nothing: writing the late reply to a closed socket is an EPIPE,
# not a SIGPIPE that ends the agent. The agent is frozen (SIGSTOP) so that every reply is late.
# Usage: impatient_clients_test.sh path/to/shoal
SHOAL=$(realpath "$1")
source "$(dirname "$0")/lib.sh"
M=127.0.0.1:9477
alive() { kill -0 "${E2E_PID[1]}" 2>/dev/null; }

# late CLIENT...: freezes the agent, runs each client with a 0.2 s deadline, thaws the agent,
# which then writes every reply to a socket whose reader is gone.
late() {
    kill -STOP "${E2E_PID[1]}"
    for client in "$@"; do eval "$client" >/dev/null 2>&1; done
    kill -CONT "${E2E_PID[1]}"
    sleep 0.5
}
exit_status() { # of an agent that died: shown in the failure
    alive && return
    wait "${E2E_PID[1]}"; echo "agent exit status: $?"; unset "E2E_PID[1]"
}

e2e_switch
add_host 1
# Without --metrics (the default): civetweb, which ignores SIGPIPE itself, is not running.
start_agent 1
check "the agent answers" wait_for 10 shoal_at 1 status
for round in 1 2 3; do
    late "timeout 0.2 '$SHOAL' members --json --socket '$E2E_DIR/h1.sock'" \
         "timeout 0.2 '$SHOAL' status --socket '$E2E_DIR/h1.sock'"
    check "round $round: the agent outlives control clients that left before its reply" alive
done
check "and still answers the control socket" shoal_at 1 members --json
exit_status

# With the metrics endpoint: HTTP clients with a deadline, and control clients again.
stop_agent 1 TERM
start_agent 1 --metrics "$M"
check "the agent answers again, now serving HTTP" wait_for 10 shoal_at 1 status
for round in 1 2 3; do
    late "ip netns exec $(host 1) curl -s --max-time 0.2 http://$M/metrics" \
         "ip netns exec $(host 1) curl -s --max-time 0.2 http://$M/readyz" \
         "timeout 0.2 '$SHOAL' members --json --socket '$E2E_DIR/h1.sock'"
    check "round $round: the agent outlives HTTP and control clients that left early" alive
done
check "and still serves /healthz" bash -c "[ \$(ip netns exec $(host 1) curl -s -o /dev/null -w '%{http_code}' http://$M/healthz) = 200 ]"
exit_status
check "no sanitizer report in the agent's log" bash -c "! grep -E 'Sanitizer|runtime error' $E2E_DIR/h*.log"
check_summary
