// Attacks by a member that holds the cluster key and signs with its own node key: what it
// announces about itself may be a lie, and must change nothing outside what it may claim.
// (`ctest -L adversary`; each test fails without the defence it names.)
#include <gtest/gtest.h>

#include "mallory.hpp"

using namespace shoal;
using namespace shoal::test;

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

// Dual stack: every host routes a member's IPv6 subnet via the IPv6 address it announces.
// Unchecked, a link-local one (on-link on every interface) was installed as a next hop, sending
// the subnet to whichever host answers for it on the segment, and a multicast one to every host.
TEST_P(Adversary, AnIpv6AddressNoHostCanBeRoutedThroughIsRefusedEverywhere) {
    SimCluster s(4, GetParam());
    auto& c = s.c();
    ASSERT_TRUE(c.run_until([&] { return c.all_see_alive(s.all()); }, 30s));
    Mallory m(GetParam() + 1000);
    const char* attacks[] = {"fe80::1", "ff02::1", "::1", "::", "::ffff:192.168.77.1"};
    std::uint32_t inc = 1;
    for (const char* a6 : attacks) {
        for (auto i : c.running()) {
            Announcement a = m.announcement(c, inc, Claim{3, 1});
            a.addr6 = *parse_ipv6(a6);
            m.send(c, i, {seal_announcement(a, m.id, kProtocolVersion)});
        }
        ++inc;
    }
    c.run_for(10s);
    for (auto i : c.running()) {
        EXPECT_EQ(rejected(c, i, Rejection::BadAddress6), std::size(attacks)) << c.at(i).name;
        EXPECT_EQ(c.at(i).node->node().members().find(m.id.id()), nullptr) << c.at(i).name;
    }
    EXPECT_TRUE(c.all_see_alive(s.all()));
}

// One accusation at incarnation 2^32 - 1: unchecked, everyone held the victim dead there, its
// refutation wrapped to 0 and every later one was dropped as a replay; an unsigned leave then
// freed its subnet cluster-wide while it kept using it. Only the member's own signature may
// raise its incarnation.
TEST_P(Adversary, AnAccusationAboveTheSignedIncarnationEvictsNobody) {
    SimCluster s(6, GetParam());
    auto& c = s.c();
    ASSERT_TRUE(settled(s));
    const std::size_t victim = 2;
    const NodeId vid = c.at(victim).id;
    auto slot = c.at(victim).node->claims().claim_of(vid);
    ASSERT_TRUE(slot);
    Mallory m(GetParam() + 2000);
    const NodeId mallory = m.id.id();
    for (auto i : c.running()) {
        m.send(c, i, {Suspect{vid, UINT32_MAX, mallory}});
        m.send(c, i, {Dead{vid, UINT32_MAX, mallory}});
        m.send(c, i, {Left{vid, UINT32_MAX, {}}});
    }
    c.run_for(20s);
    EXPECT_TRUE(c.all_see_alive(s.all()));
    for (auto i : c.running()) {
        const Member* v = c.at(i).node->node().members().find(vid);
        ASSERT_NE(v, nullptr) << c.at(i).name;
        EXPECT_LT(v->inc(), 100u) << c.at(i).name;
        EXPECT_GE(rejected(c, i, Rejection::Unannounced), i == victim ? 3u : 2u) << c.at(i).name;
    }
    EXPECT_EQ(agreed_owner(c, slot->slot), vid);
}

// A restart hold is the member's own word: capped by restart-hold-max (here the default, 10
// min) instead of the 49.7 days it may ask for, and a member that learns of it later from a
// state transfer holds it only for what is left, not for a whole new hold.
TEST_P(Adversary, ARestartHoldIsCappedAndNotRenewedByStateTransfer) {
    SimCluster s(5, GetParam());
    auto& c = s.c();
    ASSERT_TRUE(settled(s));
    Mallory m(GetParam() + 3000);
    const NodeId mallory = m.id.id();
    const Time said = c.now();
    for (auto i : c.running()) m.announce(c, i, 1, std::nullopt, UINT32_MAX);
    c.run_for(1s);
    for (auto i : c.running()) {
        const Member* x = c.at(i).node->node().members().find(mallory);
        ASSERT_NE(x, nullptr) << c.at(i).name;
        EXPECT_EQ(x->state, MemberState::Restarting) << c.at(i).name;
        EXPECT_LE(x->hold_until, said + 10min + 1s) << c.at(i).name;
    }
    c.run_for(5min);
    std::size_t late = s.add();  // learns Mallory from its join's state transfer
    c.run_for(5s);
    const Member* seen = c.at(late).node->node().members().find(mallory);
    ASSERT_NE(seen, nullptr);
    EXPECT_EQ(seen->state, MemberState::Restarting);
    EXPECT_LE(seen->hold_until, said + 10min + 1s);
    c.run_until(said + 10min + 10s);
    for (auto i : c.running()) {
        const Member* x = c.at(i).node->node().members().find(mallory);
        ASSERT_NE(x, nullptr) << c.at(i).name;
        EXPECT_EQ(x->state, MemberState::Dead) << c.at(i).name;
    }
}

// force-leave ends a restarting member's hold: locally at once, and everywhere else because
// peers accept an unsigned leave for a member they hold restarting (or dead).
TEST_P(Adversary, ForceLeaveEndsARestartHoldEverywhere) {
    SimCluster s(5, GetParam());
    auto& c = s.c();
    ASSERT_TRUE(settled(s));
    Mallory m(GetParam() + 4000);
    const NodeId mallory = m.id.id();
    for (auto i : c.running()) m.announce(c, i, 1, std::nullopt, 60'000);
    c.run_for(1s);
    Status forced = c.act(0, [&](SubnetNode& n) { return n.force_leave(c.now(), "mallory"); });
    ASSERT_TRUE(forced) << forced.error();
    c.run_for(5s);
    for (auto i : c.running())
        EXPECT_EQ(c.at(i).node->node().members().find(mallory)->state, MemberState::Left)
            << c.at(i).name;
}

// A state-transfer page nobody asked for: unchecked, its records were merged, and a "ghost"
// identity recorded dead with an old claim on a live member's subnet made that member give it
// up. Pages count only for our own transfer, from the peer we asked.
TEST_P(Adversary, AnUnsolicitedStateTransferPageIsNotMerged) {
    SimCluster s(5, GetParam());
    auto& c = s.c();
    ASSERT_TRUE(settled(s));
    const std::size_t victim = 1;
    const NodeId vid = c.at(victim).id;
    auto claim = c.at(victim).node->claims().claim_of(vid);
    ASSERT_TRUE(claim);
    Mallory ghost(GetParam() + 5000);
    Mallory m(GetParam() + 6000);
    Alive ghost_alive = seal_announcement(ghost.announcement(c, 1, Claim{claim->slot, 0}), ghost.id,
                                          kProtocolVersion);
    MemberRecord rec{ghost_alive, MemberState::Dead, 0, {}, 1, std::nullopt};
    for (auto i : c.running())
        for (std::uint32_t session : {0u, 1u, 2u, 0x12345678u})
            m.send(c, i, {SyncChunk{session, NodeId{}, NodeId{}, true, true, {rec}}});
    c.run_for(10s);
    for (auto i : c.running()) {
        EXPECT_EQ(c.at(i).node->node().members().find(ghost.id.id()), nullptr) << c.at(i).name;
        EXPECT_EQ(rejected(c, i, Rejection::Unsolicited), 4u) << c.at(i).name;
    }
    EXPECT_EQ(agreed_owner(c, claim->slot), vid);
    EXPECT_TRUE(c.all_see_alive(s.all()));
}

// Confirmations of a suspicion shrink its timeout: unsigned, one key holder could send K of
// them "from" K different members. Only distinct accusers that signed count.
TEST_P(Adversary, OneKeyHolderCannotForgeOthersConfirmations) {
    SimCluster s(6, GetParam());
    auto& c = s.c();
    ASSERT_TRUE(settled(s));
    Mallory m(GetParam() + 7000);
    for (auto i : c.running()) m.announce(c, i, 1, std::nullopt);
    ASSERT_TRUE(c.run_until([&] { return c.quiet(); }, 10s));
    const std::size_t victim = 3;
    const NodeId vid = c.at(victim).id;
    const std::uint32_t inc = c.at(0).node->node().members().find(vid)->inc();
    std::size_t forged = 0;
    for (auto i : c.running()) {
        if (i == victim) continue;
        std::vector<Message> msgs;
        // In the names of three honest members, signed by Mallory; and one unsigned.
        for (std::size_t k : {std::size_t{0}, std::size_t{1}, std::size_t{4}})
            msgs.push_back(Suspect{vid, inc, c.at(k).id,
                                   sign_accusation(m.id, Accusation::Suspect, vid, inc)});
        msgs.push_back(Dead{vid, inc, c.at(5).id, {}});
        m.send(c, i, msgs);
        forged = msgs.size();
    }
    c.run_for(1ms);
    for (auto i : c.running()) {
        if (i == victim) continue;
        EXPECT_EQ(rejected(c, i, Rejection::UnsignedAccusation), forged) << c.at(i).name;
        EXPECT_EQ(c.at(i).node->node().members().find(vid)->state, MemberState::Alive)
            << c.at(i).name;
    }
    c.run_for(10s);
    EXPECT_TRUE(c.all_see_alive(s.all()));
    EXPECT_EQ(s.false_deaths(), 0u);
}

// A copied disk image (same node key, same state) started on another host: it finds its key
// alive elsewhere in its first state transfer and stops before announcing, so the original keeps
// its subnet and its peers never see a refutation war.
// A signed dead verdict is its accuser's word. Believed on its own, one key holder withdrew a
// healthy member's route on every host, and again at each incarnation it refuted to. It is one
// accuser's suspicion: the others check the member themselves, and it refutes.
TEST_P(Adversary, OneMembersDeadVerdictKillsNobody) {
    SimCluster s(6, GetParam());
    auto& c = s.c();
    ASSERT_TRUE(settled(s));
    Mallory m(GetParam() + 9000);
    for (auto i : c.running()) m.announce(c, i, 1, std::nullopt);
    ASSERT_TRUE(c.run_until([&] { return c.quiet(); }, 10s));
    const std::size_t victim = 2;
    const NodeId vid = c.at(victim).id;
    const std::uint32_t first_inc = c.at(victim).node->node().incarnation();
    for (int round = 0; round < 4; ++round) {
        // At the incarnation the victim holds now, which everyone has seen it sign.
        const std::uint32_t inc = c.at(victim).node->node().incarnation();
        for (auto i : c.running())
            if (i != victim)
                m.send(
                    c, i,
                    {Dead{vid, inc, m.id.id(), sign_accusation(m.id, Accusation::Dead, vid, inc)}});
        c.run_for(5s);
    }
    EXPECT_EQ(s.false_deaths(), 0u);
    EXPECT_TRUE(s.events(victim, MemberEvent::Kind::Dead).empty());
    // The verdicts were taken as suspicions, each refuted: not dropped unread.
    EXPECT_GE(c.at(victim).node->node().incarnation(), first_inc + 4);
    EXPECT_FALSE(s.events(victim, MemberEvent::Kind::Suspect).empty());
    EXPECT_TRUE(c.all_see_alive(s.all()));
}

TEST_P(Adversary, ACloneStopsBeforeAnnouncing) {
    SimCluster s(5, GetParam());
    auto& c = s.c();
    ASSERT_TRUE(settled(s));
    const std::size_t original = 2;
    const NodeId id = c.at(original).id;
    auto claim = c.at(original).node->claims().claim_of(id);
    ASSERT_TRUE(claim);
    const std::uint32_t inc = c.at(0).node->node().members().find(id)->inc();
    const std::vector<std::size_t> cluster = s.all();
    const std::size_t clone = c.add_clone(original, {0});
    const Time started = c.now();
    ASSERT_TRUE(c.run_until([&] { return c.at(clone).node->node().cloned(); }, 10s));
    EXPECT_LT(c.now() - started, 10s);
    EXPECT_FALSE(c.at(clone).node->node().announced());
    c.run_for(10s);
    EXPECT_FALSE(c.at(original).node->node().cloned());
    for (auto i : cluster) {
        const Member* m = c.at(i).node->node().members().find(id);
        ASSERT_NE(m, nullptr);
        EXPECT_EQ(m->state, MemberState::Alive) << c.at(i).name;
        EXPECT_EQ(m->info.addr, c.at(original).addr) << c.at(i).name;
        if (i != original) {
            EXPECT_EQ(m->inc(), inc) << c.at(i).name;
        }
    }
    EXPECT_EQ(agreed_owner(c, claim->slot), id);
}

// Two copies that both run (the clone started on the far side of a partition, where the
// original looked dead): once the partition heals, one of them stops within 10 s.
TEST_P(Adversary, TwoRunningClonesAreStoppedWithinTenSeconds) {
    SimCluster s(6, GetParam());
    auto& c = s.c();
    ASSERT_TRUE(settled(s));
    const std::size_t original = 1;
    for (std::size_t i : {std::size_t{3}, std::size_t{4}, std::size_t{5}}) c.set_group(i, 1);
    c.run_for(30s);  // each side holds the other dead
    const std::size_t clone = c.add_clone(original, {3});
    c.set_group(clone, 1);
    ASSERT_TRUE(c.run_until([&] { return c.at(clone).node->node().announced(); }, 10s));
    ASSERT_FALSE(c.at(clone).node->node().cloned());
    c.heal();
    const Time healed = c.now();
    auto stopped = [&] {
        return c.at(clone).node->node().cloned() || c.at(original).node->node().cloned();
    };
    // The original is the one that finds out here: every peer holds its id at the clone's
    // address, so only its padded retries get answers, and they show the clone.
    ASSERT_TRUE(c.run_until(stopped, 10s));
    EXPECT_LT(c.now() - healed, 10s);
}

// Neither a planned restart nor a restart after a lost state file (while the others still hold
// the old life alive) is a clone.
TEST_P(Adversary, RestartsWithOrWithoutStateAreNotClones) {
    SimCluster s(5, GetParam());
    auto& c = s.c();
    ASSERT_TRUE(settled(s));
    const std::size_t n = 2;
    c.act(n, [&](SubnetNode& node) { node.prepare_restart(c.now(), 10s); });
    c.run_for(1s);
    c.restart(n, {0});
    ASSERT_TRUE(c.run_until([&] { return c.all_see_alive(s.all()) && c.quiet(); }, 20s));
    EXPECT_FALSE(c.at(n).node->node().cloned());
    c.restart(n, {0}, true);  // crash, state file lost, back at once
    ASSERT_TRUE(c.run_until([&] { return c.all_see_alive(s.all()) && c.quiet(); }, 20s));
    EXPECT_FALSE(c.at(n).node->node().cloned());
    for (auto i : s.all()) EXPECT_FALSE(c.at(i).node->node().cloned()) << c.at(i).name;
}

// A node restarted with its state file lost, on the side of a partition that never saw its last
// incarnations: after the heal the other side shows it its past life above its own, under
// another boot nonce, at the node's own address, where no copy can run: the node goes above it
// and stays (found by the swarm test, seed 122 of the open mode).
TEST_P(Adversary, ALostStateRestartMetByItsPastLifeAfterAPartitionIsNotAClone) {
    SimCluster s(5, GetParam());
    auto& c = s.c();
    ASSERT_TRUE(settled(s));
    const std::size_t n = 1;
    for (std::size_t i : {std::size_t{3}, std::size_t{4}}) c.set_group(i, 1);
    c.run_for(30s);  // each side holds the other dead
    for (int i = 0; i < 3; ++i) {
        c.act(n, [&](SubnetNode& node) { node.prepare_restart(c.now(), 0s); });  // inc + 1
        c.run_for(1s);
    }
    const std::uint32_t past = c.at(n).node->node().incarnation();
    c.set_group(n, 1);
    c.restart(n, {3}, true);
    ASSERT_TRUE(c.run_until([&] { return c.at(n).node->node().announced(); }, 10s));
    ASSERT_LT(c.at(n).node->node().incarnation(), past);  // the far side never saw the last ones
    c.heal();
    ASSERT_TRUE(c.run_until(
        [&] { return c.all_see_alive(s.all()) && c.tables_agree() && c.quiet(); }, 30s));
    EXPECT_FALSE(c.at(n).node->node().cloned());
    EXPECT_GT(c.at(n).node->node().incarnation(), past);
}

// A state directory restored from an old backup claims a subnet the cluster has since given to a
// live member, with an older clock: announced as it was, it would displace that member. The
// first state transfer shows the subnet taken, so the node claims another.
TEST_P(Adversary, AnOldSavedClaimDoesNotDisplaceALiveOwner) {
    SimCluster s(5, GetParam());
    auto& c = s.c();
    ASSERT_TRUE(settled(s));
    const std::size_t owner = 1, restored = 3;
    const NodeId oid = c.at(owner).id;
    auto theirs = c.at(owner).node->claims().claim_of(oid);
    ASSERT_TRUE(theirs);
    c.crash(restored);
    PersistedState backup = c.at(restored).disk;
    backup.claim = Claim{theirs->slot, 0};  // older than any claim made since
    c.set_disk(restored, backup);
    c.restart(restored, {0});
    ASSERT_TRUE(c.run_until([&] { return c.all_see_alive(s.all()) && c.quiet(); }, 20s));
    c.run_for(5s);
    EXPECT_EQ(agreed_owner(c, theirs->slot), oid);
    auto mine = c.at(restored).node->slot();
    ASSERT_TRUE(mine);
    EXPECT_NE(*mine, theirs->slot);
    EXPECT_TRUE(c.owners_agree());
}

// A member forgotten after its retention leaves a tombstone: a replay of its recorded join,
// however late, is rejected as replayed instead of bringing it back with its old claim.
TEST_P(Adversary, AReplayOfAForgottenMembersJoinIsRejected) {
    auto opts = options(GetParam(), Profile::Lan, 0);
    opts.grace = 30s;
    opts.timing.dead_retention = 30s;
    sim::Cluster c(opts);
    std::vector<std::size_t> all{c.add_node({})};
    for (int i = 1; i < 5; ++i) all.push_back(c.add_node({0}));
    ASSERT_TRUE(c.run_until([&] { return c.all_see_alive(all) && c.quiet(); }, 30s));
    const std::size_t gone = 4;
    const NodeId gid = c.at(gone).id;
    Alive recorded = c.at(0).node->node().members().find(gid)->alive();
    c.leave(gone);
    c.run_for(2min);  // past the retention: forgotten everywhere
    std::vector<std::size_t> rest{0, 1, 2, 3};
    for (auto i : rest) {
        ASSERT_EQ(c.at(i).node->node().members().find(gid), nullptr) << c.at(i).name;
        ASSERT_TRUE(c.at(i).node->node().tombstones().find(gid)) << c.at(i).name;
    }
    Mallory replayer(GetParam() + 8000);
    for (auto i : rest) replayer.send(c, i, {recorded});
    c.run_for(5s);
    for (auto i : rest) {
        EXPECT_EQ(c.at(i).node->node().members().find(gid), nullptr) << c.at(i).name;
        EXPECT_EQ(rejected(c, i, Rejection::Replayed), 1u) << c.at(i).name;
    }
    // A node that joins later learns the tombstone in its join's state transfer.
    std::size_t late = c.add_node({0});
    ASSERT_TRUE(c.run_until([&] { return c.at(late).node->node().synced(); }, 10s));
    EXPECT_TRUE(c.at(late).node->node().tombstones().find(gid));
    replayer.send(c, late, {recorded});
    c.run_for(1s);
    EXPECT_EQ(c.at(late).node->node().members().find(gid), nullptr);
}
