#pragma once
// The route reconciler: a desired set of host-gw routes in, the kernel brought to it.
//
// It owns exactly the routes tagged with shoal's route protocol number (77, `proto shoal` once
// /etc/iproute2/rt_protos.d/shoal.conf names it) in its table, and never touches any other:
// it adds what is missing, replaces a wrong gateway, deletes its own routes that are no longer
// desired, keeps one `unreachable` route for the whole cluster network (so traffic to a withdrawn
// subnet fails at once instead of leaking to the default gateway), and reports a foreign route
// with exactly a desired prefix as a conflict, leaving it alone. It installs nothing outside the
// pod network it was made for, whatever it is asked: such a route is reported as refused.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/address.hpp"
#include "common/ip_net.hpp"

struct nl_sock;

namespace shoal::netlink {

// Not one of the kernel's protocol numbers nor a known routing daemon's (see rt_protos).
inline constexpr std::uint8_t kRouteProtocol = 77;
inline constexpr int kMainTable = 254;

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

class RouteReconciler {
  public:
    // Every route it installs lies strictly inside `pod_network`.
    explicit RouteReconciler(const Ipv4Net& pod_network, int table = kMainTable,
                             std::uint8_t protocol = kRouteProtocol);
    ~RouteReconciler();
    RouteReconciler(const RouteReconciler&) = delete;
    RouteReconciler& operator=(const RouteReconciler&) = delete;

    // Connects to rtnetlink; an error message on failure.
    std::string open();
    // `unreachable`: the cluster network, to be kept as an unreachable route (nullopt: none).
    ReconcileResult reconcile(const std::vector<Route>& desired,
                              const std::optional<Ipv4Net>& unreachable);
    // Our own routes as the kernel has them now.
    std::vector<Route> own_routes();

  private:
    struct Socket;
    std::unique_ptr<Socket> sock_;
    Ipv4Net pod_network_;
    int table_;
    std::uint8_t protocol_;
};

// Turns IPv4 forwarding on (in this network namespace) if it is off; true if it changed it.
std::optional<bool> ensure_ipv4_forwarding(std::string& error);

}  // namespace shoal::netlink
