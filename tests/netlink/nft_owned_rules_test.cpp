// shoal's accept rules in the host's FORWARD chain (iptables-nft) against the real kernel, in a
// private network namespace per test process.
#include "netlink/nft_owned_rules.hpp"

#include <gtest/gtest.h>
#include <sched.h>

#include <string>

#include "shell.hpp"

using namespace shoal;
using namespace shoal::netlink;

namespace {

using shoal::test::run;

const std::vector<std::string> kRules = {"ip saddr 10.244.0.0/16 accept",
                                         "ip daddr 10.244.0.0/16 accept"};

class ForwardRules : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(::unshare(CLONE_NEWNET), 0)
            << "needs root (CAP_SYS_ADMIN) for a network namespace";
    }
    NftOwnedRules rules{"shoal: pod network"};
};

}  // namespace

TEST_F(ForwardRules, WithoutAnIptablesFilterTableThereIsNothingToOpen) {
    auto chain = rules.forward_chain("ip");
    ASSERT_TRUE(chain) << chain.error();
    EXPECT_FALSE(chain->has_value());
}

TEST_F(ForwardRules, AcceptsPodTrafficAheadOfADropPolicyAndKeepsOthersRules) {
    ASSERT_EQ(run("iptables -P FORWARD DROP && iptables -A FORWARD -s 192.0.2.0/24 -j ACCEPT"), "");
    auto chain = rules.forward_chain("ip");
    ASSERT_TRUE(chain && chain->has_value());
    EXPECT_EQ((*chain)->chain.name, "FORWARD");
    EXPECT_TRUE((*chain)->drops);
    auto first = rules.ensure((*chain)->chain, kRules);
    ASSERT_TRUE(first) << first.error();
    EXPECT_EQ(*first, NftTable::Outcome::Written);
    // iptables-nft still reads the chain, ours first, with their comment.
    std::string listed = run("iptables -S FORWARD");
    auto ours_at = listed.find("-s 10.244.0.0/16");
    auto theirs_at = listed.find("-s 192.0.2.0/24");
    ASSERT_NE(ours_at, std::string::npos) << listed;
    EXPECT_LT(ours_at, listed.find("-d 10.244.0.0/16")) << listed;
    EXPECT_LT(listed.find("-d 10.244.0.0/16"), theirs_at) << listed;
    EXPECT_NE(listed.find("shoal: pod network"), std::string::npos) << listed;
    auto again = rules.ensure((*chain)->chain, kRules);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, NftTable::Outcome::Unchanged);

    ASSERT_EQ(run("iptables -F FORWARD"), "");  // someone flushes the chain
    auto back = rules.ensure((*chain)->chain, kRules);
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(*back, NftTable::Outcome::Restored);
    EXPECT_NE(run("iptables -S FORWARD").find("-d 10.244.0.0/16"), std::string::npos);

    ASSERT_EQ(run("iptables -A FORWARD -s 192.0.2.0/24 -j ACCEPT"), "");
    ASSERT_TRUE(rules.remove((*chain)->chain));
    listed = run("iptables -S FORWARD");
    EXPECT_EQ(listed.find("10.244.0.0/16"), std::string::npos) << listed;
    EXPECT_NE(listed.find("-s 192.0.2.0/24"), std::string::npos) << listed;
    EXPECT_NE(listed.find("-P FORWARD DROP"), std::string::npos) << listed;
}

TEST_F(ForwardRules, DockersUserChainIsWhereTheRulesGo) {
    ASSERT_EQ(run("iptables -P FORWARD DROP && iptables -N DOCKER-USER && "
                  "iptables -A FORWARD -j DOCKER-USER"),
              "");
    auto chain = rules.forward_chain("ip");
    ASSERT_TRUE(chain && chain->has_value());
    EXPECT_EQ((*chain)->chain.name, "DOCKER-USER");
    ASSERT_TRUE(rules.ensure((*chain)->chain, kRules));
    EXPECT_NE(run("iptables -S DOCKER-USER").find("-s 10.244.0.0/16"), std::string::npos);
    EXPECT_EQ(run("iptables -S FORWARD").find("10.244.0.0/16"), std::string::npos);
}

TEST_F(ForwardRules, RulesLeftByAnEarlierRunAreAdoptedNotDoubled) {
    ASSERT_EQ(run("iptables -P FORWARD DROP"), "");
    NftChain forward{"ip", "filter", "FORWARD"};
    ASSERT_TRUE(rules.ensure(forward, kRules));
    NftOwnedRules next_run{"shoal: pod network"};
    auto adopted = next_run.ensure(forward, kRules);
    ASSERT_TRUE(adopted) << adopted.error();
    std::string listed = run("iptables -S FORWARD");
    EXPECT_EQ(listed.find("-s 10.244.0.0/16"), listed.rfind("-s 10.244.0.0/16")) << listed;
}

// Dual stack: IPv6 pod traffic meets ip6tables' FORWARD chain, with its own policy (Docker sets
// ip6tables' to drop too). Each family's chain is found and opened on its own.
TEST_F(ForwardRules, Ip6tablesForwardChainIsOpenedForTheIpv6PodNetwork) {
    ASSERT_EQ(run("ip6tables -P FORWARD DROP"), "");
    auto v4 = rules.forward_chain("ip");
    ASSERT_TRUE(v4) << v4.error();
    EXPECT_FALSE(v4->has_value()) << "no iptables (IPv4) filter table here";
    auto chain = rules.forward_chain("ip6");
    ASSERT_TRUE(chain && chain->has_value());
    EXPECT_EQ((*chain)->chain.to_string(), "ip6 filter FORWARD");
    EXPECT_TRUE((*chain)->drops);
    const std::vector<std::string> six = {"ip6 saddr fd00:244::/56 accept",
                                          "ip6 daddr fd00:244::/56 accept"};
    auto done = rules.ensure((*chain)->chain, six);
    ASSERT_TRUE(done) << done.error();
    std::string listed = run("ip6tables -S FORWARD");
    EXPECT_NE(listed.find("-s fd00:244::/56"), std::string::npos) << listed;
    EXPECT_NE(listed.find("-d fd00:244::/56"), std::string::npos) << listed;
    ASSERT_TRUE(rules.remove((*chain)->chain));
    EXPECT_EQ(run("ip6tables -S FORWARD").find("fd00:244::/56"), std::string::npos);
}
