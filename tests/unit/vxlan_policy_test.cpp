// The VXLAN device's pure rules (issue 16).
#include "agent/vxlan_policy.hpp"

#include <gtest/gtest.h>

using namespace shoal;

// A member's VTEP MAC follows from its id alone: locally administered, never multicast, and
// different for different ids (so no member can take another's frames by announcing its MAC).
TEST(VxlanPolicy, TheVtepMacIsDerivedFromTheNodeId) {
    NodeId a, b;
    for (std::size_t i = 0; i < 16; ++i) {
        a.bytes[i] = static_cast<std::uint8_t>(0xf1 + i);
        b.bytes[i] = static_cast<std::uint8_t>(0x10 + i);
    }
    auto ma = agent::vtep_mac(a), mb = agent::vtep_mac(b);
    EXPECT_EQ(netlink::mac_to_string(ma), "f2:f2:f3:f4:f5:f6");  // 0xf1: multicast bit cleared
    EXPECT_EQ(netlink::mac_to_string(mb), "12:11:12:13:14:15");  // 0x10: local bit set
    EXPECT_EQ(agent::vtep_mac(a), ma);
    EXPECT_NE(ma, mb);
    for (auto m : {ma, mb}) {
        EXPECT_EQ(m[0] & 0x01, 0) << "never a multicast address";
        EXPECT_EQ(m[0] & 0x02, 0x02) << "always locally administered";
    }
}
