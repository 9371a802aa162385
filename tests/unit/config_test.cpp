#include "gossip/config.hpp"

#include <gtest/gtest.h>

using namespace shoal;

TEST(Config, DurationsNeedAUnit) {
    EXPECT_EQ(parse_duration("500ms"), Duration(500ms));
    EXPECT_EQ(parse_duration("1.5s"), Duration(1500ms));
    EXPECT_EQ(parse_duration("24h"), Duration(24h));
    EXPECT_FALSE(parse_duration("500"));
    EXPECT_FALSE(parse_duration("-1s"));
    EXPECT_FALSE(parse_duration("1x"));
    EXPECT_FALSE(parse_duration(""));
}

TEST(Config, EveryTimerCanBeSetByName) {
    Timing t;
    EXPECT_EQ(apply_setting(t, "probe-interval", "2s"), "");
    EXPECT_EQ(t.probe_interval, Duration(2s));
    EXPECT_EQ(apply_setting(t, "indirect-checks", "5"), "");
    EXPECT_EQ(t.indirect_checks, 5);
    EXPECT_EQ(apply_setting(t, "suspicion-mult", "2.5"), "");
    EXPECT_DOUBLE_EQ(t.suspicion_mult, 2.5);
    for (const auto& name : setting_names()) EXPECT_FALSE(name.empty());
}

TEST(Config, ErrorsNameTheSettingAndTheProblem) {
    Timing t;
    auto err = apply_setting(t, "probe-interval", "fast");
    EXPECT_NE(err.find("probe-interval"), std::string::npos);
    EXPECT_NE(err.find("duration"), std::string::npos);
    EXPECT_NE(apply_setting(t, "no-such-timer", "1s").find("no-such-timer"), std::string::npos);
    EXPECT_NE(apply_setting(t, "indirect-checks", "2.5"), "");
    EXPECT_NE(apply_setting(t, "gossip-fanout", "0"), "");
}

TEST(Config, CrossFieldValidation) {
    EXPECT_EQ(validate(timing_for(Profile::Lan)), "");
    EXPECT_EQ(validate(timing_for(Profile::Fast)), "");
    Timing t;
    t.probe_timeout = t.probe_interval;
    EXPECT_NE(validate(t).find("probe-timeout"), std::string::npos);
}

TEST(Config, ProfilesByName) {
    EXPECT_EQ(parse_profile("lan"), Profile::Lan);
    EXPECT_EQ(parse_profile("fast"), Profile::Fast);
    EXPECT_FALSE(parse_profile("wan"));
    EXPECT_LT(timing_for(Profile::Fast).probe_interval, timing_for(Profile::Lan).probe_interval);
}
