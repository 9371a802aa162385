// Failure detection (docs/PROTOCOL.md, "Failure detection"): probes, relays, suspicion and the
// last-chance probe, one test per rule on one Node fed exact messages.
#include <gtest/gtest.h>

#include "node_fixture.hpp"

using namespace shoal;
using namespace shoal::node_test;

// ---- failure detection -------------------------------------------------------------------------

namespace {

class NodeProbe : public JoinedNode {
  protected:
    // Runs to the next round-robin probe with every peer silent; returns its target and seq.
    // Afterwards every other peer answers its pings again.
    void probe_silent_target(std::string& target, std::uint64_t& seq) {
        h.responsive.clear();
        h.advance_to(h.last_probe + 499ms);
        EXPECT_TRUE(h.sent().empty());
        h.advance_to(h.last_probe + 500ms);  // probe-interval x (1 + health 0)
        auto out = h.sent();
        ASSERT_EQ(out.size(), 1u);
        ASSERT_EQ(out[0].msgs.size(), 1u);
        auto* p = std::get_if<Ping>(&out[0].msgs[0]);
        ASSERT_TRUE(p);
        target = h.name_of(out[0].to);
        ASSERT_TRUE(std::count(kPeers.begin(), kPeers.end(), target)) << target;
        EXPECT_TRUE(pings(*p, h.id(target)));
        EXPECT_TRUE(p->short_target);
        EXPECT_EQ(p->sender_inc, 3u);
        seq = p->seq;
        probe_at = h.now;
        for (const auto& n : kPeers)
            if (n != target) h.responsive.insert(n);
    }
    // The ping again and the ping-reqs, probe-timeout after the probe; returns the relays.
    void expect_indirect(const std::string& target, std::uint64_t seq, Strings& relays) {
        h.advance_to(probe_at + 149ms);
        EXPECT_TRUE(h.sent().empty());
        h.advance_to(probe_at + 150ms);
        auto out = h.sent();
        auto direct = to(out, h.addr(target));
        ASSERT_EQ(direct.size(), 1u);
        EXPECT_EQ(direct[0].text, Strings{ping_text(h, seq, target)});
        for (const auto& s : out) {
            if (s.to == h.addr(target)) continue;
            EXPECT_EQ(s.text, Strings{h.text(PingReq{seq, h.id(target), h.addr(target)})});
            relays.push_back(h.name_of(s.to));
        }
    }
    Time probe_at{};
};

}  // namespace

TEST_F(NodeProbe, NoAckPingsAgainAndAsksIndirectChecksAliveMembers) {
    std::string t;
    std::uint64_t seq = 0;
    ASSERT_NO_FATAL_FAILURE(probe_silent_target(t, seq));
    Strings relays;
    ASSERT_NO_FATAL_FAILURE(expect_indirect(t, seq, relays));
    EXPECT_EQ(relays.size(), 3u);  // indirect-checks
    std::set<std::string> distinct(relays.begin(), relays.end());
    EXPECT_EQ(distinct.size(), 3u);
    for (const auto& r : relays) {
        EXPECT_NE(r, t);
        EXPECT_TRUE(std::count(kPeers.begin(), kPeers.end(), r)) << r;
    }
}

TEST_F(NodeProbe, IndirectChecksGoOnlyToAliveMembers) {
    std::string t;
    std::uint64_t seq = 0;
    ASSERT_NO_FATAL_FAILURE(probe_silent_target(t, seq));
    // Two of the four possible relays become suspect before the direct ack times out.
    Strings others = without(kPeers, t);
    h.deliver(others[0], {Suspect{h.id(others[1]), 5, h.id(others[0])},
                          Suspect{h.id(others[2]), 5, h.id(others[0])}});
    ASSERT_EQ(h.state(others[1]), MemberState::Suspect);
    ASSERT_EQ(h.state(others[2]), MemberState::Suspect);
    h.advance_to(probe_at + 150ms);
    std::vector<std::string> relays;
    for (const auto& s : h.sent())
        for (const auto& m : s.msgs)
            if (auto* r = std::get_if<PingReq>(&m)) {
                EXPECT_EQ(r->seq, seq);
                EXPECT_EQ(r->target, h.id(t));
                relays.push_back(h.name_of(s.to));
            }
    std::sort(relays.begin(), relays.end());
    EXPECT_EQ(relays, (Strings{others[0], others[3]}));
}

TEST_F(NodeProbe, NoAckWithinTheProbeWindowMakesTheTargetSuspect) {
    std::string t;
    std::uint64_t seq = 0;
    ASSERT_NO_FATAL_FAILURE(probe_silent_target(t, seq));
    Strings relays;
    ASSERT_NO_FATAL_FAILURE(expect_indirect(t, seq, relays));
    // The window is min(90 % of probe-interval, 2.5 x probe-timeout) = 375 ms on lan.
    h.advance_to(probe_at + 374ms);
    EXPECT_EQ(h.state(t), MemberState::Alive);
    EXPECT_TRUE(h.sent().empty());
    h.advance_to(probe_at + 375ms);
    EXPECT_EQ(h.state(t), MemberState::Suspect);
    EXPECT_EQ(h.inc(t), 5u);
    EXPECT_EQ(h.events(), Strings{h.ev("suspect", t, 5)});
    // +1 for each of the 3 expected nacks that did not come.
    EXPECT_EQ(h.node.local_health(), 3);
    const std::string suspicion = "suspect(" + t + ", 5, from S)";
    auto out = h.sent();
    ASSERT_FALSE(out.empty());
    // Sent to the target itself, then gossiped.
    EXPECT_EQ(out[0].to, h.addr(t));
    ASSERT_FALSE(out[0].text.empty());
    for (const auto& m : out[0].text) EXPECT_EQ(m, suspicion);
    expect_gossip(h, {out.begin() + 1, out.end()}, {suspicion}, kPeers);
}

TEST_F(NodeProbe, AckFromTheTargetClearsTheProbe) {
    std::string t;
    std::uint64_t seq = 0;
    ASSERT_NO_FATAL_FAILURE(probe_silent_target(t, seq));
    h.deliver(t, {Ack{seq}});
    EXPECT_EQ(h.reachable(), std::vector<Address>{h.addr(t)});
    h.advance_to(probe_at + 499ms);  // no second ping, no ping-req, no suspicion
    EXPECT_TRUE(h.sent().empty());
    EXPECT_EQ(h.state(t), MemberState::Alive);
    EXPECT_TRUE(h.events().empty());
    EXPECT_EQ(h.node.local_health(), 0);
}

TEST_F(NodeProbe, RelayedAckClearsTheProbe) {
    std::string t;
    std::uint64_t seq = 0;
    ASSERT_NO_FATAL_FAILURE(probe_silent_target(t, seq));
    Strings relays;
    ASSERT_NO_FATAL_FAILURE(expect_indirect(t, seq, relays));
    ASSERT_FALSE(relays.empty());
    h.deliver(relays[0], {Ack{seq}});
    EXPECT_TRUE(h.reachable().empty());  // a relayed ack says nothing about our own path
    h.advance_to(probe_at + 499ms);
    EXPECT_TRUE(h.sent().empty());
    EXPECT_EQ(h.state(t), MemberState::Alive);
    EXPECT_TRUE(h.events().empty());
    EXPECT_EQ(h.node.local_health(), 0);
}

TEST_F(NodeProbe, NacksFromRelaysCountTowardsLocalHealth) {
    std::string t;
    std::uint64_t seq = 0;
    ASSERT_NO_FATAL_FAILURE(probe_silent_target(t, seq));
    Strings relays;
    ASSERT_NO_FATAL_FAILURE(expect_indirect(t, seq, relays));
    ASSERT_EQ(relays.size(), 3u);
    h.deliver(relays[0], {Nack{seq}});
    h.deliver(relays[1], {Nack{seq}});
    h.advance_to(probe_at + 375ms);
    // A nack is not an ack: the probe failed. But only one expected nack is missing: +1, not +3.
    EXPECT_EQ(h.state(t), MemberState::Suspect);
    EXPECT_EQ(h.node.local_health(), 1);
}

TEST_F(NodeProbe, PingOfASuspectCarriesTheSuspicion) {
    h.deliver("B", {Suspect{h.id("C"), 5, h.id("B")}});
    auto all = h.sent();
    h.advance(3s);  // C answers every ping but never refutes
    for (auto& s : h.sent()) all.push_back(std::move(s));
    int pings = 0;
    for (const auto& s : all) {
        if (s.to != h.addr("C") || !s.has_ping()) continue;
        ++pings;
        ASSERT_GE(s.text.size(), 2u);
        EXPECT_EQ(s.text[1], "suspect(C, 5, from S)") << ::testing::PrintToString(s.text);
    }
    EXPECT_GE(pings, 2);
    // Acks do not clear a suspicion; only the suspect's own refutation does.
    EXPECT_EQ(h.state("C"), MemberState::Suspect);
}

TEST_F(NodeProbe, UnconfirmedSuspicionGetsALastProbeBeforeDeath) {
    std::string t;
    std::uint64_t seq = 0;
    ASSERT_NO_FATAL_FAILURE(probe_silent_target(t, seq));
    h.advance_to(probe_at + 375ms);
    ASSERT_EQ(h.state(t), MemberState::Suspect);
    const Time suspected = h.now;
    (void)h.events();
    (void)h.sent();
    // n = 6: min = 0.6 x 1 x 500 ms = 300 ms, max = 6 x min = 1.8 s; no confirmations: 1.8 s.
    h.advance_to(suspected + 1800ms - 1us);
    EXPECT_EQ(h.state(t), MemberState::Suspect);
    EXPECT_TRUE(h.events().empty());
    (void)h.sent();
    h.advance_to(suspected + 1800ms);
    auto last = to(h.sent(), h.addr(t));
    ASSERT_EQ(last.size(), 1u);
    ASSERT_EQ(last[0].text.size(), 2u);
    EXPECT_EQ(last[0].text[1], "suspect(" + t + ", 5, from S)");
    EXPECT_EQ(h.state(t), MemberState::Suspect);
    // That probe fails like any other, after its (scaled) window: then the member is dead.
    const Duration window = 375ms * (1 + h.node.local_health());
    h.advance_to(suspected + 1800ms + window - 1us);
    EXPECT_EQ(h.state(t), MemberState::Suspect);
    (void)h.sent();
    h.advance_to(suspected + 1800ms + window);
    EXPECT_EQ(h.state(t), MemberState::Dead);
    EXPECT_EQ(h.events(), Strings{h.ev("dead", t, 5)});
    expect_gossip(h, split_pings(h.sent()).second, {"dead(" + t + ", 5, from S)"},
                  without(kPeers, t));
}

TEST_F(NodeProbe, FullyConfirmedSuspicionIsDeclaredDeadAtTheMinimumTimeout) {
    h.deliver("B", {Suspect{h.id("C"), 5, h.id("B")}});
    const Time suspected = h.now;
    // K = min(suspicion-confirmations 3, n - 3 = 3) independent suspectors besides B.
    h.deliver("D", {Suspect{h.id("C"), 5, h.id("D")}});
    h.deliver("E", {Suspect{h.id("C"), 5, h.id("E")}});
    h.deliver("A", {Suspect{h.id("C"), 5, h.id("A")}});
    ASSERT_TRUE(h.member("C")->suspicion->fully_confirmed());
    (void)h.sent();
    (void)h.events();
    h.advance_to(suspected + 300ms - 1us);
    EXPECT_EQ(h.state("C"), MemberState::Suspect);
    (void)h.sent();
    h.advance_to(suspected + 300ms);
    EXPECT_EQ(h.state("C"), MemberState::Dead);
    EXPECT_EQ(h.events(), Strings{h.ev("dead", "C", 5)});
    // No last probe: straight to dead, gossiped.
    auto [pings, gossip] = split_pings(h.sent());
    EXPECT_TRUE(to(pings, h.addr("C")).empty());
    expect_gossip(h, gossip, {"dead(C, 5, from S)"}, without(kPeers, "C"));
}

TEST_F(NodeProbe, RelayForwardsTheTargetsAck) {
    h.responsive.erase("C");
    h.deliver("B", {PingReq{77, h.id("C"), h.addr("C")}});
    auto out = h.sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].to, h.addr("C"));
    ASSERT_EQ(out[0].msgs.size(), 1u);
    const auto seq = std::get<Ping>(out[0].msgs[0]).seq;
    EXPECT_EQ(out[0].text, Strings{ping_text(h, seq, "C")});
    h.deliver("C", {Ack{seq}});
    out = h.sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].to, h.addr("B"));
    EXPECT_EQ(out[0].text, Strings{"ack(77)"});
}

TEST_F(NodeProbe, RelaySendsANackAfterProbeTimeoutWithoutAnAck) {
    h.responsive.erase("C");
    h.deliver("B", {PingReq{78, h.id("C"), h.addr("C")}});
    auto out = h.sent();
    ASSERT_EQ(out.size(), 1u);
    const auto seq = std::get<Ping>(out[0].msgs.at(0)).seq;
    const Time asked = h.now;
    h.advance_to(asked + 149ms);
    EXPECT_TRUE(h.sent().empty());
    h.advance_to(asked + 150ms);
    out = h.sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].to, h.addr("B"));
    EXPECT_EQ(out[0].text, Strings{"nack(78)"});
    // A late ack is still forwarded.
    h.deliver("C", {Ack{seq}});
    out = h.sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].to, h.addr("B"));
    EXPECT_EQ(out[0].text, Strings{"ack(78)"});
}

TEST_F(NodeProbe, PingReqAboutUsIsAckedDirectly) {
    h.deliver("B", {PingReq{79, NodeHarness::kSelfId, NodeHarness::kSelfAddr}});
    auto out = h.sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].to, h.addr("B"));
    EXPECT_EQ(out[0].text, Strings{"ack(79)"});
}

TEST_F(NodeProbe, DeadMemberThatPingsUsIsToldItsRecord) {
    h.deliver_death("C", 5);
    h.advance(200ms);  // the death has been gossiped its full number of times
    ASSERT_EQ(h.node.pending_broadcasts(), 0u);
    (void)h.sent();
    (void)h.events();
    const NodeId self = NodeHarness::kSelfId;
    h.deliver("C", {Ping{9, self, 5}});
    auto out = h.sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].to, h.addr("C"));
    EXPECT_EQ(out[0].text, (Strings{"ack(9)", "dead(C, 5, from S)"}));
    // At most once per probe interval.
    h.deliver("C", {Ping{10, self, 5}});
    out = h.sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].text, Strings{"ack(10)"});
    h.advance(500ms);
    (void)h.sent();  // the round-robin probe
    // A member whose incarnation is already above our record has refuted: it is only acked.
    h.deliver("C", {Ping{11, self, 6}});
    out = h.sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].text, Strings{"ack(11)"});
    h.deliver("C", {Ping{12, self, 5}});
    out = h.sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].text, (Strings{"ack(12)", "dead(C, 5, from S)"}));
    EXPECT_EQ(h.state("C"), MemberState::Dead);
}

// The other half of "a member we hold dead talks to us": its reconnect probe (its alive, at the
// incarnation we hold dead, and its digest) is answered with our digest and a pull; the digests
// differ, so it pulls our table in turn and finds its record there.
TEST_F(NodeProbe, DeadMembersReconnectProbeLeadsItToItsRecord) {
    h.deliver_death("C", 5);
    h.advance(200ms);
    (void)h.sent();
    (void)h.events();
    Digest theirs;
    theirs.fill(0x5a);
    h.deliver("C", {h.alive("C", 5), SyncDigest{theirs, 6, true}});
    EXPECT_EQ(h.state("C"), MemberState::Dead);
    EXPECT_TRUE(h.events().empty());
    auto out = h.sent();
    ASSERT_EQ(out.size(), 2u) << ::testing::PrintToString(texts(out));
    EXPECT_EQ(out[0].to, h.addr("C"));
    EXPECT_EQ(out[0].text, Strings{"sync-digest(6)"});
    EXPECT_EQ(out[1].to, h.addr("C"));
    ASSERT_EQ(out[1].msgs.size(), 1u);
    EXPECT_TRUE(std::holds_alternative<SyncPull>(out[1].msgs[0]));
    h.deliver("C", {SyncPull{1, NodeId{}, 16}});
    out = h.sent();
    ASSERT_EQ(out.size(), 1u);
    auto* c = std::get_if<SyncChunk>(&out[0].msgs.at(0));
    ASSERT_TRUE(c);
    auto rec = std::find_if(c->records.begin(), c->records.end(),
                            [&](const MemberRecord& r) { return r.alive.id == h.id("C"); });
    ASSERT_NE(rec, c->records.end());
    EXPECT_EQ(rec->state, MemberState::Dead);
    EXPECT_EQ(rec->state_inc, 5u);
    EXPECT_EQ(rec->age_ms, 200u);
}

// A ping names its target (protocol 2: the id's first 4 bytes): one meant for whoever used our
// address before is not answered, so the prober does not take us for it.
TEST_F(NodeProbe, APingForSomeoneElseAtOurAddressIsNotAnswered) {
    NodeId other = NodeHarness::kSelfId;
    other.bytes[0] ^= 0xff;
    h.deliver("B", {Ping{5, other, 0, true}, Ping{6, other, 0, false}});
    EXPECT_TRUE(h.sent().empty());
    EXPECT_EQ(h.node.stats().misdirected_pings, 2u);
    NodeId same_prefix = NodeHarness::kSelfId;
    same_prefix.bytes[15] ^= 0xff;  // differs only past the 4 bytes a short target carries
    h.deliver("B", {Ping{7, same_prefix, 0, true}});
    EXPECT_EQ(texts(h.sent()), (std::vector<Strings>{{"ack(7)"}}));
}
