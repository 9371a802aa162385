#pragma once
// What the agent asks of the route reconciler, as pure functions of the core's state, so every
// rule is unit-tested without root: which routes are wanted, when stale routes of ours may be
// withdrawn after a restart, and what a pass's reports mean for the log and the counters.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "agent/host_check.hpp"
#include "gossip/membership/events.hpp"
#include "gossip/ownership/subnet_node.hpp"
#include "netlink/route_reconciler.hpp"

namespace shoal::agent {

// A host-gw route to every other member that owns a subnet and is present (alive, suspect, or
// away for an announced restart); none for our own subnet, none for a dead member's reservation
// unless the host check keeps it (`kept`: dead members whose hosts answer).
// `Net` is the family: Ipv4Net routes via the member's address, Ipv6Net (dual stack) its IPv6
// subnet via the IPv6 address its announcement carries (none for a member without one).
// Calls fn(slot, member) for every other member that owns a subnet and is to be routed: present
// (alive, suspect, or away for an announced restart), or dead but kept by the host check.
template <class Fn>
void for_each_routed_owner(const SubnetNode& node, const std::set<NodeId>& kept, Fn&& fn) {
    const NodeId& self = node.node().id();
    for (const auto& [slot, owner] : node.claims().owners()) {
        if (owner == self) continue;
        const Member* m = node.node().members().find(owner);
        if (!m) continue;
        // Reserved for a dead node: no route, unless its host answers us.
        bool kept_dead = m->state == MemberState::Dead && kept.count(owner);
        if (holds_subnet(m->state) || kept_dead) fn(slot, *m);
    }
}

template <class Net = Ipv4Net>
std::vector<netlink::BasicRoute<Net>> desired_routes(const SubnetNode& node, int ifindex,
                                                     const std::set<NodeId>& kept = {});

// The subnets of members we hold as left or dead (their announced claims), but those kept: while
// the agent is not yet armed, its routes to these go at once, since their departure is known,
// not guessed (a leave right after our restart took 2.7 s to withdraw here otherwise).
template <class Net = Ipv4Net>
std::vector<Net> departed_subnets(const SubnetNode& node, const std::set<NodeId>& kept = {});

// Whether `addr` is on one of iface's networks (`segment`): with vxlan, a member there is routed
// host-gw, one elsewhere through the VXLAN device.
inline bool on_segment(const std::vector<Ipv4Net>& segment, std::uint32_t addr) {
    for (const auto& net : segment)
        if (contains(net, addr)) return true;
    return false;
}

// What the host check follows: every other member that owns a subnet, with its address and its
// subnet's gateway (the first address, the pod bridge on that host; none for a /31 or /32).
// With VXLAN (`segment`: iface's networks), a member off them is echoed at its VTEP address
// instead (its subnet's network address, on its VXLAN device): both echoes then go through the
// tunnel its route uses, so a host whose tunnel is cut does not count as answering.
std::vector<HostSubject> host_subjects(const SubnetNode& node,
                                       const std::vector<Ipv4Net>* segment = nullptr);

// Hitless restart: on start the agent adopts the routes of ours already in the kernel and
// withdraws none until it has the cluster's view: its first full state transfer and 2 s to hear
// the first gossip, or 30 s in any case. Missing routes are added at once.
class RouteArming {
  public:
    explicit RouteArming(Time started) : started_(started) {}
    // True once stale routes of ours may be withdrawn; stays true.
    bool armed(Time now, bool synced);

  private:
    Time started_;
    bool armed_ = false;
};

// What one reconcile pass means beyond its own messages: a route that cannot be installed
// (conflict, next hop off the segment, refused) is logged once, not on every pass, until it
// changes; a route installed by the last pass and changed by this one was put back after someone
// else removed or changed it.
template <class Net>
class BasicRouteReportLog {
  public:
    struct Outcome {
        std::vector<LogLine> lines;
        std::uint64_t restored = 0;
        std::uint64_t refused = 0;  // refusals seen for the first time
    };
    Outcome record(std::vector<netlink::BasicRouteReport<Net>> reports);
    // The last pass's reports, one per desired route.
    const std::vector<netlink::BasicRouteReport<Net>>& reports() const { return reports_; }

  private:
    std::vector<netlink::BasicRouteReport<Net>> reports_;
    std::set<std::string> reported_;  // "dst via gw" of routes whose trouble was logged
};

using RouteReportLog = BasicRouteReportLog<Ipv4Net>;
using RouteReportLog6 = BasicRouteReportLog<Ipv6Net>;

}  // namespace shoal::agent
