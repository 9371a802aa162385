#include "gossip/membership/suspicion.hpp"

#include <gtest/gtest.h>

using namespace shoal;

namespace {
NodeId id_of(std::uint8_t b) {
    NodeId id;
    id.bytes.fill(b);
    return id;
}
}  // namespace

TEST(Suspicion, TimeoutShrinksFromMaxToMinWithConfirmations) {
    Time start{};
    Suspicion s(id_of(1), 3, 1s, 6s, start);
    EXPECT_EQ(s.deadline(), start + 6s);
    EXPECT_TRUE(s.confirm(id_of(2)));
    Time after_one = s.deadline();
    EXPECT_LT(after_one, start + 6s);
    EXPECT_GT(after_one, start + 1s);
    EXPECT_TRUE(s.confirm(id_of(3)));
    EXPECT_LT(s.deadline(), after_one);
    EXPECT_TRUE(s.confirm(id_of(4)));
    EXPECT_EQ(s.deadline(), start + 1s);
    EXPECT_TRUE(s.fully_confirmed());
    EXPECT_FALSE(s.confirm(id_of(5)));  // no more needed
}

TEST(Suspicion, RepeatsAndTheFirstSuspectorDoNotCount) {
    Suspicion s(id_of(1), 3, 1s, 6s, Time{});
    EXPECT_FALSE(s.confirm(id_of(1)));
    EXPECT_TRUE(s.confirm(id_of(2)));
    EXPECT_FALSE(s.confirm(id_of(2)));
    EXPECT_EQ(s.confirmations(), 1);
}

TEST(Suspicion, NoConfirmationsPossibleMeansMinimumTimeout) {
    Suspicion s(id_of(1), 0, 1s, 6s, Time{});
    EXPECT_EQ(s.deadline(), Time{} + 1s);
}

TEST(Suspicion, MinimumGrowsWithLogOfClusterSize) {
    Timing t;
    EXPECT_EQ(suspicion_min(t, 5), suspicion_min(t, 10));  // max(1, log10 N)
    EXPECT_GT(suspicion_min(t, 1000), suspicion_min(t, 100));
    EXPECT_EQ(suspicion_min(t, 1000),
              std::chrono::duration_cast<Duration>(t.probe_interval * (3.0 * t.suspicion_mult)));
}
