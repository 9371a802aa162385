#include "agent/route_policy.hpp"

#include <algorithm>

namespace shoal::agent {

namespace {
// Slot `slot`'s subnet in a family, and a member's next hop in it (none: no IPv6 announced).
std::optional<Ipv4Net> subnet_in(const SubnetNode& node, std::uint32_t slot, const Ipv4Net*) {
    return node.network().subnet(slot);
}
std::optional<Ipv6Net> subnet_in(const SubnetNode& node, std::uint32_t slot, const Ipv6Net*) {
    return node.network().subnet6(slot);
}
std::optional<std::uint32_t> next_hop(const SubnetNode&, const Member& m, const Ipv4Net*) {
    return m.info.addr.ip;
}
std::optional<Ipv6Addr> next_hop(const SubnetNode& node, const Member& m, const Ipv6Net*) {
    auto ann = node.announcement_of(m);
    return ann ? ann->addr6 : std::nullopt;
}
}  // namespace

template <class Net>
std::vector<netlink::BasicRoute<Net>> desired_routes(const SubnetNode& node, int ifindex,
                                                     const std::set<NodeId>& kept) {
    constexpr const Net* family = nullptr;
    std::vector<netlink::BasicRoute<Net>> desired;
    for_each_routed_owner(node, kept, [&](std::uint32_t slot, const Member& m) {
        auto subnet = subnet_in(node, slot, family);
        auto via = next_hop(node, m, family);
        if (subnet && via) desired.push_back(netlink::BasicRoute<Net>{*subnet, *via, ifindex});
    });
    return desired;
}
template std::vector<netlink::Route> desired_routes<Ipv4Net>(const SubnetNode&, int,
                                                             const std::set<NodeId>&);
template std::vector<netlink::Route6> desired_routes<Ipv6Net>(const SubnetNode&, int,
                                                              const std::set<NodeId>&);

std::vector<HostSubject> host_subjects(const SubnetNode& node,
                                       const std::vector<Ipv4Net>* segment) {
    std::vector<HostSubject> subjects;
    const NodeId& self = node.node().id();
    for (const auto& [slot, owner] : node.claims().owners()) {
        if (owner == self) continue;
        const Member* m = node.node().members().find(owner);
        if (!m) continue;
        Ipv4Net subnet = node.network().subnet(slot);
        std::uint32_t gateway = subnet.len <= 30 ? subnet.addr + 1 : 0;
        std::uint32_t addr = m->info.addr.ip;
        if (segment && !on_segment(*segment, addr)) addr = subnet.addr;
        subjects.push_back(HostSubject{owner, m->info.name, addr, gateway, m->state});
    }
    return subjects;
}

template <class Net>
std::vector<Net> departed_subnets(const SubnetNode& node, const std::set<NodeId>& kept) {
    std::vector<Net> gone;
    for (const auto& [id, m] : node.node().members().all()) {
        if (id == node.node().id() || holds_subnet(m.state) || kept.count(id)) continue;
        if (auto ann = node.announcement_of(m); ann && ann->claim)
            if (auto subnet = subnet_in(node, ann->claim->slot, static_cast<const Net*>(nullptr)))
                gone.push_back(*subnet);
    }
    return gone;
}
template std::vector<Ipv4Net> departed_subnets<Ipv4Net>(const SubnetNode&, const std::set<NodeId>&);
template std::vector<Ipv6Net> departed_subnets<Ipv6Net>(const SubnetNode&, const std::set<NodeId>&);

bool RouteArming::armed(Time now, bool synced) {
    if (!armed_ && ((synced && now - started_ >= 2s) || now - started_ >= 30s)) armed_ = true;
    return armed_;
}

template <class Net>
typename BasicRouteReportLog<Net>::Outcome BasicRouteReportLog<Net>::record(
    std::vector<netlink::BasicRouteReport<Net>> reports) {
    Outcome out;
    for (const auto& r : reports) {
        if (!r.changed) continue;
        bool was_installed = std::any_of(reports_.begin(), reports_.end(), [&](const auto& old) {
            return old.state == netlink::RouteState::Installed && old.route == r.route;
        });
        out.restored += was_installed;
    }
    std::set<std::string> now_reported;
    for (const auto& r : reports) {
        if (r.state != netlink::RouteState::Conflict &&
            r.state != netlink::RouteState::NotRoutable && r.state != netlink::RouteState::Refused)
            continue;
        std::string key = r.route.dst.to_string() + " via " + addr_to_string(r.route.via);
        if (!reported_.count(key)) {
            bool refused = r.state == netlink::RouteState::Refused;
            out.lines.push_back(
                LogLine{refused ? LogLevel::Error : LogLevel::Warn,
                        "route " + key + " is " + netlink::to_string(r.state) + ": " + r.reason});
            out.refused += refused;
        }
        now_reported.insert(std::move(key));
    }
    reported_ = std::move(now_reported);
    reports_ = std::move(reports);
    return out;
}
template class BasicRouteReportLog<Ipv4Net>;
template class BasicRouteReportLog<Ipv6Net>;

}  // namespace shoal::agent
