#include "gossip/ownership/claim_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>

using namespace shoal;

namespace {
NodeId id_of(std::uint64_t v) {
    NodeId id;
    for (int i = 0; i < 8; ++i) id.bytes[i] = static_cast<std::uint8_t>(v >> (56 - 8 * i));
    return id;
}
}  // namespace

TEST(ClaimTable, OldestClaimWinsThenLowestId) {
    ClaimTable t;
    t.set(id_of(5), Claim{3, 10}, false);
    t.set(id_of(2), Claim{3, 11}, false);
    EXPECT_EQ(t.owner(3), id_of(5));  // clock 10 beats clock 11
    t.set(id_of(1), Claim{3, 10}, false);
    EXPECT_EQ(t.owner(3), id_of(1));  // same clock: lower id
    EXPECT_FALSE(t.is_free(3));
    EXPECT_TRUE(t.is_free(4));
    EXPECT_EQ(t.max_clock(), 11u);
}

TEST(ClaimTable, ReservationsHoldTheSubnetUntilGraceEnds) {
    ClaimTable t;
    Time dead_at = Time{} + 100s;
    t.set(id_of(1), Claim{7, 1}, true, dead_at);
    t.set(id_of(2), Claim{7, 2}, false);
    EXPECT_EQ(t.owner(7), id_of(1));  // the older, reserved claim still wins
    EXPECT_TRUE(t.expire(dead_at + 59s, 60s).empty());
    EXPECT_EQ(t.expire(dead_at + 60s, 60s), std::vector<NodeId>{id_of(1)});
    EXPECT_EQ(t.owner(7), id_of(2));
}

TEST(ClaimTable, SameClaimsInAnyOrderGiveTheSameOwners) {
    Rng rng = Rng::from_u64(1);
    std::vector<ClaimInput> claims;
    for (std::uint64_t i = 0; i < 300; ++i)
        claims.push_back(ClaimInput{
            id_of(rng.next_u64()), Claim{static_cast<std::uint32_t>(rng.below(100)), rng.below(50)},
            rng.chance(0.2)});
    auto expected = compute_ownership(claims);
    for (int round = 0; round < 20; ++round) {
        for (std::size_t i = claims.size(); i > 1; --i)
            std::swap(claims[i - 1], claims[rng.below(i)]);
        EXPECT_EQ(compute_ownership(claims), expected);
    }
    // Exactly one owner per claimed slot, and it is the minimum (clock, id) among claimants.
    for (const auto& [slot, owner] : expected) {
        auto best = std::min_element(claims.begin(), claims.end(), [&](auto& a, auto& b) {
            bool as = a.claim.slot == slot, bs = b.claim.slot == slot;
            if (as != bs) return as;
            return std::pair(a.claim.clock, a.id) < std::pair(b.claim.clock, b.id);
        });
        EXPECT_EQ(best->id, owner);
    }
}

TEST(ClaimTable, ReplacingAClaimMovesTheMember) {
    ClaimTable t;
    t.set(id_of(1), Claim{1, 1}, false);
    t.set(id_of(1), Claim{2, 5}, false);
    EXPECT_TRUE(t.is_free(1));
    EXPECT_EQ(t.owner(2), id_of(1));
    t.erase(id_of(1));
    EXPECT_TRUE(t.is_free(2));
    EXPECT_EQ(t.size(), 0u);
}
