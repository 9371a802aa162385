// Attacks by a member that holds the cluster key and signs with its own node key: what it
// announces about itself may be a lie, and must change nothing outside what it may claim.
// (`ctest -L adversary`; each test fails without the defence it names.)
#include <gtest/gtest.h>

#include "gossip/wire/wire.hpp"
#include "sim_fixture.hpp"

using namespace shoal;
using namespace shoal::test;

namespace {

// Mallory: a fresh identity announcing itself with a chosen claim, sealed with the cluster key.
struct Mallory {
    Rng rng;
    Identity id;
    Address addr{0xc0a84dfe, 7946};  // an address on the segment nobody uses
    explicit Mallory(std::uint64_t seed) : rng(Rng::from_u64(seed)), id(Identity::generate(rng)) {}

    void announce(sim::Cluster& c, std::size_t to, std::uint32_t inc, Claim claim) {
        Announcement a{id.public_key(), "mallory", addr, inc, claim, c.network().digest(), "evil"};
        DatagramBuilder b(1400);
        b.add(Message{seal_announcement(a, id, kProtocolVersion)});
        c.inject(to, addr, b.seal(c.keyring_of(to), rng));
    }
};

std::uint64_t rejected(const sim::Cluster& c, std::size_t i, Rejection r) {
    return c.at(i).node->node().stats().rejected[static_cast<int>(r)];
}

}  // namespace

class Adversary : public ::testing::TestWithParam<std::uint64_t> {};
INSTANTIATE_TEST_SUITE_P(Sim, Adversary, ::testing::Values(41, 42, 43));

// Slot 16628487 of 10.128.0.0/9 in /24s lies far past the network's end; unchecked, every host
// computed an owner for it and the agent routed that address range to Mallory. The claim clock
// is bounded too: at UINT64_MAX the next claim anyone made would wrap to 0, the oldest of all.
TEST_P(Adversary, AClaimOutsideThePodNetworkIsRefusedEverywhere) {
    SimCluster s(6, GetParam());
    auto& c = s.c();
    ASSERT_TRUE(c.run_until([&] { return c.all_see_alive(s.all()); }, 30s));
    Mallory m(GetParam() + 1000);
    const Claim attacks[] = {{16628487, 1},
                             {c.network().slots(), 1},
                             {UINT32_MAX, 1},
                             {0, UINT64_MAX},
                             {0, kMaxClaimClock + 1}};
    std::uint32_t inc = 1;
    for (const Claim& claim : attacks)
        for (auto i : c.running()) m.announce(c, i, inc++, claim);
    c.run_for(10s);
    const NodeId mallory = m.id.id();
    for (auto i : c.running()) {
        EXPECT_EQ(rejected(c, i, Rejection::ClaimOutOfRange), std::size(attacks)) << c.at(i).name;
        EXPECT_EQ(c.at(i).node->node().members().find(mallory), nullptr) << c.at(i).name;
        EXPECT_FALSE(c.at(i).node->claims().claim_of(mallory)) << c.at(i).name;
        for (const auto& [slot, owner] : c.at(i).node->claims().owners())
            EXPECT_LT(slot, c.network().slots()) << c.at(i).name;
        EXPECT_LT(c.at(i).node->claims().max_clock(), kMaxClaimClock) << c.at(i).name;
    }
    EXPECT_TRUE(c.all_see_alive(s.all()));
    EXPECT_TRUE(c.owners_agree());
}
