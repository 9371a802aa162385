#include "agent/metrics.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

using namespace shoal;

namespace {

Node make_node(std::size_t keys) {
    NodeConfig cfg{NodeId{}, "n1", Address{0x0a000001, 7946}, {}, {}, timing_for(Profile::Fast)};
    return Node(cfg, Keyring(std::vector<ClusterKey>(keys)), Rng::from_u64(1), Time{});
}

// name{labels} -> value, checking the exposition format on the way: every sample belongs to a
// family announced by HELP and TYPE lines just before it.
std::map<std::string, std::string> parse(const std::string& text) {
    std::map<std::string, std::string> out;
    std::set<std::string> typed;
    std::istringstream in(text);
    std::string line, family;
    while (std::getline(in, line)) {
        EXPECT_FALSE(line.empty());
        if (line.rfind("# HELP ", 0) == 0) {
            family = line.substr(7, line.find(' ', 7) - 7);
            continue;
        }
        if (line.rfind("# TYPE ", 0) == 0) {
            EXPECT_EQ(line.substr(7, family.size()), family);
            EXPECT_TRUE(typed.insert(family).second) << "family twice: " << family;
            continue;
        }
        auto sp = line.rfind(' ');
        std::string name = line.substr(0, sp);
        EXPECT_EQ(name.substr(0, family.size()), family) << line;
        EXPECT_TRUE(out.emplace(name, line.substr(sp + 1)).second) << "sample twice: " << line;
    }
    return out;
}

}  // namespace

TEST(Metrics, RendersEveryFamilyInTheTextFormat) {
    Node node = make_node(2);
    agent::RouteCounters routes{3, 1, 2, 0};
    agent::HostCheckFigures host{{{"h3", "10.244.7.0/24"}}, 9, 4};
    auto m = parse(agent::render_metrics(
        {node, std::string("10.244.3.0/24"), routes, "1.2.3", "fast", 12.5, 0, host}));
    EXPECT_EQ(m["shoal_build_info{version=\"1.2.3\",profile=\"fast\"}"], "1");
    EXPECT_EQ(m["shoal_members{state=\"alive\"}"], "1");
    EXPECT_EQ(m["shoal_members{state=\"dead\"}"], "0");
    EXPECT_EQ(m["shoal_subnet_owned{subnet=\"10.244.3.0/24\"}"], "1");
    EXPECT_EQ(m["shoal_keyring_keys"], "2");
    EXPECT_EQ(m["shoal_routes_installed_total"], "3");
    EXPECT_EQ(m["shoal_routes_withdrawn_total"], "1");
    EXPECT_EQ(m["shoal_routes_restored_total"], "2");
    EXPECT_EQ(m["shoal_uptime_seconds"], "12.5");
    EXPECT_EQ(m["shoal_datagrams_rejected_total{reason=\"unauthenticated\"}"], "0");
    EXPECT_EQ(m["shoal_announcements_rejected_total{reason=\"bad_signature\"}"], "0");
    EXPECT_EQ(m["shoal_announcements_rejected_total{reason=\"unsigned_accusation\"}"], "0");
    EXPECT_EQ(m["shoal_relays_refused_total"], "0");
    EXPECT_EQ(m["shoal_tombstones"], "0");
    EXPECT_EQ(m["shoal_tombstones_evicted_total"], "0");
    EXPECT_EQ(m["shoal_routes_kept"], "1");
    EXPECT_EQ(m["shoal_route_kept{member=\"h3\",subnet=\"10.244.7.0/24\"}"], "1");
    EXPECT_EQ(m["shoal_host_echoes_sent_total"], "9");
    EXPECT_EQ(m["shoal_host_echo_replies_total"], "4");
}

TEST(Metrics, CountersFollowTheNode) {
    Node node = make_node(1);
    std::vector<std::uint8_t> junk(40, 0xab);
    node.handle_datagram(Time{}, Address{0x0a000002, 7946}, junk);
    auto m = parse(agent::render_metrics({node, std::nullopt, {}, "v", "lan", 0, 0, {}}));
    EXPECT_EQ(m["shoal_datagrams_in_total"], "1");
    EXPECT_EQ(m["shoal_bytes_in_total"], "40");
    std::uint64_t rejected = 0;
    for (const auto& [k, v] : m)
        if (k.rfind("shoal_datagrams_rejected_total", 0) == 0) rejected += std::stoull(v);
    EXPECT_EQ(rejected, 1u);
    for (const auto& [k, v] : m) EXPECT_NE(k.rfind("shoal_subnet_owned", 0), 0u) << k;
}
