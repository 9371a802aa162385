#pragma once
// The Prometheus text (format 0.0.4) the metrics endpoint serves, rendered on the loop from the
// node's counters and the agent's own.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gossip/membership/node.hpp"

namespace shoal::agent {

// What the agent counts itself: the route reconciler's work.
struct RouteCounters {
    std::uint64_t installed = 0;  // added or replaced
    std::uint64_t withdrawn = 0;  // deleted
    std::uint64_t restored = 0;   // put back after someone else removed or changed it
    std::uint64_t refused = 0;    // asked for outside the pod network: never installed
    std::uint64_t reconcile_errors = 0;
};

// The host check's work: routes kept to dead members whose hosts answer, by member and subnet.
struct HostCheckFigures {
    std::vector<std::pair<std::string, std::string>> kept;  // member name, subnet
    std::uint64_t echoes_sent = 0;
    std::uint64_t replies = 0;
};

// How many wanted routes of a family are in a state (installed, conflict, not-routable...).
struct RouteStateCount {
    std::string family;  // "ipv4" or "ipv6"
    std::string state;
    std::size_t count = 0;
};

struct MetricsInput {
    const Node& node;
    std::optional<std::string> subnet;  // the subnet this node owns
    RouteCounters routes;
    std::string version;
    std::string profile;
    double uptime_seconds = 0;
    std::size_t uncertified_members = 0;  // admitted without a valid certificate (permissive)
    HostCheckFigures host_check;
    std::optional<std::string> subnet6 = std::nullopt;  // its IPv6 subnet (dual stack)
    std::vector<RouteStateCount> route_states = {};
};

std::string render_metrics(const MetricsInput& in);

}  // namespace shoal::agent
