#include "gossip/membership/config.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "agent/agent_config.hpp"

#include "error_of.hpp"

using namespace shoal;
using shoal::test::error_of;

TEST(Config, DurationsNeedAUnit) {
    EXPECT_EQ(parse_duration("500ms"), Duration(500ms));
    EXPECT_EQ(parse_duration("1.5s"), Duration(1500ms));
    EXPECT_EQ(parse_duration("24h"), Duration(24h));
    EXPECT_FALSE(parse_duration("500"));
    EXPECT_EQ(parse_duration("0"), Duration::zero());  // zero needs no unit
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

namespace {
// A keyring file with one real key, mode 0600 (mkstemp's), removed at the end of the test.
struct KeyringFile {
    std::string path;
    KeyringFile() {
        char tmpl[] = "/tmp/shoal-keyring-XXXXXX";
        int fd = ::mkstemp(tmpl);
        path = tmpl;
        ClusterKey key{};
        key[0] = 1;
        std::string line = Keyring::encode_key(key) + "\n";
        EXPECT_EQ(::write(fd, line.data(), line.size()), static_cast<ssize_t>(line.size()));
        ::close(fd);
    }
    ~KeyringFile() { ::unlink(path.c_str()); }
};

// `shoal agent ARGS...` up to the end of finish(), on lo (no default route or netlink needed).
Result<agent::AgentConfig> agent_settings(const std::string& keyring,
                                          std::vector<std::string> args) {
    CLI::App app{"shoal"};
    auto* cmd = app.add_subcommand("agent");
    agent::AgentOptions options(cmd);
    std::vector<std::string> all = {
        "shoal", "agent",       "--network", "10.244.0.0/16",      "--iface",
        "lo",    "--advertise", "127.0.0.1", "--cluster-key-file", keyring};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    app.parse(static_cast<int>(argv.size()), argv.data());
    return options.finish();
}
}  // namespace

TEST(Config, KeyringReadableOrWritableByOthersIsRefused) {
    KeyringFile ring;
    const std::string& path = ring.path;
    for (int mode : {0600, 0400}) {
        ASSERT_EQ(::chmod(path.c_str(), mode), 0);
        EXPECT_EQ(error_of(agent::check_keyring_permissions(path)), "") << mode;
    }
    for (auto [mode, shown] : {std::pair{0640, "0640"}, std::pair{0644, "0644"},
                               std::pair{0620, "0620"}, std::pair{0602, "0602"}}) {
        ASSERT_EQ(::chmod(path.c_str(), mode), 0);
        auto err = error_of(agent::check_keyring_permissions(path));
        EXPECT_EQ(err.rfind("cluster-key-file: " + path, 0), 0u) << err;
        EXPECT_NE(err.find(std::string("mode ") + shown), std::string::npos) << err;
        EXPECT_NE(err.find("chmod 600 " + path), std::string::npos) << err;
        EXPECT_EQ(err.find('\n'), std::string::npos) << err;
    }
}

// At start it is a wrong setting like any other (exit 2), checked after the file parsed.
TEST(Config, AgentRefusesAKeyringOthersCanRead) {
    KeyringFile ring;
    ASSERT_EQ(error_of(agent_settings(ring.path, {"--name=h1"})), "");
    ASSERT_EQ(::chmod(ring.path.c_str(), 0644), 0);
    auto err = error_of(agent_settings(ring.path, {"--name=h1"}));
    EXPECT_EQ(err.rfind("cluster-key-file: ", 0), 0u) << err;
    EXPECT_NE(err.find("chmod 600 " + ring.path), std::string::npos) << err;
}

TEST(Config, OwnNameMustBeAnRfc1123HostName) {
    KeyringFile ring;
    auto ok = agent_settings(ring.path, {"--name=node-1.rack-2.example"});
    ASSERT_EQ(error_of(ok), "");
    EXPECT_EQ(ok->name, "node-1.rack-2.example");
    const std::string label63(63, 'a');
    const std::string longest =
        label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
    ASSERT_EQ(longest.size(), 253u);
    EXPECT_EQ(error_of(agent_settings(ring.path, {"--name=" + longest})), "");
    EXPECT_EQ(error_of(agent_settings(ring.path, {"--name=7"})), "");

    const std::pair<std::string, std::string> bad[] = {
        {"a b", "a b"},
        {longest + "c", longest + "c"},
        {std::string(64, 'a'), std::string(64, 'a')},
        {"-lead", "-lead"},
        {"trail-", "trail-"},
        {"a..b", "a..b"},
        {".a", ".a"},
        {"a.", "a."},
        {"under_score", "under_score"},
        // Refused names are shown with their unprintable bytes escaped.
        {"evil\x1b[31m", "evil\\x1b[31m"},
        {"new\nline", "new\\x0aline"},
        {"h\xc3\xa9", "h\\xc3\\xa9"},
    };
    for (const auto& [name, shown] : bad) {
        auto err = error_of(agent_settings(ring.path, {"--name=" + name}));
        EXPECT_EQ(err, "name: '" + shown +
                           "' is not a valid host name (RFC 1123: letters, digits, hyphens and "
                           "dots, labels of 1-63 characters, 253 in all)")
            << shown;
    }
}

TEST(Config, AnInvalidHostnameAsTheDefaultNameSaysToSetName) {
    auto err = error_of(agent::check_member_name("my_host", true));
    EXPECT_NE(err.find("hostname 'my_host' is not a valid host name"), std::string::npos) << err;
    EXPECT_NE(err.find("set --name"), std::string::npos) << err;
    EXPECT_EQ(err.rfind("name: ", 0), 0u) << err;
    EXPECT_EQ(error_of(agent::check_member_name("my-host", true)), "");
}

// Peers honour a planned-restart hold only up to restart-hold-max: a longer restart-hold would
// end the hold halfway through a restart, so it is a wrong setting, named.
TEST(Config, ARestartHoldLongerThanRestartHoldMaxIsRefused) {
    KeyringFile ring;
    EXPECT_EQ(error_of(agent_settings(ring.path, {"--name=h1", "--restart-hold=10m"})), "");
    auto err = error_of(agent_settings(ring.path, {"--name=h1", "--restart-hold=11m"}));
    EXPECT_EQ(err.rfind("restart-hold: 11m", 0), 0u) << err;
    EXPECT_NE(err.find("restart-hold-max"), std::string::npos) << err;
    EXPECT_EQ(error_of(agent_settings(
                  ring.path, {"--name=h1", "--restart-hold=11m", "--restart-hold-max=20m"})),
              "");
}

// route-hold: 10 minutes unless grace-period is shorter (a dead member's subnet is reserved only
// that long); set by hand it may not exceed grace-period, and 0 turns the host check off.
TEST(Config, RouteHoldDefaultsToTenMinutesOrAShorterGracePeriod) {
    KeyringFile ring;
    auto plain = agent_settings(ring.path, {});
    ASSERT_TRUE(plain) << plain.error();
    EXPECT_EQ(plain->route_hold, Duration(std::chrono::minutes(10)));
    auto short_grace = agent_settings(ring.path, {"--grace-period", "2s"});
    ASSERT_TRUE(short_grace) << short_grace.error();
    EXPECT_EQ(short_grace->route_hold, Duration(2s));
    auto off = agent_settings(ring.path, {"--route-hold", "0"});
    ASSERT_TRUE(off) << off.error();
    EXPECT_EQ(off->route_hold, Duration::zero());
    auto longer = agent_settings(ring.path, {"--route-hold", "3s", "--grace-period", "2s"});
    ASSERT_FALSE(longer);
    EXPECT_EQ(longer.error().rfind("route-hold: 3s is longer than grace-period (2s)", 0), 0u)
        << longer.error();
}

// ip-masq: on unless turned off, by flag or in the config file (the flag wins).
TEST(Config, IpMasqIsOnUnlessTurnedOff) {
    KeyringFile ring;
    auto plain = agent_settings(ring.path, {});
    ASSERT_TRUE(plain) << plain.error();
    EXPECT_TRUE(plain->ip_masq);
    auto off = agent_settings(ring.path, {"--no-ip-masq"});
    ASSERT_TRUE(off) << off.error();
    EXPECT_FALSE(off->ip_masq);
    char path[] = "/tmp/shoal-config-test-XXXXXX";
    int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "ip-masq = false\n", 16), 16);
    ::close(fd);
    auto file_off = agent_settings(ring.path, {"--config", path});
    auto flag_wins = agent_settings(ring.path, {"--config", path, "--ip-masq"});
    ::unlink(path);
    ASSERT_TRUE(file_off) << file_off.error();
    EXPECT_FALSE(file_off->ip_masq);
    ASSERT_TRUE(flag_wins) << flag_wins.error();
    EXPECT_TRUE(flag_wins->ip_masq);
}
