// The reconciler's rules without a kernel: each test draws the kernel's table by hand and checks
// the requests the planner would send and the report of every desired route.
#include "netlink/route_plan.hpp"

#include <gtest/gtest.h>

#include <ostream>

#include "common/address.hpp"

namespace shoal::netlink {

// Readable failures: gtest prints these instead of bytes.
void PrintTo(const KernelRoute& k, std::ostream* os) {
    *os << k.dst.to_string() << " type " << static_cast<int>(k.type) << "/"
        << static_cast<int>(k.other_type) << (k.ours ? " ours" : " foreign") << " via "
        << ipv4_to_string(k.via) << " if " << k.ifindex;
}
void PrintTo(const RouteOp& op, std::ostream* os) {
    *os << "{kind " << static_cast<int>(op.kind) << ", ";
    PrintTo(op.route, os);
    *os << ", report " << (op.report ? std::to_string(*op.report) : "none") << ", \"" << op.message
        << "\"}";
}

}  // namespace shoal::netlink

using namespace shoal;
using namespace shoal::netlink;

namespace {

constexpr int kEth0 = 2;
constexpr int kEth1 = 3;
using Kind = RouteOp::Kind;

Ipv4Net net(const char* cidr) {
    return *parse_ipv4_net(cidr);
}
std::uint32_t ip(const char* a) {
    return *parse_ipv4(a);
}

const Ipv4Net kPod = net("10.244.0.0/16");

Route route(const char* dst, const char* via, int ifindex = kEth0) {
    return Route{net(dst), ip(via), ifindex};
}
KernelRoute ours(const char* dst, const char* via, int ifindex = kEth0) {
    return KernelRoute{.dst = net(dst), .ours = true, .via = ip(via), .ifindex = ifindex};
}
KernelRoute ours_unreachable(const char* dst) {
    return KernelRoute{.dst = net(dst), .type = RouteType::Unreachable, .ours = true};
}
KernelRoute foreign(const char* dst, const char* via) {
    return KernelRoute{.dst = net(dst), .via = ip(via), .ifindex = kEth0};
}

// A host with eth0 on 192.168.50.1/24 and the routes the kernel makes for it.
KernelView host(std::vector<KernelRoute> more = {}) {
    KernelView v;
    v.routes.push_back(KernelRoute{.dst = net("192.168.50.0/24"), .ifindex = kEth0});
    v.routes.insert(v.routes.end(), more.begin(), more.end());
    v.connected[kEth0] = {Ipv4Net{ip("192.168.50.1"), 24}};
    v.ifnames[kEth0] = "eth0";
    return v;
}

RoutePlan plan(const std::vector<Route>& desired, const KernelView& kernel,
               const std::optional<Ipv4Net>& unreachable = std::nullopt, bool delete_stale = true) {
    return plan_routes(desired, kernel, kPod, unreachable, delete_stale);
}

RouteOp add(const Route& r, std::size_t report, const std::string& message) {
    return RouteOp{Kind::Add,
                   KernelRoute{.dst = r.dst, .ours = true, .via = r.via, .ifindex = r.ifindex},
                   report, message};
}
RouteOp replace(const Route& r, std::size_t report, const std::string& message) {
    RouteOp op = add(r, report, message);
    op.kind = Kind::Replace;
    return op;
}

// The same message for an add and a replace, as before the planner existed.
RouteOp unreachable_op(Kind kind) {
    return RouteOp{kind, KernelRoute{.dst = kPod, .type = RouteType::Unreachable, .ours = true},
                   std::nullopt, "added unreachable route for 10.244.0.0/16"};
}

void expect_report(const RouteReport& rep, const Route& r, RouteState state,
                   const std::string& reason = "") {
    EXPECT_EQ(rep.route, r);
    EXPECT_EQ(rep.state, state) << to_string(rep.state);
    EXPECT_EQ(rep.reason, reason);
    EXPECT_FALSE(rep.changed);  // only the kernel's ack changes a route
}

// Counters: unchanged, conflicts, unroutable, refused; the kernel's are never set by a plan.
void expect_counts(const ReconcileResult& res, int unchanged, int conflicts, int unroutable,
                   int refused) {
    EXPECT_EQ(res.unchanged, unchanged);
    EXPECT_EQ(res.conflicts, conflicts);
    EXPECT_EQ(res.unroutable, unroutable);
    EXPECT_EQ(res.refused, refused);
    EXPECT_EQ(res.added + res.replaced + res.deleted + res.errors, 0);
}

}  // namespace

TEST(RoutePlan, AddsAMissingRoute) {
    Route r = route("10.244.2.0/24", "192.168.50.2");
    auto p = plan({r}, host());
    EXPECT_EQ(p.ops, std::vector<RouteOp>{
                         add(r, 0, "added route 10.244.2.0/24 via 192.168.50.2 dev eth0")});
    ASSERT_EQ(p.result.reports.size(), 1u);
    expect_report(p.result.reports[0], r, RouteState::Pending);
    expect_counts(p.result, 0, 0, 0, 0);
    EXPECT_TRUE(p.result.messages.empty());
}

TEST(RoutePlan, ReplacesOurRouteWithAWrongGateway) {
    Route r = route("10.244.2.0/24", "192.168.50.2");
    auto p = plan({r}, host({ours("10.244.2.0/24", "192.168.50.9")}));
    EXPECT_EQ(p.ops, std::vector<RouteOp>{
                         replace(r, 0, "replaced route 10.244.2.0/24 via 192.168.50.2 dev eth0")});
    expect_report(p.result.reports[0], r, RouteState::Pending);
    expect_counts(p.result, 0, 0, 0, 0);
}

TEST(RoutePlan, ReplacesOurRouteOnAWrongInterface) {
    Route r = route("10.244.2.0/24", "192.168.50.2");
    auto p = plan({r}, host({ours("10.244.2.0/24", "192.168.50.2", kEth1)}));
    EXPECT_EQ(p.ops, std::vector<RouteOp>{
                         replace(r, 0, "replaced route 10.244.2.0/24 via 192.168.50.2 dev eth0")});
}

TEST(RoutePlan, ReplacesOurUnreachableRouteWhereAUnicastIsWanted) {
    Route r = route("10.244.2.0/24", "192.168.50.2");
    auto p = plan({r}, host({ours_unreachable("10.244.2.0/24")}));
    EXPECT_EQ(p.ops, std::vector<RouteOp>{
                         replace(r, 0, "replaced route 10.244.2.0/24 via 192.168.50.2 dev eth0")});
}

TEST(RoutePlan, WithdrawsOurRoutesNobodyWantsAsTheKernelHasThem) {
    KernelRoute stale = ours("10.244.3.0/24", "192.168.50.3");
    KernelRoute old_cluster = ours_unreachable("10.245.0.0/16");
    KernelRoute blackhole{.dst = net("10.244.9.0/24"),
                          .type = RouteType::Other,
                          .other_type = 6,  // RTN_BLACKHOLE: a delete must name its type
                          .ours = true};
    auto p = plan({}, host({stale, blackhole, old_cluster}));
    // In prefix order, each with the type and next hop it has.
    EXPECT_EQ(p.ops, (std::vector<RouteOp>{
                         {Kind::Delete, stale, std::nullopt, "withdrew route 10.244.3.0/24"},
                         {Kind::Delete, blackhole, std::nullopt, "withdrew route 10.244.9.0/24"},
                         {Kind::Delete, old_cluster, std::nullopt, "withdrew route 10.245.0.0/16"},
                     }));
    EXPECT_TRUE(p.result.reports.empty());
    expect_counts(p.result, 0, 0, 0, 0);
}

// After a restart: what we installed before is adopted until the agent knows the cluster, and
// what is missing is added at once.
TEST(RoutePlan, KeepsStaleRoutesOfOursWhenNotDeleting) {
    Route r = route("10.244.2.0/24", "192.168.50.2");
    auto p =
        plan({r}, host({ours("10.244.3.0/24", "192.168.50.3"), ours_unreachable("10.245.0.0/16")}),
             std::nullopt, /*delete_stale=*/false);
    EXPECT_EQ(p.ops, std::vector<RouteOp>{
                         add(r, 0, "added route 10.244.2.0/24 via 192.168.50.2 dev eth0")});
    expect_report(p.result.reports[0], r, RouteState::Pending);
}

// ... but a route to a member the agent knows has left or died goes at once (issue 14, item 4:
// a leave right after our restart was withdrawn here only once armed, 2.7 s later).
TEST(RoutePlan, WithdrawsRoutesToDepartedMembersEvenWhenNotDeleting) {
    KernelRoute left = ours("10.244.3.0/24", "192.168.50.3");
    KernelRoute unknown = ours("10.244.4.0/24", "192.168.50.4");
    auto p = plan_routes({}, host({left, unknown}), kPod, std::nullopt, /*delete_stale=*/false,
                         {net("10.244.3.0/24")});
    EXPECT_EQ(
        p.ops,
        (std::vector<RouteOp>{{Kind::Delete, left, std::nullopt, "withdrew route 10.244.3.0/24"}}));
}

TEST(RoutePlan, NeverTouchesAForeignRoute) {
    auto p = plan(
        {route("10.244.2.0/24", "192.168.50.2")},
        host({ours("10.244.2.0/24", "192.168.50.2"), foreign("10.244.3.0/24", "192.168.50.3"),
              foreign("172.16.0.0/16", "192.168.50.7"), foreign("0.0.0.0/0", "192.168.50.254")}));
    EXPECT_TRUE(p.ops.empty());
    expect_counts(p.result, 1, 0, 0, 0);
}

TEST(RoutePlan, AForeignRouteWithADesiredPrefixIsAConflict) {
    Route r = route("10.244.5.0/24", "192.168.50.6");
    auto p = plan({r}, host({foreign("10.244.5.0/24", "192.168.50.5")}));
    EXPECT_TRUE(p.ops.empty());
    expect_report(p.result.reports[0], r, RouteState::Conflict,
                  "another route for 10.244.5.0/24 exists in this table (not ours; left alone)");
    expect_counts(p.result, 0, 1, 0, 0);
}

TEST(RoutePlan, ANextHopOffTheInterfacesNetworksIsNotRoutable) {
    KernelView kernel = host();
    kernel.connected[kEth0].push_back(Ipv4Net{ip("10.1.2.3"), 16});
    Route r = route("10.244.7.0/24", "10.9.9.9");
    Route second = route("10.244.8.0/24", "10.1.9.9");  // on eth0's second network
    auto p = plan({r, second}, kernel);
    expect_report(p.result.reports[0], r, RouteState::NotRoutable,
                  "next hop 10.9.9.9 is not on eth0's network (192.168.50.0/24, 10.1.0.0/16): "
                  "host-gw needs all hosts on one L2 segment");
    expect_report(p.result.reports[1], second, RouteState::Pending);
    EXPECT_EQ(p.ops, std::vector<RouteOp>{
                         add(second, 1, "added route 10.244.8.0/24 via 10.1.9.9 dev eth0")});
    expect_counts(p.result, 0, 0, 1, 0);
}

TEST(RoutePlan, AnInterfaceWithoutIpv4AddressIsNotRoutable) {
    KernelView kernel = host();
    kernel.ifnames[kEth1] = "eth1";
    Route named = route("10.244.2.0/24", "192.168.50.2", kEth1);
    Route unnamed = route("10.244.3.0/24", "192.168.50.3", 7);  // no such interface
    auto p = plan({named, unnamed}, kernel);
    EXPECT_TRUE(p.ops.empty());
    expect_report(p.result.reports[0], named, RouteState::NotRoutable, "eth1 has no IPv4 address");
    expect_report(p.result.reports[1], unnamed, RouteState::NotRoutable, "if7 has no IPv4 address");
    expect_counts(p.result, 0, 0, 2, 0);
}

TEST(RoutePlan, RefusesRoutesNotStrictlyInsideThePodNetwork) {
    std::vector<Route> desired{route("8.8.8.0/24", "192.168.50.2"),
                               route("10.0.0.0/8", "192.168.50.2"),
                               route("10.244.0.0/16", "192.168.50.2")};
    // Refused before anything else is looked at, a conflict included.
    auto p = plan(desired, host({foreign("8.8.8.0/24", "192.168.50.2")}));
    EXPECT_TRUE(p.ops.empty());
    for (std::size_t i = 0; i < desired.size(); ++i)
        expect_report(p.result.reports[i], desired[i], RouteState::Refused,
                      desired[i].dst.to_string() +
                          " is not inside the pod network 10.244.0.0/16; not installed");
    expect_counts(p.result, 0, 0, 0, 3);
}

TEST(RoutePlan, AddsTheUnreachableRouteWhenMissing) {
    auto p = plan({}, host(), kPod);
    EXPECT_EQ(p.ops, std::vector<RouteOp>{unreachable_op(Kind::Add)});
    expect_counts(p.result, 0, 0, 0, 0);
}

TEST(RoutePlan, ReplacesOurUnicastRouteForTheClusterNetworkWithTheUnreachableOne) {
    auto p = plan({}, host({ours("10.244.0.0/16", "192.168.50.2")}), kPod);
    EXPECT_EQ(p.ops, std::vector<RouteOp>{unreachable_op(Kind::Replace)});
}

TEST(RoutePlan, LeavesAForeignRouteForTheClusterNetworkAlone) {
    auto p = plan({}, host({foreign("10.244.0.0/16", "192.168.50.9")}), kPod);
    EXPECT_TRUE(p.ops.empty());
    EXPECT_EQ(p.result.messages,
              std::vector<std::string>{"a foreign route for the cluster network 10.244.0.0/16 "
                                       "exists; not adding the unreachable route"});
}

TEST(RoutePlan, NothingToDoWhenAllIsInPlace) {
    std::vector<Route> desired{route("10.244.2.0/24", "192.168.50.2"),
                               route("10.244.3.0/24", "192.168.50.3")};
    auto p =
        plan(desired,
             host({ours("10.244.2.0/24", "192.168.50.2"), ours("10.244.3.0/24", "192.168.50.3"),
                   ours_unreachable("10.244.0.0/16"), foreign("0.0.0.0/0", "192.168.50.254")}),
             kPod);
    EXPECT_TRUE(p.ops.empty());
    for (std::size_t i = 0; i < desired.size(); ++i)
        expect_report(p.result.reports[i], desired[i], RouteState::Installed);
    expect_counts(p.result, 2, 0, 0, 0);
    EXPECT_TRUE(p.result.messages.empty());
}

// The order the requests go out in, which is the order of the log lines: desired routes as
// asked, then the unreachable route, then withdrawals.
TEST(RoutePlan, SendsDesiredRoutesThenTheUnreachableRouteThenWithdrawals) {
    Route a = route("10.244.4.0/24", "192.168.50.4");
    Route b = route("10.244.2.0/24", "192.168.50.2");
    KernelRoute stale = ours("10.244.1.0/24", "192.168.50.1");
    auto p = plan({a, b}, host({stale, ours("10.244.2.0/24", "192.168.50.9")}), kPod);
    ASSERT_EQ(p.ops.size(), 4u);
    EXPECT_EQ(p.ops[0], add(a, 0, "added route 10.244.4.0/24 via 192.168.50.4 dev eth0"));
    EXPECT_EQ(p.ops[1], replace(b, 1, "replaced route 10.244.2.0/24 via 192.168.50.2 dev eth0"));
    EXPECT_EQ(p.ops[2].message, "added unreachable route for 10.244.0.0/16");
    EXPECT_EQ(p.ops[3],
              (RouteOp{Kind::Delete, stale, std::nullopt, "withdrew route 10.244.1.0/24"}));
}

// ---- IPv6 (dual stack): the same rules, planned by the same code ---------------------------

namespace {

Ipv6Net net6(const char* cidr) {
    return *parse_ipv6_net(cidr);
}
Ipv6Addr ip6(const char* a) {
    return *parse_ipv6(a);
}
const Ipv6Net kPod6 = net6("fd00:244::/56");

// eth0 with fd10::1/64 (the segment) and its link-local address, which routes nothing here.
KernelView6 host6(std::vector<KernelRoute6> more = {}) {
    KernelView6 k;
    k.routes = std::move(more);
    k.connected[kEth0] = {Ipv6Net{ip6("fd10::1"), 64}, Ipv6Net{ip6("fe80::1"), 64}};
    k.ifnames[kEth0] = "eth0";
    return k;
}

}  // namespace

TEST(RoutePlan6, AddsAMissingRouteViaThePeersAddressOnTheSegment) {
    Route6 want{net6("fd00:244:0:5::/64"), ip6("fd10::5"), kEth0};
    auto plan = plan_routes(std::vector{want}, host6(), kPod6, std::nullopt, true);
    ASSERT_EQ(plan.ops.size(), 1u);
    EXPECT_EQ(plan.ops[0].kind, RouteOp6::Kind::Add);
    EXPECT_EQ(plan.ops[0].route.via, want.via);
    EXPECT_EQ(plan.ops[0].message, "added route fd00:244:0:5::/64 via fd10::5 dev eth0");
}

TEST(RoutePlan6, ANextHopOffTheSegmentIsNotRoutableAndOutsideThePodNetworkIsRefused) {
    std::vector<Route6> want{{net6("fd00:244:0:5::/64"), ip6("fd11::5"), kEth0},
                             {net6("fd00:245::/64"), ip6("fd10::5"), kEth0}};
    auto plan = plan_routes(want, host6(), kPod6, std::nullopt, true);
    EXPECT_TRUE(plan.ops.empty());
    ASSERT_EQ(plan.result.reports.size(), 2u);
    EXPECT_EQ(plan.result.reports[0].state, RouteState::NotRoutable);
    EXPECT_NE(plan.result.reports[0].reason.find("fd10::/64"), std::string::npos)
        << plan.result.reports[0].reason;
    EXPECT_EQ(plan.result.reports[1].state, RouteState::Refused);
    KernelView6 bare = host6();
    bare.connected.clear();
    auto none = plan_routes(std::vector{want[0]}, bare, kPod6, std::nullopt, true);
    EXPECT_EQ(none.result.reports[0].reason, "eth0 has no IPv6 address");
}

TEST(RoutePlan6, KeepsTheUnreachableRouteAndWithdrawsStaleOnesButNeverForeignOnes) {
    KernelRoute6 stale{
        .dst = net6("fd00:244:0:9::/64"), .ours = true, .via = ip6("fd10::9"), .ifindex = kEth0};
    KernelRoute6 theirs{.dst = net6("fd00:244:0:7::/64"), .via = ip6("fd10::7"), .ifindex = kEth0};
    std::vector<Route6> want{{net6("fd00:244:0:7::/64"), ip6("fd10::8"), kEth0}};
    auto plan = plan_routes(want, host6({stale, theirs}), kPod6, kPod6, true);
    ASSERT_EQ(plan.ops.size(), 2u);
    EXPECT_EQ(plan.ops[0].kind, RouteOp6::Kind::Add);
    EXPECT_EQ(plan.ops[0].route.type, RouteType::Unreachable);
    EXPECT_EQ(plan.ops[0].route.dst, kPod6);
    EXPECT_EQ(plan.ops[1].kind, RouteOp6::Kind::Delete);
    EXPECT_EQ(plan.ops[1].route, stale);
    EXPECT_EQ(plan.result.reports[0].state, RouteState::Conflict);
}

// A VXLAN peer's route: its next hop (the peer's VTEP address) is on no network of the device,
// and needs none: `onlink` skips that check and goes to the kernel; a route of ours that lacks
// the flag is replaced.
TEST(RoutePlan, AnOnlinkRouteSkipsTheSegmentCheckAndCarriesTheFlag) {
    Route want = route("10.244.7.0/24", "10.244.7.0", kEth1);
    want.onlink = true;
    auto plan = plan_routes(std::vector{want}, host(), kPod, std::nullopt, true);
    ASSERT_EQ(plan.ops.size(), 1u);
    EXPECT_TRUE(plan.ops[0].route.onlink);
    EXPECT_NE(plan.ops[0].message.find(" onlink"), std::string::npos) << plan.ops[0].message;
    KernelRoute plain = ours("10.244.7.0/24", "10.244.7.0", kEth1);
    auto fix = plan_routes(std::vector{want}, host({plain}), kPod, std::nullopt, true);
    ASSERT_EQ(fix.ops.size(), 1u);
    EXPECT_EQ(fix.ops[0].kind, Kind::Replace);
    plain.onlink = true;
    EXPECT_TRUE(
        plan_routes(std::vector{want}, host({plain}), kPod, std::nullopt, true).ops.empty());
}
