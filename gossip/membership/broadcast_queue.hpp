#pragma once
// Updates waiting to be gossiped, piggybacked on every datagram and sent on gossip ticks. Each
// update is transmitted a bounded number of times (SWIM's infection-style dissemination); the
// least-sent go first, and a newer update about a member replaces the older one.
#include <cstdint>
#include <list>
#include <unordered_map>
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
    bool contains(const NodeId& about) const { return index_.count(about) != 0; }
    bool empty() const { return index_.empty(); }
    std::size_t size() const { return index_.size(); }
    void clear();

  private:
    struct Item {
        NodeId about;
        SharedBytes bytes;
        std::size_t transmits = 0;
    };
    using Bucket = std::list<Item>;
    // buckets_[t] holds the updates sent t times, newest first: moving one along is a splice, so
    // a send costs no lookups however long the queue is (it holds thousands during mass joins).
    std::vector<Bucket> buckets_;
    std::unordered_map<NodeId, Bucket::iterator> index_;
};

}  // namespace shoal
