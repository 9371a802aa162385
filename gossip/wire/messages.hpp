#pragma once
// The gossip messages and their msgpack form. Each message is an array [type, fields...]; a
// decoder takes at least the fields it knows and skips any it does not, so a later minor version
// can append fields without breaking older readers.
#include <array>
#include <bit>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "common/address.hpp"
#include "gossip/wire/certificate.hpp"
#include "gossip/wire/member_name.hpp"
#include "gossip/wire/member_state.hpp"
#include "gossip/wire/node_id.hpp"

namespace shoal {

enum class MsgType : std::uint8_t {
    Ping = 1,
    PingReq = 2,
    Ack = 3,
    Nack = 4,
    Alive = 5,
    Suspect = 6,
    Dead = 7,
    Left = 8,
    SyncDigest = 9,
    SyncPull = 10,
    SyncChunk = 11,
    Revoked = 12,
};

inline constexpr std::size_t kMaxNameLen = kMaxMemberName;  // decoding bound; names are checked
// A signed announcement with every field at its largest fits (docs/PROTOCOL.md); later fields
// must fit inside it too.
inline constexpr std::size_t kMaxMetaLen = 600;
// An Ed25519 signature: on a leave, and on an accusation by its accuser.
inline constexpr std::size_t kSignatureLen = 64;

using Digest = std::array<std::uint8_t, 16>;

// Probe sequence numbers and transfer sessions are drawn at random for each use (64 bits; 32
// while protocol-1 members may be around), so a recorded answer matches nothing later.
struct Ping {
    std::uint64_t seq = 0;
    NodeId target;
    // The sender's own incarnation: lets a receiver that holds the sender dead tell it at once.
    std::uint32_t sender_inc = 0;
    // Protocol 2 sends only the target id's first 4 bytes: enough to tell a member from whoever
    // uses its old address now (ids are hashes: 1 in 2^32 would be taken for it), and 12 bytes
    // less on every probe, which pays for the 64-bit sequence numbers. Protocol-1 members need
    // all 16.
    bool short_target = false;
};
struct PingReq {
    std::uint64_t seq = 0;
    NodeId target;
    Address target_addr;
};
struct Ack {
    std::uint64_t seq = 0;
};
struct Nack {
    std::uint64_t seq = 0;
};
// A member's own announcement. Only the member itself originates one.
struct Alive {
    NodeId id;
    std::uint32_t inc = 0;
    std::string name;
    Address addr;
    std::uint8_t proto = 0;          // highest protocol version the member speaks
    std::vector<std::uint8_t> meta;  // opaque to the core
};
// Accusations carry their accuser's signature (empty only from protocol-1 members, or without
// credentials), so each confirmation of a suspicion costs a distinct key.
struct Suspect {
    NodeId id;
    std::uint32_t inc = 0;
    NodeId from;
    std::vector<std::uint8_t> sig = {};
};
struct Dead {
    NodeId id;
    std::uint32_t inc = 0;
    NodeId from;
    std::vector<std::uint8_t> sig = {};
};
// Only the member itself signs its leave. An unsigned leave is a force-leave: accepted only for
// a member the receiver already holds dead.
struct Left {
    NodeId id;
    std::uint32_t inc = 0;
    std::vector<std::uint8_t> sig = {};
    // Set: `sig` is this CA's force-leave signature (admission), not the member's own.
    std::optional<PublicKey> ca = std::nullopt;
};
// Most id ranges a digest is split into (8 bytes each on the wire).
inline constexpr std::size_t kMaxDigestRanges = 64;
// A split this version makes and reads: a power of two, 2..kMaxDigestRanges.
inline constexpr bool valid_digest_split(std::size_t k) {
    return k >= 2 && k <= kMaxDigestRanges && (k & (k - 1)) == 0;
}
// Of a split into k ranges (a power of two): the range that holds `id`, and where range b starts.
inline std::size_t digest_range_of(const NodeId& id, std::size_t k) {
    return k < 2 ? 0 : static_cast<std::size_t>(id.prefix64() >> (64 - std::countr_zero(k)));
}
inline NodeId digest_range_start(std::size_t b, std::size_t k) {
    NodeId id;
    if (k < 2) return id;
    const std::uint64_t prefix = std::uint64_t{b} << (64 - std::countr_zero(k));
    for (int i = 0; i < 8; ++i) id.bytes[i] = static_cast<std::uint8_t>(prefix >> (56 - 8 * i));
    return id;
}
// Anti-entropy: a digest of the whole membership table; equal digests mean equal tables.
struct SyncDigest {
    Digest digest{};
    std::uint32_t members = 0;
    bool reply = false;  // "send me yours": the receiver answers with its digest on mismatch
    // The sender pulls by id range (docs/PROTOCOL.md, "Anti-entropy"); absent from older senders.
    bool ranged = false;
    // Empty, or a digest per id range: k (a power of two, 2..kMaxDigestRanges) ranges, range b
    // holding the ids whose top log2(k) bits are b. A malformed list is decoded as empty.
    std::vector<std::uint64_t> ranges = {};
};
// Asks for the table entries with id >= cursor (and < until, when set), in at most
// `max_chunks` datagrams.
struct SyncPull {
    std::uint64_t session = 0;
    NodeId cursor;
    std::uint8_t max_chunks = 0;
    // Zero bytes appended by a requester its peer may not know yet: a peer answers an unknown
    // source with no more bytes than it sent, so a full datagram buys one full page.
    std::uint16_t padding = 0;
    // Where the requested range ends. Older responders do not read it and send on to the end.
    std::optional<NodeId> until = std::nullopt;
};
// One member as a full-state transfer carries it.
struct MemberRecord {
    Alive alive;
    MemberState state = MemberState::Alive;
    std::uint32_t age_ms = 0;            // time spent dead or left; ages travel, clocks never do
    std::vector<std::uint8_t> left_sig;  // the member's own signature on its leave, if any
    std::uint32_t state_inc = 0;         // the incarnation the state refers to (>= alive.inc)
    // Restarting: what is left of its restart hold, so that a member learning it late does not
    // start the whole hold again. Absent from senders that predate it.
    std::optional<std::uint32_t> hold_left_ms;
};
// A member forgotten after its retention: the highest incarnation it signed, so that a replay
// of an announcement it made is still recognised as one.
struct Tombstone {
    NodeId id;
    std::uint32_t inc = 0;
    bool operator==(const Tombstone&) const = default;
};
// Covers ids in [start, next), or [start, end of space) when `done`: the members, and the
// tombstones, in that range.
struct SyncChunk {
    std::uint64_t session = 0;
    NodeId start;
    NodeId next;
    bool done = false;
    bool last_in_batch = false;
    std::vector<MemberRecord> records;
    std::vector<Tombstone> tombstones = {};  // absent from protocol-1 senders
};

// A CA revoked a certificate (certificate.hpp). Signed by the CA, so any member relays it.
// Sent only where admission is on, which needs shoal 0.3 on every host: a 0.2 agent drops a
// datagram with a message type it does not know.
struct Revoked {
    Revocation revocation;
};

using Message = std::variant<Ping, PingReq, Ack, Nack, Alive, Suspect, Dead, Left, SyncDigest,
                             SyncPull, SyncChunk, Revoked>;

void encode_message(const Message& m, std::vector<std::uint8_t>& out);
// Encodes one record as it appears in a SyncChunk; used to budget chunk sizes.
void encode_record(const MemberRecord& r, std::vector<std::uint8_t>& out);
// The most bytes one tombstone takes in a SyncChunk.
inline constexpr std::size_t kTombstoneBytes = 1 + 18 + 5;

class MsgReader;
// Decodes one message; nullopt when malformed. Never reads past the reader's bounds.
std::optional<Message> decode_message(MsgReader& r);

}  // namespace shoal
