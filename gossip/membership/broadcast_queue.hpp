#pragma once
// Updates waiting to be gossiped, piggybacked on every datagram and sent on gossip ticks. Each
// update is transmitted a bounded number of times (SWIM's infection-style dissemination); the
// least-sent go first, and a newer update about a member replaces the older one.
#include <cstdint>
#include <list>
#include <unordered_set>
#include <vector>

#include "gossip/membership/update_pool.hpp"
#include "gossip/wire/node_id.hpp"
#include "gossip/wire/wire.hpp"

namespace shoal {

class BroadcastQueue {
  public:
    void push(const NodeId& about, SharedBytes encoded);
    // Adds queued updates that fit into `b`; each added one counts a transmission and is dropped
    // once it has been sent `limit` times.
    void fill(DatagramBuilder& b, int limit);
    bool contains(const NodeId& about) const { return index_.find(about) != index_.end(); }
    bool empty() const { return index_.empty(); }
    std::size_t size() const { return index_.size(); }
    void clear();

  private:
    struct Item {
        NodeId about;
        SharedBytes bytes;
        std::uint32_t size = 0;  // bytes->size(), kept here: most items looked at do not fit
        std::uint32_t transmits = 0;
    };
    using Bucket = std::list<Item>;
    // buckets_[t] holds the updates sent t times, newest first: moving one along is a splice, so
    // a send costs no lookups however long the queue is (it holds thousands during mass joins).
    std::vector<Bucket> buckets_;
    // The queued items by whom they are about (a splice keeps an item's iterator valid).
    struct ByAbout {
        using is_transparent = void;
        std::size_t operator()(Bucket::iterator it) const noexcept { return (*this)(it->about); }
        std::size_t operator()(const NodeId& id) const noexcept { return std::hash<NodeId>{}(id); }
        bool operator()(Bucket::iterator a, Bucket::iterator b) const noexcept { return a == b; }
        bool operator()(const NodeId& a, Bucket::iterator b) const noexcept {
            return a == b->about;
        }
        bool operator()(Bucket::iterator a, const NodeId& b) const noexcept {
            return a->about == b;
        }
    };
    std::unordered_set<Bucket::iterator, ByAbout, ByAbout> index_;
};

}  // namespace shoal
