#pragma once
// What the adversary tests share: Mallory, a member holding the cluster key, and checks of what
// every node holds.
#include <gtest/gtest.h>

#include "gossip/wire/wire.hpp"
#include "sim_fixture.hpp"

namespace shoal::test {

// Any messages at all, sealed with node `to`'s cluster key, as if sent from `from`.
inline void send_sealed(sim::Cluster& c, std::size_t to, const Address& from, Rng& rng,
                        const std::vector<Message>& msgs) {
    DatagramBuilder b(1400);
    for (const auto& m : msgs) EXPECT_TRUE(b.add(m));
    c.inject(to, from, b.seal(c.keyring_of(to), rng));
}

// Mallory: a fresh identity announcing itself with a chosen claim, sealed with the cluster key.
struct Mallory {
    Rng rng;
    Identity id;
    Address addr{0xc0a84dfe, 7946};  // an address on the segment nobody uses
    std::string name = "mallory";
    std::vector<std::uint8_t> certificate;  // carried in its announcements (empty: none)
    explicit Mallory(std::uint64_t seed) : rng(Rng::from_u64(seed)), id(Identity::generate(rng)) {}

    void announce(sim::Cluster& c, std::size_t to, std::uint32_t inc, std::optional<Claim> claim,
                  std::uint32_t restart_hold_ms = 0) {
        send(c, to,
             {seal_announcement(announcement(c, inc, claim, restart_hold_ms), id,
                                kProtocolVersion)});
    }
    Announcement announcement(const sim::Cluster& c, std::uint32_t inc, std::optional<Claim> claim,
                              std::uint32_t restart_hold_ms = 0) const {
        return Announcement{
            id.public_key(), name, addr,       inc, claim, c.network().digest(), "evil",
            restart_hold_ms, 0,    certificate};
    }
    // Any messages at all, sealed with the cluster key, from Mallory's address.
    void send(sim::Cluster& c, std::size_t to, const std::vector<Message>& msgs) {
        send_sealed(c, to, addr, rng, msgs);
    }
};

// Every node sees every other alive and nothing is left to gossip: the attack starts from rest.
inline bool settled(SimCluster& s) {
    auto& c = s.c();
    return c.run_until([&] { return c.all_see_alive(s.all()) && c.quiet(); }, 30s);
}

// The owner every running node computes for `slot`; nullopt if they disagree or none has one.
inline std::optional<NodeId> agreed_owner(const sim::Cluster& c, std::uint32_t slot) {
    std::optional<NodeId> owner;
    for (auto i : c.running()) {
        auto owners = c.at(i).node->claims().owners();
        auto it = owners.find(slot);
        if (it == owners.end() || (owner && *owner != it->second)) return std::nullopt;
        owner = it->second;
    }
    return owner;
}

inline std::uint64_t rejected(const sim::Cluster& c, std::size_t i, Rejection r) {
    return c.at(i).node->node().stats().rejected[static_cast<int>(r)];
}

}  // namespace shoal::test
