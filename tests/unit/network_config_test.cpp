#include "gossip/ownership/network_config.hpp"

#include <gtest/gtest.h>

#include "error_of.hpp"

using namespace shoal;

namespace {
std::string error_of(NetworkSettings s) {
    return shoal::test::error_of(NetworkConfig::make(s));
}
NetworkConfig ok(NetworkSettings s) {
    auto r = NetworkConfig::make(s);
    EXPECT_TRUE(r) << error_of(s);
    return *r;
}
}  // namespace

TEST(NetworkConfig, FlannelDefaults) {
    auto c = ok({"10.244.0.0/16"});
    EXPECT_EQ(c.subnet_len(), 24);
    EXPECT_EQ(c.slots(), 255u);  // the first subnet is skipped, as flannel does
    EXPECT_EQ(c.subnet(0).to_string(), "10.244.1.0/24");
    EXPECT_EQ(c.subnet(254).to_string(), "10.244.255.0/24");
    auto small = ok({"192.168.0.0/24"});
    EXPECT_EQ(small.subnet_len(), 26);  // smaller than /22: two bits longer than the network
}

TEST(NetworkConfig, ErrorsNameTheSetting) {
    EXPECT_EQ(error_of({""}).rfind("network:", 0), 0u);
    EXPECT_EQ(error_of({"10.244.0.0"}).rfind("network:", 0), 0u);
    EXPECT_NE(error_of({"10.244.0.1/16"}).find("host bits"), std::string::npos);
    EXPECT_NE(error_of({"10.0.0.0/29"}).find("at least a /28"), std::string::npos);
    EXPECT_EQ(error_of({"10.244.0.0/16", 31}).rfind("subnet-len:", 0), 0u);
    EXPECT_EQ(error_of({"10.244.0.0/16", 17}).rfind("subnet-len:", 0), 0u);
    EXPECT_EQ(error_of({"10.244.0.0/16", 24, "10.244.0.128"}).rfind("subnet-min:", 0), 0u);
    EXPECT_NE(error_of({"10.244.0.0/16", 24, "10.245.0.0"}).find("outside"), std::string::npos);
    EXPECT_EQ(error_of({"10.244.0.0/16", 24, "", "10.244.3.1"}).rfind("subnet-max:", 0), 0u);
    EXPECT_EQ(error_of({"10.244.0.0/16", 24, "10.244.9.0", "10.244.3.0"}).rfind("subnet-min:", 0),
              0u);
    EXPECT_EQ(error_of({"10.244.0.0/16", 24, "", "", "fd00::/129"}).rfind("ipv6-network:", 0), 0u);
    EXPECT_EQ(
        error_of({"10.244.0.0/16", 24, "", "", "fd00::/56", 127}).rfind("ipv6-subnet-len:", 0), 0u);
    // A /60 holds 16 /64s, but the IPv4 range needs 256.
    EXPECT_EQ(error_of({"10.244.0.0/16", 24, "", "", "fd00::/60", 64}).rfind("ipv6-subnet-len:", 0),
              0u);
    EXPECT_EQ(error_of({"10.244.0.0/16", 24, "", "", "", 64}).rfind("ipv6-subnet-len:", 0), 0u);
}

TEST(NetworkConfig, MinMaxBoundTheSlots) {
    auto c = ok({"10.244.0.0/16", 24, "10.244.10.0/24", "10.244.19.0"});
    EXPECT_EQ(c.slots(), 10u);
    EXPECT_EQ(c.subnet(0).to_string(), "10.244.10.0/24");
    EXPECT_EQ(c.slot_of(Ipv4Net{c.subnet(7).addr, 24}), 7u);
    EXPECT_FALSE(c.slot_of(Ipv4Net{0x0af40900, 24}));
}

TEST(NetworkConfig, DualStackSubnetsShareTheIndex) {
    auto c = ok({"10.244.0.0/16", 24, "", "", "fd00:10:244::/56", 0});
    EXPECT_EQ(c.subnet(4).to_string(), "10.244.5.0/24");
    EXPECT_EQ(c.subnet6(4)->to_string(), "fd00:10:244:5::/64");
    EXPECT_FALSE(ok({"10.244.0.0/16"}).subnet6(0));
}

TEST(NetworkConfig, DigestChangesWithAnyField) {
    auto a = ok({"10.244.0.0/16"});
    EXPECT_EQ(a.digest(), ok({"10.244.0.0/16"}).digest());
    EXPECT_NE(a.digest(), ok({"10.245.0.0/16"}).digest());
    EXPECT_NE(a.digest(), ok({"10.244.0.0/16", 25}).digest());
    EXPECT_NE(a.digest(), ok({"10.244.0.0/16", 24, "10.244.2.0"}).digest());
    EXPECT_NE(a.digest(), ok({"10.244.0.0/16", 24, "", "", "fd00::/48", 0}).digest());
}
