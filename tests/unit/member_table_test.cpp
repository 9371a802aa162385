// The member table's indexes point into its own records: a record erased, re-addressed or
// re-inserted must leave no index, probe schedule or random pick pointing at what is gone.
#include "gossip/membership/member_table.hpp"
#include "gossip/wire/wire.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace shoal {
namespace {

NodeId id_of(std::uint8_t k) {
    NodeId id;
    id.bytes.fill(k);
    return id;
}

Alive alive_of(std::uint8_t k, std::uint32_t inc = 1, std::uint8_t host = 0) {
    return Alive{id_of(k),
                 inc,
                 "m" + std::to_string(k),
                 Address{0x0a000000u + (host ? host : k), 7946},
                 kProtocolVersion,
                 {1, 2, k}};
}

class MemberTableTest : public ::testing::Test {
  protected:
    MemberTableTest() {
        for (std::uint8_t k = 1; k <= 8; ++k)
            table.insert(alive_of(k), nullptr, MemberState::Alive, Time{});
    }
    // The ids the next `n` probe picks return.
    std::multiset<std::uint8_t> picks(int n) {
        std::multiset<std::uint8_t> out;
        for (int i = 0; i < n; ++i)
            if (const Member* m = table.next_probe_target(rng)) out.insert(m->id().bytes[0]);
        return out;
    }
    MemberTable table{id_of(1)};
    Rng rng = Rng::from_u64(7);
};

TEST_F(MemberTableTest, AMemberErasedMidRoundIsNeverProbedAgain) {
    picks(3);  // part of the way through a round
    table.erase(id_of(5));
    table.erase(id_of(6));
    auto seen = picks(40);
    EXPECT_EQ(seen.count(5), 0u);
    EXPECT_EQ(seen.count(6), 0u);
    EXPECT_EQ(seen.count(1), 0u);  // never ourselves
    for (std::uint8_t k : {2, 3, 4, 7, 8}) EXPECT_GE(seen.count(k), 3u) << int(k);
    EXPECT_EQ(table.find(id_of(5)), nullptr);
    EXPECT_EQ(table.find_by_addr(Address{0x0a000005u, 7946}), nullptr);
}

TEST_F(MemberTableTest, AMemberErasedBeforeItsFirstProbeAndBackIsProbedOncePerRound) {
    table.insert(alive_of(9), nullptr, MemberState::Alive, Time{});  // a newcomer, not yet placed
    table.erase(id_of(9));
    table.insert(alive_of(9, 2), nullptr, MemberState::Alive, Time{});
    // Every other pick is our ring successor (2); the others are one round over the eight
    // others, each exactly once.
    auto seen = picks(16);
    EXPECT_EQ(seen.count(2), 9u);
    for (std::uint8_t k = 3; k <= 9; ++k) EXPECT_EQ(seen.count(k), 1u) << int(k);
    ASSERT_NE(table.find(id_of(9)), nullptr);
    EXPECT_EQ(table.find(id_of(9))->inc(), 2u);
}

TEST_F(MemberTableTest, AnAddressTakenOverOrLeftFindsItsCurrentHolder) {
    Member* m3 = table.find(id_of(3));
    table.set_info(*m3, alive_of(3, 2, 40), nullptr);  // 3 moves to .40
    EXPECT_EQ(table.find_by_addr(Address{0x0a000003u, 7946}), nullptr);
    EXPECT_EQ(table.find_by_addr(Address{0x0a000028u, 7946}), m3);
    table.insert(alive_of(10, 1, 4), nullptr, MemberState::Alive, Time{});  // 10 takes 4's
    EXPECT_EQ(table.find_by_addr(Address{0x0a000004u, 7946})->id(), id_of(10));
    table.erase(id_of(4));  // 4 going does not drop 10's address
    EXPECT_EQ(table.find_by_addr(Address{0x0a000004u, 7946})->id(), id_of(10));
    EXPECT_EQ(m3->meta(), (std::vector<std::uint8_t>{1, 2, 3}));
}

TEST_F(MemberTableTest, RandomPicksComeFromTheMembersStillHeld) {
    for (std::uint8_t k = 2; k <= 7; ++k) table.erase(id_of(k));
    std::map<std::uint8_t, int> seen;
    for (int i = 0; i < 50; ++i)
        for (const Member* m : table.pick(rng, 2, NodeId{}, [](const Member&) { return true; }))
            ++seen[m->id().bytes[0]];
    EXPECT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[8], 50);
}

}  // namespace
}  // namespace shoal
