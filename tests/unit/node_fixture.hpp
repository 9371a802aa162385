#pragma once
// What every Node rule test shares: the peers, message texts, the gossip-round check and a node
// that has joined and gone quiet (node_harness.hpp holds the harness itself).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "node_harness.hpp"

namespace shoal::node_test {

inline const Strings kPeers{"A", "B", "C", "D", "E"};

inline std::string ping_text(const NodeHarness& h, std::uint32_t seq, const std::string& target,
                             std::uint32_t inc = NodeHarness::kSelfInc) {
    return h.text(Ping{seq, h.id(target), inc});
}

inline Strings without(Strings names, const std::string& gone) {
    std::erase(names, gone);
    return names;
}

// `out` is one gossip round: a datagram to each of min(fanout, |among|) distinct members of
// `among`, each carrying exactly `msgs`.
inline void expect_gossip(const NodeHarness& h, const std::vector<Sent>& out, const Strings& msgs,
                          const Strings& among, std::size_t fanout = 4) {
    std::set<Address> allowed;
    for (const auto& n : among) allowed.insert(h.addr(n));
    EXPECT_EQ(out.size(), std::min(fanout, among.size())) << ::testing::PrintToString(texts(out));
    std::set<Address> seen;
    for (const auto& s : out) {
        EXPECT_EQ(s.text, msgs) << "to " << h.name_of(s.to);
        EXPECT_TRUE(allowed.count(s.to)) << "gossip to " << h.name_of(s.to);
        EXPECT_TRUE(seen.insert(s.to).second) << "two datagrams to " << h.name_of(s.to);
    }
}

// S has joined through A, learned A..E, and nothing is left to gossip.
class JoinedNode : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_NO_FATAL_FAILURE(h.join());
        ASSERT_NO_FATAL_FAILURE(h.quiesce());
        ASSERT_EQ(h.node.members().size(), 6u);
        ASSERT_EQ(h.node.local_health(), 0);
        (void)h.reachable();
    }
    NodeHarness h{1};
};

}  // namespace shoal::node_test
