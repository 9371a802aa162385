// shoal's nftables table against the real kernel, in a private network namespace per test
// process (nothing outside it is touched; the namespace goes with the process).
#include "netlink/nft_table.hpp"

#include "agent/masquerade.hpp"

#include <gtest/gtest.h>
#include <sched.h>

#include <string>

#include "shell.hpp"

using namespace shoal;
using namespace shoal::netlink;

namespace {

using shoal::test::run;

NetworkConfig network(const std::string& v6 = "") {
    NetworkSettings s;
    s.network = "10.244.0.0/16";
    s.subnet_len = 24;
    if (!v6.empty()) {
        s.ipv6_network = v6;
        s.ipv6_subnet_len = 64;
    }
    auto n = NetworkConfig::make(s);
    EXPECT_TRUE(n) << n.error();
    return *n;
}

class Nft : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(::unshare(CLONE_NEWNET), 0)
            << "needs root (CAP_SYS_ADMIN) for a network namespace";
    }
    std::string ours() { return run("nft list table inet shoal"); }

    NftTable table{"inet", "shoal"};
    const std::string body = agent::masquerade_rules(network());
};

}  // namespace

TEST_F(Nft, WritesTheTableOnceAndThenFindsItUnchanged) {
    auto first = table.ensure(body);
    ASSERT_TRUE(first) << first.error();
    EXPECT_EQ(*first, NftTable::Outcome::Written);
    std::string listed = ours();
    EXPECT_NE(listed.find("ip saddr 10.244.0.0/16 ip daddr 10.244.0.0/16 return"),
              std::string::npos)
        << listed;
    EXPECT_NE(listed.find("ip saddr 10.244.0.0/16 masquerade fully-random"), std::string::npos)
        << listed;
    auto again = table.ensure(body);
    ASSERT_TRUE(again) << again.error();
    EXPECT_EQ(*again, NftTable::Outcome::Unchanged);
}

TEST_F(Nft, PutsTheTableBackAfterAFlushOrAForeignRule) {
    ASSERT_TRUE(table.ensure(body));
    run("nft flush ruleset");
    ASSERT_EQ(ours().find("masquerade"), std::string::npos);
    auto back = table.ensure(body);
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(*back, NftTable::Outcome::Restored);
    EXPECT_NE(ours().find("masquerade fully-random"), std::string::npos);

    ASSERT_EQ(run("nft add rule inet shoal postrouting ip saddr 10.244.0.0/16 accept"), "");
    auto again = table.ensure(body);
    ASSERT_TRUE(again) << again.error();
    EXPECT_EQ(*again, NftTable::Outcome::Restored);
    EXPECT_EQ(ours().find("accept\n"), std::string::npos) << ours();
}

TEST_F(Nft, NeverTouchesAnotherTable) {
    ASSERT_EQ(run("nft add table inet other && nft add chain inet other c && "
                  "nft add rule inet other c counter"),
              "");
    ASSERT_TRUE(table.ensure(body));
    ASSERT_TRUE(table.remove());
    EXPECT_NE(run("nft list table inet other").find("counter"), std::string::npos);
    EXPECT_NE(ours().find("No such file"), std::string::npos) << ours();
    auto exists = table.exists();
    ASSERT_TRUE(exists);
    EXPECT_FALSE(*exists);
    EXPECT_TRUE(table.remove());  // already gone: nothing to do, no error
}

TEST_F(Nft, ABodyTheKernelRefusesIsAnErrorAndTheOldTableStays) {
    ASSERT_TRUE(table.ensure(body));
    auto bad = table.ensure("  chain postrouting {\n    this is not a rule\n  }\n");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().find("nftables: "), std::string::npos) << bad.error();
    EXPECT_NE(ours().find("masquerade fully-random"), std::string::npos);
}

TEST_F(Nft, DualStackRulesCoverBothFamilies) {
    auto written = table.ensure(agent::masquerade_rules(network("fd00:10:244::/56")));
    ASSERT_TRUE(written) << written.error();
    std::string listed = ours();
    EXPECT_NE(listed.find("ip6 saddr fd00:10:244::/56 ip6 daddr fd00:10:244::/56 return"),
              std::string::npos)
        << listed;
    EXPECT_NE(listed.find("ip6 saddr fd00:10:244::/56 masquerade fully-random"), std::string::npos)
        << listed;
}
