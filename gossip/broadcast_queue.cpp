#include "gossip/broadcast_queue.hpp"

namespace shoal {

// The smallest message worth trying to squeeze into what is left of a datagram.
constexpr std::size_t kSmallestUpdate = 24;
// Stop scanning after this many updates that did not fit: the queue can hold thousands.
constexpr int kMaxMisses = 16;

void BroadcastQueue::push(const NodeId& about, std::vector<std::uint8_t> encoded) {
    if (auto it = index_.find(about); it != index_.end()) {
        items_.erase(it->second);
        index_.erase(it);
    }
    Key key{0, counter_--};
    items_.emplace(key, Item{about, std::move(encoded)});
    index_.emplace(about, key);
}

void BroadcastQueue::fill(DatagramBuilder& b, int limit) {
    std::vector<std::map<Key, Item>::iterator> sent;
    int misses = 0;
    for (auto it = items_.begin(); it != items_.end() && b.room() >= kSmallestUpdate; ++it) {
        if (b.add(it->second.bytes)) {
            sent.push_back(it);
        } else if (++misses > kMaxMisses) {
            break;
        }
    }
    for (auto it : sent) {
        Key key{it->first.transmits + 1, it->first.newest_first};
        auto node = items_.extract(it);
        if (key.transmits >= limit) {
            index_.erase(node.mapped().about);
            continue;
        }
        index_[node.mapped().about] = key;
        node.key() = key;
        items_.insert(std::move(node));
    }
}

void BroadcastQueue::clear() {
    items_.clear();
    index_.clear();
}

}  // namespace shoal
