#pragma once
// What every Node rule test shares: the peers, message texts, the gossip-round check and a node
// that has joined and gone quiet (node_harness.hpp holds the harness itself).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "node_harness.hpp"

namespace shoal::node_test {

inline const Strings kPeers{"A", "B", "C", "D", "E"};

inline std::string ping_text(const NodeHarness& h, std::uint64_t seq, const std::string& target,
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

// A restart hold is read from a member's verified announcement (Credentials::verify), and a
// leave's signature by Credentials::check_leave: with no credentials every hold is zero and
// every leave counts as signed, so those rules need this test double of the Credentials
// interface (a constructor argument of Node): announcements stay unsigned and are all accepted,
// a member's hold is meta[0] seconds, and a leave is "signed" when its signature is not empty.
class HoldCredentials : public Credentials {
  public:
    SignedAnnouncement announce(const SelfAnnouncement& self) const override {
        return {Alive{NodeHarness::kSelfId, self.inc, "self", self.addr, kProtocolVersion, {}},
                nullptr};
    }
    std::vector<std::uint8_t> sign_leave(std::uint32_t) const override { return {1}; }
    Verification verify(const Alive& a) override {
        Announcement ann;
        ann.name = a.name;
        if (!a.meta.empty()) ann.restart_hold_ms = a.meta[0] * 1000u;
        return std::make_shared<const Announcement>(ann);
    }
    bool check_leave(const Announcement&, const Left& l) const override { return !l.sig.empty(); }
    // A toy signature: the accuser's name.
    std::vector<std::uint8_t> sign_accusation(Accusation, const NodeId&,
                                              std::uint32_t) const override {
        return {'s', 'e', 'l', 'f'};
    }
    bool check_accusation(const Announcement& accuser, Accusation, const NodeId&, std::uint32_t,
                          std::span<const std::uint8_t> sig) const override {
        return std::string(sig.begin(), sig.end()) == accuser.name;
    }
};

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
