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
#include <type_traits>
#include <vector>

#include "common/ip_net.hpp"

namespace shoal::netlink {

// Everything below is the same for both families: `Net` is Ipv4Net or Ipv6Net, and the names
// without a suffix (Route, KernelView, ...) are IPv4's, those ending in 6 IPv6's.
template <class Net>
struct BasicRoute {
    Net dst;
    typename Net::Addr via{};  // the next hop (IPv4 in host byte order)
    int ifindex = 0;
    // The next hop is on the link whatever the interface's addresses say (a VXLAN peer's
    // address, answered by a static neighbour entry): no on-segment check, `onlink` to the kernel.
    bool onlink = false;
    bool operator==(const BasicRoute&) const = default;
};

enum class RouteState { Installed, Pending, Conflict, NotRoutable, Refused };
const char* to_string(RouteState s);

template <class Net>
struct BasicRouteReport {
    BasicRoute<Net> route;
    RouteState state = RouteState::Pending;
    std::string reason;    // why it is not installed, empty when it is
    bool changed = false;  // this pass added or replaced it
};

template <class Net>
struct BasicReconcileResult {
    int added = 0, replaced = 0, deleted = 0, unchanged = 0, conflicts = 0, unroutable = 0,
        refused = 0, errors = 0;
    std::vector<BasicRouteReport<Net>> reports;  // one per desired route
    std::vector<std::string> messages;           // one line per change or failure, for the log
};

enum class RouteType : std::uint8_t { Unicast, Unreachable, Other };

// One route of our table as the kernel has it, or as it is to be sent.
template <class Net>
struct BasicKernelRoute {
    Net dst;
    RouteType type = RouteType::Unicast;
    // The kernel's own number for a route of type Other: a withdrawal must name the type it has.
    std::uint8_t other_type = 0;
    bool ours = false;         // tagged with our route protocol
    typename Net::Addr via{};  // the first next hop's gateway, zero if none
    int ifindex = 0;           // the first next hop's interface, 0 if none
    bool onlink = false;       // the first next hop's onlink flag
    bool operator==(const BasicKernelRoute&) const = default;
};

template <class Net>
struct BasicKernelView {
    std::vector<BasicKernelRoute<Net>> routes;  // every route of the family in our table
    // The addresses of the family on each interface with their prefix lengths (host bits kept).
    std::map<int, std::vector<Net>> connected;
    // Names of the interfaces the desired routes use, for messages; a missing one is "if<index>".
    std::map<int, std::string> ifnames;
};

template <class Net>
struct BasicRouteOp {
    enum class Kind { Add, Replace, Delete };
    Kind kind = Kind::Add;
    BasicKernelRoute<Net> route;  // sent as is, with our protocol and table
    // The desired route it installs (an index into the reports); none for the unreachable route
    // and for withdrawals, which count as neither added nor replaced.
    std::optional<std::size_t> report;
    std::string message;  // the log line once the kernel accepted it
    bool operator==(const BasicRouteOp&) const = default;
};

template <class Net>
struct BasicRoutePlan {
    std::vector<BasicRouteOp<Net>> ops;  // in the order they are to be sent
    // Every report (Pending for a route an op installs), the counters that need no kernel
    // answer (unchanged, conflicts, unroutable, refused) and the messages that need none.
    BasicReconcileResult<Net> result;
};

// `pod_network`: every desired route must lie strictly inside it, or it is refused.
// `unreachable`: the cluster network, kept as one unreachable route (nullopt: none).
// `delete_stale`: withdraw our own routes nobody wants; false keeps them (adopted after a
// restart until the agent knows the cluster), but for those to a destination in `gone` (a
// member the agent knows has left or died). Defined for Ipv4Net and Ipv6Net.
template <class Net>
BasicRoutePlan<Net> plan_routes(const std::vector<BasicRoute<Net>>& desired,
                                const BasicKernelView<Net>& kernel, const Net& pod_network,
                                const std::optional<std::type_identity_t<Net>>& unreachable,
                                bool delete_stale,
                                const std::vector<std::type_identity_t<Net>>& gone = {});

using Route = BasicRoute<Ipv4Net>;
using RouteReport = BasicRouteReport<Ipv4Net>;
using ReconcileResult = BasicReconcileResult<Ipv4Net>;
using KernelRoute = BasicKernelRoute<Ipv4Net>;
using KernelView = BasicKernelView<Ipv4Net>;
using RouteOp = BasicRouteOp<Ipv4Net>;
using RoutePlan = BasicRoutePlan<Ipv4Net>;
using Route6 = BasicRoute<Ipv6Net>;
using RouteReport6 = BasicRouteReport<Ipv6Net>;
using ReconcileResult6 = BasicReconcileResult<Ipv6Net>;
using KernelRoute6 = BasicKernelRoute<Ipv6Net>;
using KernelView6 = BasicKernelView<Ipv6Net>;
using RouteOp6 = BasicRouteOp<Ipv6Net>;
using RoutePlan6 = BasicRoutePlan<Ipv6Net>;

}  // namespace shoal::netlink
