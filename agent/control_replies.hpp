#pragma once
// The bodies of the control socket's replies (`shoal members`, `routes`, `status`, `keys list`),
// built from the agent's state as records and rendered as text or JSON (agent/reply.hpp).
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/reply.hpp"
#include "gossip/ownership/subnet_node.hpp"
#include "netlink/route_reconciler.hpp"

namespace shoal::agent {

// The words `members` and `routes` use for a dead member's route that the host check keeps.
inline constexpr const char* kRouteKept = "route kept: host answers";

// One row per member, this node included: its subnet, and why it is not routable, or that its
// route is kept although it is dead (`kept`: the host check's members whose hosts answer).
// With ipv6-network, its IPv6 subnet and address too, and why its IPv6 route is not installed
// (`routes6`) when its IPv4 route is.
std::vector<Record> member_rows(const SubnetNode& node,
                                const std::vector<netlink::RouteReport>& routes,
                                const std::set<NodeId>& kept = {},
                                const std::vector<netlink::RouteReport6>& routes6 = {});
std::string render_members(const std::vector<Record>& rows, bool json);

// One row per wanted route of either family; `kept_subnets` are those kept to dead members whose
// hosts answer; `devices` names the interfaces other than iface (the VXLAN device).
template <class Net>
std::vector<Record> route_rows(const std::vector<netlink::BasicRouteReport<Net>>& routes,
                               const std::string& iface,
                               const std::set<std::string>& kept_subnets = {},
                               const std::map<int, std::string>& devices = {});
std::string render_routes(const std::vector<Record>& rows, bool json);

struct StatusInput {
    const SubnetNode& node;
    std::string name;
    std::string version;
    std::string profile;
    std::int64_t uptime_seconds = 0;
    std::uint32_t addr = 0;
    const std::vector<netlink::RouteReport>& routes;
    struct Lost {
        std::string subnet, winner;
        std::int64_t seconds_ago = 0;
    };
    std::optional<Lost> lost;
    // Where pod traffic is accepted for forwarding, or why it is not ("blocked: ..., fix: ...").
    std::string forwarding = {};
    const std::vector<netlink::RouteReport6>* routes6 = nullptr;  // with ipv6-network
    std::optional<Ipv6Addr> addr6 = std::nullopt;                 // announced (dual stack)
};
Record status_record(const StatusInput& in);

// The keyring's fingerprints (never the keys), the primary first, with the line each came from.
Record keys_record(const Keyring& ring, const std::string& file, const std::vector<int>& lines);
std::string render_keys(const Record& keys, bool json);

}  // namespace shoal::agent
