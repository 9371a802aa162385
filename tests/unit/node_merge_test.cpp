// The merge rules (docs/PROTOCOL.md, "Merging (who wins)") and accusations about ourselves, one
// test per rule, on one Node fed exact messages (node_test.cpp says how).
#include <gtest/gtest.h>

#include "node_fixture.hpp"

using namespace shoal;
using namespace shoal::node_test;

// ---- alive -------------------------------------------------------------------------------------

namespace {
class NodeMerge : public JoinedNode {};
}  // namespace

TEST_F(NodeMerge, AliveWithHigherIncarnationReplacesTheRecordAndItsAddress) {
    const Address moved = host(99);
    Alive a = h.alive("C", 6);
    a.addr = moved;
    h.deliver("B", {a});
    h.move("C", moved);
    EXPECT_EQ(h.state("C"), MemberState::Alive);
    EXPECT_EQ(h.inc("C"), 6u);
    EXPECT_EQ(h.member("C")->info.addr, moved);
    EXPECT_EQ(h.node.members().find_by_addr(moved), h.member("C"));
    EXPECT_EQ(h.events(), Strings{h.ev("updated", "C", 6)});
    expect_gossip(h, h.sent(), {h.alive_text("C", 6)}, kPeers);  // C at its new address
}

TEST_F(NodeMerge, AliveWithHigherIncarnationAndNothingNewIsGossipedWithoutAnEvent) {
    h.deliver("B", {h.alive("C", 6)});
    EXPECT_EQ(h.inc("C"), 6u);
    EXPECT_TRUE(h.events().empty());
    expect_gossip(h, h.sent(), {h.alive_text("C", 6)}, kPeers);
}

TEST_F(NodeMerge, AliveWithHigherIncarnationClearsASuspicion) {
    h.deliver("B", {Suspect{h.id("C"), 5, h.id("B")}});
    ASSERT_EQ(h.state("C"), MemberState::Suspect);
    (void)h.sent();
    (void)h.events();
    h.deliver("C", {h.alive("C", 6)});
    EXPECT_EQ(h.state("C"), MemberState::Alive);
    EXPECT_EQ(h.inc("C"), 6u);
    EXPECT_FALSE(h.member("C")->suspicion);
    EXPECT_EQ(h.events(), Strings{h.ev("recovered", "C", 6)});
    // The refutation replaces the suspicion in the queue: the next round carries only it.
    h.advance(100ms);
    expect_gossip(h, h.sent(), {h.alive_text("C", 6)}, kPeers);
}

TEST_F(NodeMerge, AliveWithEqualIncarnationNeverOverridesSuspectDeadOrLeft) {
    h.deliver_death("D", 5);
    h.deliver("B", {Suspect{h.id("C"), 5, h.id("B")}, Left{h.id("E"), 5, {}}});
    ASSERT_EQ(h.state("C"), MemberState::Suspect);
    ASSERT_EQ(h.state("D"), MemberState::Dead);
    ASSERT_EQ(h.state("E"), MemberState::Left);
    (void)h.sent();
    (void)h.events();

    Alive c_moved = h.alive("C", 5);
    c_moved.addr = host(98);
    Alive a_moved = h.alive("A", 5);
    a_moved.addr = host(97);
    h.deliver("A", {h.alive("C", 5), h.alive("D", 5), h.alive("E", 5), c_moved, a_moved});
    EXPECT_EQ(h.state("C"), MemberState::Suspect);
    EXPECT_EQ(h.state("D"), MemberState::Dead);
    EXPECT_EQ(h.state("E"), MemberState::Left);
    EXPECT_EQ(h.state("A"), MemberState::Alive);
    for (const auto& n : kPeers) {
        EXPECT_EQ(h.inc(n), 5u) << n;
        EXPECT_EQ(h.member(n)->info.addr, h.addr(n)) << n;
    }
    EXPECT_TRUE(h.events().empty());
    EXPECT_TRUE(h.sent().empty());
}

TEST_F(NodeMerge, AliveWithLowerIncarnationIsIgnored) {
    h.deliver_death("D", 5);
    (void)h.sent();
    (void)h.events();
    Alive c = h.alive("C", 4);
    c.addr = host(97);
    h.deliver("B", {c, h.alive("D", 4)});
    EXPECT_EQ(h.state("C"), MemberState::Alive);
    EXPECT_EQ(h.inc("C"), 5u);
    EXPECT_EQ(h.member("C")->info.addr, h.addr("C"));
    EXPECT_EQ(h.state("D"), MemberState::Dead);
    EXPECT_TRUE(h.events().empty());
    EXPECT_TRUE(h.sent().empty());
    EXPECT_EQ(h.node.stats().rejected[static_cast<int>(Rejection::Replayed)], 2u);
}

TEST_F(NodeMerge, AliveBringsAMemberBackFromDead) {
    h.deliver_death("C", 5);
    ASSERT_EQ(h.state("C"), MemberState::Dead);
    (void)h.sent();
    (void)h.events();
    h.deliver("C", {h.alive("C", 6)});
    EXPECT_EQ(h.state("C"), MemberState::Alive);
    EXPECT_EQ(h.inc("C"), 6u);
    EXPECT_EQ(h.events(), Strings{h.ev("joined", "C", 6)});
    h.advance(100ms);
    expect_gossip(h, h.sent(), {h.alive_text("C", 6)}, kPeers);
}

TEST_F(NodeMerge, AliveBringsAMemberBackFromLeft) {
    h.deliver("B", {Left{h.id("C"), 5, {}}});
    ASSERT_EQ(h.state("C"), MemberState::Left);
    (void)h.sent();
    (void)h.events();
    h.deliver("C", {h.alive("C", 6)});
    EXPECT_EQ(h.state("C"), MemberState::Alive);
    EXPECT_EQ(h.inc("C"), 6u);
    EXPECT_EQ(h.events(), Strings{h.ev("joined", "C", 6)});
    h.advance(100ms);
    expect_gossip(h, h.sent(), {h.alive_text("C", 6)}, kPeers);
}

TEST_F(NodeMerge, AliveOfAnUnknownMemberAddsItAndIsGossiped) {
    h.deliver("B", {h.alive("F", 1)});
    EXPECT_EQ(h.state("F"), MemberState::Alive);
    EXPECT_EQ(h.inc("F"), 1u);
    EXPECT_EQ(h.events(), Strings{h.ev("joined", "F", 1)});
    expect_gossip(h, h.sent(), {h.alive_text("F", 1)}, {"A", "B", "C", "D", "E", "F"});
}

// A fresh update goes out at once only when no gossip tick is scheduled; one that arrives while
// the queue is being gossiped rides the next tick, at most gossip-interval later.
TEST_F(NodeMerge, AnUpdateArrivingWhileATickIsScheduledRidesThatTick) {
    h.deliver("B", {h.alive("F", 1)});
    (void)h.sent();
    (void)h.events();
    h.deliver("B", {Dead{h.id("C"), 5, h.id("B")}});
    auto carries_death = [&](const std::vector<Sent>& out) {
        for (const auto& s : out)
            for (const auto& t : s.text)
                if (t == "dead(C, 5, from B)") return true;
        return false;
    };
    EXPECT_FALSE(carries_death(h.sent()));
    h.advance(100ms);  // lan gossip-interval
    EXPECT_TRUE(carries_death(h.sent()));
}

// ---- suspect -----------------------------------------------------------------------------------

TEST_F(NodeMerge, SuspectAtTheIncarnationMakesALiveMemberSuspect) {
    h.deliver("B", {Suspect{h.id("C"), 5, h.id("B")}});
    EXPECT_EQ(h.state("C"), MemberState::Suspect);
    EXPECT_EQ(h.inc("C"), 5u);
    EXPECT_EQ(h.events(), Strings{h.ev("suspect", "C", 5)});
    auto [pings, gossip] = split_pings(h.sent());
    expect_gossip(h, gossip, {"suspect(C, 5, from B)"}, kPeers);
    // A fresh suspicion from someone else makes a receiver probe the suspect itself with chance
    // confirm-probes / (n - 2) = 6 / 4: certain here. The ping carries the suspicion (buddy
    // system), then the queued update rides along.
    ASSERT_EQ(pings.size(), 1u);
    EXPECT_EQ(pings[0].to, h.addr("C"));
    const auto seq = std::get<Ping>(pings[0].msgs.at(0)).seq;
    EXPECT_EQ(pings[0].text,
              (Strings{ping_text(h, seq, "C"), "suspect(C, 5, from S)", "suspect(C, 5, from B)"}));
}

// Only the member's own signature raises its incarnation (docs/SECURITY.md): an accusation above
// the announcement we hold is counted and dropped; once the announcement arrives, it counts.
TEST_F(NodeMerge, SuspectAboveTheAnnouncedIncarnationIsDropped) {
    h.deliver("B", {Suspect{h.id("D"), 7, h.id("B")}});
    EXPECT_EQ(h.state("D"), MemberState::Alive);
    EXPECT_EQ(h.inc("D"), 5u);
    EXPECT_EQ(h.node.stats().rejected[static_cast<int>(Rejection::Unannounced)], 1u);
    EXPECT_TRUE(h.events().empty());
    EXPECT_TRUE(h.sent().empty());
    h.deliver("D", {h.alive("D", 7)});
    (void)h.sent();
    h.deliver("B", {Suspect{h.id("D"), 7, h.id("B")}});
    EXPECT_EQ(h.state("D"), MemberState::Suspect);
    EXPECT_EQ(h.inc("D"), 7u);
}

TEST_F(NodeMerge, SecondSuspectorAddsAConfirmationThatIsGossiped) {
    h.deliver("B", {Suspect{h.id("C"), 5, h.id("B")}});
    (void)h.sent();
    (void)h.events();
    // The same suspector again: not a confirmation.
    h.deliver("B", {Suspect{h.id("C"), 5, h.id("B")}});
    ASSERT_TRUE(h.member("C")->suspicion);
    EXPECT_EQ(h.member("C")->suspicion->confirmations(), 0);
    // Another member: a confirmation, gossiped in place of the first report.
    h.deliver("D", {Suspect{h.id("C"), 5, h.id("D")}});
    EXPECT_EQ(h.state("C"), MemberState::Suspect);
    EXPECT_EQ(h.member("C")->suspicion->confirmations(), 1);
    EXPECT_TRUE(h.events().empty());
    h.advance(100ms);
    expect_gossip(h, split_pings(h.sent()).second, {"suspect(C, 5, from D)"}, kPeers);
}

TEST_F(NodeMerge, SuspectBelowTheIncarnationIsIgnored) {
    h.deliver("B", {Suspect{h.id("C"), 4, h.id("B")}});
    EXPECT_EQ(h.state("C"), MemberState::Alive);
    EXPECT_EQ(h.inc("C"), 5u);
    EXPECT_TRUE(h.events().empty());
    EXPECT_TRUE(h.sent().empty());
}

TEST_F(NodeMerge, SuspectOfADeadOrLeftMemberIsIgnored) {
    h.deliver_death("C", 5);
    h.deliver("B", {Left{h.id("D"), 5, {}}});
    (void)h.sent();
    (void)h.events();
    h.deliver("B", {Suspect{h.id("C"), 5, h.id("B")}, Suspect{h.id("C"), 6, h.id("B")},
                    Suspect{h.id("D"), 5, h.id("B")}, Suspect{h.id("D"), 6, h.id("B")}});
    EXPECT_EQ(h.state("C"), MemberState::Dead);
    EXPECT_EQ(h.state("D"), MemberState::Left);
    EXPECT_EQ(h.inc("C"), 5u);
    EXPECT_EQ(h.inc("D"), 5u);
    EXPECT_TRUE(h.events().empty());
    EXPECT_TRUE(h.sent().empty());
}

// ---- dead and left -----------------------------------------------------------------------------

// One member's verdict is its suspicion: the member is suspect, the signed verdict is relayed
// (others count it), and we check the member ourselves before our own timeout.
TEST_F(NodeMerge, OneDeadVerdictMakesALiveMemberSuspectAndIsRelayed) {
    h.deliver("B", {Dead{h.id("C"), 5, h.id("B")}});
    EXPECT_EQ(h.state("C"), MemberState::Suspect);
    EXPECT_EQ(h.inc("C"), 5u);
    EXPECT_EQ(h.events(), Strings{h.ev("suspect", "C", 5)});
    // Our own check first (every suspector of a small cluster probes a fresh suspect), then the
    // verdict gossiped to the others.
    auto out = h.sent();
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out.front().to, h.addr("C"));
    EXPECT_TRUE(out.front().text.front().starts_with("ping(")) << out.front().text.front();
    out.erase(out.begin());
    // (C is suspect, so live: the relay may reach it too, and it refutes.)
    expect_gossip(h, out, {"dead(C, 5, from B)"}, kPeers);
    // The same verdict again is no second vote.
    h.deliver("D", {Dead{h.id("C"), 5, h.id("B")}});
    EXPECT_EQ(h.state("C"), MemberState::Suspect);
}

TEST_F(NodeMerge, DeadVerdictsOfTwoMembersMakeALiveMemberDead) {
    h.deliver("B", {Dead{h.id("C"), 5, h.id("B")}});
    (void)h.sent();
    (void)h.events();
    h.deliver("D", {Dead{h.id("C"), 5, h.id("D")}});
    EXPECT_EQ(h.state("C"), MemberState::Dead);
    EXPECT_EQ(h.events(), Strings{h.ev("dead", "C", 5)});
    h.advance(100ms);
    expect_gossip(h, h.sent(), {"dead(C, 5, from D)"}, without(kPeers, "C"));
}

TEST_F(NodeMerge, DeadMakesASuspectMemberDeadAndEndsItsSuspicion) {
    h.deliver("B", {Suspect{h.id("D"), 5, h.id("B")}, Dead{h.id("D"), 5, h.id("B")}});
    (void)h.sent();
    (void)h.events();
    h.deliver("E", {Dead{h.id("D"), 5, h.id("E")}});
    EXPECT_EQ(h.state("D"), MemberState::Dead);
    EXPECT_EQ(h.inc("D"), 5u);
    EXPECT_FALSE(h.member("D")->suspicion);
    EXPECT_EQ(h.events(), Strings{h.ev("dead", "D", 5)});
    h.advance(100ms);
    expect_gossip(h, h.sent(), {"dead(D, 5, from E)"}, without(kPeers, "D"));
}

TEST_F(NodeMerge, DeadAboveTheAnnouncedIncarnationIsDropped) {
    h.deliver("E", {Dead{h.id("D"), 6, h.id("E")}});
    EXPECT_EQ(h.state("D"), MemberState::Alive);
    EXPECT_EQ(h.inc("D"), 5u);
    EXPECT_EQ(h.node.stats().rejected[static_cast<int>(Rejection::Unannounced)], 1u);
    EXPECT_TRUE(h.events().empty());
    EXPECT_TRUE(h.sent().empty());
}

TEST_F(NodeMerge, DeadBelowTheIncarnationOrOfADeadMemberIsIgnored) {
    h.deliver("B", {Dead{h.id("C"), 4, h.id("B")}});
    EXPECT_EQ(h.state("C"), MemberState::Alive);
    EXPECT_TRUE(h.events().empty());
    EXPECT_TRUE(h.sent().empty());
    h.deliver_death("D", 5);
    (void)h.sent();
    EXPECT_EQ(h.events(), (Strings{h.ev("suspect", "D", 5), h.ev("dead", "D", 5)}));
    h.deliver("E", {Dead{h.id("D"), 5, h.id("E")}, Dead{h.id("D"), 6, h.id("E")}});
    EXPECT_EQ(h.inc("D"), 5u);
    EXPECT_TRUE(h.events().empty());
    EXPECT_TRUE(h.sent().empty());
}

// Without credentials every leave counts as signed by its member: the core has no key to check a
// signature with (`self_signed = !creds_ || ...`), so a leave about a live member relayed by
// anyone is taken, and the leave it gossips carries no signature. (With credentials, an unsigned
// leave is accepted only for a member held dead: a force-leave.)
TEST_F(NodeMerge, LeftAtTheIncarnationMakesALiveMemberLeft) {
    h.deliver("B", {Left{h.id("C"), 5, {}}});
    EXPECT_EQ(h.state("C"), MemberState::Left);
    EXPECT_EQ(h.inc("C"), 5u);
    EXPECT_EQ(h.events(), Strings{h.ev("left", "C", 5)});
    expect_gossip(h, h.sent(), {"left(C, 5)"}, without(kPeers, "C"));
}

TEST_F(NodeMerge, LeftAboveTheIncarnationMakesADeadMemberLeftAtIt) {
    h.deliver_death("D", 5);
    (void)h.sent();
    (void)h.events();
    h.deliver("E", {Left{h.id("D"), 6, {}}});
    EXPECT_EQ(h.state("D"), MemberState::Left);
    EXPECT_EQ(h.inc("D"), 6u);
    EXPECT_EQ(h.events(), Strings{h.ev("left", "D", 6)});
    h.advance(100ms);
    expect_gossip(h, h.sent(), {"left(D, 6)"}, without(kPeers, "D"));
}

TEST_F(NodeMerge, LeftBelowTheIncarnationOrOfALeftMemberIsIgnored) {
    h.deliver("B", {Left{h.id("C"), 4, {}}});
    EXPECT_EQ(h.state("C"), MemberState::Alive);
    EXPECT_TRUE(h.events().empty());
    EXPECT_TRUE(h.sent().empty());
    h.deliver("B", {Left{h.id("D"), 5, {}}});
    (void)h.sent();
    (void)h.events();
    h.deliver("E", {Left{h.id("D"), 5, {}}, Left{h.id("D"), 6, {}}});
    EXPECT_EQ(h.inc("D"), 5u);
    EXPECT_TRUE(h.events().empty());
    EXPECT_TRUE(h.sent().empty());
}

// ---- accusations about ourselves ---------------------------------------------------------------

namespace {

class NodeSelf : public JoinedNode {
  protected:
    // `accusation` from B at or above our incarnation: refuted at once, with `refuted` > it.
    void expect_refuted(const Message& accusation, std::uint32_t refuted) {
        h.deliver("B", {accusation});
        EXPECT_EQ(h.node.incarnation(), refuted);
        EXPECT_EQ(h.state("S"), MemberState::Alive);
        EXPECT_EQ(h.node.local_health(), 1);  // +1 for each suspicion of ourselves refuted
        EXPECT_TRUE(h.events().empty());
        auto out = h.sent();
        ASSERT_FALSE(out.empty());
        // Straight back to whoever told us...
        EXPECT_EQ(out[0].to, h.addr("B"));
        ASSERT_FALSE(out[0].text.empty());
        for (const auto& t : out[0].text) EXPECT_EQ(t, h.alive_text("S", refuted));
        // ...and gossiped.
        expect_gossip(h, {out.begin() + 1, out.end()}, {h.alive_text("S", refuted)}, kPeers);
    }
};

}  // namespace

TEST_F(NodeSelf, SuspectAtOurIncarnationIsRefutedAtOnce) {
    expect_refuted(Suspect{NodeHarness::kSelfId, 3, h.id("B")}, 4);
}
TEST_F(NodeSelf, DeadAtOurIncarnationIsRefutedAtOnce) {
    expect_refuted(Dead{NodeHarness::kSelfId, 3, h.id("B")}, 4);
}
TEST_F(NodeSelf, LeftAtOurIncarnationIsRefutedAtOnce) {
    expect_refuted(Left{NodeHarness::kSelfId, 3, {}}, 4);
}
// Above anything we signed: nobody honest holds it, so it is neither refuted nor answered.
TEST_F(NodeSelf, AccusationsAboveOurIncarnationAreDropped) {
    h.deliver("D", {Suspect{NodeHarness::kSelfId, 7, h.id("D")},
                    Dead{NodeHarness::kSelfId, 9, h.id("D")}, Left{NodeHarness::kSelfId, 4, {}}});
    EXPECT_EQ(h.node.incarnation(), NodeHarness::kSelfInc);
    EXPECT_EQ(h.node.local_health(), 0);
    EXPECT_EQ(h.node.stats().rejected[static_cast<int>(Rejection::Unannounced)], 3u);
    EXPECT_TRUE(h.sent().empty());
}
// An announcement of us newer than ours (from before a restart) is refuted the same way.
TEST_F(NodeSelf, AliveOfUsAboveOurIncarnationIsRefutedAboveIt) {
    expect_refuted(h.alive("S", 6), 7);
}

TEST_F(NodeSelf, StaleAccusationIsAnsweredWithOurAliveAtMost8TimesPerProbeInterval) {
    const NodeId self = NodeHarness::kSelfId;
    for (int i = 0; i < 10; ++i)
        h.deliver("B", {i % 2 ? Message{Dead{self, 2, h.id("B")}} : Message{Suspect{self, 2, {}}}});
    EXPECT_EQ(h.node.incarnation(), 3u);
    EXPECT_EQ(h.node.local_health(), 0);
    EXPECT_TRUE(h.events().empty());
    auto out = h.sent();
    EXPECT_EQ(out.size(), 8u);
    for (const auto& s : out) {
        EXPECT_EQ(s.to, h.addr("B"));
        EXPECT_EQ(s.text, Strings{h.alive_text("S", 3)});
    }
    // A new probe interval, a new allowance.
    h.advance(500ms);
    (void)h.sent();  // the round-robin probe
    h.deliver("C", {Suspect{self, 1, h.id("C")}});
    out = h.sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].to, h.addr("C"));
    EXPECT_EQ(out[0].text, Strings{h.alive_text("S", 3)});
}

// A stale `left` about ourselves (below our incarnation) is ignored, unlike a stale suspect or
// dead: nothing is sent and nothing changes.
TEST_F(NodeSelf, AStaleLeftAboutUsIsIgnored) {
    h.deliver("B", {Left{NodeHarness::kSelfId, 2, {}}});
    EXPECT_EQ(h.node.incarnation(), 3u);
    EXPECT_TRUE(h.sent().empty());
    EXPECT_TRUE(h.events().empty());
}

// Our own announcement does not wait for a gossip round other news has already scheduled: a
// refutation (or a restarted member's first announcement) goes out at once.
TEST_F(NodeSelf, OurAnnouncementIsGossipedAtOnceWhileOtherNewsIsQueued) {
    h.deliver("B", {h.alive("F", 1)});  // news: one round now, the next a gossip interval away
    (void)h.sent();
    h.advance(10ms);
    h.deliver("C", {Suspect{NodeHarness::kSelfId, NodeHarness::kSelfInc, h.id("C")}});
    std::size_t carrying = 0;
    for (const auto& s : h.sent())
        for (const auto& t : s.text) carrying += t == h.alive_text("S", NodeHarness::kSelfInc + 1);
    EXPECT_GE(carrying, 1u + 4u);  // back to C, and a gossip round to fanout members
}
