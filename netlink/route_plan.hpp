#pragma once
// The route reconciler's rules as one pure function: the desired routes and a plain picture of
// what the kernel has in, the requests to send and a report per desired route out. No libnl, no
// system call: every rule is tested without root (tests/unit/route_plan_test.cpp), and
// RouteReconciler (route_reconciler.hpp) only reads the kernel and sends what this decides.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/ip_net.hpp"

namespace shoal::netlink {

struct Route {
    Ipv4Net dst;
    std::uint32_t via = 0;  // IPv4, host byte order
    int ifindex = 0;
    bool operator==(const Route&) const = default;
};

enum class RouteState { Installed, Pending, Conflict, NotRoutable, Refused };
const char* to_string(RouteState s);

struct RouteReport {
    Route route;
    RouteState state = RouteState::Pending;
    std::string reason;    // why it is not installed, empty when it is
    bool changed = false;  // this pass added or replaced it
};

struct ReconcileResult {
    int added = 0, replaced = 0, deleted = 0, unchanged = 0, conflicts = 0, unroutable = 0,
        refused = 0, errors = 0;
    std::vector<RouteReport> reports;   // one per desired route
    std::vector<std::string> messages;  // one line per change or failure, for the log
};

enum class RouteType : std::uint8_t { Unicast, Unreachable, Other };

// One IPv4 route of our table as the kernel has it, or as it is to be sent.
struct KernelRoute {
    Ipv4Net dst;
    RouteType type = RouteType::Unicast;
    // The kernel's own number for a route of type Other: a withdrawal must name the type it has.
    std::uint8_t other_type = 0;
    bool ours = false;      // tagged with our route protocol
    std::uint32_t via = 0;  // the first next hop's gateway (host byte order), 0 if none
    int ifindex = 0;        // the first next hop's interface, 0 if none
    bool operator==(const KernelRoute&) const = default;
};

struct KernelView {
    std::vector<KernelRoute> routes;  // every IPv4 route in our table, in the kernel's order
    // The IPv4 addresses on each interface with their prefix lengths (host bits kept).
    std::map<int, std::vector<Ipv4Net>> connected;
    // Names of the interfaces the desired routes use, for messages; a missing one is "if<index>".
    std::map<int, std::string> ifnames;
};

struct RouteOp {
    enum class Kind { Add, Replace, Delete };
    Kind kind = Kind::Add;
    KernelRoute route;  // sent as is, with our protocol and table
    // The desired route it installs (an index into the reports); none for the unreachable route
    // and for withdrawals, which count as neither added nor replaced.
    std::optional<std::size_t> report;
    std::string message;  // the log line once the kernel accepted it
    bool operator==(const RouteOp&) const = default;
};

struct RoutePlan {
    std::vector<RouteOp> ops;  // in the order they are to be sent
    // Every report (Pending for a route an op installs), the counters that need no kernel
    // answer (unchanged, conflicts, unroutable, refused) and the messages that need none.
    ReconcileResult result;
};

// `pod_network`: every desired route must lie strictly inside it, or it is refused.
// `unreachable`: the cluster network, kept as one unreachable route (nullopt: none).
// `delete_stale`: withdraw our own routes nobody wants; false keeps them (adopted after a
// restart until the agent knows the cluster), but for those to a destination in `gone` (a
// member the agent knows has left or died).
RoutePlan plan_routes(const std::vector<Route>& desired, const KernelView& kernel,
                      const Ipv4Net& pod_network, const std::optional<Ipv4Net>& unreachable,
                      bool delete_stale, const std::vector<Ipv4Net>& gone = {});

}  // namespace shoal::netlink
