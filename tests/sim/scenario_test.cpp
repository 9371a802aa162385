// The `shoal simulate` scenario reports what it measured.
#include "gossip/sim/scenario.hpp"

#include <gtest/gtest.h>

using namespace shoal;

TEST(Scenario, ReportsJoinDetectionLeaveAndTraffic) {
    sim::ScenarioOptions o;
    o.nodes = 32;
    o.seconds = 40;
    o.seed = 5;
    auto r = sim::run_scenario(o);
    ASSERT_TRUE(r.settled);
    EXPECT_GT(r.join_converge_s, 0);
    EXPECT_LT(r.join_converge_s, 2.0);
    EXPECT_EQ(r.detect.count, o.nodes);  // N + the newcomer - the victim
    EXPECT_EQ(r.detect_missing, 0u);
    EXPECT_GT(r.detect.min, 0.5);  // nobody can know within one probe round
    EXPECT_LT(r.detect.max, 5.0);
    EXPECT_GT(r.leave_all_s, 0);
    EXPECT_LT(r.leave_all_s, 1.0);
    EXPECT_EQ(r.false_positives, 0u);
    EXPECT_GT(r.bytes_per_node_per_s, 100);
    EXPECT_LT(r.bytes_per_node_per_s, 1000);
    auto json = sim::to_json(r);
    for (const char* key :
         {"\"nodes\"", "\"profile\"", "\"loss\"", "\"rng_seed\"", "\"join_converge_s\"",
          "\"detect_s\"", "\"median\"", "\"p99\"", "\"all\"", "\"false_positives\"",
          "\"leave_all_s\"", "\"bytes_per_node_per_s\"", "\"wall_s\""})
        EXPECT_NE(json.find(key), std::string::npos) << key;
}

// A cluster of exactly `max-members` hosts: the scenario's newcomer is one more, and at the cap
// every member refused it (the 4096-node run at the default cap: its join never completed and it
// was the last to see the kill and the leave, 12-14 s late). The scenario sizes the cap to fit.
TEST(Scenario, TheNewcomerFitsTheMemberCapOfAFullCluster) {
    sim::ScenarioOptions o;
    o.nodes = 32;
    o.seconds = 40;
    o.seed = 5;
    o.timing.max_members = 32;
    auto r = sim::run_scenario(o);
    ASSERT_TRUE(r.settled);
    EXPECT_GT(r.join_converge_s, 0);
    EXPECT_LT(r.join_converge_s, 2.0);
    EXPECT_EQ(r.detect_missing, 0u);
    EXPECT_LT(r.detect.max, 5.0);
}
