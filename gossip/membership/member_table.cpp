#include "gossip/membership/member_table.hpp"

#include <sodium.h>

#include <algorithm>
#include <cassert>

namespace shoal {

Alive Member::alive() const {
    return Alive{info.id, info.inc, info.name, info.addr, info.proto, meta()};
}

namespace {
// The announcement's own copy of the signed bytes serves the member too.
void assign_info(Member& m, const Alive& info, VerifiedAnnouncement ann) {
    bool shared = ann && ann->meta == info.meta;
    m.info = MemberInfo{info.id, info.inc, info.proto, info.name, info.addr};
    m.own_meta = shared || info.meta.empty()
                     ? nullptr
                     : std::make_unique<const std::vector<std::uint8_t>>(info.meta);
    m.announcement = std::move(ann);
}
}  // namespace

const Member* MemberTable::find(const NodeId& id) const {
    return by_id_.find(id);
}

Member* MemberTable::find(const NodeId& id) {
    return by_id_.find(id);
}

const Member* MemberTable::find_by_addr(const Address& a) const {
    return by_addr_.find(a);
}

// What the digest covers: id, incarnation and whether the member is present, dead or left.
// Suspicion is a local opinion that comes and goes and would make equal tables look different.
void MemberTable::digest_toggle(const Member& m) {
    std::array<std::uint8_t, 16 + 4 + 1> in{};
    std::copy(m.info.id.bytes.begin(), m.info.id.bytes.end(), in.begin());
    for (int i = 0; i < 4; ++i) in[16 + i] = static_cast<std::uint8_t>(m.state_inc >> (8 * i));
    in[20] = is_present(m.state) ? 0 : static_cast<std::uint8_t>(m.state);
    Digest h{};
    crypto_generichash(h.data(), h.size(), in.data(), in.size(), nullptr, 0);
    for (std::size_t i = 0; i < h.size(); ++i) digest_[i] ^= h[i];
    std::uint64_t part = 0;
    for (int i = 0; i < 8; ++i) part |= std::uint64_t{h[i]} << (8 * i);
    range_digests_[digest_range_of(m.info.id, kMaxDigestRanges)] ^= part;
}

std::vector<std::uint64_t> MemberTable::range_digests(std::size_t k) const {
    // Any other k would index past `out` (or divide by zero): the decoder admits no other.
    assert(valid_digest_split(k));
    std::vector<std::uint64_t> out(k);
    for (std::size_t i = 0; i < kMaxDigestRanges; ++i)
        out[i / (kMaxDigestRanges / k)] ^= range_digests_[i];
    return out;
}

Member& MemberTable::insert(const Alive& info, VerifiedAnnouncement ann, MemberState state,
                            Time since) {
    auto [it, fresh] = members_.try_emplace(info.id);
    Member& m = it->second;
    if (!fresh) {
        digest_toggle(m);
        --counts_[static_cast<int>(m.state)];
        by_addr_.erase(&m);
    }
    assign_info(m, info, std::move(ann));
    if (fresh) by_id_.assign(&m);  // hashed by the id assign_info has just set
    m.state_inc = info.inc;
    m.state = state;
    m.state_since = since;
    ++counts_[static_cast<int>(state)];
    digest_toggle(m);
    by_addr_.assign(&m);
    if (fresh && info.id == self_) self_member_ = &m;
    if (fresh && info.id != self_) {
        m.others_pos = static_cast<std::uint32_t>(others_.size());
        others_.push_back(&m);
        newcomers_.push_back(&m);  // placed by next_probe_target, with the prober's Rng
    }
    return m;
}

void MemberTable::set_info(Member& m, const Alive& info, VerifiedAnnouncement ann) {
    digest_toggle(m);
    by_addr_.erase(&m);
    assign_info(m, info, std::move(ann));
    m.state_inc = info.inc;
    by_addr_.assign(&m);
    digest_toggle(m);
}

void MemberTable::set_state(Member& m, MemberState state, Time since) {
    digest_toggle(m);
    --counts_[static_cast<int>(m.state)];
    m.state = state;
    m.state_since = since;
    ++counts_[static_cast<int>(state)];
    digest_toggle(m);
}

void MemberTable::set_incarnation(Member& m, std::uint32_t inc) {
    digest_toggle(m);
    m.state_inc = inc;
    digest_toggle(m);
}

void MemberTable::erase(const NodeId& id) {
    auto it = members_.find(id);
    if (it == members_.end()) return;
    Member& m = it->second;
    digest_toggle(m);
    --counts_[static_cast<int>(m.state)];
    by_addr_.erase(&m);
    if (id != self_) {
        std::uint32_t pos = m.others_pos;
        if (pos + 1 != others_.size()) {
            others_[pos] = others_.back();
            others_[pos]->others_pos = pos;
        }
        others_.pop_back();
        unschedule(&m);
    }
    by_id_.erase(&m);
    if (&m == self_member_) self_member_ = nullptr;
    members_.erase(it);
}

void MemberTable::unschedule(const Member* m) {
    std::erase(newcomers_, m);
    auto done = probe_order_.begin() + static_cast<std::ptrdiff_t>(probe_pos_);
    probe_pos_ -= static_cast<std::size_t>(std::count(probe_order_.begin(), done, m));
    std::erase(probe_order_, m);
}

const Member* MemberTable::ring_successor() const {
    auto it = members_.upper_bound(self_);
    for (std::size_t seen = 0; seen < members_.size(); ++seen, ++it) {
        if (it == members_.end()) it = members_.begin();
        if (it->first != self_ && is_live(it->second.state)) return &it->second;
    }
    return nullptr;
}

// Why a ring as well as the round-robin: with independent random orders the probes that reach
// one member form a near-Poisson stream (2/s on lan), so the wait from its death to its first
// probe has a long tail (over 3.8 s in 1 of 60 simulated runs). On the ring every live member
// is watched by its predecessor once every two ticks whatever the others draw, which caps that
// wait at two probe intervals; the other ticks keep SWIM's randomized coverage.
const Member* MemberTable::next_probe_target(Rng& rng) {
    if (probe_ticks_++ % 2 == 1)
        if (const Member* m = ring_successor()) return m;
    // A newcomer takes a random place in the rest of this probe round, drawn from this prober's
    // own generator. (A place derived from the newcomer's id was the same for every prober in
    // step: at N=1024 a late joiner was probed by nobody for 12 s.)
    for (Member* m : newcomers_) {
        std::size_t span = probe_order_.size() - probe_pos_ + 1;
        std::size_t at = probe_pos_ + static_cast<std::size_t>(rng.below(span));
        probe_order_.insert(probe_order_.begin() + static_cast<std::ptrdiff_t>(at), m);
    }
    newcomers_.clear();
    for (int round = 0; round < 2; ++round) {
        while (probe_pos_ < probe_order_.size()) {
            const Member* m = probe_order_[probe_pos_++];
            if (is_live(m->state)) return m;
        }
        // Start a new round: every live member once, in a fresh random order.
        probe_order_.clear();
        probe_pos_ = 0;
        for (Member* m : others_)
            if (is_live(m->state)) probe_order_.push_back(m);
        for (std::size_t i = probe_order_.size(); i > 1; --i)
            std::swap(probe_order_[i - 1], probe_order_[rng.below(i)]);
    }
    return nullptr;
}

}  // namespace shoal
