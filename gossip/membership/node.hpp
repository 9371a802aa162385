#pragma once
// One member's SWIM + Lifeguard state machine, sans IO: it is fed datagrams and clock ticks and
// hands back datagrams to send, membership events and log lines. No sockets, clocks, threads or
// globals: the agent drives it from libuv, the simulator from a virtual network.
//
//   handle_datagram(now, from, bytes)   a datagram arrived
//   handle_timeout(now)                 poll_timeout() has passed
//   poll_transmit() / poll_event() / poll_log()   drain outputs after each call
//   poll_reachable()                    members that just answered a direct ping
#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <unordered_map>

#include "gossip/membership/broadcast_queue.hpp"
#include "gossip/membership/config.hpp"
#include "gossip/membership/credentials.hpp"
#include "gossip/membership/events.hpp"
#include "gossip/membership/member_table.hpp"
#include "gossip/membership/source_limiter.hpp"
#include "gossip/membership/tombstones.hpp"
#include "gossip/wire/keyring.hpp"
#include "gossip/wire/rng.hpp"

namespace shoal {

class Node {
  public:
    // `incarnation` lets a restarted node start above what it announced before. `creds`, when
    // given, signs this node's announcements and verifies everyone else's.
    Node(NodeConfig cfg, Keyring ring, Rng rng, Time now, std::uint32_t incarnation = 0,
         std::shared_ptr<Credentials> creds = nullptr);

    void handle_datagram(Time now, const Address& from, std::span<const std::uint8_t> bytes);
    void handle_timeout(Time now);
    [[nodiscard]] std::optional<Transmit> poll_transmit();
    [[nodiscard]] std::optional<MemberEvent> poll_event();
    [[nodiscard]] std::optional<LogLine> poll_log();
    // An address that answered our own ping just now: the path to it works, so the host may
    // confirm its neighbour entry instead of re-resolving it (the agent: MSG_CONFIRM).
    [[nodiscard]] std::optional<Address> poll_reachable();
    [[nodiscard]] std::optional<Time> poll_timeout() const;

    // Announces a graceful leave; LeaveComplete follows once it has spread (or leave-timeout).
    void leave(Time now);
    void set_keyring(Keyring ring) { ring_ = std::move(ring); }
    const Keyring& keyring() const { return ring_; }
    // Announces again with a higher incarnation (and, when given, a new address).
    void reannounce(Time now, std::optional<Address> addr = std::nullopt);
    // This host's own link to the segment (the driver watches the carrier of its interface).
    // Cut off, a node cannot tell a dead member from its own cut: it raises no suspicion and
    // declares no death while the link is down and for reconnect-interval after it returns.
    void set_link_up(Time now, bool up);
    bool accusing(Time now) const { return link_up_ && now >= quiet_until_; }
    // Room for the application's payload in an announcement: with the largest name, version,
    // keys and signature a signed announcement stays well inside kMaxMetaLen.
    static constexpr std::size_t kMaxPayload = 256;
    // Replaces the application's payload (NodeConfig::payload) and announces again. Refused,
    // with nothing changed, when larger than kMaxPayload.
    [[nodiscard]] Status set_payload(Time now, std::vector<std::uint8_t> payload);
    // Before a planned restart: announces again, asking peers to hold us as restarting for
    // `hold` (zero: no hold). Only a signed announcement carries it.
    void set_restart_hold(Time now, Duration hold);
    // Before a planned restart: sends our (already re-signed) announcement straight to every live
    // member, so that all of them hold us as restarting rather than suspecting us.
    void announce_to_all(Time now);
    // Frees a dead member at once (as Serf's force-leave), or ends a restarting member's hold;
    // an error for a member that is alive or suspect here.
    // Under admission, only with `order`, the CA's signed force-leave for this member.
    [[nodiscard]] Status force_leave(Time now, const NodeId& id,
                                     const std::optional<ForceLeave>& order = std::nullopt);
    // A revocation from the operator (the revocations file): applied and gossiped like one
    // received. False if it is not valid, not from a trusted CA, or known already.
    bool add_revocation(Time now, const Revocation& r);
    // Members the credentials no longer admit (a revocation; under enforce, an expiry) leave the
    // table's present members at once: no reservation, no route, nothing gossiped (every member
    // decides for itself).
    void expel_unadmitted(Time now);
    std::vector<Revocation> revocations() const {
        return creds_ ? creds_->revocations() : std::vector<Revocation>{};
    }
    std::size_t revocation_count() const { return creds_ ? creds_->revocation_count() : 0; }
    // Forgotten members as the state file keeps them (NodeConfig::tombstones gives them back).
    const Tombstones& tombstones() const { return tombstones_; }
    // Our key is announced elsewhere under another boot nonce (a copied disk image): the node
    // has stopped, without announcing or leaving, and the agent exits (status 3).
    bool cloned() const { return cloned_; }

    const MemberTable& members() const { return table_; }
    const Stats& stats() const { return stats_; }
    const NodeConfig& config() const { return cfg_; }
    const NodeId& id() const { return cfg_.id; }
    std::uint32_t incarnation() const { return self().inc(); }
    int local_health() const { return health_; }
    std::size_t pending_broadcasts() const { return queue_.size(); }
    // A seed has answered our join (or this node is the first of its cluster).
    bool joined() const { return join_phase_ != JoinPhase::Joining; }
    // A full state transfer has completed (or this node is the first of its cluster).
    bool synced() const { return join_phase_ == JoinPhase::Synced; }
    // This node's announcement has been sent (see NodeConfig::announce_after_sync).
    bool announced() const { return announced_; }
    // leave() was called; stays true once stopped.
    bool leaving() const { return leave_phase_ != LeavePhase::Staying; }
    // The leave has spread (or leave-timeout passed): the node does nothing any more.
    bool stopped() const { return leave_phase_ == LeavePhase::Stopped; }

  private:
    // Where this node is in its life: two progressions, not one, because each advances while the
    // other stands still (a node told to leave before its first state transfer is complete still
    // merges the pages that arrive while its leave spreads, and may finish joining then). One
    // enum each, so "synced but not joined" or "stopped but not leaving" cannot be represented.
    // Whether our announcement has gone out (`announced_`) is an independent fact: with
    // announce_after_sync the application decides when (SubnetNode: with its first claim, after
    // the first sync), and a refutation sends it earlier.
    enum class JoinPhase : std::uint8_t {
        Joining,  // no seed has answered yet
        Syncing,  // a seed answered; the first full state transfer is not complete
        Synced,   // a full state transfer completed (or we are the first member)
    };
    enum class LeavePhase : std::uint8_t { Staying, Leaving, Stopped };

    enum class TimerKind : std::uint8_t {
        Probe,
        ProbeDirect,
        ProbeFinal,
        Relay,
        Suspicion,
        Gossip,
        AntiEntropy,
        JoinCheck,
        Reconnect,
        Join,
        SyncRetry,
        Leave,
        RestartHold,
    };
    struct Timer {
        Time when;
        std::uint64_t order;
        TimerKind kind;
        std::uint64_t seq = 0;
        NodeId id;
        std::uint64_t epoch = 0;  // the member's timer_epoch when it was set
        bool operator>(const Timer& o) const {
            return when != o.when ? when > o.when : order > o.order;
        }
    };
    enum class ProbeKind : std::uint8_t {
        Regular,     // the round-robin probe
        Confirm,     // an extra probe of a member someone else suspects
        LastChance,  // before declaring an unconfirmed suspect dead
    };
    struct Probe {
        NodeId target;
        Address addr;
        std::uint32_t target_inc = 0;
        int expected_nacks = 0;
        int nacks = 0;
        ProbeKind kind = ProbeKind::Regular;
        std::vector<Address> relays;  // asked to probe for us: their acks count too
    };
    struct Relay {
        Address requester;
        std::uint64_t requester_seq = 0;
        bool nacked = false;
        Address target;                           // only its ack is passed on
        std::uint8_t version = kProtocolVersion;  // the requester's: its answer goes out in it
    };
    struct SyncInterval {
        NodeId start, next;
        bool to_end = false;
    };
    struct SyncSession {
        SyncSession(std::uint64_t session, std::optional<Address> from, Time started, bool joining)
            : id(session), peer(std::move(from)), last_progress(started), join(joining) {}
        std::uint64_t id = 0;
        std::optional<Address> peer;  // nullopt: any seed may answer (join)
        Time last_progress{};
        int retries = 0;
        bool join = false;
        // Retries are padded: a peer that does not know our address (it holds our id elsewhere,
        // or has forgotten us) answers only requests as large as its answer.
        bool pad = false;
        // Records a page's id range as received.
        void cover(const SyncInterval& page);
        // The first id not yet covered, or nullopt when the whole id space is.
        std::optional<NodeId> first_gap() const {
            return covered_all ? std::nullopt : std::optional<NodeId>(covered_to);
        }
        // Where that gap ends: the start of the next covered range, or nullopt (the end).
        std::optional<NodeId> gap_end() const {
            if (beyond_gap.empty()) return std::nullopt;
            return beyond_gap.begin()->first;
        }
        // Ids below covered_to are covered; pages past a gap wait, by start, until it closes.
        // Kept incrementally: a 4096-member transfer has 500 pages, and re-sorting them all on
        // each one was cubic in the cluster size over a mass join.
        NodeId covered_to{};
        bool covered_all = false;
        std::multimap<NodeId, SyncInterval> beyond_gap;
    };

    // Plumbing and our own announcement (node.cpp).
    const Member& self() const { return *table_.self(); }
    // Our announcement at `inc`, from what we hold: address, payload, restart hold.
    SignedAnnouncement sign_self(std::uint32_t inc) const;
    // Signs our announcement at `inc`, holds it as ours and gossips it.
    Alive announce_self(std::uint32_t inc);
    static std::string payload_error(std::size_t size);
    void reject(Time now, Rejection r, const Address& from, const NodeId& about);
    Alive self_alive() const { return self().alive(); }
    Duration scaled(Duration d) const { return d * (1 + health_); }
    int retransmit_limit() const;
    Duration jitter(Duration d);
    void adjust_health(int delta);
    void schedule(Time when, TimerKind kind, std::uint64_t seq = 0, const NodeId& id = {},
                  std::uint64_t epoch = 0);
    void detect_stall(Time now);
    // Moves the clock: notices stalls and fires every timer that is due.
    void advance(Time now);
    void log(LogLine::Level level, std::string text);
    void emit(MemberEvent::Kind kind, const Member& m);
    std::string describe(const Member& m) const;
    std::string describe(const NodeId& id, const Address& addr) const;

    // An address of a member we hold (in any state): the only kind we answer with more bytes
    // than it sent us, so a spoofed source cannot make us an amplifier.
    bool known_source(const Address& a) const { return table_.find_by_addr(a) != nullptr; }
    bool is_seed(const Address& a) const {
        return std::find(cfg_.seeds.begin(), cfg_.seeds.end(), a) != cfg_.seeds.end();
    }
    // The protocol version we speak to `to`: the one it wrote to us in (while we answer it), 2
    // to a member that announced 2, else 1 only while accepting protocol 1.
    std::uint8_t version_for(const Address& to) const;
    // A fresh probe sequence number or transfer session: 64 random bits (32 while accepting
    // protocol 1).
    std::uint64_t fresh_number();
    // Sending: `msgs` go first, then as many queued updates as fit (to members only).
    void send(const Address& to, const std::vector<Message>& msgs, bool piggyback = true,
              std::optional<std::uint8_t> version = std::nullopt);
    void broadcast(const NodeId& about, const Message& m);
    void gossip_now();
    // Hands one received message to its handler.
    void handle_message(Time now, const Address& from, Message& m);
    void finish_leave(Time now);

    // Probing (node_probe.cpp).
    void on_probe_tick(Time now);
    bool start_probe(Time now, const Member& target, ProbeKind kind);
    void on_probe_direct_timeout(Time now, std::uint64_t seq);
    void on_probe_final(Time now, std::uint64_t seq);
    // A ping of `target` at `to`, with the target as short as `to`'s protocol takes.
    Ping ping(std::uint64_t seq, const NodeId& target, const Address& to) const;
    void on_ping(Time now, const Address& from, const Ping& p);
    void on_ping_req(Time now, const Address& from, const PingReq& p);
    void on_ack(Time now, const Address& from, const Ack& a);
    void on_nack(const Address& from, const Nack& n);
    void on_relay_timer(Time now, std::uint64_t seq);
    void tell_member_its_state(Time now, const Member& m, std::vector<Message>& out);

    // Membership merging (node_merge.cpp).
    // `hold_left`: a state transfer's word on what is left of the member's restart hold.
    void on_alive(Time now, const Address& from, const Alive& a,
                  std::optional<Duration> hold_left = std::nullopt);
    // A member we do not know yet: whether we take it in (name, member cap, the source's rate of
    // new identities), counting why not.
    bool admit_new(Time now, const Address& from, const Alive& a);
    // `a` as our credentials verify it (null without credentials); nullopt, counted, if refused.
    std::optional<VerifiedAnnouncement> verify(Time now, const Address& from, const Alive& a);
    // An accusation (suspect, dead, unsigned leave) at `inc` against `m`: at most the highest
    // incarnation it has signed, or it is counted and dropped.
    bool within_signed(Time now, const Address& from, const Member& m, std::uint32_t inc);
    // Whether the accuser signed `s`/`d` (counted as unsigned_accusation if not). Unsigned ones
    // pass without credentials, and while accepting protocol 1.
    bool accuser_signed(Time now, const Address& from, Accusation kind, const NodeId& id,
                        std::uint32_t inc, const NodeId& accuser,
                        const std::vector<std::uint8_t>& sig);
    // Our own accusations, signed.
    Suspect our_suspect(const Member& m) const;
    Dead our_dead(const Member& m) const;
    void on_suspect(Time now, const Address& from, const Suspect& s);
    // `s` checked (or our transfer peer's own word): suspect `s.id`, or count a confirmation.
    void apply_suspect(Time now, const Suspect& s, bool relay = true);
    void on_dead(Time now, const Address& from, const Dead& d);
    void take_dead_vote(Time now, Member& m, const Dead& d);
    void on_left(Time now, const Address& from, const Left& l);
    void on_revoked(Time now, const Address& from, const Revoked& r);
    static NodeId revocation_key(const Revocation& r);
    void send_revocations(Time now, const Address& to);
    void learn_later_death(Time now, const Address& from, Member& m, const MemberRecord& r);
    void suspect_member(Time now, Member& m, const Suspect& s, bool relay = true);
    // An announcement of ours made by another start than this one.
    bool other_boot(const Announcement& a) const;
    void clone_detected(const Address& from, const Alive& a);
    void on_suspicion_timeout(Time now, const NodeId& id, std::uint64_t epoch);
    void on_restart_hold_timeout(Time now, const NodeId& id, std::uint64_t epoch);
    // Applies the restart hold an announcement carries, capped by restart-hold-max (and by
    // `left`, when a state transfer told us how much of it is left): Restarting until it
    // returns or the hold expires.
    void apply_restart_hold(Time now, Member& m, std::optional<Duration> left = std::nullopt);
    void refute(const Address& from, std::uint32_t accused_inc);
    // An accusation below our incarnation is a copy of one we already refuted, still travelling.
    // Answered (a suspect or dead message): its sender gets our announcement, within a budget.
    // Ignored (a left message, a record in a state transfer): nothing is sent.
    enum class StaleAccusation : std::uint8_t { Answer, Ignore };
    // Someone says we are suspect, dead or left at `accused_inc`: the one handler for all three.
    // At or above our incarnation (and not leaving) we refute; below it, see StaleAccusation.
    void on_accused(Time now, const Address& from, std::uint32_t accused_inc,
                    StaleAccusation stale);
    void declare_dead(Time now, Member& m);
    // The one way a member becomes dead or left: the state, the end of its suspicion and, with
    // `new_epoch`, of its pending timers; then `verdict` is gossiped, the event and `text` logged,
    // in that order.
    void transition(Time now, Member& m, MemberState to, const Message& verdict,
                    LogLine::Level level, std::string text, bool new_epoch = true);
    void reschedule_suspicion(Member& m);
    Message record_message(const Member& m) const;

    // Join, anti-entropy and full state transfer (node_sync.cpp).
    void on_join_timer(Time now);
    void join_through(Time now, const Address& member);
    void send_join(Time now);
    void on_anti_entropy_tick(Time now);
    // One digest exchange soon after the join's state transfer: members that joined while it
    // ran (their announcements gossiped before anyone knew us) are learned now, not at the next
    // anti-entropy round.
    void on_join_check(Time now);
    // A digest (asking for theirs) to one random live member.
    void exchange_digest(Time now);
    void on_reconnect_tick(Time now);
    void on_sync_digest(Time now, const Address& from, const SyncDigest& d);
    void on_sync_pull(Time now, const Address& from, const SyncPull& p);
    void on_sync_chunk(Time now, const Address& from, const SyncChunk& c);
    void on_sync_retry(Time now, std::uint64_t session);
    // Tombstones a page of our own transfer carries: remembered unless we hold the member.
    void merge_tombstones(Time now, const Address& from, const std::vector<Tombstone>& ts);
    // A transfer of the whole table or, given the peer's range digests, of the id ranges whose
    // digests differ from ours.
    void start_sync(Time now, const Address& peer, bool join,
                    const std::vector<std::uint64_t>* ranges = nullptr);
    void request_missing(Time now);
    void merge_record(Time now, const Address& from, const MemberRecord& r);
    // Our digest; with `ranges` > 1, split into that many id ranges too.
    SyncDigest digest_message(bool reply, std::size_t ranges = 0) const;
    // How many id ranges we split our digest into for a peer that pulls by range.
    std::size_t digest_split() const;
    // A pull; padded to a full datagram while our peers may not know us yet, and on retries.
    SyncPull pull_message(const NodeId& cursor, std::optional<NodeId> until = std::nullopt) const;
    void reap(Time now);

    NodeConfig cfg_;
    std::shared_ptr<Credentials> creds_;
    Keyring ring_;
    Rng rng_;
    MemberTable table_;
    BroadcastQueue queue_;
    Stats stats_;

    std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
    std::uint64_t timer_order_ = 0;
    std::deque<Transmit> out_;
    std::deque<MemberEvent> events_;
    std::deque<LogLine> logs_;
    std::deque<Address> reachable_;

    Time now_{};
    std::size_t datagram_in_bytes_ = 0;  // the size of the datagram being handled
    std::uint32_t restart_hold_ms_ = 0;  // what our announcement asks peers to hold us for
    int health_ = 0;
    std::unordered_map<std::uint64_t, Probe> probes_;
    std::unordered_map<std::uint64_t, Relay> relays_;
    Tombstones tombstones_;
    // While handling a datagram: where it came from and in which protocol version, so that the
    // answer goes out in the same one.
    std::optional<Address> in_from_;
    std::uint8_t in_version_ = kProtocolVersion;
    bool cloned_ = false;
    bool link_up_ = true;
    Time quiet_until_{};            // accusing nobody before this (see set_link_up)
    bool self_unadmitted_ = false;  // said once: our own certificate is no longer valid
    bool gossip_scheduled_ = false;
    Time gossip_due_{};  // when the pending gossip round runs; a timer for another time is stale

    std::optional<SyncSession> sync_;
    Time join_started_{};
    int joins_sent_ = 0;  // while accepting protocol 1, join attempts alternate between versions
    // Set while merging a page of our own state transfer: the peer we asked may introduce any
    // number of members at once.
    bool merging_own_transfer_ = false;
    SourceLimiter new_identities_{100, 1000};
    // State-transfer pages served to one source: a joiner's whole table (256 pages hold about
    // 1000 members) at once, a full transfer of the largest table within seconds.
    SourceLimiter pages_per_source_{1000, 256};
    // Datagrams of revocations sent to one address unasked (a joiner, the end of a transfer):
    // 64 at once (512 revocations), 16 a second after. A key holder that announces identities
    // "at" a third party's address gets it no more than that; the rest of a long list comes with
    // the next anti-entropy transfer.
    SourceLimiter revocations_per_destination_{16, 64};
    // Digests split into id ranges sent to one address: up to 64 × 8 bytes in answer to a digest
    // of a few dozen, so a key holder that spoofs a member's address as its source gets that
    // member sent 64 at once and 20 a second after (a member answers about one per probe interval).
    SourceLimiter range_digests_per_destination_{20, 64};
    Time last_sync_started_{};
    // Reconnect candidates asked since the list was last gone through (see on_reconnect_tick).
    std::set<Address> reconnect_tried_;
    double serve_tokens_ = 0;
    Time serve_refill_{};

    JoinPhase join_phase_ = JoinPhase::Joining;
    LeavePhase leave_phase_ = LeavePhase::Staying;
    bool announced_ = true;
    Duration join_backoff_{};
    // One line per 10 s per sender about what it sent us that we dropped or rejected: a flood
    // from one sender neither floods the log nor hides what another one sends.
    SourceLimiter log_budget_{0.1, 1};
    Time stale_reply_window_{};
    int stale_replies_ = 0;
    std::uint64_t drops_since_log_ = 0;
};

}  // namespace shoal
