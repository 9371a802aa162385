#include "gossip/wire/messages.hpp"

#include <gtest/gtest.h>

#include "gossip/wire/msgpack_reader.hpp"
#include "gossip/wire/msgpack_writer.hpp"

using namespace shoal;

namespace {
NodeId id_of(std::uint8_t b) {
    NodeId id;
    id.bytes.fill(b);
    return id;
}
Message round_trip(const Message& m) {
    std::vector<std::uint8_t> buf;
    encode_message(m, buf);
    MsgReader r(buf);
    auto out = decode_message(r);
    EXPECT_TRUE(out.has_value());
    EXPECT_TRUE(r.at_end());
    return out ? *out : Message{};
}
}  // namespace

TEST(Messages, EveryTypeRoundTrips) {
    Alive alive{id_of(1), 42, "node-a", Address{0x0a000001, 7946}, 1, {9, 8, 7}};
    auto a = std::get<Alive>(round_trip(alive));
    EXPECT_EQ(a.id, alive.id);
    EXPECT_EQ(a.inc, 42u);
    EXPECT_EQ(a.name, "node-a");
    EXPECT_EQ(a.addr, alive.addr);
    EXPECT_EQ(a.meta, alive.meta);

    auto p = std::get<Ping>(round_trip(Ping{77, id_of(2), 5}));
    EXPECT_EQ(p.seq, 77u);
    EXPECT_EQ(p.target, id_of(2));
    EXPECT_EQ(p.sender_inc, 5u);

    // Protocol 2's short target: the id's first 4 bytes.
    NodeId target;
    for (std::size_t i = 0; i < target.bytes.size(); ++i)
        target.bytes[i] = static_cast<std::uint8_t>(i + 1);
    std::vector<std::uint8_t> full, short_form;
    encode_message(Ping{77, target, 5, false}, full);
    encode_message(Ping{77, target, 5, true}, short_form);
    EXPECT_EQ(full.size(), short_form.size() + 12);
    auto sp = std::get<Ping>(round_trip(Ping{UINT64_MAX, target, 5, true}));
    EXPECT_TRUE(sp.short_target);
    EXPECT_EQ(sp.seq, UINT64_MAX);
    EXPECT_EQ(sp.target.prefix64() >> 32, target.prefix64() >> 32);
    EXPECT_FALSE(std::get<Ping>(round_trip(Ping{1, target, 5, false})).short_target);

    Revocation rev;
    rev.ca.fill(3);
    rev.cert.fill(4);
    rev.sig.fill(5);
    EXPECT_EQ(std::get<Revoked>(round_trip(Revoked{rev})).revocation, rev);

    auto pr = std::get<PingReq>(round_trip(PingReq{9, id_of(3), Address{1, 2}}));
    EXPECT_EQ(pr.target_addr, (Address{1, 2}));
    EXPECT_EQ(std::get<Ack>(round_trip(Ack{UINT64_MAX})).seq, UINT64_MAX);
    EXPECT_EQ(std::get<Nack>(round_trip(Nack{3})).seq, 3u);
    auto s = std::get<Suspect>(round_trip(Suspect{id_of(4), 6, id_of(5)}));
    EXPECT_EQ(s.from, id_of(5));
    EXPECT_TRUE(s.sig.empty());
    auto d = std::get<Dead>(round_trip(Dead{id_of(4), 7, id_of(6)}));
    EXPECT_EQ(d.inc, 7u);
    // Signed accusations carry the accuser's signature.
    std::vector<std::uint8_t> sig(kSignatureLen, 0x5a);
    EXPECT_EQ(std::get<Suspect>(round_trip(Suspect{id_of(4), 6, id_of(5), sig})).sig, sig);
    auto sd = std::get<Dead>(round_trip(Dead{id_of(4), 7, id_of(6), sig}));
    EXPECT_EQ(sd.sig, sig);
    EXPECT_EQ(sd.from, id_of(6));
    EXPECT_EQ(std::get<Left>(round_trip(Left{id_of(8), 1, {}})).id, id_of(8));

    SyncDigest dg;
    dg.digest.fill(0xab);
    dg.members = 4096;
    dg.reply = true;
    auto dg2 = std::get<SyncDigest>(round_trip(dg));
    EXPECT_EQ(dg2.digest, dg.digest);
    EXPECT_TRUE(dg2.reply);

    auto pull = std::get<SyncPull>(round_trip(SyncPull{5, id_of(9), 16}));
    EXPECT_EQ(pull.cursor, id_of(9));
    EXPECT_EQ(pull.max_chunks, 16);
    // Padding is carried as bytes and skipped by the reader.
    std::vector<std::uint8_t> padded;
    encode_message(SyncPull{5, id_of(9), 16, 1000}, padded);
    EXPECT_GT(padded.size(), 1000u);
    EXPECT_EQ(std::get<SyncPull>(round_trip(SyncPull{5, id_of(9), 16, 1000})).cursor, id_of(9));

    SyncChunk c{11, id_of(1), id_of(2), false, true, {}};
    c.records.push_back(MemberRecord{alive, MemberState::Dead, 1234, {}, 42, std::nullopt});
    c.records.push_back(MemberRecord{alive, MemberState::Restarting, 0, {}, 42, 5000});
    auto c2 = std::get<SyncChunk>(round_trip(c));
    ASSERT_EQ(c2.records.size(), 2u);
    EXPECT_EQ(c2.records[0].state, MemberState::Dead);
    EXPECT_EQ(c2.records[0].age_ms, 1234u);
    EXPECT_FALSE(c2.records[0].hold_left_ms);
    EXPECT_EQ(c2.records[1].hold_left_ms, 5000u);
    EXPECT_TRUE(c2.last_in_batch);
    EXPECT_TRUE(c2.tombstones.empty());
    c.tombstones = {Tombstone{id_of(1), 9}, Tombstone{id_of(3), UINT32_MAX}};
    c.session = UINT64_MAX;
    auto c3 = std::get<SyncChunk>(round_trip(c));
    EXPECT_EQ(c3.tombstones, c.tombstones);
    EXPECT_EQ(c3.session, UINT64_MAX);
    EXPECT_EQ(c3.records.size(), 2u);
}

TEST(Messages, TrailingFieldsFromANewerMinorVersionAreSkipped) {
    std::vector<std::uint8_t> buf;
    {
        MsgWriter w(buf);
        w.array(3);  // [type, seq, extra]
        w.uint(static_cast<std::uint8_t>(MsgType::Ack));
        w.uint(12);
        w.str("a field from the future");
    }
    MsgReader r(buf);
    auto m = decode_message(r);
    ASSERT_TRUE(m);
    EXPECT_EQ(std::get<Ack>(*m).seq, 12u);
    EXPECT_TRUE(r.at_end());
}

// Anti-entropy by id range (docs/PROTOCOL.md): a digest's range digests and a pull's end are
// appended fields, so older readers skip them, and this reader takes older messages as before.
TEST(Messages, RangeDigestsAndPullEndsRoundTripAndStayReadableBothWays) {
    SyncDigest dg{{}, 4096, true, true, {1, 2, 0xfedcba9876543210ULL, 4}};
    auto dg2 = std::get<SyncDigest>(round_trip(dg));
    EXPECT_TRUE(dg2.ranged);
    EXPECT_EQ(dg2.ranges, dg.ranges);
    auto marked = std::get<SyncDigest>(round_trip(SyncDigest{{}, 6, true, true}));
    EXPECT_TRUE(marked.ranged);
    EXPECT_TRUE(marked.ranges.empty());
    EXPECT_FALSE(std::get<SyncDigest>(round_trip(SyncDigest{{}, 6, true})).ranged);

    // Not a power of two, or more than this version would send: ignored, the digest kept.
    auto with_ranges = [](std::size_t bytes) {
        std::vector<std::uint8_t> buf;
        MsgWriter w(buf);
        w.array(5);
        w.uint(static_cast<std::uint8_t>(MsgType::SyncDigest));
        w.bin(Digest{});
        w.uint(6);
        w.boolean(true);
        w.bin(std::vector<std::uint8_t>(bytes, 7));
        MsgReader r(buf);
        return decode_message(r);
    };
    for (std::size_t bytes :
         {std::size_t{24}, std::size_t{8}, std::size_t{20}, 8 * 2 * kMaxDigestRanges}) {
        auto m = with_ranges(bytes);
        ASSERT_TRUE(m) << bytes;
        EXPECT_TRUE(std::get<SyncDigest>(*m).ranges.empty()) << bytes;
        EXPECT_TRUE(std::get<SyncDigest>(*m).ranged) << bytes;
    }
    EXPECT_EQ(std::get<SyncDigest>(*with_ranges(8 * kMaxDigestRanges)).ranges.size(),
              kMaxDigestRanges);
    EXPECT_FALSE(with_ranges(8 * 4 * kMaxDigestRanges + 1));  // past any bound: malformed

    SyncPull ranged{5, id_of(9), 16, 0, id_of(10)};
    auto p = std::get<SyncPull>(round_trip(ranged));
    EXPECT_EQ(p.cursor, id_of(9));
    EXPECT_EQ(p.until, id_of(10));
    ranged.padding = 300;
    p = std::get<SyncPull>(round_trip(ranged));
    EXPECT_EQ(p.until, id_of(10));
    EXPECT_FALSE(std::get<SyncPull>(round_trip(SyncPull{5, id_of(9), 16, 300})).until);
    EXPECT_FALSE(std::get<SyncPull>(round_trip(SyncPull{5, id_of(9), 16})).until);
}

TEST(Messages, MissingFieldsUnknownTypesAndBadValuesAreRejected) {
    auto decode = [](auto build) {
        std::vector<std::uint8_t> buf;
        {
            MsgWriter w(buf);
            build(w);
        }
        MsgReader r(buf);
        return decode_message(r).has_value();
    };
    EXPECT_FALSE(decode([](MsgWriter& w) {  // ping without target and incarnation
        w.array(2);
        w.uint(1);
        w.uint(5);
    }));
    EXPECT_FALSE(decode([](MsgWriter& w) {  // unknown type
        w.array(2);
        w.uint(99);
        w.uint(5);
    }));
    EXPECT_FALSE(decode([](MsgWriter& w) {  // id of the wrong length
        w.array(3);
        w.uint(static_cast<std::uint8_t>(MsgType::Left));
        w.bin(std::vector<std::uint8_t>(15, 1));
        w.uint(1);
    }));
    EXPECT_FALSE(decode([](MsgWriter& w) {  // port out of range
        w.array(5);
        w.uint(static_cast<std::uint8_t>(MsgType::PingReq));
        w.uint(1);
        w.bin(std::vector<std::uint8_t>(16, 1));
        w.uint(1);
        w.uint(70000);
    }));
    EXPECT_FALSE(decode([](MsgWriter& w) {  // an accusation's signature that is not a bin
        w.array(5);
        w.uint(static_cast<std::uint8_t>(MsgType::Suspect));
        w.bin(std::vector<std::uint8_t>(16, 1));
        w.uint(1);
        w.bin(std::vector<std::uint8_t>(16, 2));
        w.uint(7);
    }));
}
