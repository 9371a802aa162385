#pragma once
// The membership table: every known member with its latest announcement and state, indexed by id
// (ordered, so state transfers can page through it) and by address, with counts per state and an
// order-independent digest that two members compare to learn whether their tables agree.
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "gossip/membership/credentials.hpp"
#include "gossip/membership/pointer_index.hpp"
#include "gossip/membership/suspicion.hpp"
#include "gossip/wire/messages.hpp"
#include "gossip/wire/rng.hpp"
#include "gossip/wire/time.hpp"

namespace shoal {

// An announcement's fields but its signed bytes (Member keeps those apart).
struct MemberInfo {
    NodeId id;
    std::uint32_t inc = 0;
    std::uint8_t proto = 0;
    std::string name;
    Address addr;
};

struct Member {
    // The member's latest own announcement, as it signed it. Its signed bytes (meta) are in
    // `announcement` when that holds them, and only otherwise in own_meta: one simulated node in
    // 4096 must not keep 4095 copies of what every node holds. alive() is the whole message.
    MemberInfo info;
    // What `info` says, verified once when it arrived; null without credentials.
    VerifiedAnnouncement announcement;
    std::unique_ptr<const std::vector<std::uint8_t>> own_meta;
    // The incarnation our view of its state refers to: at least info.inc, higher when others
    // accused it at an incarnation whose announcement we have not seen.
    std::uint32_t state_inc = 0;
    MemberState state = MemberState::Alive;
    std::uint32_t others_pos = 0;  // MemberTable's: its place in the list of random picks
    Time state_since{};
    std::unique_ptr<Suspicion> suspicion;  // while suspect (a pointer: most members never are)
    // Timers about this member (its suspicion deadline, its restart hold) carry the epoch they
    // were set in; one carrying an older epoch is stale and does nothing when it fires. Renewed
    // by every change of state (a new announcement, a suspicion, a restart hold, death, a leave;
    // not a force-leave, which finds it dead with no timer pending) and whenever its suspicion
    // deadline moves.
    std::uint64_t timer_epoch = 0;
    Time hold_until{};  // while Restarting: when its (capped) restart hold ends
    Time last_told{};   // when we last told this member that we hold it dead/left/suspect

    const NodeId& id() const { return info.id; }
    const std::vector<std::uint8_t>& meta() const {
        static const std::vector<std::uint8_t> none;
        return own_meta ? *own_meta : announcement ? announcement->meta : none;
    }
    // Its signed leave, passed on in state transfers; empty if it has none (most members).
    const std::vector<std::uint8_t>& left_sig() const {
        static const std::vector<std::uint8_t> none;
        return left_sig_ ? *left_sig_ : none;
    }
    void set_left_sig(const std::vector<std::uint8_t>& sig) {
        left_sig_ = sig.empty() ? nullptr : std::make_unique<const std::vector<std::uint8_t>>(sig);
    }
    Alive alive() const;
    std::uint32_t inc() const { return state_inc; }

  private:
    std::unique_ptr<const std::vector<std::uint8_t>> left_sig_;
};

class MemberTable {
  public:
    explicit MemberTable(const NodeId& self) : self_(self) {}
    // The indexes point into the table's own records.
    MemberTable(const MemberTable&) = delete;
    MemberTable& operator=(const MemberTable&) = delete;

    const Member* find(const NodeId& id) const;
    // Our own record (null before it is inserted): read on every datagram, so kept at hand.
    const Member* self() const { return self_member_; }
    Member* find(const NodeId& id);
    const Member* find_by_addr(const Address& a) const;

    Member& insert(const Alive& info, VerifiedAnnouncement ann, MemberState state, Time since);
    // Replaces the announcement (a newer incarnation); keeps the state.
    void set_info(Member& m, const Alive& info, VerifiedAnnouncement ann);
    void set_state(Member& m, MemberState state, Time since);
    void set_incarnation(Member& m, std::uint32_t inc);
    void erase(const NodeId& id);

    std::size_t size() const { return members_.size(); }
    std::size_t count(MemberState s) const { return counts_[static_cast<int>(s)]; }
    std::size_t live_count() const {
        return count(MemberState::Alive) + count(MemberState::Suspect);
    }
    const Digest& digest() const { return digest_; }
    // The digest of each of `k` id ranges (k a power of two, 2..kMaxDigestRanges; SyncDigest).
    std::vector<std::uint64_t> range_digests(std::size_t k) const;
    const std::map<NodeId, Member>& all() const { return members_; }
    std::map<NodeId, Member>& all() { return members_; }

    // Up to `n` distinct random members other than self and `exclude` for which `want` holds.
    template <typename Pred>
    std::vector<const Member*> pick(Rng& rng, std::size_t n, const NodeId& exclude,
                                    Pred want) const;

    // The next member to probe: every other tick our successor on the ring of live members
    // (ordered by id), otherwise the next of a randomized round-robin over them (SWIM).
    const Member* next_probe_target(Rng& rng);
    // The first live member after us in id order (wrapping), the one we watch; null if none.
    const Member* ring_successor() const;

  private:
    void digest_toggle(const Member& m);

    // The indexes point into members_, whose nodes never move: every simulated node holds one
    // entry per member in each, so they hold pointers rather than more copies of ids.
    // Unkeyed, as std::hash was: a peer grinding keys for colliding ids slows lookups in one
    // table, bounded by the member cap and the new-identity rate.
    struct ById {
        static const NodeId& key(const Member& m) { return m.id(); }
        static std::uint64_t hash(const NodeId& id) {
            return mix64(id.prefix64() ^ (id.suffix64() * 0x9e3779b97f4a7c15ULL));
        }
    };
    // A member's entry is under its current address; a newer member at the same address takes
    // it over.
    struct ByAddr {
        static const Address& key(const Member& m) { return m.info.addr; }
        static std::uint64_t hash(const Address& a) {
            return mix64((std::uint64_t{a.ip} << 16) | a.port);
        }
    };
    // Drops `m` from the probe schedule before its record goes.
    void unschedule(const Member* m);

    NodeId self_;
    Member* self_member_ = nullptr;
    std::map<NodeId, Member> members_;  // ordered: state transfers page through it by id
    PointerIndex<Member, ById> by_id_;
    PointerIndex<Member, ByAddr> by_addr_;
    std::array<std::size_t, 5> counts_{};
    Digest digest_{};
    // Per id range at the finest split; coarser splits fold these.
    std::array<std::uint64_t, kMaxDigestRanges> range_digests_{};
    std::vector<Member*> others_;  // every member but self, for random picks
    std::vector<Member*> probe_order_;
    std::size_t probe_pos_ = 0;
    std::vector<Member*> newcomers_;  // joined since the last pick, not yet in probe_order_
    std::uint64_t probe_ticks_ = 0;
};

template <typename Pred>
std::vector<const Member*> MemberTable::pick(Rng& rng, std::size_t n, const NodeId& exclude,
                                             Pred want) const {
    std::vector<const Member*> out;
    if (n == 0 || others_.empty()) return out;
    auto take = [&](const Member* m) {
        if (m->id() == exclude || !want(*m)) return;
        for (auto* o : out)
            if (o == m) return;
        out.push_back(m);
    };
    // Random draws are O(1) and almost always enough; a scan covers sparse cases.
    for (std::size_t tries = 0; tries < 3 * n + 3 && out.size() < n; ++tries)
        take(others_[rng.below(others_.size())]);
    if (out.size() < n) {
        std::size_t start = rng.below(others_.size());
        for (std::size_t i = 0; i < others_.size() && out.size() < n; ++i)
            take(others_[(start + i) % others_.size()]);
    }
    return out;
}

}  // namespace shoal
