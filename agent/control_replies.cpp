#include "agent/control_replies.hpp"

#include <algorithm>
#include <map>

namespace shoal::agent {

namespace {
// The subnet a member owns (claimed and not beaten by an older claim).
std::optional<std::string> subnet_of(const SubnetNode& node, const NodeId& id) {
    auto claim = node.claims().claim_of(id);
    if (!claim || node.claims().owner(claim->slot) != id) return std::nullopt;
    return node.network().subnet(claim->slot).to_string();
}
std::optional<std::string> subnet6_of(const SubnetNode& node, const NodeId& id) {
    auto claim = node.claims().claim_of(id);
    if (!claim || node.claims().owner(claim->slot) != id) return std::nullopt;
    auto sub6 = node.network().subnet6(claim->slot);
    return sub6 ? std::optional{sub6->to_string()} : std::nullopt;
}

// Why the route to `subnet` is not installed (nullopt: it is, or none is wanted).
template <class Net>
std::optional<std::string> not_installed(const std::vector<netlink::BasicRouteReport<Net>>& routes,
                                         const std::string& subnet) {
    for (const auto& r : routes)
        if (r.route.dst.to_string() == subnet && r.state != netlink::RouteState::Installed)
            return r.reason.empty() ? to_string(r.state) : r.reason;
    return std::nullopt;
}

// "a 3, b 0" of the non-zero counters, or "none".
template <typename Reason, typename Counts>
std::pair<Record, std::string> counters(const Counts& counts, int n) {
    Record json;
    std::string text;
    for (int r = 0; r < n; ++r) {
        const char* name = to_string(static_cast<Reason>(r));
        json.num(name, static_cast<std::int64_t>(counts[r]));
        if (counts[r])
            text +=
                (text.empty() ? "" : ", ") + std::string(name) + " " + std::to_string(counts[r]);
    }
    return {json, text.empty() ? "none" : text};
}
}  // namespace

std::vector<Record> member_rows(const SubnetNode& node,
                                const std::vector<netlink::RouteReport>& routes,
                                const std::set<NodeId>& kept,
                                const std::vector<netlink::RouteReport6>& routes6) {
    bool dual = node.network().network6().has_value();
    std::vector<Record> rows;
    for (const auto& [id, m] : node.node().members().all()) {
        auto sub = subnet_of(node, id);
        auto sub6 = dual ? subnet6_of(node, id) : std::nullopt;
        auto ann = node.announcement_of(m);
        std::optional<Ipv6Addr> addr6 = ann ? ann->addr6 : std::nullopt;
        bool self = id == node.node().id();
        std::optional<std::string> reason;
        if (!self && sub) reason = not_installed(routes, *sub);
        // Owns a subnet, present, and no route wanted: with vxlan, a member off the segment
        // whose address has not answered this host's probes yet.
        if (!self && sub && holds_subnet(m.state) &&
            std::none_of(routes.begin(), routes.end(),
                         [&](const auto& r) { return r.route.dst.to_string() == *sub; }))
            reason = "no route yet: off the segment, its address has not answered our probes";
        if (!self && holds_subnet(m.state) && !sub) reason = "owns no subnet";
        // Its IPv4 route is what host-gw needs first; the IPv6 one is said when that is fine.
        // Through the VXLAN device its IPv6 route needs no address of it.
        if (!reason && !self && sub6 && holds_subnet(m.state)) {
            bool wanted6 = std::any_of(routes6.begin(), routes6.end(), [&](const auto& r) {
                return r.route.dst.to_string() == *sub6;
            });
            if (!addr6 && !wanted6)
                reason = "announces no IPv6 address: no IPv6 route";
            else if (auto why6 = not_installed(routes6, *sub6))
                reason = "IPv6 route: " + *why6;
        }
        bool route_kept = !reason && kept.count(id) > 0;
        Record r;
        r.str("name", m.info.name)
            .str("id", id.hex())
            .text(id.short_hex())
            .str("addr", ipv4_to_string(m.info.addr.ip))
            .text(m.info.addr.to_string())
            .num("port", m.info.addr.port)
            .hidden()
            .str("state", to_string(m.state))
            .opt("subnet", sub);
        if (dual)
            r.opt("subnet6", sub6)
                .hidden()
                .opt("addr6", addr6 ? std::optional{ipv6_to_string(*addr6)} : std::nullopt)
                .hidden();
        r.num("incarnation", m.inc())
            .hidden()
            .boolean("routable", !reason && (holds_subnet(m.state) || route_kept))
            .hidden()
            .boolean("route_kept", route_kept)
            .hidden()
            .opt("reason", reason, route_kept ? kRouteKept : "");
        rows.push_back(std::move(r));
    }
    return rows;
}

std::string render_members(const std::vector<Record>& rows, bool json) {
    return json ? render_json(rows) + "\n" : render_table(rows, {20, 16, 21, 8, 18});
}

template <class Net>
std::vector<Record> route_rows(const std::vector<netlink::BasicRouteReport<Net>>& routes,
                               const std::string& iface, const std::set<std::string>& kept_subnets,
                               const std::map<int, std::string>& devices) {
    std::vector<Record> rows;
    for (const auto& r : routes) {
        std::string via = addr_to_string(r.route.via);
        auto named = devices.find(r.route.ifindex);
        const std::string& dev = named != devices.end() ? named->second : iface;
        std::string state = netlink::to_string(r.state);
        bool kept = kept_subnets.count(r.route.dst.to_string()) > 0;
        Record row;
        row.str("subnet", r.route.dst.to_string())
            .str("via", via)
            .text("via " + via)
            .str("dev", dev)
            .text("dev " + dev + (r.route.onlink ? " onlink" : ""))
            .str("state", state)
            .text((r.reason.empty() ? state : state + ": " + r.reason) +
                  (kept ? std::string(", ") + kRouteKept + " (member dead)" : ""))
            .boolean("kept", kept)
            .hidden();
        rows.push_back(std::move(row));
    }
    return rows;
}

template std::vector<Record> route_rows(const std::vector<netlink::RouteReport>&,
                                        const std::string&, const std::set<std::string>&,
                                        const std::map<int, std::string>&);
template std::vector<Record> route_rows(const std::vector<netlink::RouteReport6>&,
                                        const std::string&, const std::set<std::string>&,
                                        const std::map<int, std::string>&);

std::string render_routes(const std::vector<Record>& rows, bool json) {
    return json ? render_json(rows) + "\n" : render_table(rows, {});
}

Record status_record(const StatusInput& in) {
    const Node& n = in.node.node();
    const MemberTable& t = n.members();
    const Stats& st = n.stats();
    int installed = 0;
    for (const auto& r : in.routes) installed += r.state == netlink::RouteState::Installed;
    if (in.routes6)
        for (const auto& r : *in.routes6) installed += r.state == netlink::RouteState::Installed;
    std::optional<std::string> subnet, subnet6;
    if (auto slot = in.node.slot()) {
        subnet = in.node.network().subnet(*slot).to_string();
        if (auto sub6 = in.node.network().subnet6(*slot)) subnet6 = sub6->to_string();
    }
    std::vector<std::string> fps;
    std::string fps_text;
    for (const auto& k : n.keyring().keys()) {
        fps.push_back(Keyring::fingerprint(k));
        fps_text +=
            (fps_text.empty() ? "" : ", ") + fps.back() + (fps.size() == 1 ? " (primary)" : "");
    }
    Record members;
    for (auto s : {MemberState::Alive, MemberState::Suspect, MemberState::Dead, MemberState::Left,
                   MemberState::Restarting})
        members.num(std::string(to_string(s)), static_cast<std::int64_t>(t.count(s)));
    auto [drops, drops_text] =
        counters<DropReason>(st.dropped, static_cast<int>(DropReason::Count));
    auto [rejections, rejections_text] =
        counters<Rejection>(st.rejected, static_cast<int>(Rejection::Count));
    Record rejected;
    rejected.object("datagrams", drops, "").object("announcements", rejections, "");

    Record r;
    r.str("name", in.name)
        .str("id", n.id().hex())
        .str("version", in.version)
        .num("uptime_seconds", in.uptime_seconds)
        .label("uptime")
        .text(std::to_string(in.uptime_seconds) + " s")
        .str("profile", in.profile)
        .str("addr", ipv4_to_string(in.addr))
        .opt("subnet", subnet, "none");
    if (in.node.network().network6())
        r.opt("addr6", in.addr6 ? std::optional{ipv6_to_string(*in.addr6)} : std::nullopt, "none")
            .opt("subnet6", subnet6, "none");
    if (in.lost) {
        Record lost;
        lost.str("subnet", in.lost->subnet)
            .str("to", in.lost->winner)
            .num("seconds_ago", in.lost->seconds_ago);
        r.object("lost_subnet", lost,
                 in.lost->subnet + " to " + in.lost->winner + ", " +
                     std::to_string(in.lost->seconds_ago) + " s ago")
            .label("lost subnet");
    } else {
        r.opt("lost_subnet", std::nullopt).hidden();
    }
    r.str("network", in.node.network().network().to_string())
        .text(in.node.network().describe())
        .object("members", members,
                std::to_string(t.live_count()) + " live, " +
                    std::to_string(t.count(MemberState::Dead)) + " dead, " +
                    std::to_string(t.count(MemberState::Left)) + " left")
        .num("routes_installed", installed)
        .label("routes installed")
        .str("forwarding", in.forwarding)
        .num("local_health", n.local_health())
        .label("local health")
        .strings("keys", fps, fps_text)
        .object("rejected", rejected, "")
        .hidden()
        .note("rejected datagrams", drops_text)
        .note("rejected announcements", rejections_text);
    return r;
}

Record keys_record(const Keyring& ring, const std::string& file, const std::vector<int>& lines) {
    std::vector<Record> keys;
    for (std::size_t i = 0; i < ring.keys().size(); ++i) {
        Record k;
        k.str("fingerprint", Keyring::fingerprint(ring.keys()[i]))
            .boolean("primary", i == 0)
            .text(i == 0 ? "primary" : "secondary")
            .str("source", i < lines.size() ? file + ':' + std::to_string(lines[i]) : file);
        keys.push_back(std::move(k));
    }
    Record r;
    r.str("file", file).hidden().records("keys", keys, render_table(keys, {16, 9}));
    return r;
}

std::string render_keys(const Record& keys, bool json) {
    if (json) return render_json(keys) + "\n";
    return keys.fields().back().text;
}

}  // namespace shoal::agent
