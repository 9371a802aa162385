#include "gossip/membership/config.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "agent/agent_config.hpp"

#include "error_of.hpp"

using namespace shoal;
using shoal::test::error_of;

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
    EXPECT_EQ(error_of(apply_setting(t, "probe-interval", "2s")), "");
    EXPECT_EQ(t.probe_interval, Duration(2s));
    EXPECT_EQ(error_of(apply_setting(t, "indirect-checks", "5")), "");
    EXPECT_EQ(t.indirect_checks, 5);
    EXPECT_EQ(error_of(apply_setting(t, "suspicion-mult", "2.5")), "");
    EXPECT_DOUBLE_EQ(t.suspicion_mult, 2.5);
    for (const auto& name : setting_names()) EXPECT_FALSE(name.empty());
}

TEST(Config, ErrorsNameTheSettingAndTheProblem) {
    Timing t;
    auto err = error_of(apply_setting(t, "probe-interval", "fast"));
    EXPECT_NE(err.find("probe-interval"), std::string::npos);
    EXPECT_NE(err.find("duration"), std::string::npos);
    EXPECT_NE(error_of(apply_setting(t, "no-such-timer", "1s")).find("no-such-timer"),
              std::string::npos);
    EXPECT_FALSE(apply_setting(t, "indirect-checks", "2.5"));
    EXPECT_FALSE(apply_setting(t, "gossip-fanout", "0"));
}

TEST(Config, CrossFieldValidation) {
    EXPECT_EQ(error_of(validate(timing_for(Profile::Lan))), "");
    EXPECT_EQ(error_of(validate(timing_for(Profile::Fast))), "");
    Timing t;
    t.probe_timeout = t.probe_interval;
    EXPECT_NE(error_of(validate(t)).find("probe-timeout"), std::string::npos);
}

TEST(Config, ProfilesByName) {
    EXPECT_EQ(parse_profile("lan"), Profile::Lan);
    EXPECT_EQ(parse_profile("fast"), Profile::Fast);
    EXPECT_FALSE(parse_profile("wan"));
    EXPECT_LT(timing_for(Profile::Fast).probe_interval, timing_for(Profile::Lan).probe_interval);
}

TEST(Config, KeyringReadableByOthersIsWarnedAbout) {
    char tmpl[] = "/tmp/shoal-keyring-XXXXXX";
    int fd = ::mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    ::close(fd);
    std::string path = tmpl;
    struct Remove {
        std::string path;
        ~Remove() { ::unlink(path.c_str()); }
    } remove{path};
    std::ofstream(path) << "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

    ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
    EXPECT_EQ(agent::keyring_permission_warning(path), std::nullopt);
    ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
    EXPECT_EQ(agent::keyring_permission_warning(path), std::nullopt);
    for (auto [mode, shown] : {std::pair{0640, "0640"}, std::pair{0644, "0644"}}) {
        ASSERT_EQ(::chmod(path.c_str(), mode), 0);
        auto warning = agent::keyring_permission_warning(path);
        ASSERT_TRUE(warning) << shown;
        EXPECT_NE(warning->find(path), std::string::npos) << *warning;
        EXPECT_NE(warning->find(std::string("mode ") + shown), std::string::npos) << *warning;
        EXPECT_NE(warning->find("chmod 600 " + path), std::string::npos) << *warning;
        EXPECT_EQ(warning->find('\n'), std::string::npos) << *warning;
    }
    ::unlink(path.c_str());
    // A file that cannot be stat'ed is read_keyring's business, not a permission warning.
    EXPECT_EQ(agent::keyring_permission_warning(path), std::nullopt);
}
