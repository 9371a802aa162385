// Attacks on one Node by a sender that holds the cluster key (or replays, or spoofs addresses):
// each test feeds the node the attack's exact datagrams and asserts the defence's outcome
// (`ctest -L adversary`; each fails without the defence it names).
#include <gtest/gtest.h>

#include "node_fixture.hpp"

using namespace shoal;
using namespace shoal::node_test;

namespace {

class NodeAttack : public JoinedNode {
  protected:
    std::uint64_t rejected(Rejection r) const {
        return h.node.stats().rejected[static_cast<int>(r)];
    }
    static std::size_t total_bytes(const std::vector<Sent>& out) {
        std::size_t n = 0;
        for (const auto& s : out) n += s.bytes.size();
        return n;
    }
    static NodeId fake_id(std::uint32_t k) {
        NodeId id;
        id.bytes.fill(0xf0);
        for (int b = 0; b < 4; ++b) id.bytes[static_cast<std::size_t>(b)] = (k >> (8 * b)) & 0xff;
        return id;
    }
    // Appended, not "m" + std::string&&: g++ 12 at -O3 warns falsely (-Wrestrict).
    static std::string name_of(std::uint32_t k) {
        return std::string("m").append(std::to_string(k));
    }
    static Alive fake(std::uint32_t k) {
        return Alive{fake_id(k),       1, name_of(k), Address{(10u << 24) | (200u << 16) | k, 7946},
                     kProtocolVersion, {}};
    }
};

const Address kStranger = host(250);    // on the segment, not a member
const Address kVictim{0x08080808, 53};  // anywhere at all

}  // namespace

// Accusations at an incarnation the member never signed would let one key holder push it to
// 2^32 - 1, where its refutation wraps to 0 and is dropped as a replay from then on.
TEST_F(NodeAttack, AccusationsAboveTheSignedIncarnationAreDropped) {
    h.deliver("B", {Suspect{h.id("C"), UINT32_MAX, h.id("B")}, Dead{h.id("D"), 6, h.id("B")}});
    EXPECT_EQ(h.state("C"), MemberState::Alive);
    EXPECT_EQ(h.state("D"), MemberState::Alive);
    EXPECT_EQ(h.inc("C"), NodeHarness::kPeerInc);
    EXPECT_EQ(h.inc("D"), NodeHarness::kPeerInc);
    EXPECT_EQ(rejected(Rejection::Unannounced), 2u);
    EXPECT_TRUE(h.events().empty());
    EXPECT_TRUE(h.sent().empty());
}

TEST_F(NodeAttack, AnAccusationAboutUsAboveOurIncarnationIsNotRefuted) {
    h.deliver("B", {Dead{NodeHarness::kSelfId, UINT32_MAX, h.id("B")}});
    EXPECT_EQ(h.node.incarnation(), NodeHarness::kSelfInc);
    EXPECT_EQ(rejected(Rejection::Unannounced), 1u);
    EXPECT_TRUE(h.sent().empty());
    // At our incarnation it is refuted, one above it.
    h.deliver("B", {Suspect{NodeHarness::kSelfId, NodeHarness::kSelfInc, h.id("B")}});
    EXPECT_EQ(h.node.incarnation(), NodeHarness::kSelfInc + 1);
}

// An unsigned leave (a force-leave) frees only a member the receiver holds dead or restarting,
// and never above the member's signed incarnation.
TEST(NodeAttackSigned, AnUnsignedLeaveAboveTheSignedIncarnationIsDropped) {
    NodeHarness h(1, true, std::make_shared<HoldCredentials>());
    ASSERT_NO_FATAL_FAILURE(h.join());
    ASSERT_NO_FATAL_FAILURE(h.quiesce());
    auto rejected = [&](Rejection r) { return h.node.stats().rejected[static_cast<int>(r)]; };
    h.deliver_death("C", 5);
    ASSERT_EQ(h.state("C"), MemberState::Dead);
    h.deliver("B", {Left{h.id("C"), UINT32_MAX, {}}});
    EXPECT_EQ(h.state("C"), MemberState::Dead);
    EXPECT_EQ(h.inc("C"), NodeHarness::kPeerInc);
    EXPECT_EQ(rejected(Rejection::Unannounced), 1u);
}

// A page of a transfer we did not ask for (another session, or the right one from elsewhere)
// is not merged at all: it could say anything about anyone.
TEST_F(NodeAttack, StateTransferPagesCountOnlyForOurOwnTransfer) {
    h.deliver("B", {h.chunk(h.join_session, {h.record("F", MemberState::Alive, 1)})});
    h.deliver("A", {h.chunk(h.join_session + 1, {h.record("G", MemberState::Alive, 1),
                                                 h.record("C", MemberState::Dead, 5)})});
    EXPECT_EQ(h.member("F"), nullptr);
    EXPECT_EQ(h.member("G"), nullptr);
    EXPECT_EQ(h.state("C"), MemberState::Alive);
    EXPECT_EQ(rejected(Rejection::Unsolicited), 2u);
    EXPECT_TRUE(h.events().empty());
}

// ping-req makes a relay send a ping; unchecked, to any address and port anyone names.
TEST_F(NodeAttack, RelayProbesGoOnlyToKnownMembersAtTheirAddresses) {
    h.deliver("B", {PingReq{7, h.id("C"), kVictim}, PingReq{8, id_of(0x99), kVictim}});
    for (const auto& s : h.sent()) EXPECT_NE(s.to, kVictim) << ::testing::PrintToString(s.text);
    EXPECT_EQ(h.node.stats().relays_refused, 2u);
    // The honest request is relayed, and C's answer passed on.
    h.deliver("B", {PingReq{9, h.id("C"), h.addr("C")}});
    auto out = h.sent();
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].to, h.addr("C"));
    EXPECT_EQ(out[1].to, h.addr("B"));
    EXPECT_EQ(out[1].text, Strings{"ack(9)"});
}

// A probe's ack counts only from the probed address (or a relay we asked): a forged ack from
// anywhere else must not keep a dead member alive.
TEST_F(NodeAttack, AnAckFromElsewhereDoesNotAnswerAProbe) {
    h.responsive.erase("C");
    std::optional<std::uint64_t> seq;
    for (int i = 0; i < 20 && !seq; ++i) {
        h.advance(100ms);
        for (const auto& s : h.sent())
            for (const auto& m : s.msgs)
                if (auto* p = std::get_if<Ping>(&m); p && pings(*p, h.id("C"))) seq = p->seq;
    }
    ASSERT_TRUE(seq) << "C was never probed";
    h.deliver(kStranger, {Ack{*seq}});
    h.deliver("D", {Ack{*seq}});  // a member, but not one asked to relay
    h.advance(1s);
    EXPECT_EQ(h.state("C"), MemberState::Suspect);
}

// A spoofed source gets no more bytes than it sent: no piggybacked gossip on the ack of a ping,
// and a state-transfer request gets at most one page no larger than the request.
TEST_F(NodeAttack, AnUnknownSourceIsNeverAnsweredWithMoreBytesThanItSent) {
    h.deliver("B", {h.alive("F", 1), h.alive("G", 1)});  // something to gossip
    (void)h.sent();
    auto ping = h.seal({Ping{5, NodeHarness::kSelfId, 0}});
    h.deliver_bytes(kStranger, ping);
    auto out = h.sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].text, Strings{"ack(5)"});
    EXPECT_LE(out[0].bytes.size(), ping.size());

    auto pull = h.seal({SyncPull{77, NodeId{}, 16}});
    h.deliver_bytes(kStranger, pull);
    EXPECT_TRUE(h.sent().empty());  // unpadded: not even one record fits
    SyncPull padded{78, NodeId{}, 16};
    padded.padding = 1300;
    auto big = h.seal({padded});
    h.deliver_bytes(kStranger, big);
    out = h.sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_LE(total_bytes(out), big.size());
    // A member is served in full.
    h.deliver("B", {SyncPull{79, NodeId{}, 16}});
    EXPECT_GE(h.sent().size(), 1u);
}

// Range digests are 8 bytes a range (up to 64): a digest from a source we cannot tell from a
// spoofed one is answered with a plain digest, never with ranges, which would be an amplifier.
TEST_F(NodeAttack, AStrangersDigestIsAnsweredWithoutRangeDigests) {
    Digest other;
    other.fill(0xab);
    auto asked = h.seal({SyncDigest{other, 6, true, true}});
    h.deliver_bytes(kStranger, asked);
    auto out = h.sent();
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].msgs.size(), 1u);
    auto* d = std::get_if<SyncDigest>(&out[0].msgs[0]);
    ASSERT_TRUE(d);
    EXPECT_TRUE(d->ranges.empty());
    EXPECT_FALSE(d->reply);
    EXPECT_LE(out[0].bytes.size(), asked.size());
    // A member is answered with them.
    h.deliver("B", {SyncDigest{other, 6, true, true}});
    out = h.sent();
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].msgs.size(), 1u);
    d = std::get_if<SyncDigest>(&out[0].msgs[0]);
    ASSERT_TRUE(d);
    EXPECT_FALSE(d->ranges.empty());
}

// A key holder that sends digests "from" a member's address (UDP sources are not checked) has us
// send that member range digests, up to 512 bytes of them for each digest of a few dozen: a
// handful a second, however many digests arrive.
TEST_F(NodeAttack, RangeDigestsToOneAddressAreRateLimited) {
    Digest other;
    other.fill(0xab);
    auto range_answers = [&] {
        std::size_t n = 0;
        for (const auto& o : h.sent())
            for (const auto& m : o.msgs)
                if (auto* d = std::get_if<SyncDigest>(&m); d && o.to == h.addr("B"))
                    n += d->ranges.empty() ? 0 : 1;
        return n;
    };
    for (int i = 0; i < 1000; ++i) h.deliver("B", {SyncDigest{other, 6, true, true}});
    EXPECT_EQ(range_answers(), 64u);  // the burst
    h.advance(1s);
    for (int i = 0; i < 1000; ++i) h.deliver("B", {SyncDigest{other, 6, true, true}});
    EXPECT_EQ(range_answers(), 20u);  // a second's worth
    EXPECT_GE(h.node.stats().sync_requests_throttled, 1000u);
    // Another member is answered meanwhile.
    h.deliver("C", {SyncDigest{other, 6, true, true}});
    bool answered = false;
    for (const auto& o : h.sent())
        for (const auto& m : o.msgs)
            if (auto* d = std::get_if<SyncDigest>(&m); d && o.to == h.addr("C"))
                answered = answered || !d->ranges.empty();
    EXPECT_TRUE(answered);
}

// Names reach logs, terminals and files: a newline in one forged an `error:` log line.
TEST_F(NodeAttack, AMemberNameThatIsNotAHostNameIsRefused) {
    for (const char* bad : {"evil\nerror: forged", "a b", "-x", "\x1b[31mred", ""}) {
        Alive a = h.alive("F", 1);
        a.name = bad;
        h.deliver("B", {a});
    }
    EXPECT_EQ(h.member("F"), nullptr);
    EXPECT_EQ(rejected(Rejection::MalformedName), 5u);
    Alive renamed = h.alive("C", 6);
    renamed.name = "c\nerror: forged";
    h.deliver("C", {renamed});
    EXPECT_EQ(h.member("C")->info.name, "c");
    EXPECT_EQ(rejected(Rejection::MalformedName), 6u);
}

// New identities cost memory and a signature check each: at max-members they are refused,
// and one source may introduce only so many per second.
TEST(NodeAttackCaps, TheMemberTableStopsAtMaxMembers) {
    Timing t = timing_for(Profile::Lan);
    t.max_members = 10;
    NodeHarness h(1, true, nullptr, t);
    ASSERT_NO_FATAL_FAILURE(h.join());
    std::size_t before = h.node.members().size();
    for (std::uint32_t k = 1; k <= 20; ++k) {
        NodeId id;
        id.bytes.fill(0xf0);
        id.bytes[0] = static_cast<std::uint8_t>(k);
        h.deliver("B", {Alive{id,
                              1,
                              std::string("m").append(std::to_string(k)),
                              host(static_cast<std::uint8_t>(100 + k)),
                              kProtocolVersion,
                              {}}});
    }
    EXPECT_EQ(h.node.members().size(), 10u);
    EXPECT_EQ(h.node.stats().rejected[static_cast<int>(Rejection::MemberCap)],
              20u - (10u - before));
}

TEST_F(NodeAttack, OneSourceIntroducesAtMostABurstOfNewIdentitiesAtOnce) {
    std::uint32_t k = 0;
    for (int d = 0; d < 60; ++d) {
        std::vector<Message> batch;
        for (int i = 0; i < 20; ++i) batch.push_back(fake(++k));
        h.deliver(kStranger, batch);
    }
    EXPECT_EQ(h.node.members().size(), 6u + 1000u);
    EXPECT_EQ(rejected(Rejection::IdentityRate), 200u);
    // Another source is not affected, and the first refills with time.
    h.deliver("B", {fake(++k)});
    EXPECT_EQ(h.node.members().size(), 6u + 1001u);
    h.advance(1s);
    h.deliver(kStranger, {fake(++k)});
    EXPECT_EQ(h.node.members().size(), 6u + 1002u);
}

// Pages toward one address are bounded per source, not only in all: a key holder spoofing a
// member's address cannot point the whole serving budget at it.
TEST_F(NodeAttack, OneSourceIsServedAtMostABurstOfPages) {
    for (int i = 0; i < 300; ++i) h.deliver("B", {SyncPull{static_cast<std::uint32_t>(i), {}, 16}});
    EXPECT_EQ(h.node.stats().sync_chunks_served, 256u);
    EXPECT_EQ(h.node.stats().sync_requests_throttled, 44u);
    // Another source is served, and B again after a while.
    h.deliver("C", {SyncPull{1000, {}, 16}});
    EXPECT_EQ(h.node.stats().sync_chunks_served, 257u);
    h.advance(100ms);
    h.deliver("B", {SyncPull{1001, {}, 16}});
    EXPECT_EQ(h.node.stats().sync_chunks_served, 258u);
}

// Protocol 1 has no signed accusations: accepting it is a downgrade, refused unless the
// operator turned accept-protocol-1 on for a rolling upgrade.
TEST_F(NodeAttack, ProtocolOneIsRefusedUnlessAccepted) {
    h.deliver_bytes(h.addr("B"), h.seal({Ping{5, NodeHarness::kSelfId, 0}}, kProtocolVersion1));
    EXPECT_TRUE(h.sent().empty());
    EXPECT_EQ(h.node.stats().dropped[static_cast<int>(DropReason::OlderVersion)], 1u);
}

// During a rolling upgrade: a protocol-1 datagram is answered in protocol 1 (and with a
// sequence number it can decode), a protocol-2 one in protocol 2; joins alternate.
TEST(NodeProtocolOne, AcceptedDuringAnUpgradeAndAnsweredInKind) {
    NodeHarness h(1, true, nullptr, timing_for(Profile::Lan), true);
    auto first = h.sent();
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(first[0].version(), kProtocolVersion);
    h.advance(1s);  // the join is retried in protocol 1
    bool v1_join = false;
    for (const auto& s : h.sent())
        for (const auto& m : s.msgs)
            if (auto* p = std::get_if<SyncPull>(&m); p && s.version() == kProtocolVersion1) {
                v1_join = true;
                EXPECT_LE(p->session, UINT32_MAX);
            }
    EXPECT_TRUE(v1_join);
    h.deliver_bytes(h.addr("B"), h.seal({Ping{5, NodeHarness::kSelfId, 0}}, kProtocolVersion1));
    auto out = h.sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].version(), kProtocolVersion1);
    EXPECT_EQ(out[0].text, Strings{"ack(5)"});
    h.deliver_bytes(h.addr("B"), h.seal({Ping{6, NodeHarness::kSelfId, 0}}));
    out = h.sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].version(), kProtocolVersion);
}

// Only distinct accusers that signed count as confirmations: a key holder's suspicions in
// others' names (signed by itself, or not at all) are refused and counted.
TEST(NodeAttackSigned, ConfirmationsCountOnlyAccusersThatSigned) {
    NodeHarness h(1, true, std::make_shared<HoldCredentials>());
    ASSERT_NO_FATAL_FAILURE(h.join());
    ASSERT_NO_FATAL_FAILURE(h.quiesce());
    auto rejected = [&](Rejection r) { return h.node.stats().rejected[static_cast<int>(r)]; };
    const NodeId c = h.id("C");
    h.deliver("B", {Suspect{c, 5, h.id("B"), {'b'}}});
    ASSERT_EQ(h.state("C"), MemberState::Suspect);
    // B signs in D's and E's names, and sends one unsigned in A's; a dead from nobody.
    h.deliver("B", {Suspect{c, 5, h.id("D"), {'b'}}, Suspect{c, 5, h.id("E"), {'b'}},
                    Suspect{c, 5, h.id("A"), {}}, Dead{c, 5, h.id("A"), {}}});
    EXPECT_EQ(rejected(Rejection::UnsignedAccusation), 4u);
    EXPECT_EQ(h.member("C")->suspicion->confirmations(), 0);
    EXPECT_EQ(h.state("C"), MemberState::Suspect);
    // D's own word counts.
    h.deliver("D", {Suspect{c, 5, h.id("D"), {'d'}}});
    EXPECT_EQ(h.member("C")->suspicion->confirmations(), 1);
    // Our own accusations are signed.
    for (const auto& s : h.sent())
        for (const auto& m : s.msgs)
            if (auto* sus = std::get_if<Suspect>(&m); sus && sus->from == NodeHarness::kSelfId) {
                EXPECT_EQ(sus->sig, (std::vector<std::uint8_t>{'s', 'e', 'l', 'f'}));
            }
}

// A forgotten member's announcement is a replay whenever it comes back: its tombstone keeps
// the highest incarnation it signed, travels in state transfers and survives in the state file.
TEST(NodeAttackTombstones, AForgottenMembersAnnouncementIsAReplay) {
    Timing t = timing_for(Profile::Lan);
    t.dead_retention = 30s;
    NodeHarness h(1, true, nullptr, t);
    ASSERT_NO_FATAL_FAILURE(h.join());
    h.deliver_death("C", 5);
    ASSERT_EQ(h.state("C"), MemberState::Dead);
    h.responsive.erase("C");
    h.advance(60s);
    ASSERT_EQ(h.member("C"), nullptr);
    ASSERT_EQ(h.node.tombstones().find(h.id("C")), 5u);
    h.deliver("B", {h.alive("C", 5)});
    EXPECT_EQ(h.member("C"), nullptr);
    EXPECT_EQ(h.node.stats().rejected[static_cast<int>(Rejection::Replayed)], 1u);
    // Served in a state transfer ...
    (void)h.sent();
    h.deliver("B", {SyncPull{9, NodeId{}, 16}});
    std::vector<Tombstone> served;
    for (const auto& s : h.sent())
        for (const auto& m : s.msgs)
            if (auto* c = std::get_if<SyncChunk>(&m)) served = c->tombstones;
    EXPECT_EQ(served, (std::vector<Tombstone>{{h.id("C"), 5}}));
    // ... and a newer announcement is a member coming back.
    h.deliver("B", {h.alive("C", 6)});
    EXPECT_EQ(h.state("C"), MemberState::Alive);
    EXPECT_FALSE(h.node.tombstones().find(h.id("C")));
}

// What a sender gets rejected is logged once per 10 s per sender: a flood from one neither
// floods the log nor hides another sender's line.
TEST_F(NodeAttack, RejectionsAreLoggedOncePerTenSecondsPerSender) {
    auto warnings = [&] {
        std::size_t n = 0;
        for (const auto& l : h.logs()) n += l.level == LogLevel::Warn;
        return n;
    };
    const std::size_t before = warnings();
    std::vector<std::uint8_t> junk(64, 0xab);
    junk[0] = kProtocolVersion;  // no key opens it
    for (int i = 0; i < 100; ++i) h.deliver_bytes(kStranger, junk);
    Alive bad = h.alive("F", 1);
    bad.name = "bad name";
    for (int i = 0; i < 100; ++i) h.deliver("B", {bad});
    EXPECT_EQ(warnings(), before + 2);
    h.advance(10s);
    h.deliver_bytes(kStranger, junk);
    h.deliver("B", {bad});
    EXPECT_EQ(warnings(), before + 4);
    EXPECT_EQ(h.node.stats().dropped[static_cast<int>(DropReason::Unauthenticated)], 101u);
    EXPECT_EQ(rejected(Rejection::MalformedName), 101u);
}

// Tombstones in a state transfer are the peer's word, unsigned: one near 2^32 about us would
// lift our incarnation to where we could refute no more, one about another member would shut
// it out for good. Above 2^31 they are dropped; below, ours lifts us above it.
TEST(NodeAttackTombstones, ATransferredTombstoneNearTheTopIsDropped) {
    NodeHarness h;
    auto chunk = h.chunk(0, {h.record("A", MemberState::Alive, 5)});
    for (const auto& s : h.sent())
        for (const auto& m : s.msgs)
            if (auto* p = std::get_if<SyncPull>(&m)) chunk.session = p->session;
    chunk.tombstones = {Tombstone{NodeHarness::kSelfId, UINT32_MAX - 1},
                        Tombstone{h.id("F"), kMaxLearnedTombstoneInc}};
    h.deliver("A", {chunk});
    ASSERT_TRUE(h.node.joined());
    EXPECT_EQ(h.node.incarnation(), NodeHarness::kSelfInc);
    EXPECT_FALSE(h.node.tombstones().find(h.id("F")));
    EXPECT_EQ(h.node.stats().rejected[static_cast<int>(Rejection::Unannounced)], 2u);
    h.deliver("B", {h.alive("F", 3)});
    EXPECT_EQ(h.state("F"), MemberState::Alive);
}

TEST(NodeAttackTombstones, OurOwnTombstoneLiftsUsAboveIt) {
    NodeHarness h;
    auto chunk = h.chunk(0, {h.record("A", MemberState::Alive, 5)});
    for (const auto& s : h.sent())
        for (const auto& m : s.msgs)
            if (auto* p = std::get_if<SyncPull>(&m)) chunk.session = p->session;
    chunk.tombstones = {Tombstone{NodeHarness::kSelfId, 40}};
    h.deliver("A", {chunk});
    EXPECT_EQ(h.node.incarnation(), 41u);
}
