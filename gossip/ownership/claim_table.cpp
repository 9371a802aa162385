#include "gossip/ownership/claim_table.hpp"

namespace shoal {

void ClaimTable::set(const NodeId& id, const Claim& claim, bool reserved, Time since, bool pinned) {
    erase(id);
    auto it = by_member_.emplace(id, Entry{claim, since, reserved, pinned}).first;
    by_slot_.insert(&*it);
    if (reserved) reservations_.emplace(since, id);
    max_clock_ = std::max(max_clock_, claim.clock);
}

void ClaimTable::erase(const NodeId& id) {
    auto it = by_member_.find(id);
    if (it == by_member_.end()) return;
    by_slot_.erase(&*it);
    if (it->second.reserved) reservations_.erase({it->second.since, id});
    by_member_.erase(it);
}

std::optional<NodeId> ClaimTable::owner(std::uint32_t slot) const {
    auto it = by_slot_.lower_bound(Rank{slot, false, 0, NodeId{}});
    if (it == by_slot_.end() || (*it)->second.claim.slot != slot) return std::nullopt;
    return (*it)->first;
}

std::map<std::uint32_t, NodeId> ClaimTable::owners() const {
    std::map<std::uint32_t, NodeId> out;
    for (Held h : by_slot_)  // the first of each slot wins it; emplace keeps the first
        out.emplace(h->second.claim.slot, h->first);
    return out;
}

std::optional<Claim> ClaimTable::claim_of(const NodeId& id) const {
    auto it = by_member_.find(id);
    if (it == by_member_.end()) return std::nullopt;
    return it->second.claim;
}

bool ClaimTable::reserved(const NodeId& id) const {
    auto it = by_member_.find(id);
    return it != by_member_.end() && it->second.reserved;
}

std::vector<NodeId> ClaimTable::expire(Time now, Duration grace) {
    std::vector<NodeId> gone;
    for (auto it = reservations_.begin(); it != reservations_.end() && now - it->first >= grace;
         ++it)
        gone.push_back(it->second);
    for (const auto& id : gone) erase(id);
    return gone;
}

std::map<std::uint32_t, NodeId> compute_ownership(const std::vector<ClaimInput>& claims) {
    ClaimTable t;
    for (const auto& c : claims) t.set(c.id, c.claim, c.reserved, {}, c.pinned);
    return t.owners();
}

}  // namespace shoal
