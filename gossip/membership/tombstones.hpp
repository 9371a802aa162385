#pragma once
// Members forgotten after their retention, remembered by id and the highest incarnation they
// signed: a replay of one of their announcements, recorded before they were forgotten, is then
// still a replay. Bounded: at the cap the oldest tombstone goes (and is counted), which reopens
// that member to a replay of its own past announcements, nothing more.
#include <cstdint>
#include <map>
#include <optional>

#include "gossip/wire/messages.hpp"
#include "gossip/wire/node_id.hpp"

namespace shoal {

// The highest incarnation a tombstone learned from a state transfer may carry (docs/SECURITY.md).
inline constexpr std::uint32_t kMaxLearnedTombstoneInc = std::uint32_t{1} << 31;

class Tombstones {
  public:
    explicit Tombstones(std::size_t cap) : cap_(cap) {}

    // Keeps the higher incarnation of what we held and `inc`.
    void remember(const NodeId& id, std::uint32_t inc);
    std::optional<std::uint32_t> find(const NodeId& id) const;
    void forget(const NodeId& id);

    std::size_t size() const { return by_id_.size(); }
    std::uint64_t evictions() const { return evictions_; }
    // Counts every change, so that a copy (the agent's state file) is rewritten only when stale.
    std::uint64_t changes() const { return changes_; }
    std::vector<Tombstone> list() const;
    // Ordered by id, as state transfers page through them.
    struct Entry {
        std::uint32_t inc = 0;
        std::uint64_t order = 0;  // when it was remembered: the oldest goes first at the cap
    };
    const std::map<NodeId, Entry>& all() const { return by_id_; }

  private:
    std::size_t cap_;
    std::map<NodeId, Entry> by_id_;
    std::map<std::uint64_t, NodeId> by_order_;
    std::uint64_t next_order_ = 0;
    std::uint64_t evictions_ = 0;
    std::uint64_t changes_ = 0;
};

}  // namespace shoal
