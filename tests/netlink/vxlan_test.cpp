// shoal's VXLAN device and its peers' static entries against the real kernel, in a private
// network namespace per test process.
#include <gtest/gtest.h>
#include <net/if.h>
#include <sched.h>

#include <string>

#include "netlink/route_reconciler.hpp"
#include "netlink/vxlan_device.hpp"
#include "netlink/vxlan_peers.hpp"
#include "shell.hpp"

using namespace shoal;
using namespace shoal::netlink;

namespace {

using shoal::test::run;

std::string lines(const std::vector<std::string>& messages) {
    std::string out;
    for (const auto& m : messages) out += m + "\n";
    return out;
}

class Vxlan : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(::unshare(CLONE_NEWNET), 0)
            << "needs root (CAP_SYS_ADMIN) for a network namespace";
        ASSERT_EQ(run("ip link set lo up && ip link add eth0 type veth peer name peer0 && "
                      "ip addr add 192.168.1.10/24 dev eth0 && ip link set eth0 up && "
                      "ip link set peer0 up"),
                  "");
        spec.underlay = static_cast<int>(if_nametoindex("eth0"));
        ASSERT_GT(spec.underlay, 0);
    }
    VxlanSpec spec{.name = "shoal.1",
                   .vni = 1,
                   .port = 8472,
                   .local = 0xc0a8010a,  // 192.168.1.10
                   .underlay = 0,
                   .mtu = 1450,
                   .mac = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55},
                   .address = 0x0af40500};  // 10.244.5.0
    VxlanDevice dev;
};

}  // namespace

TEST_F(Vxlan, TheDeviceIsMadeWithFlannelsSettingsAndKeptAsItIs) {
    auto made = dev.ensure(spec);
    ASSERT_TRUE(made) << made.error();
    EXPECT_EQ(*made, VxlanDevice::Outcome::Created);
    std::string shown = run("ip -d link show shoal.1");
    EXPECT_NE(shown.find("vxlan id 1 local 192.168.1.10 dev eth0"), std::string::npos) << shown;
    EXPECT_NE(shown.find("dstport 8472"), std::string::npos) << shown;
    EXPECT_NE(shown.find("nolearning"), std::string::npos) << shown;
    EXPECT_NE(shown.find("mtu 1450"), std::string::npos) << shown;
    EXPECT_NE(shown.find("link/ether 02:11:22:33:44:55"), std::string::npos) << shown;
    EXPECT_NE(shown.find("state UNKNOWN"), std::string::npos) << shown;  // up
    EXPECT_NE(run("ip -4 addr show dev shoal.1").find("inet 10.244.5.0/32"), std::string::npos);
    auto again = dev.ensure(spec);
    ASSERT_TRUE(again) << again.error();
    EXPECT_EQ(*again, VxlanDevice::Outcome::Unchanged);

    // Changed by someone else: put right in place (MTU, address, down) or made again (VNI).
    ASSERT_EQ(run("ip link set shoal.1 mtu 1400 down && ip addr flush dev shoal.1"), "");
    auto fixed = dev.ensure(spec);
    ASSERT_TRUE(fixed) << fixed.error();
    EXPECT_EQ(*fixed, VxlanDevice::Outcome::Changed);
    shown = run("ip -d link show shoal.1");
    EXPECT_NE(shown.find("mtu 1450"), std::string::npos) << shown;
    EXPECT_NE(run("ip -4 addr show dev shoal.1").find("inet 10.244.5.0/32"), std::string::npos);
    VxlanSpec other = spec;
    other.vni = 7;
    auto remade = dev.ensure(other);
    ASSERT_TRUE(remade) << remade.error();
    EXPECT_EQ(*remade, VxlanDevice::Outcome::Created);
    EXPECT_NE(run("ip -d link show shoal.1").find("vxlan id 7 "), std::string::npos);

    ASSERT_TRUE(dev.remove("shoal.1"));
    EXPECT_FALSE(VxlanDevice::index("shoal.1"));
    EXPECT_TRUE(dev.remove("shoal.1")) << "a missing device is no error";
}

TEST_F(Vxlan, SomeoneElsesDeviceOfThatNameIsNeverTouched) {
    ASSERT_EQ(run("ip link add shoal.1 type vxlan id 1 dstport 8472 dev eth0"), "");
    auto refused = dev.ensure(spec);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().find("is not shoal's"), std::string::npos) << refused.error();
    EXPECT_TRUE(dev.remove("shoal.1"));
    EXPECT_TRUE(VxlanDevice::index("shoal.1")) << "not ours: not deleted";
}

TEST_F(Vxlan, PeersGetAStaticNeighbourAndForwardingEntryAndNothingElseStays) {
    ASSERT_TRUE(dev.ensure(spec));
    int ifindex = *VxlanDevice::index("shoal.1");
    // 10.244.7.0 at 192.168.2.7; b dual stack, its IPv6 subnet's network address fd00:244:0:8::.
    const VxlanPeer a{0x0af40700, {0x02, 0, 0, 0, 0, 0x07}, 0xc0a80207, std::nullopt};
    const VxlanPeer b{
        0x0af40800, {0x02, 0, 0, 0, 0, 0x08}, 0xc0a80208, parse_ipv6("fd00:244:0:8::")};
    auto res = reconcile_vxlan_peers(ifindex, {a, b});
    EXPECT_EQ(res.errors, 0) << lines(res.messages);
    EXPECT_EQ(res.added, 5);
    std::string neigh = run("ip neigh show dev shoal.1");
    EXPECT_NE(neigh.find("10.244.7.0 lladdr 02:00:00:00:00:07 PERMANENT"), std::string::npos)
        << neigh;
    std::string neigh6 = run("ip -6 neigh show dev shoal.1");
    EXPECT_NE(neigh6.find("fd00:244:0:8:: lladdr 02:00:00:00:00:08 PERMANENT"), std::string::npos)
        << neigh6;
    std::string fdb = run("bridge fdb show dev shoal.1");
    EXPECT_NE(fdb.find("02:00:00:00:00:07 dst 192.168.2.7 self permanent"), std::string::npos)
        << fdb;
    auto again = reconcile_vxlan_peers(ifindex, {a, b});
    EXPECT_EQ(again.added + again.removed + again.errors, 0);

    // b leaves; an entry someone added by hand goes too (the device is ours). A neighbour entry
    // the kernel would have learned (not permanent) is its own and stays.
    ASSERT_EQ(run("bridge fdb append 02:00:00:00:00:09 dev shoal.1 dst 192.168.2.9"), "");
    ASSERT_EQ(run("ip -6 neigh add fd00:244:0:9::5 lladdr 02:00:00:00:00:09 dev shoal.1 nud stale"),
              "");
    auto gone = reconcile_vxlan_peers(ifindex, {a});
    EXPECT_EQ(gone.errors, 0) << lines(gone.messages);
    EXPECT_EQ(gone.removed, 4) << lines(gone.messages);
    neigh6 = run("ip -6 neigh show dev shoal.1");
    EXPECT_EQ(neigh6.find("fd00:244:0:8::"), std::string::npos) << neigh6;
    EXPECT_NE(neigh6.find("fd00:244:0:9::5"), std::string::npos) << neigh6;
    fdb = run("bridge fdb show dev shoal.1");
    EXPECT_EQ(fdb.find("02:00:00:00:00:08"), std::string::npos) << fdb;
    EXPECT_EQ(fdb.find("02:00:00:00:00:09"), std::string::npos) << fdb;
    EXPECT_NE(fdb.find("02:00:00:00:00:07"), std::string::npos) << fdb;
    EXPECT_EQ(run("ip neigh show dev shoal.1").find("10.244.8.0"), std::string::npos);

    // Deleted by hand: put back.
    ASSERT_EQ(run("ip neigh del 10.244.7.0 dev shoal.1"), "");
    auto back = reconcile_vxlan_peers(ifindex, {a});
    EXPECT_EQ(back.added, 1);

    // The route through the device: onlink, via the peer's VTEP address.
    RouteReconciler routes{*parse_ipv4_net("10.244.0.0/16")};
    ASSERT_TRUE(routes.open());
    auto r = routes.reconcile({Route{*parse_ipv4_net("10.244.7.0/24"), 0x0af40700, ifindex, true}},
                              std::nullopt);
    EXPECT_EQ(r.added, 1) << lines(r.messages);
    EXPECT_NE(run("ip route show proto 77").find("10.244.7.0/24 via 10.244.7.0 dev shoal.1 onlink"),
              std::string::npos)
        << run("ip route show proto 77");
    auto same = routes.reconcile(
        {Route{*parse_ipv4_net("10.244.7.0/24"), 0x0af40700, ifindex, true}}, std::nullopt);
    EXPECT_EQ(same.unchanged, 1) << "the onlink flag reads back as written";

    // Dual stack: b's IPv6 subnet through the same device, onlink via its IPv6 VTEP address.
    ASSERT_EQ(reconcile_vxlan_peers(ifindex, {a, b}).added, 3);
    Route6Reconciler routes6{*parse_ipv6_net("fd00:244::/56")};
    ASSERT_TRUE(routes6.open());
    const Route6 r6{*parse_ipv6_net("fd00:244:0:8::/64"), *parse_ipv6("fd00:244:0:8::"), ifindex,
                    true};
    auto added6 = routes6.reconcile({r6}, std::nullopt);
    EXPECT_EQ(added6.added, 1) << lines(added6.messages);
    std::string shown6 = run("ip -6 route show proto 77");
    EXPECT_NE(shown6.find("fd00:244:0:8::/64 via fd00:244:0:8:: dev shoal.1"), std::string::npos)
        << shown6;
    EXPECT_NE(shown6.find("onlink"), std::string::npos) << shown6;
    EXPECT_EQ(routes6.reconcile({r6}, std::nullopt).unchanged, 1);
}
