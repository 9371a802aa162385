#include "gossip/membership/tombstones.hpp"

namespace shoal {

void Tombstones::remember(const NodeId& id, std::uint32_t inc) {
    if (cap_ == 0) return;
    if (auto it = by_id_.find(id); it != by_id_.end()) {
        if (inc > it->second.inc) {
            it->second.inc = inc;
            ++changes_;
        }
        return;
    }
    if (by_id_.size() >= cap_) {
        auto oldest = by_order_.begin();
        by_id_.erase(oldest->second);
        by_order_.erase(oldest);
        ++evictions_;
    }
    by_id_[id] = Entry{inc, next_order_};
    by_order_[next_order_++] = id;
    ++changes_;
}

std::optional<std::uint32_t> Tombstones::find(const NodeId& id) const {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return std::nullopt;
    return it->second.inc;
}

void Tombstones::forget(const NodeId& id) {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return;
    by_order_.erase(it->second.order);
    by_id_.erase(it);
    ++changes_;
}

std::vector<Tombstone> Tombstones::list() const {
    std::vector<Tombstone> out;
    out.reserve(by_id_.size());
    for (const auto& [id, e] : by_id_) out.push_back(Tombstone{id, e.inc});
    return out;
}

}  // namespace shoal
