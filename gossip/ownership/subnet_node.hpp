#pragma once
// A member that owns a pod subnet: the membership core plus Ed25519 announcements and the subnet
// ownership rules. Still sans IO, with the same drive as Node: feed datagrams and ticks, drain
// transmits, events and log lines.
//
// Claiming: every node announces only after its first full state transfer. A node with a saved
// claim then announces it (it gets its subnet back after a restart), unless a live member holds
// that subnet now (a state directory restored from an old backup): then it claims afresh rather
// than displace it with its older clock. Otherwise it claims its preferred slot
// (a hash of its id) or the next free one after it, at Lamport clock max_seen + 1. When the claim
// table says someone else owns our slot (an older claim: concurrent joins, a healed partition),
// we move to a free slot, announce, and say so loudly.
//
// A node's first claim is reported (the Acquired event, on which the agent writes subnet.env)
// only once it has held for a settle window of kSettleProbes probe intervals: hosts started at
// the same instant see each other's claims within it, and a claim that loses inside it is never
// reported. A saved claim (a restart) and a certificate's subnet are reported at once.
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <variant>

#include "gossip/membership/node.hpp"
#include "gossip/ownership/admission.hpp"
#include "gossip/ownership/claim_table.hpp"
#include "gossip/ownership/network_config.hpp"
#include "gossip/wire/identity.hpp"

namespace shoal {

// Verification is a pure function of an announcement's bytes, so its result is cached by content:
// a relayed copy costs a hash, not a signature check. Simulated nodes may share one cache, and
// then one immutable copy of each announcement.
class VerifyCache {
  public:
    // The network's digest is part of the key and fixes its slot range, so one cache may serve
    // nodes of different networks.
    // Safe to call from several threads (the simulator steps nodes in parallel).
    Verification get_or_verify(const Alive& a, const NetworkConfig& network);
    std::uint64_t verifications() const;
    std::uint64_t hits() const;

  private:
    static constexpr std::size_t kMaxEntries = 1 << 16;
    struct KeyHash {
        std::size_t operator()(const std::array<std::uint8_t, 32>& k) const {
            std::size_t h;
            std::memcpy(&h, k.data(), sizeof(h));
            return h;
        }
    };
    mutable std::mutex mutex_;
    std::unordered_map<std::array<std::uint8_t, 32>, Verification, KeyHash> entries_;
    std::uint64_t hits_ = 0, misses_ = 0;
};

// Probe intervals a first claim must hold before it is reported (SubnetNode, above).
inline constexpr int kSettleProbes = 3;

struct SubnetNodeConfig {
    NodeConfig node;  // its id and name are taken from the identity and announcement
    NetworkConfig network;
    Duration grace = 24h;  // a dead member's subnet stays reserved this long
    std::string version;
    AdmissionPolicy admission = {};
    // Our own certificate as issued (empty: none). Under admission its name is our name, and the
    // subnet it names, if any, is the only one we claim.
    std::vector<std::uint8_t> certificate = {};
    // Our IPv6 address for dual-stack routes (announced, signed); none: peers route no IPv6 to us.
    std::optional<Ipv6Addr> addr6 = std::nullopt;
};

// What survives a restart (the agent writes it to its state directory).
struct PersistedState {
    std::uint32_t incarnation = 0;
    std::optional<Claim> claim;
    std::uint64_t boot = 0;  // the boot nonce of the start that saved it
    // Read back at start; persisted() leaves it empty (node().tombstones() has them, and copying
    // up to 65,536 of them at every change would cost more than the change).
    std::vector<Tombstone> tombstones = {};
    // Every one learned (admission); read back at start, left empty by persisted() for the same
    // reason as the tombstones (node().revocation_count() tells when they changed).
    std::vector<Revocation> revocations = {};
};

struct SubnetEvent {
    enum class Kind {
        Acquired,   // we own a subnet (first claim, restart, or after moving)
        Moved,      // an older claim took our subnet; we claimed another
        Exhausted,  // no free subnet: we stay a member without one
    };
    Kind kind;
    std::optional<std::uint32_t> slot;
    std::optional<std::uint32_t> previous;  // the slot we lost, if this event ends an ownership
    std::optional<NodeId> lost_to;          // whose older claim took it
};

class SubnetNode {
  public:
    SubnetNode(SubnetNodeConfig cfg, const Identity& identity, Keyring ring, Rng rng, Time now,
               PersistedState saved = {}, std::shared_ptr<VerifyCache> cache = nullptr);

    void handle_datagram(Time now, const Address& from, std::span<const std::uint8_t> bytes);
    void handle_timeout(Time now);
    [[nodiscard]] std::optional<Transmit> poll_transmit() { return node_.poll_transmit(); }
    [[nodiscard]] std::optional<Address> poll_reachable() { return node_.poll_reachable(); }
    [[nodiscard]] std::optional<MemberEvent> poll_event();
    [[nodiscard]] std::optional<SubnetEvent> poll_subnet_event();
    [[nodiscard]] std::optional<LogLine> poll_log();
    [[nodiscard]] std::optional<Time> poll_timeout() const;

    void leave(Time now);
    // By name or id (or an unambiguous id prefix); an error message unless it is dead here.
    // Under admission, only with `order`, the CA's signed force-leave for that member.
    [[nodiscard]] Status force_leave(Time now, std::string_view who,
                                     const std::optional<ForceLeave>& order = std::nullopt);
    void set_keyring(Keyring ring) { node_.set_keyring(std::move(ring)); }
    void set_address(Time now, const Address& addr);
    // Announces again with this IPv6 address (none: without one) if it changed.
    void set_address6(Time now, const std::optional<Ipv6Addr>& addr6);
    // A planned restart: announces (signed) that we will be back within `hold`; peers keep our
    // subnet and routes meanwhile and declare us dead only if we are not back in time.
    void prepare_restart(Time now, Duration hold);
    // This host's link to the segment (Node::set_link_up).
    void set_link_up(Time now, bool up);

    // The slot we own, if any (claimed, not beaten by an older claim, and reported).
    std::optional<std::uint32_t> slot() const;
    // First claims lost inside the settle window: conflicts nobody saw reported.
    std::uint64_t unsettled_losses() const { return unsettled_losses_; }
    const ClaimTable& claims() const { return claims_; }
    const NetworkConfig& network() const { return cfg_.network; }
    PersistedState persisted() const;
    const Node& node() const { return node_; }
    // What member `m` announced, as verified when it arrived (null only without one).
    VerifiedAnnouncement announcement_of(const Member& m) const { return m.announcement; }
    const AdmissionPolicy& admission() const { return *admission_; }
    // The wall clock (Unix seconds), for certificate expiry: members whose certificate has
    // expired are expelled (admission = enforce).
    void set_wall_clock(Time now, std::uint64_t unix_now);
    // Present members admitted without a valid certificate (admission = permissive).
    std::size_t uncertified_members() const;
    // A CA's revocation from the operator: false if invalid, untrusted or known already.
    bool add_revocation(Time now, const Revocation& r);
    std::vector<Revocation> revocations() const { return node_.revocations(); }

  private:
    void after(Time now);
    void refresh(const NodeId& id);
    void reconcile(Time now);
    std::optional<std::uint32_t> pick_slot() const;
    // A live member other than us that claims `slot`, if any.
    const Member* live_claimant(std::uint32_t slot) const;
    void claim(Time now, std::optional<std::uint32_t> previous = std::nullopt,
               std::optional<NodeId> lost_to = std::nullopt);
    // Hands `claim_` to the core as its announcement payload, which announces it.
    void announce_claim(Time now);
    void say(LogLine::Level level, std::string text);

    SubnetNodeConfig cfg_;
    // Shared with the credentials the core verifies with.
    std::shared_ptr<AdmissionPolicy> admission_;
    // Our own certificate, decoded once (admission on), and the slot it names.
    std::optional<Certificate> own_cert_;
    std::optional<std::uint32_t> own_pin_;
    bool double_pin_reported_ = false;
    std::optional<Claim> claim_;     // ours, as announced (the core holds it as payload)
    std::optional<Ipv6Addr> addr6_;  // ours, as announced (in the payload too)
    Node node_;
    ClaimTable claims_;
    std::deque<MemberEvent> events_;
    std::deque<SubnetEvent> subnet_events_;
    std::deque<LogLine> logs_;
    bool exhausted_ = false;
    // The first claim's report, held for the settle window.
    struct PendingReport {
        SubnetEvent event;
        Time due;
    };
    std::optional<PendingReport> pending_;
    std::uint64_t unsettled_losses_ = 0;
    void report(Time now, SubnetEvent e);
    // A saved claim is checked against the first state transfer before it is announced.
    bool saved_claim_checked_ = true;
    Time last_attempt_{};
    Time last_expiry_{};
};

}  // namespace shoal
