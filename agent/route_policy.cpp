#include "agent/route_policy.hpp"

#include <algorithm>

namespace shoal::agent {

std::vector<netlink::Route> desired_routes(const SubnetNode& node, int ifindex,
                                           const std::set<NodeId>& kept) {
    std::vector<netlink::Route> desired;
    const NodeId& self = node.node().id();
    for (const auto& [slot, owner] : node.claims().owners()) {
        if (owner == self) continue;
        const Member* m = node.node().members().find(owner);
        if (!m) continue;
        // Reserved for a dead node: no route, unless its host answers us.
        bool kept_dead = m->state == MemberState::Dead && kept.count(owner);
        if (!holds_subnet(m->state) && !kept_dead) continue;
        desired.push_back(netlink::Route{node.network().subnet(slot), m->info.addr.ip, ifindex});
    }
    return desired;
}

std::vector<HostSubject> host_subjects(const SubnetNode& node) {
    std::vector<HostSubject> subjects;
    const NodeId& self = node.node().id();
    for (const auto& [slot, owner] : node.claims().owners()) {
        if (owner == self) continue;
        const Member* m = node.node().members().find(owner);
        if (!m) continue;
        Ipv4Net subnet = node.network().subnet(slot);
        std::uint32_t gateway = subnet.len <= 30 ? subnet.addr + 1 : 0;
        subjects.push_back(HostSubject{owner, m->info.name, m->info.addr.ip, gateway, m->state});
    }
    return subjects;
}

std::vector<Ipv4Net> departed_subnets(const SubnetNode& node, const std::set<NodeId>& kept) {
    std::vector<Ipv4Net> gone;
    for (const auto& [id, m] : node.node().members().all()) {
        if (id == node.node().id() || holds_subnet(m.state) || kept.count(id)) continue;
        if (auto ann = node.announcement_of(m); ann && ann->claim)
            gone.push_back(node.network().subnet(ann->claim->slot));
    }
    return gone;
}

bool RouteArming::armed(Time now, bool synced) {
    if (!armed_ && ((synced && now - started_ >= 2s) || now - started_ >= 30s)) armed_ = true;
    return armed_;
}

RouteReportLog::Outcome RouteReportLog::record(std::vector<netlink::RouteReport> reports) {
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
        std::string key = r.route.dst.to_string() + " via " + ipv4_to_string(r.route.via);
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

}  // namespace shoal::agent
