// The agent's policies as pure functions: which routes it wants, when it may withdraw stale ones
// after a restart, what a pass's reports mean for the log and the counters, when it is ready,
// and the control replies' two forms.
#include <gtest/gtest.h>

#include "agent/control_replies.hpp"
#include "agent/readiness.hpp"
#include "agent/reply.hpp"
#include "agent/route_policy.hpp"
#include "agent/vxlan_policy.hpp"
#include "gossip/sim/cluster.hpp"

using namespace shoal;
using namespace shoal::agent;

namespace {

sim::Cluster three_nodes(NetworkSettings network = {"10.244.0.0/16"}) {
    sim::ClusterOptions o;
    o.timing = timing_for(Profile::Lan);
    o.network = network;
    o.seed = 7;
    sim::Cluster c(o);
    c.add_node({});
    c.add_node({0});
    c.add_node({0});
    EXPECT_TRUE(c.run_until(
        [&] {
            if (!c.all_see_alive({0, 1, 2}) || !c.owners_agree()) return false;
            for (std::size_t i = 0; i < 3; ++i)
                if (!c.at(i).node->slot()) return false;
            return true;
        },
        30s));
    return c;
}

netlink::Route route_to(const sim::Cluster& c, std::size_t i, int ifindex) {
    return netlink::Route{c.network().subnet(*c.at(i).node->slot()), c.at(i).addr.ip, ifindex};
}

netlink::RouteReport report(const char* dst, netlink::RouteState state, bool changed = false,
                            std::string reason = {}) {
    netlink::RouteReport r;
    r.route = netlink::Route{*parse_ipv4_net(dst), 0x0a000002, 2};
    r.state = state;
    r.changed = changed;
    r.reason = std::move(reason);
    return r;
}

}  // namespace

TEST(RoutePolicy, OneRouteToEveryOtherOwnerViaItsAddress) {
    auto c = three_nodes();
    auto want = desired_routes(*c.at(0).node, 5);
    ASSERT_EQ(want.size(), 2u);
    for (std::size_t i : {1, 2})
        EXPECT_NE(std::find(want.begin(), want.end(), route_to(c, i, 5)), want.end()) << i;
}

TEST(RoutePolicy, NoRouteForADeadMembersReservationButOneForARestartingMember) {
    auto c = three_nodes();
    const NodeId dead = c.at(2).node->node().id();
    const netlink::Route dead_route = route_to(c, 2, 5);
    c.crash(2);
    ASSERT_TRUE(c.run_until([&] { return c.view(0, 2) == MemberState::Dead; }, 60s));
    auto want = desired_routes(*c.at(0).node, 5);
    ASSERT_EQ(want.size(), 1u);  // node 2's subnet stays reserved, but routed nowhere
    EXPECT_EQ(want[0], route_to(c, 1, 5));
    // The host check keeps it (its host answers): routed, and not among the departed.
    auto kept = desired_routes(*c.at(0).node, 5, {dead});
    ASSERT_EQ(kept.size(), 2u);
    EXPECT_NE(std::find(kept.begin(), kept.end(), dead_route), kept.end());
    EXPECT_EQ(departed_subnets(*c.at(0).node).size(), 1u);
    EXPECT_TRUE(departed_subnets(*c.at(0).node, {dead}).empty());
    // What the host check follows: both others, node 2 dead, with its subnet's gateway.
    auto subjects = host_subjects(*c.at(0).node);
    ASSERT_EQ(subjects.size(), 2u);
    auto s2 = std::find_if(subjects.begin(), subjects.end(),
                           [&](const HostSubject& s) { return s.id == dead; });
    ASSERT_NE(s2, subjects.end());
    EXPECT_EQ(s2->state, MemberState::Dead);
    EXPECT_EQ(s2->addr, dead_route.via);
    EXPECT_EQ(s2->gateway, dead_route.dst.addr + 1);
    // With VXLAN: on iface's network, the same; off it, echoed at its VTEP address (its subnet's
    // network address), through the tunnel like the gateway.
    const std::vector<Ipv4Net> here{Ipv4Net{dead_route.via & 0xffffff00u, 24}};
    const std::vector<Ipv4Net> elsewhere{Ipv4Net{0xc0000200u, 24}};  // 192.0.2.0/24
    auto on_segment = host_subjects(*c.at(0).node, &here);
    auto off_segment = host_subjects(*c.at(0).node, &elsewhere);
    for (const auto* list : {&on_segment, &off_segment}) {
        auto s = std::find_if(list->begin(), list->end(),
                              [&](const HostSubject& x) { return x.id == dead; });
        ASSERT_NE(s, list->end());
        EXPECT_EQ(s->addr, list == &on_segment ? dead_route.via : dead_route.dst.addr);
        EXPECT_EQ(s->gateway, dead_route.dst.addr + 1);
    }
    c.act(1, [&](SubnetNode& n) { n.prepare_restart(c.now(), 60s); });
    ASSERT_TRUE(c.run_until([&] { return c.view(0, 1) == MemberState::Restarting; }, 10s));
    EXPECT_EQ(desired_routes(*c.at(0).node, 5).size(), 1u);  // held with its route
}

// Dual stack: a member's IPv6 subnet is routed via the IPv6 address its signed announcement
// carries; one that announces none gets no IPv6 route, and `members` says why.
TEST(RoutePolicy, Ipv6RoutesGoViaTheAnnouncedIpv6Address) {
    auto c = three_nodes({"10.244.0.0/16", 24, "", "", "fd00:244::/56", 64});
    const Ipv6Addr a1 = *parse_ipv6("fd10::11");
    EXPECT_TRUE(desired_routes<Ipv6Net>(*c.at(0).node, 5).empty());  // nobody announced one yet
    c.act(1, [&](SubnetNode& n) { n.set_address6(c.now(), a1); });
    ASSERT_TRUE(
        c.run_until([&] { return desired_routes<Ipv6Net>(*c.at(0).node, 5).size() == 1; }, 10s));
    auto want = desired_routes<Ipv6Net>(*c.at(0).node, 5);
    EXPECT_EQ(want[0].dst, *c.network().subnet6(*c.at(1).node->slot()));
    EXPECT_EQ(want[0].via, a1);
    EXPECT_EQ(want[0].ifindex, 5);
    EXPECT_EQ(desired_routes(*c.at(0).node, 5).size(), 2u);  // IPv4 to both, as before

    std::vector<netlink::RouteReport> v4;  // both IPv4 routes installed
    for (const auto& r : desired_routes(*c.at(0).node, 5))
        v4.push_back({r, netlink::RouteState::Installed, {}, false});
    auto rows = render_members(member_rows(*c.at(0).node, v4, {}, {}), true);
    EXPECT_NE(rows.find("\"addr6\":\"fd10::11\""), std::string::npos) << rows;
    EXPECT_NE(rows.find("announces no IPv6 address"), std::string::npos) << rows;

    // A new address is announced again and replaces the route's next hop; none withdraws it.
    const Ipv6Addr a2 = *parse_ipv6("fd10::12");
    c.act(1, [&](SubnetNode& n) { n.set_address6(c.now(), a2); });
    ASSERT_TRUE(c.run_until(
        [&] {
            auto w = desired_routes<Ipv6Net>(*c.at(0).node, 5);
            return w.size() == 1 && w[0].via == a2;
        },
        10s));
    c.act(1, [&](SubnetNode& n) { n.set_address6(c.now(), std::nullopt); });
    ASSERT_TRUE(
        c.run_until([&] { return desired_routes<Ipv6Net>(*c.at(0).node, 5).empty(); }, 10s));
    // A departed member's IPv6 subnet is among those withdrawn before arming.
    c.act(1, [&](SubnetNode& n) { n.set_address6(c.now(), a1); });
    c.act(1, [&](SubnetNode& n) { n.leave(c.now()); });
    ASSERT_TRUE(c.run_until([&] { return c.view(0, 1) == MemberState::Left; }, 10s));
    auto gone = departed_subnets<Ipv6Net>(*c.at(0).node);
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_EQ(gone[0], want[0].dst);
}

// vxlan: a member on iface's network keeps its host-gw route; one off it is routed through the
// VXLAN device, onlink via its VTEP address, with its entries (the MAC from its id), but only
// once the device exists and only after its address answered our own probes.
TEST(RoutePolicy, MembersOffTheSegmentGoThroughTheVxlanDeviceOnceTheyAnswered) {
    auto c = three_nodes();
    const std::vector<Ipv4Net> segment{Ipv4Net{c.at(1).addr.ip, 32}};  // node 1 only
    const auto& far = c.at(2);
    const Ipv4Net far_subnet = c.network().subnet(*far.node->slot());
    auto before = vxlan_plan(*c.at(0).node, 5, segment, 0, {far.addr.ip});
    EXPECT_EQ(before.off_segment, 1u);
    ASSERT_EQ(before.routes.size(), 1u);  // no device yet: node 2 waits
    EXPECT_EQ(before.routes[0], route_to(c, 1, 5));
    EXPECT_TRUE(before.peers.empty());
    auto unanswered = vxlan_plan(*c.at(0).node, 5, segment, 9, {});
    EXPECT_EQ(unanswered.routes.size(), 1u);
    EXPECT_TRUE(unanswered.peers.empty());
    auto plan = vxlan_plan(*c.at(0).node, 5, segment, 9, {far.addr.ip});
    ASSERT_EQ(plan.routes.size(), 2u);
    EXPECT_NE(std::find(plan.routes.begin(), plan.routes.end(),
                        netlink::Route{far_subnet, far_subnet.addr, 9, true}),
              plan.routes.end());
    ASSERT_EQ(plan.peers.size(), 1u);
    EXPECT_EQ(plan.peers[0], (netlink::VxlanPeer{far_subnet.addr, vtep_mac(far.node->node().id()),
                                                 far.addr.ip, std::nullopt}));
    EXPECT_TRUE(plan.routes6.empty());  // no ipv6-network

    // Until it answers, `members` says why it has no route instead of calling it routable.
    std::vector<netlink::RouteReport> reports;
    for (const auto& r : unanswered.routes)
        reports.push_back({r, netlink::RouteState::Installed, {}, false});
    auto rows = render_members(member_rows(*c.at(0).node, reports), true);
    EXPECT_NE(rows.find("its address has not answered our probes"), std::string::npos) << rows;
    EXPECT_EQ(rows.find("\"routable\":true,\"route_kept\":false,\"reason\":\"no route"),
              std::string::npos);
}

// Dual stack with vxlan: a member on the segment keeps its IPv6 host-gw route via the address it
// announced; one off it gets its IPv6 subnet through the same tunnel, onlink via that subnet's
// network address, with a neighbour entry of that address to its VTEP MAC.
TEST(RoutePolicy, AnIpv6SubnetOffTheSegmentGoesThroughTheTunnelToo) {
    auto c = three_nodes({"10.244.0.0/16", 24, "", "", "fd00:244::/56", 64});
    const Ipv6Addr a1 = *parse_ipv6("fd10::11"), a2 = *parse_ipv6("fd20::12");
    c.act(1, [&](SubnetNode& n) { n.set_address6(c.now(), a1); });
    c.act(2, [&](SubnetNode& n) { n.set_address6(c.now(), a2); });
    ASSERT_TRUE(
        c.run_until([&] { return desired_routes<Ipv6Net>(*c.at(0).node, 5).size() == 2; }, 10s));
    const std::vector<Ipv4Net> segment{Ipv4Net{c.at(1).addr.ip, 32}};  // node 1 only
    const auto& far = c.at(2);
    const Ipv6Net far6 = *c.network().subnet6(*far.node->slot());
    const Ipv6Net near6 = *c.network().subnet6(*c.at(1).node->slot());
    auto waiting = vxlan_plan(*c.at(0).node, 5, segment, 9, {});
    EXPECT_EQ(waiting.routes6, (std::vector<netlink::Route6>{{near6, a1, 5}}));
    auto plan = vxlan_plan(*c.at(0).node, 5, segment, 9, {far.addr.ip});
    ASSERT_EQ(plan.routes6.size(), 2u);
    EXPECT_NE(std::find(plan.routes6.begin(), plan.routes6.end(), netlink::Route6{near6, a1, 5}),
              plan.routes6.end());
    EXPECT_NE(std::find(plan.routes6.begin(), plan.routes6.end(),
                        netlink::Route6{far6, far6.addr, 9, true}),
              plan.routes6.end())
        << "not via the address it announced (fd20::12): the tunnel, not the segment";
    ASSERT_EQ(plan.peers.size(), 1u);
    EXPECT_EQ(plan.peers[0].vtep6, far6.addr);
    EXPECT_EQ(plan.peers[0].mac, vtep_mac(far.node->node().id()));

    // The tunnel needs no IPv6 address of the member: one that announces none is routed too,
    // and `members` does not say otherwise.
    c.act(2, [&](SubnetNode& n) { n.set_address6(c.now(), std::nullopt); });
    ASSERT_TRUE(
        c.run_until([&] { return desired_routes<Ipv6Net>(*c.at(0).node, 5).size() == 1; }, 10s));
    auto without = vxlan_plan(*c.at(0).node, 5, segment, 9, {far.addr.ip});
    EXPECT_EQ(without.routes6.size(), 2u);
    std::vector<netlink::RouteReport> r4;
    std::vector<netlink::RouteReport6> r6;
    for (const auto& r : without.routes)
        r4.push_back({r, netlink::RouteState::Installed, {}, false});
    for (const auto& r : without.routes6)
        r6.push_back({r, netlink::RouteState::Installed, {}, false});
    auto rows = render_members(member_rows(*c.at(0).node, r4, {}, r6), true);
    EXPECT_EQ(rows.find("announces no IPv6 address"), std::string::npos) << rows;
    EXPECT_EQ(rows.find("IPv6 route"), std::string::npos) << rows;
}

TEST(RoutePolicy, StaleRoutesArmTwoSecondsAfterTheFirstSyncOrAfterThirtySeconds) {
    Time t0 = Time{} + 100s;
    RouteArming a(t0);
    EXPECT_FALSE(a.armed(t0, true));
    EXPECT_FALSE(a.armed(t0 + 1900ms, true));
    EXPECT_TRUE(a.armed(t0 + 2s, true));
    EXPECT_TRUE(a.armed(t0 + 2s, false));  // stays armed
    RouteArming b(t0);
    EXPECT_FALSE(b.armed(t0 + 29s, false));
    EXPECT_TRUE(b.armed(t0 + 30s, false));
}

TEST(RoutePolicy, TroubleIsLoggedOncePerRouteUntilItChanges) {
    RouteReportLog log;
    auto conflict = report("10.244.3.0/24", netlink::RouteState::Conflict, false, "foreign");
    auto first = log.record({conflict});
    ASSERT_EQ(first.lines.size(), 1u);
    EXPECT_EQ(first.lines[0].level, LogLevel::Warn);
    EXPECT_NE(first.lines[0].text.find("10.244.3.0/24 via 10.0.0.2 is conflict: foreign"),
              std::string::npos)
        << first.lines[0].text;
    EXPECT_TRUE(log.record({conflict}).lines.empty());   // the next pass: quiet
    EXPECT_TRUE(log.record({}).lines.empty());           // resolved
    EXPECT_EQ(log.record({conflict}).lines.size(), 1u);  // back: logged again
}

TEST(RoutePolicy, ARefusedRouteIsAnErrorCountedOnce) {
    RouteReportLog log;
    auto refused = report("8.8.8.0/24", netlink::RouteState::Refused, false, "outside");
    auto first = log.record({refused});
    ASSERT_EQ(first.lines.size(), 1u);
    EXPECT_EQ(first.lines[0].level, LogLevel::Error);
    EXPECT_EQ(first.refused, 1u);
    EXPECT_EQ(log.record({refused}).refused, 0u);
}

TEST(RoutePolicy, AnInstalledRouteChangedByThisPassWasRestored) {
    RouteReportLog log;
    (void)log.record({report("10.244.3.0/24", netlink::RouteState::Installed, true)});
    // Added by the first pass: not a restoration.
    EXPECT_EQ(log.record({report("10.244.3.0/24", netlink::RouteState::Installed, false)}).restored,
              0u);
    // Installed as wanted, then put back: someone removed it in between.
    EXPECT_EQ(log.record({report("10.244.3.0/24", netlink::RouteState::Installed, true)}).restored,
              1u);
    EXPECT_EQ(log.reports().size(), 1u);
}

TEST(Readiness, ReadyOnlyWhenServingSyncedOwningAndWritten) {
    ReadinessInput in{Phase::Serving, true, true, true, "/run/flannel/subnet.env",
                      std::nullopt,   ""};
    EXPECT_EQ(not_ready(in), "");
    in.forwarding_blocked = "pod traffic between hosts is dropped: ...; fix: iptables ...";
    EXPECT_EQ(not_ready(in), in.forwarding_blocked);
    in.subnet_file_written = false;
    EXPECT_EQ(not_ready(in), "/run/flannel/subnet.env not written yet");
    in.owns_subnet = false;
    EXPECT_EQ(not_ready(in), "no subnet owned yet");
    in.lost = "10.244.3.0/24 to h1 (abcd, 10.0.0.1:7946)";
    EXPECT_EQ(not_ready(in),
              "lost subnet 10.244.3.0/24 to h1 (abcd, 10.0.0.1:7946); no free subnet");
    in.synced = false;
    EXPECT_EQ(not_ready(in), "first full state exchange not done yet");
    in.phase = Phase::Starting;
    EXPECT_EQ(not_ready(in), "starting");
}

// The race this replaces: stopping began (STOPPING=1, /readyz "stopping"), but the flag readiness
// looked at was set only when the loop ended, so the once-a-second publish said "ready" again
// for as long as a graceful leave took.
TEST(Readiness, OnceStoppingHasBegunNothingIsReadyAgain) {
    for (Phase p : {Phase::Leaving, Phase::Stopped}) {
        ReadinessInput in{p, true, true, true, "/run/flannel/subnet.env", std::nullopt, ""};
        EXPECT_EQ(not_ready(in), "stopping");
    }
}

TEST(Reply, OneRecordTwoForms) {
    Record r;
    r.str("name", "h1")
        .num("uptime_seconds", 12)
        .label("uptime")
        .text("12 s")
        .opt("subnet", std::nullopt, "none")
        .boolean("routable", true)
        .hidden()
        .note("remark", "text only");
    EXPECT_EQ(render_json(r),
              "{\"name\":\"h1\",\"uptime_seconds\":12,\"subnet\":null,\"routable\":true}");
    EXPECT_EQ(render_lines(r), "name h1\nuptime 12 s\nsubnet none\nremark text only\n");
}

TEST(Reply, NothingFromTheNetworkReachesTheTerminalRaw) {
    Record r;
    r.str("name", "evil\n\x1b[2Jerror: forged");
    EXPECT_EQ(render_lines(r), "name evil\\x0a\\x1b[2Jerror: forged\n");
    EXPECT_EQ(render_json(r), "{\"name\":\"evil\\u000a\\u001b[2Jerror: forged\"}");
    EXPECT_EQ(render_table({r}, {8}), "evil\\x0a\\x1b[2Jerror: forged\n");
}

TEST(Reply, TablesPadTheirColumns) {
    Record a, b;
    a.str("x", "ab").str("y", "c").str("z", "d");
    b.str("x", "abcdef").str("y", "").str("z", "e");
    EXPECT_EQ(render_table({a, b}, {4, 2}), "ab   c  d\nabcdef    e\n");
}

TEST(ControlReplies, MembersAndStatusInBothForms) {
    auto c = three_nodes();
    const SubnetNode& n = *c.at(0).node;
    auto rows = member_rows(n, {});
    ASSERT_EQ(rows.size(), 3u);
    std::string json = render_members(rows, true);
    for (std::size_t i = 0; i < 3; ++i) {
        std::string subnet = c.network().subnet(*c.at(i).node->slot()).to_string();
        EXPECT_NE(json.find("\"name\":\"" + c.at(i).name + "\""), std::string::npos) << json;
        EXPECT_NE(json.find("\"subnet\":\"" + subnet + "\""), std::string::npos) << json;
    }
    std::string text = render_members(rows, false);
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3);
    EXPECT_NE(text.find(" alive "), std::string::npos) << text;

    std::vector<netlink::RouteReport> routes;
    StatusInput in{n, "h0", "0.1.0", "lan", 5, c.at(0).addr.ip, routes, std::nullopt};
    in.forwarding = "accepted in ip filter FORWARD";
    Record s = status_record(in);
    std::string sj = render_json(s);
    EXPECT_NE(sj.find("\"members\":{\"alive\":3,"), std::string::npos) << sj;
    EXPECT_NE(sj.find("\"lost_subnet\":null"), std::string::npos) << sj;
    EXPECT_NE(sj.find("\"rejected\":{\"datagrams\":{"), std::string::npos) << sj;
    std::string st = render_lines(s);
    EXPECT_NE(st.find("\nmembers 3 live, 0 dead, 0 left\n"), std::string::npos) << st;
    EXPECT_NE(st.find("\nrejected datagrams none\n"), std::string::npos) << st;
    EXPECT_NE(st.find("\nforwarding accepted in ip filter FORWARD\n"), std::string::npos) << st;
    EXPECT_EQ(st.find("lost subnet"), std::string::npos) << st;
    in.lost = StatusInput::Lost{"10.244.9.0/24", "h9 (abcd, 10.0.0.9:7946)", 4};
    EXPECT_NE(render_lines(status_record(in))
                  .find("\nlost subnet 10.244.9.0/24 to h9 (abcd, 10.0.0.9:7946), 4 s ago\n"),
              std::string::npos);
}

TEST(ControlReplies, ADeadMemberWhoseHostAnswersShowsItsRouteKept) {
    auto c = three_nodes();
    const NodeId dead = c.at(2).node->node().id();
    const std::string subnet = c.network().subnet(*c.at(2).node->slot()).to_string();
    c.crash(2);
    ASSERT_TRUE(c.run_until([&] { return c.view(0, 2) == MemberState::Dead; }, 60s));
    const SubnetNode& n = *c.at(0).node;
    std::string plain = render_members(member_rows(n, {}), false);
    EXPECT_EQ(plain.find(kRouteKept), std::string::npos) << plain;
    auto rows = member_rows(n, {}, {dead});
    std::string text = render_members(rows, false);
    auto line = text.substr(text.find(c.at(2).name));
    line = line.substr(0, line.find('\n'));
    EXPECT_NE(line.find(" dead "), std::string::npos) << line;
    EXPECT_NE(line.find(kRouteKept), std::string::npos) << line;
    std::string json = render_members(rows, true);
    EXPECT_NE(json.find("\"state\":\"dead\",\"subnet\""), std::string::npos) << json;
    EXPECT_NE(json.find("\"routable\":true,\"route_kept\":true"), std::string::npos) << json;

    std::vector<netlink::RouteReport> reports{
        report(subnet.c_str(), netlink::RouteState::Installed)};
    auto routes = route_rows(reports, "eth0", {subnet});
    EXPECT_NE(render_routes(routes, false).find(std::string("installed, ") + kRouteKept),
              std::string::npos);
    EXPECT_NE(render_routes(routes, true).find("\"kept\":true"), std::string::npos);
    EXPECT_NE(render_routes(route_rows(reports, "eth0"), true).find("\"kept\":false"),
              std::string::npos);
}
