// The reconciler against the real kernel, in a private network namespace per test process:
// nothing outside it is touched, and the namespace disappears with the process, also on failure.
#include "netlink/route_reconciler.hpp"

#include "common/address.hpp"

#include <gtest/gtest.h>
#include <net/if.h>
#include <sched.h>

#include <string>

#include "shell.hpp"

using namespace shoal;
using namespace shoal::netlink;

namespace {

using shoal::test::run;

Ipv4Net net(const char* cidr) {
    return *parse_ipv4_net(cidr);
}
std::uint32_t ip(const char* a) {
    return *parse_ipv4(a);
}

class Reconciler : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(::unshare(CLONE_NEWNET), 0)
            << "needs root (CAP_SYS_ADMIN) for a network namespace";
        // A host with eth0 on 192.168.50.0/24, as on the L2 segment the cluster shares.
        ASSERT_EQ(run("ip link set lo up && ip link add eth0 type veth peer name peer0 && "
                      "ip addr add 192.168.50.1/24 dev eth0 && ip link set eth0 up && "
                      "ip link set peer0 up"),
                  "");
        eth0 = static_cast<int>(if_nametoindex("eth0"));
        ASSERT_GT(eth0, 0);
        auto opened = rec.open();
        ASSERT_TRUE(opened) << opened.error();
    }
    Route route(const char* dst, const char* via) { return Route{net(dst), ip(via), eth0}; }
    std::string routes() { return run("ip -4 route show table main"); }

    int eth0 = 0;
    RouteReconciler rec{net("10.244.0.0/16")};
};

}  // namespace

TEST_F(Reconciler, InstallsMissingRoutesWithItsOwnProtocol) {
    auto r = rec.reconcile(
        {route("10.244.2.0/24", "192.168.50.2"), route("10.244.3.0/24", "192.168.50.3")},
        std::nullopt);
    EXPECT_EQ(r.added, 2);
    EXPECT_EQ(r.errors, 0);
    std::string shown = run("ip -4 route show proto 77");
    EXPECT_NE(shown.find("10.244.2.0/24 via 192.168.50.2 dev eth0"), std::string::npos) << shown;
    EXPECT_NE(shown.find("10.244.3.0/24 via 192.168.50.3 dev eth0"), std::string::npos) << shown;
    EXPECT_EQ(rec.own_routes().size(), 2u);
    for (const auto& rep : r.reports) EXPECT_EQ(rep.state, RouteState::Installed);
    // A second pass changes nothing.
    auto again = rec.reconcile(
        {route("10.244.2.0/24", "192.168.50.2"), route("10.244.3.0/24", "192.168.50.3")},
        std::nullopt);
    EXPECT_EQ(again.added + again.replaced + again.deleted, 0);
    EXPECT_EQ(again.unchanged, 2);
}

TEST_F(Reconciler, ReplacesAWrongGatewayAndWithdrawsWhatIsNoLongerWanted) {
    rec.reconcile({route("10.244.2.0/24", "192.168.50.2"), route("10.244.3.0/24", "192.168.50.3")},
                  std::nullopt);
    auto r = rec.reconcile({route("10.244.2.0/24", "192.168.50.9")}, std::nullopt);
    EXPECT_EQ(r.replaced, 1);
    EXPECT_EQ(r.deleted, 1);
    std::string shown = run("ip -4 route show proto 77");
    EXPECT_NE(shown.find("10.244.2.0/24 via 192.168.50.9"), std::string::npos) << shown;
    EXPECT_EQ(shown.find("10.244.3.0/24"), std::string::npos) << shown;
    rec.reconcile({}, std::nullopt);
    EXPECT_EQ(run("ip -4 route show proto 77"), "");
}

// After a restart the agent does not know the cluster yet: what it installed before stays, what
// is missing is added, and the next pass that may delete withdraws what is still unwanted.
TEST_F(Reconciler, KeepsStaleRoutesWhenNotDeleting) {
    auto cluster = net("10.244.0.0/16");
    rec.reconcile({route("10.244.2.0/24", "192.168.50.2"), route("10.244.3.0/24", "192.168.50.3")},
                  cluster);
    auto r = rec.reconcile({route("10.244.4.0/24", "192.168.50.4")}, cluster,
                           /*delete_stale=*/false);
    EXPECT_EQ(r.added, 1);
    EXPECT_EQ(r.deleted, 0);
    EXPECT_EQ(r.errors, 0);
    ASSERT_EQ(r.reports.size(), 1u);
    EXPECT_EQ(r.reports[0].state, RouteState::Installed);
    std::string shown = run("ip -4 route show proto 77");
    EXPECT_NE(shown.find("10.244.2.0/24 via 192.168.50.2"), std::string::npos) << shown;
    EXPECT_NE(shown.find("10.244.3.0/24 via 192.168.50.3"), std::string::npos) << shown;
    EXPECT_NE(shown.find("10.244.4.0/24 via 192.168.50.4"), std::string::npos) << shown;
    EXPECT_NE(shown.find("unreachable 10.244.0.0/16"), std::string::npos) << shown;
    auto armed = rec.reconcile({route("10.244.4.0/24", "192.168.50.4")}, cluster);
    EXPECT_EQ(armed.deleted, 2);
    EXPECT_EQ(armed.unchanged, 1);
    shown = run("ip -4 route show proto 77");
    EXPECT_EQ(shown.find("10.244.2.0/24"), std::string::npos) << shown;
    EXPECT_EQ(shown.find("10.244.3.0/24"), std::string::npos) << shown;
}

TEST_F(Reconciler, NeverTouchesOtherRoutesAndReportsConflicts) {
    ASSERT_EQ(run("ip route add 10.244.5.0/24 via 192.168.50.5 proto static && "
                  "ip route add 172.16.0.0/16 via 192.168.50.7"),
              "");
    auto r = rec.reconcile(
        {route("10.244.5.0/24", "192.168.50.6"), route("10.244.6.0/24", "192.168.50.6")},
        std::nullopt);
    EXPECT_EQ(r.conflicts, 1);
    EXPECT_EQ(r.added, 1);
    EXPECT_EQ(r.reports[0].state, RouteState::Conflict);
    EXPECT_NE(r.reports[0].reason.find("left alone"), std::string::npos);
    rec.reconcile({}, std::nullopt);  // withdraw everything of ours
    std::string shown = routes();
    EXPECT_NE(shown.find("10.244.5.0/24 via 192.168.50.5 dev eth0 proto static"), std::string::npos)
        << shown;
    EXPECT_NE(shown.find("172.16.0.0/16 via 192.168.50.7"), std::string::npos) << shown;
    EXPECT_EQ(shown.find("10.244.6.0/24"), std::string::npos) << shown;
}

TEST_F(Reconciler, NextHopsOffTheSegmentAreNotRoutable) {
    auto r = rec.reconcile({route("10.244.7.0/24", "10.9.9.9")}, std::nullopt);
    EXPECT_EQ(r.unroutable, 1);
    EXPECT_EQ(r.added, 0);
    EXPECT_EQ(r.reports[0].state, RouteState::NotRoutable);
    EXPECT_NE(r.reports[0].reason.find("not on eth0's network (192.168.50.0/24)"),
              std::string::npos)
        << r.reports[0].reason;
    EXPECT_EQ(run("ip -4 route show proto 77"), "");
}

// Whatever the core asks for, nothing outside the pod network reaches the kernel: an
// announcement claiming slot 16628487 once made every host route 8.8.8.0/24 to the claimant.
TEST_F(Reconciler, RoutesOutsideThePodNetworkAreRefused) {
    auto r =
        rec.reconcile({route("8.8.8.0/24", "192.168.50.2"), route("10.244.0.0/16", "192.168.50.2"),
                       route("10.0.0.0/8", "192.168.50.2"), route("10.244.2.0/24", "192.168.50.2")},
                      net("10.244.0.0/16"));
    EXPECT_EQ(r.refused, 3);
    EXPECT_EQ(r.added, 1);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(r.reports[i].state, RouteState::Refused) << i;
        EXPECT_NE(r.reports[i].reason.find("not inside the pod network 10.244.0.0/16"),
                  std::string::npos)
            << r.reports[i].reason;
    }
    EXPECT_EQ(r.reports[3].state, RouteState::Installed);
    std::string shown = run("ip -4 route show proto 77");
    EXPECT_EQ(shown.find("8.8.8.0"), std::string::npos) << shown;
    EXPECT_EQ(shown.find("10.0.0.0/8"), std::string::npos) << shown;
    EXPECT_EQ(shown.find("10.244.0.0/16 via"), std::string::npos) << shown;
    EXPECT_EQ(std::string(to_string(RouteState::Refused)), "refused");
}

TEST_F(Reconciler, WithdrawnSubnetsFailFastThroughTheUnreachableRoute) {
    ASSERT_EQ(run("ip route add default via 192.168.50.254"), "");
    auto cluster = net("10.244.0.0/16");
    rec.reconcile({route("10.244.2.0/24", "192.168.50.2")}, cluster);
    EXPECT_NE(run("ip -4 route show proto 77").find("unreachable 10.244.0.0/16"),
              std::string::npos);
    EXPECT_NE(run("ip route get 10.244.2.10").find("via 192.168.50.2"), std::string::npos);
    // The peer's route is withdrawn: its subnet must not leak to the default gateway.
    rec.reconcile({}, cluster);
    std::string got = run("ip route get 10.244.2.10");
    EXPECT_NE(got.find("No route to host"), std::string::npos) << got;
    EXPECT_EQ(got.find("192.168.50.254"), std::string::npos) << got;
    // Without a cluster network, the unreachable route goes too.
    rec.reconcile({}, std::nullopt);
    EXPECT_EQ(run("ip -4 route show proto 77"), "");
}

TEST_F(Reconciler, RoutesDeletedByHandAreRestoredByTheNextPass) {
    rec.reconcile({route("10.244.2.0/24", "192.168.50.2")}, std::nullopt);
    ASSERT_EQ(run("ip route del 10.244.2.0/24"), "");
    auto r = rec.reconcile({route("10.244.2.0/24", "192.168.50.2")}, std::nullopt);
    EXPECT_EQ(r.added, 1);
    EXPECT_NE(run("ip -4 route show proto 77").find("10.244.2.0/24"), std::string::npos);
}

TEST_F(Reconciler, TurnsOnForwarding) {
    ASSERT_EQ(run("sysctl -qw net.ipv4.ip_forward=0"), "");
    auto changed = ensure_ipv4_forwarding();
    ASSERT_TRUE(changed) << changed.error();
    EXPECT_TRUE(*changed);
    EXPECT_EQ(run("sysctl -n net.ipv4.ip_forward"), "1\n");
    auto again = ensure_ipv4_forwarding();
    ASSERT_TRUE(again) << again.error();
    EXPECT_FALSE(*again);
}

TEST_F(Reconciler, ManyRoutesGoInBatchesAndComeOutAgain) {
    std::vector<Route> many;
    for (std::uint32_t i = 0; i < 600; ++i)
        many.push_back(
            Route{Ipv4Net{(10u << 24) | (244u << 16) | (i << 4), 28}, ip("192.168.50.2"), eth0});
    auto r = rec.reconcile(many, std::nullopt);
    EXPECT_EQ(r.added, 600);
    EXPECT_EQ(r.errors, 0);
    EXPECT_EQ(rec.own_routes().size(), 600u);
    for (const auto& rep : r.reports) EXPECT_EQ(rep.state, RouteState::Installed);
    auto gone = rec.reconcile({}, std::nullopt);
    EXPECT_EQ(gone.deleted, 600);
    EXPECT_TRUE(rec.own_routes().empty());
}

TEST_F(Reconciler, KernelRefusalsAreReportedPerRoute) {
    // With eth0 down its connected route is gone: the kernel refuses the gateway.
    ASSERT_EQ(run("ip link set eth0 down"), "");
    auto r = rec.reconcile({route("10.244.2.0/24", "192.168.50.2")}, std::nullopt);
    EXPECT_EQ(r.errors, 1);
    EXPECT_EQ(r.added, 0);
    EXPECT_EQ(r.reports[0].state, RouteState::Pending);
    EXPECT_NE(r.reports[0].reason.find("failed"), std::string::npos) << r.reports[0].reason;
    // Back up: the next pass installs it.
    ASSERT_EQ(run("ip link set eth0 up"), "");
    EXPECT_EQ(rec.reconcile({route("10.244.2.0/24", "192.168.50.2")}, std::nullopt).added, 1);
}

// Dual stack: the IPv6 reconciler in the same namespace, with the same rules, and IPv4's
// reconciler never touching an IPv6 route (nor the other way round).
TEST_F(Reconciler, Ipv6RoutesAreReconciledBesideIpv4Ones) {
    // nodad: the address is usable at once (no duplicate address detection on a private link).
    ASSERT_EQ(run("ip -6 addr add fd10::1/64 dev eth0 nodad"), "");
    Route6Reconciler rec6{*parse_ipv6_net("fd00:244::/56")};
    auto opened = rec6.open();
    ASSERT_TRUE(opened) << opened.error();
    auto r6 = [&](const char* dst, const char* via) {
        return Route6{*parse_ipv6_net(dst), *parse_ipv6(via), eth0};
    };
    rec.reconcile({route("10.244.2.0/24", "192.168.50.2")}, net("10.244.0.0/16"));
    auto res =
        rec6.reconcile({r6("fd00:244:0:2::/64", "fd10::2"), r6("fd00:244:0:3::/64", "fd11::3")},
                       *parse_ipv6_net("fd00:244::/56"));
    EXPECT_EQ(res.added, 1);
    EXPECT_EQ(res.errors, 0);
    EXPECT_EQ(res.reports[1].state, RouteState::NotRoutable);
    std::string shown = run("ip -6 route show proto 77");
    EXPECT_NE(shown.find("fd00:244:0:2::/64 via fd10::2 dev eth0"), std::string::npos) << shown;
    EXPECT_NE(shown.find("unreachable fd00:244::/56"), std::string::npos) << shown;
    EXPECT_EQ(rec6.own_routes().size(), 1u);
    auto again =
        rec6.reconcile({r6("fd00:244:0:2::/64", "fd10::2")}, *parse_ipv6_net("fd00:244::/56"));
    EXPECT_EQ(again.added + again.replaced + again.deleted, 0) << "a second pass changes nothing";
    // Each family's pass leaves the other's routes alone.
    rec.reconcile({}, std::nullopt);
    EXPECT_NE(run("ip -6 route show proto 77").find("fd00:244:0:2::/64"), std::string::npos);
    rec6.reconcile({r6("fd00:244:0:2::/64", "fd10::2")}, *parse_ipv6_net("fd00:244::/56"));
    rec.reconcile({route("10.244.2.0/24", "192.168.50.2")}, std::nullopt);
    rec6.reconcile({}, std::nullopt);
    EXPECT_EQ(run("ip -6 route show proto 77"), "");
    EXPECT_NE(run("ip -4 route show proto 77").find("10.244.2.0/24"), std::string::npos);
    // Deleted by hand: put back by the next pass.
    rec6.reconcile({r6("fd00:244:0:2::/64", "fd10::2")}, std::nullopt);
    ASSERT_EQ(run("ip -6 route del fd00:244:0:2::/64"), "");
    auto back = rec6.reconcile({r6("fd00:244:0:2::/64", "fd10::2")}, std::nullopt);
    EXPECT_EQ(back.added, 1);
}

TEST_F(Reconciler, Ipv6ForwardingKeepsRouterAdvertisements) {
    ASSERT_EQ(run("sysctl -qw net.ipv6.conf.eth0.accept_ra=1 net.ipv6.conf.peer0.accept_ra=0 "
                  "net.ipv6.conf.all.forwarding=0"),
              "");
    auto done = ensure_ipv6_forwarding("eth0");
    ASSERT_TRUE(done) << done.error();
    EXPECT_TRUE(done->forwarding);
    EXPECT_TRUE(done->accept_ra);
    EXPECT_EQ(run("sysctl -n net.ipv6.conf.all.forwarding net.ipv6.conf.eth0.accept_ra "
                  "net.ipv6.conf.peer0.accept_ra"),
              "1\n2\n0\n");
    auto again = ensure_ipv6_forwarding("peer0");  // accept_ra 0: the operator's; left alone
    ASSERT_TRUE(again) << again.error();
    EXPECT_FALSE(again->forwarding);
    EXPECT_FALSE(again->accept_ra);
    EXPECT_EQ(run("sysctl -n net.ipv6.conf.peer0.accept_ra"), "0\n");
}
