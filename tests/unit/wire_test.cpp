#include "gossip/wire/wire.hpp"

#include <gtest/gtest.h>

using namespace shoal;

namespace {
Keyring ring_from(std::uint64_t seed) {
    Rng rng = Rng::from_u64(seed);
    ClusterKey k;
    rng.fill(k);
    return Keyring({k});
}
std::vector<std::uint8_t> sealed(const std::vector<Message>& msgs, const Keyring& ring,
                                 std::size_t max = 1400) {
    Rng rng = Rng::from_u64(99);
    DatagramBuilder b(max);
    for (const auto& m : msgs) EXPECT_TRUE(b.add(m));
    return b.seal(ring, rng);
}
DropReason reason(const std::variant<Datagram, DropReason>& v) {
    return std::holds_alternative<DropReason>(v) ? std::get<DropReason>(v) : DropReason::Count;
}
}  // namespace

TEST(Wire, SealedDatagramOpensWithTheSameKey) {
    Keyring ring = ring_from(1);
    auto bytes = sealed({Ack{1}, Nack{2}}, ring);
    EXPECT_EQ(bytes[0], kProtocolVersion);
    auto d = open_datagram(bytes, ring);
    ASSERT_TRUE(std::holds_alternative<Datagram>(d));
    EXPECT_EQ(std::get<Datagram>(d).messages.size(), 2u);
}

TEST(Wire, WrongKeyTamperingAndTruncationAreRejected) {
    Keyring ring = ring_from(1);
    auto bytes = sealed({Ack{1}}, ring);
    EXPECT_EQ(reason(open_datagram(bytes, ring_from(2))), DropReason::Unauthenticated);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        auto bad = bytes;
        bad[i] ^= 0x01;
        auto r = reason(open_datagram(bad, ring));
        // Flipping the version byte changes what is checked first; anything else must fail auth.
        EXPECT_NE(r, DropReason::Count) << "byte " << i;
    }
    std::vector<std::uint8_t> shorter(bytes.begin(), bytes.begin() + kDatagramOverhead - 1);
    EXPECT_EQ(reason(open_datagram(shorter, ring)), DropReason::Truncated);
    std::vector<std::uint8_t> huge(kMaxDatagramIn + 1, 0);
    EXPECT_EQ(reason(open_datagram(huge, ring)), DropReason::Oversized);
}

TEST(Wire, NewerAndTooOldVersionsAreRejectedBeforeDecryption) {
    Keyring ring = ring_from(1);
    auto bytes = sealed({Ack{1}}, ring);
    bytes[0] = kProtocolVersion + 1;
    EXPECT_EQ(reason(open_datagram(bytes, ring)), DropReason::NewerVersion);
    bytes[0] = 0;
    EXPECT_EQ(reason(open_datagram(bytes, ring)), DropReason::OlderVersion);
}

TEST(Wire, AnyKeyOfTheRingOpensTheFirstSeals) {
    Keyring old_ring = ring_from(1);
    Keyring new_ring = ring_from(2);
    Keyring both({new_ring.primary(), old_ring.primary()});
    auto from_old = sealed({Ack{1}}, old_ring);
    auto d = open_datagram(from_old, both);
    ASSERT_TRUE(std::holds_alternative<Datagram>(d));
    EXPECT_EQ(std::get<Datagram>(d).key_index, 1u);
    auto from_both = sealed({Ack{1}}, both);
    EXPECT_TRUE(std::holds_alternative<Datagram>(open_datagram(from_both, new_ring)));
    EXPECT_EQ(reason(open_datagram(from_both, old_ring)), DropReason::Unauthenticated);
}

TEST(Wire, ManyMessagesPerDatagramDoNotWrapAnyCounter) {
    // memberlist's compound message had a u8 count: 256 messages broke it.
    Keyring ring = ring_from(1);
    std::vector<Message> msgs(600, Ack{7});
    auto bytes = sealed(msgs, ring, 9000);
    auto d = open_datagram(bytes, ring);
    ASSERT_TRUE(std::holds_alternative<Datagram>(d));
    EXPECT_EQ(std::get<Datagram>(d).messages.size(), 600u);
}

TEST(Wire, BuilderNeverExceedsTheDatagramSize) {
    Keyring ring = ring_from(1);
    Rng rng = Rng::from_u64(3);
    DatagramBuilder b(1400);
    std::size_t added = 0;
    while (b.add(Message{Alive{NodeId{}, 1, std::string(40, 'n'), Address{1, 1}, 1, {}}})) ++added;
    auto bytes = b.seal(ring, rng);
    EXPECT_GT(added, 10u);
    EXPECT_LE(bytes.size(), 1400u);
}

TEST(Wire, GarbageInsideAValidSealIsMalformed) {
    Keyring ring = ring_from(1);
    Rng rng = Rng::from_u64(3);
    DatagramBuilder b(1400);
    std::vector<std::uint8_t> junk{0xc1, 0xc1, 0xc1};
    ASSERT_TRUE(b.add(junk));
    EXPECT_EQ(reason(open_datagram(b.seal(ring, rng), ring)), DropReason::Malformed);
}
