// State transfer: which pages count, and how their records merge (docs/PROTOCOL.md, "Join,
// anti-entropy, healing"), one test per rule on one Node fed exact messages.
#include <gtest/gtest.h>

#include "node_fixture.hpp"

using namespace shoal;
using namespace shoal::node_test;

// ---- state transfer ----------------------------------------------------------------------------

namespace {

class NodeSync : public JoinedNode {
  protected:
    // A digest from `peer` that differs from ours: the node answers with its own and pulls the
    // peer's table; `session` is the session of that pull.
    void pull_from(const std::string& peer, std::uint64_t& session) {
        Digest other;
        other.fill(0xab);
        h.deliver(peer, {SyncDigest{other, 6, true}});
        auto out = h.sent();
        ASSERT_EQ(out.size(), 2u) << ::testing::PrintToString(texts(out));
        EXPECT_EQ(out[0].to, h.addr(peer));
        EXPECT_EQ(out[0].text, Strings{"sync-digest(6)"});
        EXPECT_EQ(out[1].to, h.addr(peer));
        ASSERT_EQ(out[1].msgs.size(), 1u);
        auto* pull = std::get_if<SyncPull>(&out[1].msgs[0]);
        ASSERT_TRUE(pull);
        EXPECT_EQ(pull->cursor, NodeId{});
        EXPECT_EQ(pull->max_chunks, 16);
        EXPECT_NE(pull->session, h.join_session);
        session = pull->session;
    }
};

}  // namespace

TEST_F(NodeSync, EqualDigestIsLeftAtThat) {
    h.deliver("B", {SyncDigest{h.node.members().digest(), 6, true}});
    EXPECT_TRUE(h.sent().empty());
}

TEST_F(NodeSync, DifferentDigestIsAnsweredWithOursAndAPull) {
    std::uint64_t session = 0;
    ASSERT_NO_FATAL_FAILURE(pull_from("B", session));
}

TEST_F(NodeSync, OnlyAChunkOfTheRequestedSessionAndPeerCountsAsTheTransfer) {
    std::uint64_t s = 0;
    ASSERT_NO_FATAL_FAILURE(pull_from("B", s));
    // A page [0, C) that ends a batch: the requester asks again from C, the first gap.
    SyncChunk page{s, NodeId{}, h.id("C"), false, true, {}};
    SyncChunk other = page;
    other.session = s + 1;
    h.deliver("B", {other});
    EXPECT_TRUE(h.sent().empty());
    h.deliver("C", {page});  // the right session from the wrong peer
    EXPECT_TRUE(h.sent().empty());
    h.deliver("B", {page});
    auto out = h.sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].to, h.addr("B"));
    EXPECT_EQ(out[0].text, Strings{"sync-pull(" + std::to_string(s) + ", C, 16)"});
}

TEST_F(NodeSync, DeadRecordOfALiveMemberBecomesASuspicion) {
    std::uint64_t s = 0;
    ASSERT_NO_FATAL_FAILURE(pull_from("B", s));
    h.deliver("B", {h.chunk(s, {h.record("C", MemberState::Dead, 5, 2000)})});
    EXPECT_EQ(h.state("C"), MemberState::Suspect);
    EXPECT_EQ(h.inc("C"), 5u);
    EXPECT_EQ(h.events(), Strings{h.ev("suspect", "C", 5)});
    auto [pings, gossip] = split_pings(h.sent());
    // The sender's verdict, gossiped as its suspicion.
    expect_gossip(h, gossip, {"suspect(C, 5, from B)"}, kPeers);
    ASSERT_EQ(pings.size(), 1u);  // the confirm probe, carrying the suspicion
    EXPECT_EQ(pings[0].to, h.addr("C"));
    ASSERT_GE(pings[0].text.size(), 2u);
    EXPECT_EQ(pings[0].text[1], "suspect(C, 5, from S)");
}

// A verdict above the member's own announcement is nobody's to give (docs/SECURITY.md).
TEST_F(NodeSync, DeadRecordAboveItsAnnouncementIsDropped) {
    std::uint64_t s = 0;
    ASSERT_NO_FATAL_FAILURE(pull_from("B", s));
    h.deliver("B", {h.chunk(s, {h.record("D", MemberState::Dead, 7, 10, 5),
                                h.record("F", MemberState::Dead, 7, 10, 5)})});
    EXPECT_EQ(h.state("D"), MemberState::Alive);
    EXPECT_EQ(h.inc("D"), 5u);
    EXPECT_EQ(h.member("F"), nullptr);
    EXPECT_EQ(h.node.stats().rejected[static_cast<int>(Rejection::Unannounced)], 2u);
    EXPECT_TRUE(h.events().empty());
}

TEST_F(NodeSync, DeadRecordBelowTheIncarnationIsIgnored) {
    std::uint64_t s = 0;
    ASSERT_NO_FATAL_FAILURE(pull_from("B", s));
    h.deliver("B", {h.chunk(s, {h.record("C", MemberState::Dead, 4, 10)})});
    EXPECT_EQ(h.state("C"), MemberState::Alive);
    EXPECT_TRUE(h.events().empty());
    EXPECT_TRUE(h.sent().empty());
}

TEST_F(NodeSync, DeadAndLeftRecordsOfUnknownMembersAreAddedQuietly) {
    std::uint64_t s = 0;
    ASSERT_NO_FATAL_FAILURE(pull_from("B", s));
    const std::uint32_t day_ms = 24 * 3600 * 1000;
    h.deliver("B", {h.chunk(s, {h.record("F", MemberState::Dead, 2, 3000),
                                h.record("G", MemberState::Left, 4, 1000),
                                h.record("H", MemberState::Dead, 1, day_ms)})});
    EXPECT_EQ(h.state("F"), MemberState::Dead);
    EXPECT_EQ(h.inc("F"), 2u);
    EXPECT_EQ(h.member("F")->state_since, h.now - 3s);  // the age travels with the record
    EXPECT_EQ(h.state("G"), MemberState::Left);
    EXPECT_EQ(h.inc("G"), 4u);
    EXPECT_EQ(h.member("G")->state_since, h.now - 1s);
    EXPECT_EQ(h.member("H"), nullptr);  // older than dead-retention: already forgotten
    EXPECT_EQ(h.events(), (Strings{h.ev("learned", "F", 2), h.ev("learned", "G", 4)}));
    EXPECT_TRUE(h.sent().empty());
    EXPECT_EQ(h.node.pending_broadcasts(), 0u);
    EXPECT_TRUE(h.node.synced());
}

TEST_F(NodeSync, AliveRecordsMergeByTheGossipRules) {
    std::uint64_t s = 0;
    ASSERT_NO_FATAL_FAILURE(pull_from("B", s));
    const Address moved = host(96);
    MemberRecord d_old = h.record("D", MemberState::Alive, 4);
    d_old.alive.addr = host(95);
    h.move("C", moved);
    h.deliver("B", {h.chunk(s, {h.record("C", MemberState::Alive, 6), d_old})});
    EXPECT_EQ(h.inc("C"), 6u);
    EXPECT_EQ(h.member("C")->info.addr, moved);
    EXPECT_EQ(h.inc("D"), 5u);
    EXPECT_EQ(h.member("D")->info.addr, h.addr("D"));
    EXPECT_EQ(h.events(), Strings{h.ev("updated", "C", 6)});
    expect_gossip(h, h.sent(), {h.alive_text("C", 6)}, kPeers);
}

TEST_F(NodeSync, LeftRecordOfALiveMemberMakesItLeft) {
    std::uint64_t s = 0;
    ASSERT_NO_FATAL_FAILURE(pull_from("B", s));
    h.deliver("B", {h.chunk(s, {h.record("E", MemberState::Left, 5, 10)})});
    EXPECT_EQ(h.state("E"), MemberState::Left);
    EXPECT_EQ(h.events(), Strings{h.ev("left", "E", 5)});
    expect_gossip(h, h.sent(), {"left(E, 5)"}, without(kPeers, "E"));
}

TEST_F(NodeSync, DeadRecordOfUsIsRefutedAtOnce) {
    std::uint64_t s = 0;
    ASSERT_NO_FATAL_FAILURE(pull_from("B", s));
    h.deliver("B", {h.chunk(s, {h.record("S", MemberState::Dead, 3, 10)})});
    EXPECT_EQ(h.node.incarnation(), 4u);
    auto out = h.sent();
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out[0].to, h.addr("B"));
    ASSERT_FALSE(out[0].text.empty());
    EXPECT_EQ(out[0].text[0], h.alive_text("S", 4));
    expect_gossip(h, {out.begin() + 1, out.end()}, {h.alive_text("S", 4)}, kPeers);
}

TEST_F(NodeSync, ServedTableCarriesDeathsWithTheirAgeButNotSuspicions) {
    h.deliver_death("C", 5);
    h.deliver("B", {Suspect{h.id("D"), 5, h.id("B")}});
    h.advance(250ms);
    (void)h.sent();
    h.deliver("E", {SyncPull{42, NodeId{}, 16}});
    auto out = h.sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].to, h.addr("E"));
    ASSERT_EQ(out[0].msgs.size(), 1u);  // a page is sent alone, nothing piggybacked
    auto* c = std::get_if<SyncChunk>(&out[0].msgs[0]);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->session, 42u);
    EXPECT_TRUE(c->done);
    EXPECT_TRUE(c->last_in_batch);
    Strings recs;
    for (const auto& r : c->records)
        recs.push_back(h.name_of(r.alive.id) + " " + std::string(to_string(r.state)) + " " +
                       std::to_string(r.state_inc) + " " + std::to_string(r.age_ms));
    // In id order; D's suspicion is our local opinion, so it travels as alive.
    EXPECT_EQ(recs, (Strings{"A alive 5 0", "B alive 5 0", "C dead 5 250", "D alive 5 0",
                             "E alive 5 0", "S alive 3 0"}));
}

// ---- pulling by id range -----------------------------------------------------------------------

namespace {

Digest some_other_digest() {
    Digest d;
    d.fill(0xab);
    return d;
}

const SyncDigest* digest_in(const Sent& s) {
    return s.msgs.size() == 1 ? std::get_if<SyncDigest>(&s.msgs[0]) : nullptr;
}

const SyncPull* pull_in(const Sent& s) {
    return s.msgs.size() == 1 ? std::get_if<SyncPull>(&s.msgs[0]) : nullptr;
}

}  // namespace

// Step 2 of four: a member's digest that says it pulls by range is answered with our range
// digests, asking for its own; we pull nothing until we have them.
TEST_F(NodeSync, AMarkedDigestIsAnsweredWithRangeDigestsAndNoPullYet) {
    h.deliver("B", {SyncDigest{some_other_digest(), 6, true, true}});
    auto out = h.sent();
    ASSERT_EQ(out.size(), 1u) << ::testing::PrintToString(texts(out));
    EXPECT_EQ(out[0].to, h.addr("B"));
    const SyncDigest* d = digest_in(out[0]);
    ASSERT_TRUE(d);
    EXPECT_TRUE(d->reply);
    EXPECT_EQ(d->digest, h.node.members().digest());
    EXPECT_EQ(d->ranges, h.node.members().range_digests(2));  // 6 members: the smallest split
}

// Steps 3 and 4: given the peer's range digests, we answer with ours at its split (once: it
// asked) and pull the ranges that differ, and the last range, with which revocations travel.
TEST_F(NodeSync, OnlyTheRangesThatDifferArePulled) {
    const auto before = h.node.stats().syncs_completed;
    auto theirs = h.node.members().range_digests(8);
    theirs[2] ^= 1;
    theirs[5] ^= 1;
    h.deliver("B", {SyncDigest{some_other_digest(), 6, true, true, theirs}});
    auto out = h.sent();
    ASSERT_EQ(out.size(), 2u) << ::testing::PrintToString(texts(out));
    const SyncDigest* d = digest_in(out[0]);
    ASSERT_TRUE(d);
    EXPECT_FALSE(d->reply);
    EXPECT_EQ(d->ranges, h.node.members().range_digests(8));
    const SyncPull* p = pull_in(out[1]);
    ASSERT_TRUE(p);
    const std::uint64_t s = p->session;
    EXPECT_EQ(p->cursor, digest_range_start(2, 8));
    EXPECT_EQ(p->until, digest_range_start(3, 8));
    // B's page [start, next) ends its batch: the pull that follows, if one alone is sent.
    auto after_page = [&](const NodeId& start, const NodeId& next) -> std::optional<SyncPull> {
        h.deliver("B", {SyncChunk{s, start, next, false, true, {}}});
        auto sent = h.sent();
        if (sent.size() != 1 || !pull_in(sent[0])) return std::nullopt;
        return *pull_in(sent[0]);
    };
    // The page for range 2: next range 5.
    auto next = after_page(digest_range_start(2, 8), digest_range_start(3, 8));
    ASSERT_TRUE(next);
    EXPECT_EQ(next->cursor, digest_range_start(5, 8));
    EXPECT_EQ(next->until, digest_range_start(6, 8));
    // A responder of an older version does not read `until` and goes on past it: what it
    // covers counts, and the transfer goes on from the next gap, the last range.
    next = after_page(digest_range_start(5, 8), digest_range_start(7, 8));
    ASSERT_TRUE(next);
    EXPECT_EQ(next->cursor, digest_range_start(7, 8));
    EXPECT_FALSE(next->until);
    h.deliver("B", {SyncChunk{s, digest_range_start(7, 8), NodeId{}, true, true, {}}});
    for (const auto& o : h.sent()) EXPECT_FALSE(pull_in(o)) << ::testing::PrintToString(o.text);
    EXPECT_EQ(h.node.stats().syncs_completed, before + 1);
}

// Range digests that all agree under a different whole digest (a collision, or a liar): the
// whole table is pulled, so that two tables never stay different for good.
TEST_F(NodeSync, RangeDigestsThatAllAgreeUnderADifferentDigestPullEverything) {
    h.deliver("B",
              {SyncDigest{some_other_digest(), 6, false, true, h.node.members().range_digests(4)}});
    auto out = h.sent();
    ASSERT_EQ(out.size(), 1u) << ::testing::PrintToString(texts(out));
    const SyncPull* p = pull_in(out[0]);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->cursor, NodeId{});
    EXPECT_FALSE(p->until);
}

// The serving side: a pull with an end gets the records below it, and a page that covers the
// rest of the range even when the range holds nobody.
TEST_F(NodeSync, APullWithAnEndIsServedUpToIt) {
    std::vector<std::pair<NodeId, std::string>> ids;
    for (const auto& [id, m] : h.node.members().all()) ids.emplace_back(id, m.info.name);
    ASSERT_EQ(ids.size(), 6u);
    auto served = [&](const NodeId& cursor, const NodeId& until) {
        h.deliver("E", {SyncPull{42, cursor, 16, 0, until}});
        auto out = h.sent();
        std::vector<SyncChunk> pages;
        for (const auto& o : out)
            for (const auto& m : o.msgs)
                if (auto* c = std::get_if<SyncChunk>(&m)) pages.push_back(*c);
        return pages;
    };
    // [first, fourth): three records, one page that ends the batch at `until`.
    auto pages = served(ids[0].first, ids[3].first);
    ASSERT_EQ(pages.size(), 1u);
    EXPECT_EQ(pages[0].records.size(), 3u);
    EXPECT_EQ(pages[0].records.back().alive.id, ids[2].first);
    EXPECT_EQ(pages[0].next, ids[3].first);
    EXPECT_FALSE(pages[0].done);
    EXPECT_TRUE(pages[0].last_in_batch);
    // A range with nobody in it: an empty page that covers it, so the requester moves on.
    NodeId just_after = ids[1].first;
    for (int i = 15; i >= 0 && ++just_after.bytes[i] == 0; --i) {
    }
    ASSERT_LT(ids[1].first, just_after);
    ASSERT_LT(just_after, ids[2].first);
    pages = served(just_after, ids[2].first);
    ASSERT_EQ(pages.size(), 1u);
    EXPECT_TRUE(pages[0].records.empty());
    EXPECT_EQ(pages[0].start, just_after);
    EXPECT_EQ(pages[0].next, ids[2].first);
    EXPECT_TRUE(pages[0].last_in_batch);
    // An end at or before the cursor asks for nothing.
    EXPECT_TRUE(served(ids[2].first, ids[2].first).empty());
    EXPECT_TRUE(served(ids[3].first, ids[1].first).empty());
}
