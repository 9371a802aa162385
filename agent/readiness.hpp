#pragma once
// The agent's lifecycle and what /readyz, sd_notify and `status` say about it. One phase value
// instead of flags set at different moments: once stopping has begun nothing reports "ready"
// again (a timer firing between the first STOPPING and the loop's end once published "ready").
#include <optional>
#include <string>

namespace shoal::agent {

enum class Phase {
    Starting,  // sockets not yet bound, routes not yet adopted
    Serving,
    Leaving,  // a graceful leave is being disseminated: the core still runs
    Stopped,  // the loop is ending: nothing is driven any more
};

struct ReadinessInput {
    Phase phase = Phase::Starting;
    bool synced = false;  // the first full state exchange is done
    bool owns_subnet = false;
    bool subnet_file_written = false;
    std::string subnet_file;
    std::optional<std::string> lost;  // "SUBNET to WINNER" when the last subnet was lost
    std::string forwarding_blocked;   // why pod traffic is not forwarded, and the fix (or empty)
};

// Why this node is not ready, or empty when it is.
std::string not_ready(const ReadinessInput& in);

}  // namespace shoal::agent
