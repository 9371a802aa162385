#include "gossip/membership/broadcast_queue.hpp"

#include <gtest/gtest.h>

using namespace shoal;

namespace {
NodeId id_of(std::uint8_t b) {
    NodeId id;
    id.bytes.fill(b);
    return id;
}
SharedBytes ack_bytes(std::uint32_t seq) {
    std::vector<std::uint8_t> out;
    encode_message(Ack{seq}, out);
    return std::make_shared<const std::vector<std::uint8_t>>(std::move(out));
}
std::size_t sent_in_one(BroadcastQueue& q, int limit, std::size_t max = 1400) {
    DatagramBuilder b(max);
    std::size_t before = b.room();
    q.fill(b, limit);
    return before - b.room();
}
}  // namespace

TEST(BroadcastQueue, EachUpdateIsSentLimitTimesThenDropped) {
    BroadcastQueue q;
    q.push(id_of(1), ack_bytes(1));
    for (int i = 0; i < 3; ++i) EXPECT_GT(sent_in_one(q, 3), 0u) << i;
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(sent_in_one(q, 3), 0u);
}

TEST(BroadcastQueue, NewerUpdateAboutAMemberReplacesTheOlder) {
    BroadcastQueue q;
    q.push(id_of(1), ack_bytes(1));
    q.push(id_of(1), ack_bytes(2));
    EXPECT_EQ(q.size(), 1u);
    EXPECT_TRUE(q.contains(id_of(1)));
    EXPECT_FALSE(q.contains(id_of(2)));
}

TEST(BroadcastQueue, LeastSentGoFirstWhenSpaceIsShort) {
    BroadcastQueue q;
    auto big = std::make_shared<const std::vector<std::uint8_t>>(900, 0x01);
    q.push(id_of(1), big);
    sent_in_one(q, 10);  // id 1 has been sent once
    q.push(id_of(2), big);
    DatagramBuilder b(1100);  // room for one of them
    q.fill(b, 10);
    // id 2 (never sent) went out; id 1 waits.
    DatagramBuilder b2(1100);
    q.fill(b2, 10);
    EXPECT_EQ(q.size(), 2u);
    EXPECT_FALSE(b2.empty());
}

TEST(UpdatePool, EqualUpdatesShareOneBufferUntilNobodyHoldsIt) {
    UpdatePool pool;
    std::vector<std::uint8_t> a{1, 2, 3}, b{1, 2, 4};
    SharedBytes first = pool.intern(a);
    SharedBytes again = pool.intern(a);
    SharedBytes other = pool.intern(b);
    EXPECT_EQ(first.get(), again.get());
    EXPECT_NE(first.get(), other.get());
    EXPECT_EQ(*other, b);
    first.reset();
    again.reset();
    // Released buffers are forgotten once the pool has doubled; what is held stays shared.
    for (std::uint32_t i = 0; i < 3000; ++i)
        (void)pool.intern({static_cast<std::uint8_t>(i), static_cast<std::uint8_t>(i >> 8), 9});
    EXPECT_LE(pool.size(), 1025u);  // swept at 1024, not 3002 entries
    EXPECT_EQ(pool.intern(b).get(), other.get());
    EXPECT_EQ(*pool.intern(a), a);
}
