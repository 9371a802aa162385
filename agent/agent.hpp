#pragma once
// `shoal agent`: one libuv loop wiring the sans-IO SubnetNode to a UDP socket and timers, the
// route reconciler to the kernel, subnet.env and the state directory to disk, and a Unix control
// socket to the `shoal members|routes|status|leave|force-leave` commands.
#include "agent/agent_config.hpp"

namespace shoal::agent {

// Runs until SIGINT (graceful leave), SIGTERM or `shoal leave`; returns the exit code.
int run_agent(const AgentConfig& cfg);

}  // namespace shoal::agent
