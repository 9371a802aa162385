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
//
// A pass reads the kernel (libnl, here), plans (route_plan.hpp: the rules, pure) and applies the
// plan in one batch of requests (route_batch.hpp).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/ip_net.hpp"
#include "common/result.hpp"
#include "netlink/route_plan.hpp"

namespace shoal::netlink {

// Not one of the kernel's protocol numbers nor a known routing daemon's (see rt_protos).
inline constexpr std::uint8_t kRouteProtocol = 77;
inline constexpr int kMainTable = 254;

// One reconciler per family: IPv4's (RouteReconciler) and, with an IPv6 pod network, IPv6's
// (Route6Reconciler). Defined for Ipv4Net and Ipv6Net.
template <class Net>
class BasicRouteReconciler {
  public:
    using Route = BasicRoute<Net>;
    using Reconciled = BasicReconcileResult<Net>;
    using KernelRoute = BasicKernelRoute<Net>;

    // Every route it installs lies strictly inside `pod_network`.
    explicit BasicRouteReconciler(const Net& pod_network, int table = kMainTable,
                                  std::uint8_t protocol = kRouteProtocol);
    ~BasicRouteReconciler();
    BasicRouteReconciler(const BasicRouteReconciler&) = delete;
    BasicRouteReconciler& operator=(const BasicRouteReconciler&) = delete;

    // Connects to rtnetlink.
    [[nodiscard]] Status open();
    // `unreachable`: the cluster network, to be kept as an unreachable route (nullopt: none).
    // `delete_stale`: withdraw our own routes nobody wants; false keeps them (after a restart,
    // until the agent knows the cluster) while still adding what is missing, and withdrawing
    // those to the destinations in `gone` (members known to have left or died).
    Reconciled reconcile(const std::vector<Route>& desired, const std::optional<Net>& unreachable,
                         bool delete_stale = true, const std::vector<Net>& gone = {});
    // Our own unicast routes as the kernel has them now (for tests and the benchmark).
    std::vector<Route> own_routes();

  private:
    struct Socket;
    // Our table's routes, the connected networks and the names of the desired routes' interfaces.
    Result<BasicKernelView<Net>> read(const std::vector<Route>& desired);
    Result<std::vector<KernelRoute>> read_routes();
    // Sends the plan's requests and completes its result with the kernel's answers.
    void apply(const std::vector<BasicRouteOp<Net>>& ops, Reconciled& res);

    std::unique_ptr<Socket> sock_;
    Net pod_network_;
    int table_;
    std::uint8_t protocol_;
};

using RouteReconciler = BasicRouteReconciler<Ipv4Net>;
using Route6Reconciler = BasicRouteReconciler<Ipv6Net>;

// Turns IPv4 forwarding on (in this network namespace) if it is off; true if it changed it.
[[nodiscard]] Result<bool> ensure_ipv4_forwarding();

// What turning IPv6 forwarding on changed.
struct Ipv6Forwarding {
    bool forwarding = false;  // net.ipv6.conf.all.forwarding was 0 and is 1 now
    bool accept_ra = false;   // `iface`'s accept_ra was 1 and is 2 now
};
// Turns IPv6 forwarding on if it is off, after setting `iface`'s accept_ra from 1 to 2: a host
// that forwards ignores router advertisements unless accept_ra is 2, and would lose its
// advertised default route. An accept_ra of 0 (the operator's choice: no advertisements) stays.
[[nodiscard]] Result<Ipv6Forwarding> ensure_ipv6_forwarding(const std::string& iface);

}  // namespace shoal::netlink
