#include "gossip/wire/messages.hpp"

#include "gossip/wire/msgpack_reader.hpp"
#include "gossip/wire/msgpack_writer.hpp"

namespace shoal {
namespace {

constexpr std::uint32_t kMaxRecordsPerChunk = 4096;
constexpr std::size_t kShortIdLen = 4;  // a ping's target in protocol 2

void put_id(MsgWriter& w, const NodeId& id) {
    w.bin(id.bytes);
}
void put_addr(MsgWriter& w, const Address& a) {
    w.uint(a.ip);
    w.uint(a.port);
}

bool get_id(MsgReader& r, NodeId& id) {
    std::span<const std::uint8_t> b;
    if (!r.bin(b, id.bytes.size()) || b.size() != id.bytes.size()) return false;
    std::copy(b.begin(), b.end(), id.bytes.begin());
    return true;
}
bool get_addr(MsgReader& r, Address& a) {
    return r.uint_as(a.ip, UINT32_MAX) && r.uint_as(a.port, UINT16_MAX);
}
bool get_u32(MsgReader& r, std::uint32_t& v) {
    return r.uint_as(v, UINT32_MAX);
}
bool get_sig(MsgReader& r, std::vector<std::uint8_t>& sig) {
    std::span<const std::uint8_t> b;
    if (!r.bin(b, kSignatureLen)) return false;
    sig.assign(b.begin(), b.end());
    return true;
}

// An accusation: [id, inc, from] and, when signed, the accuser's signature.
template <typename T>
void put_accusation(MsgWriter& w, const T& m) {
    put_id(w, m.id);
    w.uint(m.inc);
    put_id(w, m.from);
    if (!m.sig.empty()) w.bin(m.sig);
}
template <typename T>
std::optional<Message> get_accusation(MsgReader& r, std::uint32_t fields) {
    T m;
    if (!get_id(r, m.id) || !get_u32(r, m.inc) || !get_id(r, m.from)) return std::nullopt;
    if (fields > 3 && !get_sig(r, m.sig)) return std::nullopt;
    return m;
}
void put_tombstones(MsgWriter& w, const std::vector<Tombstone>& ts) {
    w.array(static_cast<std::uint32_t>(ts.size()));
    for (const auto& t : ts) {
        w.array(2);
        put_id(w, t.id);
        w.uint(t.inc);
    }
}
bool get_tombstones(MsgReader& r, std::vector<Tombstone>& ts) {
    std::uint32_t n = 0;
    if (!r.array(n) || n > kMaxRecordsPerChunk) return false;
    ts.resize(n);
    for (auto& t : ts) {
        std::uint32_t k = 0;
        if (!r.array(k) || k < 2 || !get_id(r, t.id) || !get_u32(r, t.inc)) return false;
        for (std::uint32_t i = 2; i < k; ++i)
            if (!r.skip()) return false;
    }
    return true;
}

void put_alive_fields(MsgWriter& w, const Alive& a) {
    put_id(w, a.id);
    w.uint(a.inc);
    w.str(a.name);
    put_addr(w, a.addr);
    w.uint(a.proto);
    w.bin(a.meta);
}
constexpr std::uint32_t kAliveFields = 7;

bool get_alive_fields(MsgReader& r, Alive& a) {
    std::string_view name;
    std::span<const std::uint8_t> meta;
    if (!get_id(r, a.id) || !get_u32(r, a.inc) || !r.str(name, kMaxNameLen) ||
        !get_addr(r, a.addr) || !r.uint_as(a.proto, UINT8_MAX) || !r.bin(meta, kMaxMetaLen))
        return false;
    a.name.assign(name);
    a.meta.assign(meta.begin(), meta.end());
    return true;
}

void put_record(MsgWriter& w, const MemberRecord& rec) {
    w.array(kAliveFields + (rec.hold_left_ms ? 5 : 4));
    put_alive_fields(w, rec.alive);
    w.uint(static_cast<std::uint8_t>(rec.state));
    w.uint(rec.age_ms);
    w.bin(rec.left_sig);
    w.uint(rec.state_inc);
    if (rec.hold_left_ms) w.uint(*rec.hold_left_ms);
}

bool get_record(MsgReader& r, MemberRecord& rec) {
    std::uint32_t n = 0;
    std::uint8_t state = 0;
    std::span<const std::uint8_t> sig;
    if (!r.array(n) || n < kAliveFields + 4 || !get_alive_fields(r, rec.alive) ||
        !r.uint_as(state, kMaxMemberState) || !get_u32(r, rec.age_ms) ||
        !r.bin(sig, kSignatureLen) || !get_u32(r, rec.state_inc) || rec.state_inc < rec.alive.inc)
        return false;
    rec.state = static_cast<MemberState>(state);
    rec.left_sig.assign(sig.begin(), sig.end());
    rec.hold_left_ms.reset();
    if (n > kAliveFields + 4) {
        std::uint32_t hold = 0;
        if (!get_u32(r, hold)) return false;
        rec.hold_left_ms = hold;
    }
    for (std::uint32_t i = kAliveFields + 5; i < n; ++i)
        if (!r.skip()) return false;
    return true;
}

struct Encoder {
    MsgWriter& w;
    void head(MsgType t, std::uint32_t fields) {
        w.array(fields + 1);
        w.uint(static_cast<std::uint8_t>(t));
    }
    void operator()(const Ping& m) {
        head(MsgType::Ping, 3);
        w.uint(m.seq);
        if (m.short_target)
            w.bin(std::span<const std::uint8_t>(m.target.bytes.data(), kShortIdLen));
        else
            put_id(w, m.target);
        w.uint(m.sender_inc);
    }
    void operator()(const PingReq& m) {
        head(MsgType::PingReq, 4);
        w.uint(m.seq);
        put_id(w, m.target);
        put_addr(w, m.target_addr);
    }
    void operator()(const Ack& m) {
        head(MsgType::Ack, 1);
        w.uint(m.seq);
    }
    void operator()(const Nack& m) {
        head(MsgType::Nack, 1);
        w.uint(m.seq);
    }
    void operator()(const Alive& m) {
        head(MsgType::Alive, kAliveFields);
        put_alive_fields(w, m);
    }
    void operator()(const Suspect& m) {
        head(MsgType::Suspect, m.sig.empty() ? 3 : 4);
        put_accusation(w, m);
    }
    void operator()(const Dead& m) {
        head(MsgType::Dead, m.sig.empty() ? 3 : 4);
        put_accusation(w, m);
    }
    void operator()(const Left& m) {
        head(MsgType::Left, m.ca ? 4 : 3);
        put_id(w, m.id);
        w.uint(m.inc);
        w.bin(m.sig);
        if (m.ca) w.bin(*m.ca);
    }
    void operator()(const SyncDigest& m) {
        const bool ranged = m.ranged || !m.ranges.empty();
        head(MsgType::SyncDigest, ranged ? 4 : 3);
        w.bin(m.digest);
        w.uint(m.members);
        w.boolean(m.reply);
        if (ranged) {
            std::vector<std::uint8_t> b;
            b.reserve(8 * m.ranges.size());
            for (std::uint64_t d : m.ranges)
                for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::uint8_t>(d >> (8 * i)));
            w.bin(b);
        }
    }
    void operator()(const SyncPull& m) {
        // The padding comes before `until`, which older responders skip with it.
        head(MsgType::SyncPull, m.until ? 5 : m.padding > 0 ? 4 : 3);
        w.uint(m.session);
        put_id(w, m.cursor);
        w.uint(m.max_chunks);
        if (m.padding > 0 || m.until) w.bin(std::vector<std::uint8_t>(m.padding));
        if (m.until) put_id(w, *m.until);
    }
    void operator()(const Revoked& m) {
        head(MsgType::Revoked, 3);
        w.bin(m.revocation.ca);
        w.bin(m.revocation.cert);
        w.bin(m.revocation.sig);
    }
    void operator()(const SyncChunk& m) {
        head(MsgType::SyncChunk, m.tombstones.empty() ? 6 : 7);
        w.uint(m.session);
        put_id(w, m.start);
        put_id(w, m.next);
        w.boolean(m.done);
        w.boolean(m.last_in_batch);
        w.array(static_cast<std::uint32_t>(m.records.size()));
        for (const auto& rec : m.records) put_record(w, rec);
        if (!m.tombstones.empty()) put_tombstones(w, m.tombstones);
    }
};

// Fields each type needs at least; `fields` is how many the sender wrote. Optional fields are
// read when present; fields this version does not know are skipped by the caller.
std::optional<Message> decode_body(MsgReader& r, MsgType type, std::uint32_t fields) {
    switch (type) {
        case MsgType::Ping: {
            Ping m;
            std::span<const std::uint8_t> target;
            if (!r.uint(m.seq) || !r.bin(target, m.target.bytes.size()) ||
                (target.size() != kShortIdLen && target.size() != m.target.bytes.size()) ||
                !get_u32(r, m.sender_inc))
                return std::nullopt;
            std::copy(target.begin(), target.end(), m.target.bytes.begin());
            m.short_target = target.size() == kShortIdLen;
            return m;
            return std::nullopt;
        }
        case MsgType::PingReq: {
            PingReq m;
            if (r.uint(m.seq) && get_id(r, m.target) && get_addr(r, m.target_addr)) return m;
            return std::nullopt;
        }
        case MsgType::Ack: {
            Ack m;
            if (r.uint(m.seq)) return m;
            return std::nullopt;
        }
        case MsgType::Nack: {
            Nack m;
            if (r.uint(m.seq)) return m;
            return std::nullopt;
        }
        case MsgType::Alive: {
            Alive m;
            if (get_alive_fields(r, m)) return m;
            return std::nullopt;
        }
        case MsgType::Suspect: return get_accusation<Suspect>(r, fields);
        case MsgType::Dead: return get_accusation<Dead>(r, fields);
        case MsgType::Left: {
            Left m;
            std::span<const std::uint8_t> sig;
            if (!get_id(r, m.id) || !get_u32(r, m.inc) || !r.bin(sig, kSignatureLen))
                return std::nullopt;
            m.sig.assign(sig.begin(), sig.end());
            if (fields > 3) {
                std::span<const std::uint8_t> ca;
                if (!r.bin(ca, 32) || ca.size() != 32) return std::nullopt;
                m.ca.emplace();
                std::copy(ca.begin(), ca.end(), m.ca->begin());
            }
            return m;
        }
        case MsgType::SyncDigest: {
            SyncDigest m;
            std::span<const std::uint8_t> d;
            if (!r.bin(d, m.digest.size()) || d.size() != m.digest.size() ||
                !get_u32(r, m.members) || !r.boolean(m.reply))
                return std::nullopt;
            std::copy(d.begin(), d.end(), m.digest.begin());
            if (fields > 3) {
                // Bounded above what this version sends, so that a later one may send more
                // ranges: those are ignored here (a whole-table pull), not the digest dropped.
                std::span<const std::uint8_t> b;
                if (!r.bin(b, 8 * 4 * kMaxDigestRanges)) return std::nullopt;
                m.ranged = true;
                const std::size_t k = b.size() / 8;
                if (b.size() % 8 == 0 && valid_digest_split(k)) {
                    m.ranges.resize(k);
                    for (std::size_t i = 0; i < b.size(); ++i)
                        m.ranges[i / 8] |= std::uint64_t{b[i]} << (8 * (i % 8));
                }
            }
            return m;
        }
        case MsgType::SyncPull: {
            SyncPull m;
            if (!r.uint(m.session) || !get_id(r, m.cursor) || !r.uint_as(m.max_chunks, 255))
                return std::nullopt;
            if (fields > 3 && !r.skip()) return std::nullopt;  // the padding
            if (fields > 4) {
                NodeId until;
                if (!get_id(r, until)) return std::nullopt;
                m.until = until;
            }
            return m;
        }
        case MsgType::SyncChunk: {
            SyncChunk m;
            std::uint32_t n = 0;
            if (!r.uint(m.session) || !get_id(r, m.start) || !get_id(r, m.next) ||
                !r.boolean(m.done) || !r.boolean(m.last_in_batch) || !r.array(n) ||
                n > kMaxRecordsPerChunk)
                return std::nullopt;
            m.records.resize(n);
            for (auto& rec : m.records)
                if (!get_record(r, rec)) return std::nullopt;
            if (fields > 6 && !get_tombstones(r, m.tombstones)) return std::nullopt;
            return m;
        }
        case MsgType::Revoked: {
            Revoked m;
            std::span<const std::uint8_t> ca, cert, sig;
            if (!r.bin(ca, 32) || ca.size() != 32 || !r.bin(cert, 32) || cert.size() != 32 ||
                !r.bin(sig, kSignatureLen) || sig.size() != kSignatureLen)
                return std::nullopt;
            std::copy(ca.begin(), ca.end(), m.revocation.ca.begin());
            std::copy(cert.begin(), cert.end(), m.revocation.cert.begin());
            std::copy(sig.begin(), sig.end(), m.revocation.sig.begin());
            return m;
        }
    }
    return std::nullopt;
}

constexpr std::uint32_t known_fields(MsgType t) {
    switch (t) {
        case MsgType::Ping: return 3;
        case MsgType::PingReq: return 4;
        case MsgType::Ack:
        case MsgType::Nack: return 1;
        case MsgType::Alive: return kAliveFields;
        case MsgType::Suspect:
        case MsgType::Dead: return 3;
        case MsgType::Left: return 3;
        case MsgType::SyncDigest:
        case MsgType::SyncPull: return 3;
        case MsgType::SyncChunk: return 6;
        case MsgType::Revoked: return 3;
    }
    return 0;
}

// Read by decode_body when the sender wrote them: an accusation's signature, a page's tombstones,
// a force-leave's CA, a digest's ranges, a pull's padding and end.
constexpr std::uint32_t optional_fields(MsgType t) {
    if (t == MsgType::SyncPull) return 2;  // the padding, then where the range ends
    return t == MsgType::Suspect || t == MsgType::Dead || t == MsgType::SyncChunk ||
                   t == MsgType::Left || t == MsgType::SyncDigest
               ? 1
               : 0;
}

}  // namespace

void encode_message(const Message& m, std::vector<std::uint8_t>& out) {
    MsgWriter w(out);
    std::visit(Encoder{w}, m);
}

void encode_record(const MemberRecord& r, std::vector<std::uint8_t>& out) {
    MsgWriter w(out);
    put_record(w, r);
}

std::optional<Message> decode_message(MsgReader& r) {
    std::uint32_t n = 0;
    std::uint8_t type = 0;
    if (!r.array(n) || n < 1 || !r.uint_as(type, UINT8_MAX)) return std::nullopt;
    if (type < static_cast<std::uint8_t>(MsgType::Ping) ||
        type > static_cast<std::uint8_t>(MsgType::Revoked))
        return std::nullopt;
    auto t = static_cast<MsgType>(type);
    if (n - 1 < known_fields(t)) return std::nullopt;
    auto m = decode_body(r, t, n - 1);
    if (!m) return std::nullopt;
    for (std::uint32_t i = 1 + known_fields(t) + optional_fields(t); i < n; ++i)
        if (!r.skip()) return std::nullopt;
    return m;
}

}  // namespace shoal
