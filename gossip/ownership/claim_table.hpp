#pragma once
// Who owns which subnet: a pure function of the claims a member holds, kept incrementally.
//
// Every live member's claim and every dead member's claim still inside its grace period
// (a reservation) competes for its slot; a claim pinned by a valid certificate (admission.hpp)
// beats every dynamic one; among the rest the oldest claim wins: lowest Lamport clock, then lowest
// node id. Nothing here depends on arrival order or on any clock, so every agent that holds the
// same announcements computes the same owners.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "gossip/wire/announcement.hpp"
#include "gossip/wire/time.hpp"

namespace shoal {

// A present member (see is_present) holds its subnet and its routes; a dead one's claim is only
// reserved, for the grace period, and gets no route.
constexpr bool holds_subnet(MemberState s) {
    return is_present(s);
}

struct ClaimInput {
    NodeId id;
    Claim claim;
    bool reserved = false;  // the claimant is dead; its subnet waits for it
    bool pinned = false;    // its certificate names this subnet
};

class ClaimTable {
  public:
    // Sets (or replaces) a member's claim; `since` is when a reserved claimant died.
    void set(const NodeId& id, const Claim& claim, bool reserved, Time since = {},
             bool pinned = false);
    void erase(const NodeId& id);

    std::optional<NodeId> owner(std::uint32_t slot) const;
    bool is_free(std::uint32_t slot) const { return !owner(slot); }
    // The highest claim clock ever seen: a new claim is made one above it.
    std::uint64_t max_clock() const { return max_clock_; }
    std::map<std::uint32_t, NodeId> owners() const;
    std::size_t size() const { return by_member_.size(); }
    std::optional<Claim> claim_of(const NodeId& id) const;
    bool reserved(const NodeId& id) const;
    // Drops reservations older than `grace`; returns the members whose reservation ended.
    std::vector<NodeId> expire(Time now, Duration grace);

  private:
    struct Entry {
        Claim claim;
        Time since;
        bool reserved;
        bool pinned;
        auto rank(const NodeId& id) const { return Rank{claim.slot, !pinned, claim.clock, id}; }
    };
    // (slot, dynamic, clock, id): the first of a slot is its winner.
    using Rank = std::tuple<std::uint32_t, bool, std::uint64_t, NodeId>;
    using Held = const std::pair<const NodeId, Entry>*;
    // Orders by_member_'s entries by rank; a Rank finds its place among them.
    struct ByRank {
        using is_transparent = void;
        static Rank of(Held h) { return h->second.rank(h->first); }
        bool operator()(Held a, Held b) const { return of(a) < of(b); }
        bool operator()(const Rank& a, Held b) const { return a < of(b); }
        bool operator()(Held a, const Rank& b) const { return of(a) < b; }
    };
    std::unordered_map<NodeId, Entry> by_member_;  // its nodes never move: by_slot_ points there
    // One flat set, not a set per slot, of pointers, not copies: each member in each simulated
    // node's table costs one small tree node here.
    std::set<Held, ByRank> by_slot_;
    std::set<std::pair<Time, NodeId>> reservations_;  // oldest first: expiry touches only those due
    std::uint64_t max_clock_ = 0;
};

// The same rule as a pure function of a set of claims, for tests and tools.
std::map<std::uint32_t, NodeId> compute_ownership(const std::vector<ClaimInput>& claims);

}  // namespace shoal
