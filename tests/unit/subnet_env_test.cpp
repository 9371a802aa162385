#include "agent/subnet_env.hpp"

#include <gtest/gtest.h>

#include <map>
#include <sstream>

using namespace shoal;

namespace {
// Parses KEY=VALUE lines as flannel's CNI plugin does (it requires all four IPv4 keys).
std::map<std::string, std::string> parse(const std::string& text) {
    std::map<std::string, std::string> kv;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        auto eq = line.find('=');
        EXPECT_NE(eq, std::string::npos) << line;
        kv[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return kv;
}
NetworkConfig config(NetworkSettings s) {
    return *NetworkConfig::make(s);
}
}  // namespace

TEST(SubnetEnv, HasTheFourKeysFlannelsPluginRequires) {
    auto kv = parse(agent::render_subnet_env(config({"10.42.0.0/16"}), 2, 1500, false));
    EXPECT_EQ(kv.size(), 4u);
    EXPECT_EQ(kv["FLANNEL_NETWORK"], "10.42.0.0/16");
    EXPECT_EQ(kv["FLANNEL_SUBNET"], "10.42.3.1/24");  // slot 2 is the third subnet after the first
    EXPECT_EQ(kv["FLANNEL_MTU"], "1500");
    EXPECT_EQ(kv["FLANNEL_IPMASQ"], "false");
}

// ip-masq: shoal masquerades, so flannel's CNI plugin must not ask the bridge plugin to.
TEST(SubnetEnv, SaysWhetherShoalMasquerades) {
    EXPECT_EQ(
        parse(agent::render_subnet_env(config({"10.42.0.0/16"}), 2, 1500, true))["FLANNEL_IPMASQ"],
        "true");
    EXPECT_EQ(
        parse(agent::render_subnet_env(config({"10.42.0.0/16"}), 2, 1500, false))["FLANNEL_IPMASQ"],
        "false");
}

// Dual stack: flannel's IPv6 pair, the subnet written as its gateway (the first address) and
// length, as FLANNEL_SUBNET is; without ipv6-network neither key.
TEST(SubnetEnv, DualStackSettingsWriteFlannelsIpv6Keys) {
    auto kv = parse(agent::render_subnet_env(
        config({"10.42.0.0/16", 24, "", "", "fd00:42::/56", 64}), 4, 9000, true));
    EXPECT_EQ(kv["FLANNEL_IPV6_NETWORK"], "fd00:42::/56");
    EXPECT_EQ(kv["FLANNEL_IPV6_SUBNET"], "fd00:42:0:5::1/64");
    auto v4 = parse(agent::render_subnet_env(config({"10.42.0.0/16"}), 4, 9000, true));
    EXPECT_EQ(v4.count("FLANNEL_IPV6_NETWORK"), 0u);
    EXPECT_EQ(v4.count("FLANNEL_IPV6_SUBNET"), 0u);
    EXPECT_EQ(kv["FLANNEL_SUBNET"], "10.42.5.1/24");
    EXPECT_EQ(kv["FLANNEL_MTU"], "9000");
}
