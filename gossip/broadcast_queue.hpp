#pragma once
// Updates waiting to be gossiped, piggybacked on every datagram and sent on gossip ticks. Each
// update is transmitted a bounded number of times (SWIM's infection-style dissemination); the
// least-sent go first, and a newer update about a member replaces the older one.
#include <cstdint>
#include <map>
#include <unordered_map>
#include <vector>

#include "gossip/node_id.hpp"
#include "gossip/wire.hpp"

namespace shoal {

class BroadcastQueue {
  public:
    void push(const NodeId& about, std::vector<std::uint8_t> encoded);
    // Adds queued updates that fit into `b`; each added one counts a transmission and is dropped
    // once it has been sent `limit` times.
    void fill(DatagramBuilder& b, int limit);
    bool contains(const NodeId& about) const { return index_.count(about) != 0; }
    bool empty() const { return items_.empty(); }
    std::size_t size() const { return items_.size(); }
    void clear();

  private:
    struct Key {
        int transmits;
        std::uint64_t newest_first;  // smaller = newer
        auto operator<=>(const Key&) const = default;
    };
    struct Item {
        NodeId about;
        std::vector<std::uint8_t> bytes;
    };
    std::map<Key, Item> items_;
    std::unordered_map<NodeId, Key> index_;
    std::uint64_t counter_ = UINT64_MAX;
};

}  // namespace shoal
