#include "agent/cni_conf.hpp"

#include <gtest/gtest.h>

using namespace shoal;

namespace {
NetworkConfig config(NetworkSettings s) {
    return *NetworkConfig::make(s);
}
}  // namespace

// The e2e test feeds the written conflist to the real bridge plugin; this pins its content.
TEST(CniConf, BridgeWithHostLocalOverTheNodesSubnet) {
    auto text = agent::render_cni_conflist(config({"10.42.0.0/16"}), 2, 1450, true);
    EXPECT_NE(text.find("\"type\": \"bridge\""), std::string::npos);
    EXPECT_NE(text.find("\"isGateway\": true"), std::string::npos);
    EXPECT_NE(text.find("\"mtu\": 1450"), std::string::npos);
    EXPECT_NE(text.find("\"type\": \"host-local\""), std::string::npos);
    EXPECT_NE(text.find("{\"subnet\": \"10.42.3.0/24\", \"gateway\": \"10.42.3.1\"}"),
              std::string::npos);
    EXPECT_EQ(text.find("::/0"), std::string::npos);
}

// Dual stack: a range per family (host-local gives a pod one address from each) and a default
// route per family; IPv4 only without ipv6-network.
TEST(CniConf, DualStackSettingsGiveARangeAndARoutePerFamily) {
    auto text = agent::render_cni_conflist(config({"10.42.0.0/16", 24, "", "", "fd00:42::/56", 64}),
                                           4, 1500, true);
    EXPECT_NE(
        text.find("\"ranges\": [[{\"subnet\": \"10.42.5.0/24\", \"gateway\": \"10.42.5.1\"}], "
                  "[{\"subnet\": \"fd00:42:0:5::/64\", \"gateway\": \"fd00:42:0:5::1\"}]]"),
        std::string::npos)
        << text;
    EXPECT_NE(text.find("\"routes\": [{\"dst\": \"0.0.0.0/0\"}, {\"dst\": \"::/0\"}]"),
              std::string::npos)
        << text;
    auto v4 = agent::render_cni_conflist(config({"10.42.0.0/16"}), 4, 1500, true);
    EXPECT_EQ(v4.find("::/0"), std::string::npos) << v4;
}

// The bridge plugin's masquerade would also rewrite pod-to-pod traffic between hosts: it is on
// only when shoal does not masquerade itself (ip-masq off).
TEST(CniConf, TheBridgePluginMasqueradesOnlyWhenShoalDoesNot) {
    auto ours = agent::render_cni_conflist(config({"10.42.0.0/16"}), 2, 1450, true);
    EXPECT_NE(ours.find("\"ipMasq\": false"), std::string::npos) << ours;
    auto plugin = agent::render_cni_conflist(config({"10.42.0.0/16"}), 2, 1450, false);
    EXPECT_NE(plugin.find("\"ipMasq\": true"), std::string::npos) << plugin;
}

TEST(CniConf, WithoutASubnetTheConflistNamesAPluginThatDoesNotExist) {
    auto text = agent::render_cni_conflist_without_subnet("lost 10.42.3.0/24 to \"h1\"\n");
    EXPECT_NE(text.find("\"name\": \"shoal\""), std::string::npos);
    EXPECT_NE(text.find(std::string("\"type\": \"") + agent::kNoSubnetPlugin + "\""),
              std::string::npos);
    EXPECT_EQ(text.find("bridge"), std::string::npos);
    EXPECT_EQ(text.find("host-local"), std::string::npos);
    EXPECT_NE(text.find("lost 10.42.3.0/24 to \\\"h1\\\""), std::string::npos) << text;
    EXPECT_EQ(text.find("\\n"), std::string::npos) << "control characters are dropped";
}
