// Joining, leaving, keys and determinism, each over several seeds.
#include <gtest/gtest.h>

#include "gossip/sim/scenario.hpp"
#include "sim_fixture.hpp"

using namespace shoal;
using namespace shoal::test;

class Seeds : public ::testing::TestWithParam<std::uint64_t> {};
INSTANTIATE_TEST_SUITE_P(Sim, Seeds, ::testing::Values(1, 2, 3));

TEST_P(Seeds, HundredNodesJoinFromOneSeedAndAllSeeAllAlive) {
    SimCluster s(100, GetParam());
    EXPECT_TRUE(s.c().all_see_alive(s.all()));
    for (auto i : s.all()) EXPECT_EQ(s.c().at(i).node->node().members().size(), 100u);
    EXPECT_EQ(s.false_deaths(), 0u);
}

TEST_P(Seeds, GracefulLeaveShowsLeftEverywhereAndNeverDead) {
    SimCluster s(32, GetParam());
    std::size_t leaver = 5;
    s.c().leave(leaver);
    EXPECT_TRUE(
        s.c().run_until([&] { return s.all_others_see(leaver, MemberState::Left); }, 5s, 1ms));
    s.c().run_for(30s);
    EXPECT_TRUE(s.all_others_see(leaver, MemberState::Left));
    EXPECT_TRUE(s.events(leaver, MemberEvent::Kind::Dead).empty());
    EXPECT_EQ(s.events(leaver, MemberEvent::Kind::LeaveComplete).size(), 1u);
    EXPECT_FALSE(s.c().is_up(leaver));  // inert after its leave completed
    EXPECT_EQ(s.false_deaths(), 0u);
}

// The agent turns these into neighbour confirmations (MSG_CONFIRM), so they must name only
// members that answered our own pings, and stop for a member that is gone.
TEST_P(Seeds, AnswersToOwnPingsConfirmEveryLiveMemberAndNoOther) {
    SimCluster s(6, GetParam());
    std::map<std::size_t, std::set<Address>> confirmed;
    std::map<Address, Time> last;
    s.c().on_reachable = [&](Time now, std::size_t i, const Address& a) {
        confirmed[i].insert(a);
        last[a] = now;
    };
    s.c().run_for(20s);
    for (auto i : s.all()) {
        std::set<Address> others;
        for (auto j : s.all())
            if (j != i) others.insert(s.c().at(j).addr);
        EXPECT_EQ(confirmed[i], others) << "node " << i;
    }
    const std::size_t victim = 3;
    s.c().crash(victim);
    Time crashed = s.c().now();
    s.c().run_for(20s);
    EXPECT_LE(last[s.c().at(victim).addr], crashed);
    EXPECT_GT(last[s.c().at(0).addr], crashed);
}

TEST_P(Seeds, ALeftNodeThatRestartsRejoinsWithAHigherIncarnation) {
    SimCluster s(16, GetParam());
    std::size_t n = 7;
    s.c().leave(n);
    s.c().run_for(5s);
    std::uint32_t left_inc = s.c().at(0).node->node().members().find(s.c().at(n).id)->inc();
    s.c().restart(n, {0});
    EXPECT_TRUE(s.c().run_until([&] { return s.all_others_see(n, MemberState::Alive); }, 10s));
    EXPECT_GT(s.c().at(0).node->node().members().find(s.c().at(n).id)->inc(), left_inc);
}

TEST_P(Seeds, DatagramsSealedWithAnotherKeyAreIgnored) {
    SimCluster s(8, GetParam());
    // A stranger with its own key tries to join through node 0.
    std::size_t stranger = s.c().size();
    Rng rng = Rng::from_u64(GetParam() + 1000);
    ClusterKey other;
    rng.fill(other);
    s.add(Keyring({other}));
    s.c().run_for(30s);
    for (std::size_t i = 0; i < stranger; ++i) {
        EXPECT_EQ(s.c().view(i, stranger), std::nullopt) << "node " << i << " admitted a stranger";
        EXPECT_EQ(s.c().at(i).node->node().members().size(), 8u);
    }
    EXPECT_FALSE(s.c().at(stranger).node->node().joined());
    EXPECT_EQ(s.c().at(stranger).node->node().members().size(), 1u);
    EXPECT_GT(
        s.c().at(0).node->node().stats().dropped[static_cast<int>(DropReason::Unauthenticated)],
        0u);
    EXPECT_EQ(s.false_deaths(), 0u);
}

TEST_P(Seeds, KeyRotationThroughTheRingLosesNoMember) {
    SimCluster s(12, GetParam());
    Keyring old_ring = s.c().keyring_of(0);
    ClusterKey fresh;
    Rng rng = Rng::from_u64(GetParam() + 7);
    rng.fill(fresh);
    auto step = [&](Keyring ring) {
        for (auto i : s.all()) s.c().set_keyring(i, ring);
        s.c().run_for(10s);
    };
    step(Keyring({old_ring.primary(), fresh}));  // 1. add the new key everywhere
    step(Keyring({fresh, old_ring.primary()}));  // 2. make it primary everywhere
    step(Keyring({fresh}));                      // 3. drop the old one
    EXPECT_TRUE(s.c().all_see_alive(s.all()));
    EXPECT_EQ(s.false_deaths(), 0u);
}

TEST(Determinism, SameSeedSameRunBitForBit) {
    sim::ScenarioOptions o;
    o.nodes = 24;
    o.loss = 0.05;
    o.seconds = 20;
    o.seed = 42;
    auto a = sim::run_scenario(o);
    auto b = sim::run_scenario(o);
    EXPECT_EQ(a.trace_hash, b.trace_hash);
    EXPECT_EQ(sim::to_json(a).substr(0, sim::to_json(a).find("\"wall_s\"")),
              sim::to_json(b).substr(0, sim::to_json(b).find("\"wall_s\"")));
    o.seed = 43;
    EXPECT_NE(sim::run_scenario(o).trace_hash, a.trace_hash);
}
