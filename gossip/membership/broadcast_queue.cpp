#include "gossip/membership/broadcast_queue.hpp"

namespace shoal {

// The smallest message worth trying to squeeze into what is left of a datagram.
constexpr std::size_t kSmallestUpdate = 24;
// Stop scanning after this many updates that did not fit.
constexpr int kMaxMisses = 16;

void BroadcastQueue::push(const NodeId& about, SharedBytes encoded) {
    if (auto it = index_.find(about); it != index_.end()) {
        Bucket::iterator item = *it;
        index_.erase(it);
        buckets_[item->transmits].erase(item);
    }
    if (buckets_.empty()) buckets_.resize(1);
    auto size = static_cast<std::uint32_t>(encoded->size());
    buckets_[0].push_front(Item{about, std::move(encoded), size, 0});
    index_.insert(buckets_[0].begin());
}

void BroadcastQueue::fill(DatagramBuilder& b, int limit) {
    std::vector<Bucket::iterator> sent;
    int misses = 0;
    for (auto& bucket : buckets_) {
        for (auto it = bucket.begin(); it != bucket.end(); ++it) {
            if (b.room() < kSmallestUpdate || misses > kMaxMisses) break;
            if (it->size <= b.room() && b.add(*it->bytes))
                sent.push_back(it);
            else
                ++misses;
        }
    }
    for (auto it : sent) {
        const std::uint32_t from = it->transmits, to = from + 1;
        if (static_cast<int>(to) >= limit) {
            index_.erase(it);
            buckets_[from].erase(it);
            continue;
        }
        if (buckets_.size() <= to) buckets_.resize(to + 1);
        it->transmits = to;
        buckets_[to].splice(buckets_[to].end(), buckets_[from], it);
    }
}

void BroadcastQueue::clear() {
    buckets_.clear();
    index_.clear();
}

}  // namespace shoal
