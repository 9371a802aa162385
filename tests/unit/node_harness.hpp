#pragma once
// Drives ONE shoal::Node the way the agent does, through its public API only: datagrams sealed
// with the cluster keyring go in through handle_datagram, the clock moves through handle_timeout
// at poll_timeout(), and after every call everything the node produced is drained: its datagrams
// (opened with the same keyring and decoded, with their destinations), its events and its logs.
//
// The cluster around the node is scripted by the test: the peers A..L (ids 0x10..0xc0, addresses
// 10.0.0.11..22) exist only as addresses the test sends from. Peers in `responsive` answer every
// ping addressed to them with an ack at the same instant (so that the round-robin probes of
// uninvolved members do not turn into suspicions); everything else they "say" is up to the test.
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gossip/membership/node.hpp"
#include "gossip/wire/wire.hpp"

namespace shoal {
// Readable failures: gtest would print these as bytes.
inline void PrintTo(MemberState s, std::ostream* os) {
    *os << to_string(s);
}
inline void PrintTo(const Address& a, std::ostream* os) {
    *os << a.to_string();
}
}  // namespace shoal

namespace shoal::node_test {

inline NodeId id_of(std::uint8_t b) {
    NodeId id;
    id.bytes.fill(b);
    return id;
}

inline Address host(std::uint8_t last, std::uint16_t port = 7946) {
    return Address{(10u << 24) | last, port};
}

// Whether `p` is a ping of `id` (protocol 2 names only the first 4 bytes of the target).
inline bool pings(const Ping& p, const NodeId& id) {
    return p.short_target ? (p.target.prefix64() >> 32) == (id.prefix64() >> 32) : p.target == id;
}

struct Peer {
    std::string name;  // "A".."L"; its announcement carries the lower-case name
    NodeId id;
    Address addr;
};

// One datagram the node sent: where to, its decoded messages, the same as text, its bytes.
struct Sent {
    Address to;
    std::vector<Message> msgs;
    std::vector<std::string> text;
    std::vector<std::uint8_t> bytes;
    std::uint8_t version() const { return bytes.empty() ? 0 : bytes[0]; }

    bool has_ping() const {
        return std::any_of(msgs.begin(), msgs.end(),
                           [](const Message& m) { return std::holds_alternative<Ping>(m); });
    }
};

using Strings = std::vector<std::string>;

class NodeHarness {
  public:
    static constexpr std::uint32_t kSelfInc = 3;     // the node starts at this incarnation
    static constexpr std::uint32_t kPeerInc = 5;     // every peer announces this one
    static constexpr std::size_t kInitialPeers = 5;  // A..E are in the seed's table
    static inline const NodeId kSelfId = id_of(0xe0);
    static inline const Address kSelfAddr = host(1);

    // The node starts with A as its only seed (it sends its join at once) unless `with_seed` is
    // false (then it is the first member of a new cluster). No credentials unless given.
    explicit NodeHarness(std::uint64_t seed = 1, bool with_seed = true,
                         std::shared_ptr<Credentials> creds = nullptr,
                         Timing timing = timing_for(Profile::Lan), bool accept_protocol_1 = false)
        : now(Time{} + 1s),
          peers_(make_peers()),
          ring_(make_ring()),
          sender_rng_(Rng::from_u64(seed ^ 0x5e4d5e4dULL)),
          node(make_config(with_seed, timing, accept_protocol_1), ring_, Rng::from_u64(seed), now,
               kSelfInc, std::move(creds)) {
        for (const auto& [name, p] : peers_) responsive.insert(name);
        pump();
    }

    // ---- the scripted cluster ----

    const Peer& peer(const std::string& name) const { return peers_.at(name); }
    const NodeId& id(const std::string& name) const {
        return name == "S" ? kSelfId : peer(name).id;
    }
    const Address& addr(const std::string& name) const {
        return name == "S" ? kSelfAddr : peer(name).addr;
    }
    // The peer announces from somewhere else from now on (the texts follow it).
    void move(const std::string& name, const Address& to) { peers_.at(name).addr = to; }
    std::string name_of(const NodeId& id) const {
        if (id == kSelfId) return "S";
        if (id.is_zero()) return "0";
        for (const auto& [name, p] : peers_)
            if (p.id == id) return name;
        return id.short_hex();
    }
    std::string ping_target(const Ping& p) const {
        if (pings(p, kSelfId)) return "S";
        for (const auto& [name, q] : peers_)
            if (pings(p, q.id)) return name;
        return p.target.short_hex();
    }
    std::string name_of(const Address& a) const {
        if (a == kSelfAddr) return "S";
        for (const auto& [name, p] : peers_)
            if (p.addr == a) return name;
        return a.to_string();
    }
    std::vector<Address> addrs(const Strings& names) const {
        std::vector<Address> out;
        for (const auto& n : names) out.push_back(addr(n));
        return out;
    }

    Alive alive(const std::string& name, std::uint32_t inc) const {
        if (name == "S") return Alive{kSelfId, inc, "self", kSelfAddr, kProtocolVersion, {}};
        const Peer& p = peer(name);
        std::string lower = name;
        for (auto& c : lower) c = static_cast<char>(c - 'A' + 'a');
        return Alive{p.id, inc, lower, p.addr, kProtocolVersion, {}};
    }
    MemberRecord record(const std::string& name, MemberState state, std::uint32_t state_inc,
                        std::uint32_t age_ms = 0, std::uint32_t alive_inc = 0) const {
        return MemberRecord{
            alive(name, alive_inc ? alive_inc : state_inc), state, age_ms, {}, state_inc, {}};
    }
    // A whole table in one page, as a peer that knows us sends it: with our own record (a page
    // covering our id without it makes the node announce itself to the sender).
    SyncChunk chunk(std::uint64_t session, std::vector<MemberRecord> records) const {
        if (std::none_of(records.begin(), records.end(),
                         [](const MemberRecord& r) { return r.alive.id == kSelfId; }))
            records.push_back(record("S", MemberState::Alive, node.incarnation()));
        return SyncChunk{session, NodeId{}, NodeId{}, true, true, std::move(records)};
    }

    // ---- text forms, so that a failed expectation shows what was really sent ----

    std::string text(const Message& msg) const {
        return std::visit(
            [&](const auto& m) -> std::string {
                using T = std::decay_t<decltype(m)>;
                auto n = [&](const NodeId& id) { return name_of(id); };
                auto u = [](auto v) { return std::to_string(v); };
                if constexpr (std::is_same_v<T, Ping>)
                    return "ping(" + u(m.seq) + ", " + ping_target(m) + ", " + u(m.sender_inc) +
                           ")";
                else if constexpr (std::is_same_v<T, PingReq>)
                    return "ping-req(" + u(m.seq) + ", " + n(m.target) + ", " +
                           m.target_addr.to_string() + ")";
                else if constexpr (std::is_same_v<T, Ack>)
                    return "ack(" + u(m.seq) + ")";
                else if constexpr (std::is_same_v<T, Nack>)
                    return "nack(" + u(m.seq) + ")";
                else if constexpr (std::is_same_v<T, Alive>)
                    return "alive(" + n(m.id) + ", " + u(m.inc) + ", " + m.name + ", " +
                           m.addr.to_string() + (m.proto == kProtocolVersion ? "" : ", proto?") +
                           (m.meta.empty() ? "" : ", meta") + ")";
                else if constexpr (std::is_same_v<T, Suspect>)
                    return "suspect(" + n(m.id) + ", " + u(m.inc) + ", from " + n(m.from) + ")";
                else if constexpr (std::is_same_v<T, Dead>)
                    return "dead(" + n(m.id) + ", " + u(m.inc) + ", from " + n(m.from) + ")";
                else if constexpr (std::is_same_v<T, Left>)
                    return "left(" + n(m.id) + ", " + u(m.inc) + (m.sig.empty() ? "" : ", signed") +
                           ")";
                else if constexpr (std::is_same_v<T, SyncDigest>)
                    return "sync-digest(" + u(m.members) + (m.reply ? ", reply" : "") + ")";
                else if constexpr (std::is_same_v<T, SyncPull>)
                    return "sync-pull(" + u(m.session) + ", " + n(m.cursor) + ", " +
                           u(m.max_chunks) + ")";
                else if constexpr (std::is_same_v<T, Revoked>)
                    return "revoked(" + to_hex(m.revocation.cert).substr(0, 8) + ")";
                else {
                    static_assert(std::is_same_v<T, SyncChunk>);
                    return "sync-chunk(" + u(m.session) + ", " + u(m.records.size()) + " records" +
                           (m.done ? ", done" : "") + ")";
                }
            },
            msg);
    }
    std::string alive_text(const std::string& name, std::uint32_t inc) const {
        return text(alive(name, inc));
    }
    // An event as events() shows it: "suspect C 5 10.0.0.13:7946".
    std::string ev(const std::string& kind, const std::string& name, std::uint32_t inc) const {
        return kind + " " + name + " " + std::to_string(inc) + " " + addr(name).to_string();
    }

    // ---- driving the node ----

    // A datagram from `from` with exactly these messages.
    void deliver(const Address& from, const std::vector<Message>& msgs) {
        raw_deliver(from, msgs);
        pump();
    }
    void deliver(const std::string& from, const std::vector<Message>& msgs) {
        deliver(addr(from), msgs);
    }
    // Dead verdicts about `victim` by two other members, relayed by B: one member's verdict is
    // only its suspicion, two make a member dead. Signed as HoldCredentials signs: the name.
    void deliver_death(const std::string& victim, std::uint32_t inc) {
        std::vector<Message> verdicts;
        for (const char* by : {"A", "B", "C"}) {
            if (victim == by || verdicts.size() == 2) continue;
            const std::string& name = member(by)->info.name;
            verdicts.push_back(Dead{id(victim), inc, id(by), {name.begin(), name.end()}});
        }
        deliver("B", verdicts);
    }
    // Moves the clock to `to`, firing every timer on the way at its due time.
    void advance_to(Time to) {
        while (auto t = node.poll_timeout()) {
            if (*t > to) break;
            now = std::max(now, *t);
            node.handle_timeout(now);
            pump();
        }
        now = std::max(now, to);
    }
    void advance(Duration d) { advance_to(now + d); }
    void leave() {
        node.leave(now);
        pump();
    }

    // The join: answers the node's sync-pull to its seed with A's table (A..E alive), from A.
    void join() {
        std::optional<std::uint64_t> session;
        for (const auto& d : outbox_)
            for (const auto& m : d.msgs)
                if (auto* p = std::get_if<SyncPull>(&m); p && d.to == addr("A"))
                    session = p->session;
        ASSERT_TRUE(session) << "the node sent no sync-pull to its seed";
        join_session = *session;
        std::vector<MemberRecord> recs;
        for (const auto& [name, p] : peers_)
            if (recs.size() < kInitialPeers)
                recs.push_back(record(name, MemberState::Alive, kPeerInc));
        deliver("A", {chunk(join_session, recs)});
        ASSERT_TRUE(node.joined());
    }

    // Runs the clock (every peer answering its pings) until nothing is left to gossip, stopping
    // right after a round-robin probe was answered: the next probe is then a full probe interval
    // away, and the node's outputs from here on are only what the test provokes.
    void quiesce() {
        auto saved = responsive;
        for (const auto& [name, p] : peers_) responsive.insert(name);
        for (int i = 0; i < 10000; ++i) {
            auto t = node.poll_timeout();
            ASSERT_TRUE(t);
            std::size_t before = outbox_.size();
            advance_to(*t);
            bool pinged = std::any_of(outbox_.begin() + static_cast<std::ptrdiff_t>(before),
                                      outbox_.end(), [](const Sent& s) { return s.has_ping(); });
            if (pinged && node.pending_broadcasts() == 0 && node.local_health() == 0) {
                responsive = saved;
                last_probe = now;
                (void)sent();
                (void)events();
                (void)reachable();
                return;
            }
        }
        FAIL() << "the node never became quiet";
    }

    // Everything sent since the last call, in order.
    std::vector<Sent> sent() { return std::exchange(outbox_, {}); }
    // Every event since the last call, as text ("kind NAME inc addr").
    Strings events() { return std::exchange(events_, {}); }
    std::vector<Address> reachable() { return std::exchange(reachable_, {}); }
    const std::vector<LogLine>& logs() const { return logs_; }

    const Member* member(const std::string& name) const { return node.members().find(id(name)); }
    MemberState state(const std::string& name) const {
        const Member* m = member(name);
        EXPECT_TRUE(m) << name << " is not in the table";
        return m ? m->state : MemberState::Alive;
    }
    std::uint32_t inc(const std::string& name) const {
        const Member* m = member(name);
        EXPECT_TRUE(m) << name << " is not in the table";
        return m ? m->inc() : 0;
    }

    // Every datagram the node ever sent, byte for byte, with its destination (determinism).
    const std::vector<Transmit>& transcript() const { return transcript_; }

    std::set<std::string> responsive;  // peers that ack pings addressed to them
    Time now;
    Time last_probe{};  // when quiesce() saw the last round-robin probe
    std::uint64_t join_session = 0;

  private:
    static std::map<std::string, Peer> make_peers() {
        std::map<std::string, Peer> out;
        for (int k = 0; k < 12; ++k) {
            std::string name(1, static_cast<char>('A' + k));
            out[name] = Peer{name, id_of(static_cast<std::uint8_t>(0x10 * (k + 1))),
                             host(static_cast<std::uint8_t>(11 + k))};
        }
        return out;
    }
    static Keyring make_ring() {
        Rng r = Rng::from_u64(0xc1u);
        ClusterKey k;
        r.fill(k);
        return Keyring({k});
    }
    NodeConfig make_config(bool with_seed, const Timing& timing, bool accept_protocol_1) const {
        NodeConfig cfg;
        cfg.id = kSelfId;
        cfg.name = "self";
        cfg.addr = kSelfAddr;
        if (with_seed) cfg.seeds = {peers_.at("A").addr};
        cfg.timing = timing;
        cfg.accept_protocol_1 = accept_protocol_1;
        return cfg;
    }

  public:
    // Seals `msgs` as the cluster would (for tests that count bytes).
    std::vector<std::uint8_t> seal(const std::vector<Message>& msgs,
                                   std::uint8_t version = kProtocolVersion) {
        DatagramBuilder b(1400);
        for (const auto& m : msgs) EXPECT_TRUE(b.add(m)) << "does not fit: " << text(m);
        return b.seal(ring_, sender_rng_, version);
    }
    // Delivers raw bytes as if from `from`.
    void deliver_bytes(const Address& from, std::span<const std::uint8_t> bytes) {
        node.handle_datagram(now, from, bytes);
        pump();
    }

  private:
    void raw_deliver(const Address& from, const std::vector<Message>& msgs) {
        auto bytes = seal(msgs);
        node.handle_datagram(now, from, bytes);
    }

    void drain() {
        while (auto t = node.poll_transmit()) {
            transcript_.push_back(*t);
            Sent s{t->to, {}, {}, t->bytes};
            auto opened = open_datagram(t->bytes, ring_, kProtocolVersion1);
            if (auto* d = std::get_if<Datagram>(&opened)) {
                s.msgs = std::move(d->messages);
            } else {
                ADD_FAILURE() << "the node sent a datagram its own keyring does not open";
            }
            for (const auto& m : s.msgs) {
                s.text.push_back(text(m));
                // A responsive peer answers a ping meant for it.
                if (auto* p = std::get_if<Ping>(&m)) {
                    for (const auto& name : responsive) {
                        const Peer& q = peer(name);
                        if (q.addr == s.to && pings(*p, q.id)) acks_.push_back({q.addr, p->seq});
                    }
                }
            }
            outbox_.push_back(std::move(s));
        }
        while (auto e = node.poll_event())
            events_.push_back(std::string(to_string(e->kind)) + " " + name_of(e->id) + " " +
                              std::to_string(e->inc) + " " + e->addr.to_string());
        while (auto l = node.poll_log()) logs_.push_back(*l);
        while (auto a = node.poll_reachable()) reachable_.push_back(*a);
    }

    // Drains the node, answers pings of responsive peers and fires timers due now, until quiet.
    void pump() {
        for (;;) {
            drain();
            if (!acks_.empty()) {
                auto [from, seq] = acks_.front();
                acks_.pop_front();
                raw_deliver(from, {Ack{seq}});
                continue;
            }
            if (auto t = node.poll_timeout(); t && *t <= now) {
                node.handle_timeout(now);
                continue;
            }
            break;
        }
    }

    std::map<std::string, Peer> peers_;
    Keyring ring_;
    Rng sender_rng_;

  public:
    Node node;

  private:
    std::vector<Sent> outbox_;
    Strings events_;
    std::vector<LogLine> logs_;
    std::vector<Address> reachable_;
    std::vector<Transmit> transcript_;
    std::deque<std::pair<Address, std::uint64_t>> acks_;
};

// The messages of each datagram, as text.
inline std::vector<Strings> texts(const std::vector<Sent>& out) {
    std::vector<Strings> v;
    for (const auto& s : out) v.push_back(s.text);
    return v;
}

// The datagrams sent to `to`.
inline std::vector<Sent> to(const std::vector<Sent>& out, const Address& a) {
    std::vector<Sent> v;
    for (const auto& s : out)
        if (s.to == a) v.push_back(s);
    return v;
}

// Splits datagrams into those carrying a ping (probes) and the rest.
inline std::pair<std::vector<Sent>, std::vector<Sent>> split_pings(const std::vector<Sent>& out) {
    std::pair<std::vector<Sent>, std::vector<Sent>> v;
    for (const auto& s : out) (s.has_ping() ? v.first : v.second).push_back(s);
    return v;
}

}  // namespace shoal::node_test
