#pragma once
// A node's signed announcement: who it is, where it is, which subnet it claims. It travels as the
// `meta` of its `alive` message and is verified by every member that accepts it, relayed or not.
//
//   meta = msgpack [body: bin, signature: bin(64)], at most kMaxMetaLen (600) bytes
//   body = msgpack ["shoal/announce/1", public key, name, ip, port, incarnation,
//                   claim: [] or [slot, clock], network digest, agent version,
//                   restart hold in ms, boot nonce, certificate (bin, empty: none; only if
//                   it has one or an IPv6 address), IPv6 address (bin(16), only if it has one),
//                   later fields...]
//
// The signature (Ed25519, by the node's own key) covers the body bytes exactly as sent, so there
// is one canonical encoding: the one the signer produced. The body is extensible: a reader takes
// the fields it knows and skips any after them (they are signed all the same), so a new field
// needs no new version and no new domain. That is also why protocol 2 kept the domain string:
// protocol-1 members verify a protocol-2 announcement and ignore its boot nonce.
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/ip_net.hpp"
#include "gossip/wire/certificate.hpp"
#include "gossip/wire/identity.hpp"
#include "gossip/wire/messages.hpp"

namespace shoal {

// A claim on subnet `slot`, made at Lamport time `clock`: one more than the highest clock the
// claimant had seen. An older claim (lower clock; then lower id) wins a conflict.
//
// Clocks are bounded so that counting up from any accepted clock cannot wrap: 2^48 is a claim
// every millisecond for 8,900 years. A new claim saturates at the bound (ties go to the lower id).
inline constexpr std::uint64_t kMaxClaimClock = std::uint64_t{1} << 48;
struct Claim {
    std::uint32_t slot = 0;
    std::uint64_t clock = 0;
    bool operator==(const Claim&) const = default;
};

struct Announcement {
    PublicKey key{};
    std::string name;
    Address addr;
    std::uint32_t inc = 0;
    std::optional<Claim> claim;
    Digest network{};
    std::string version;
    // Non-zero: "I am stopping for a planned restart; hold me this long" (milliseconds).
    std::uint32_t restart_hold_ms = 0;
    // Random for each start of the agent: the same key announced under two boot nonces at once
    // is a cloned key (a copied disk image). Zero from protocol-1 members.
    std::uint64_t boot = 0;
    // The node certificate its CA issued it, as signed (empty: none).
    std::vector<std::uint8_t> certificate = {};
    // Its address for IPv6 host-gw routes (dual stack), on the same segment as `addr`: a global
    // unicast address, or none.
    std::optional<Ipv6Addr> addr6 = std::nullopt;
    // Filled by open_announcement: the certificate, if it decodes, its CA's signature verifies
    // and it is for this member's key. Whether its CA is trusted is the reader's policy.
    std::optional<Certificate> cert = std::nullopt;
    Fingerprint cert_fingerprint{};  // of `certificate`, with `cert` (what revocations name)
    // The signed bytes themselves (the Alive's meta), so that every holder of this shared
    // announcement can pass it on without a copy of its own.
    std::vector<std::uint8_t> meta = {};
};

enum class Rejection : std::uint8_t {
    Malformed,        // the announcement does not decode
    BadSignature,     // forged or tampered
    IdMismatch,       // the id is not the hash of the key that signed
    FieldMismatch,    // the unsigned outer fields differ from the signed ones
    ForeignNetwork,   // signed for a different pod network: another cluster
    Replayed,         // an older incarnation than the one we hold
    UnsignedLeave,    // a leave not signed by the member, for a member we do not hold dead
    ClaimOutOfRange,  // a claim on a slot outside the pod network, or a clock beyond the bound
    // Rejected by the membership core rather than by the signature check:
    Unannounced,    // an accusation at an incarnation the member never signed
    MalformedName,  // a member name that is not an RFC 1123 host name
    MemberCap,      // a new identity while the table holds max-members
    IdentityRate,   // a new identity beyond what one source may introduce per second
    Unsolicited,    // a state-transfer page for a transfer we did not ask for, or from elsewhere
    UnsignedAccusation,  // a suspect or dead message its accuser did not sign (or that we
                         // cannot check: an accuser we do not know)
    // Admission (admission = enforce; counted but accepted when permissive):
    Uncertified,              // no certificate
    UntrustedCertificate,     // not signed by a trusted CA, or not for this member's key
    CertificateExpired,       // past its expiry, by a plausible wall clock
    CertificateRevoked,       // its fingerprint was revoked by its CA
    CertificateName,          // announced under another name than its certificate's
    ClaimOutsideCertificate,  // claims a subnet other than the one its certificate names
    // Signature checks again (last, so the counters above keep their numbers):
    BadAddress6,  // an IPv6 address no host is routed through: multicast, loopback, link-local
    Count,
};
const char* to_string(Rejection r);

// What SubnetNode announces that the membership core does not know: its claim and its IPv6
// address, handed to the core as its opaque payload: the claim field exactly as the body
// carries it, then the IPv6 address (bin 16) if there is one. The core re-announces whenever
// the payload changes.
struct Placement {
    std::optional<Claim> claim;
    std::optional<Ipv6Addr> addr6;
    bool operator==(const Placement&) const = default;
};
std::vector<std::uint8_t> encode_placement(const Placement& p);
// False unless `payload` is exactly one encoded placement.
bool decode_placement(std::span<const std::uint8_t> payload, Placement& p);

// The Alive message a node sends about itself: outer fields plus the signed meta.
Alive seal_announcement(const Announcement& a, const Identity& id, std::uint8_t proto);
// Decodes and verifies against our own pod network: signed for it (`network` is its digest),
// claiming one of its `slots` subnets.
std::variant<Announcement, Rejection> open_announcement(const Alive& a, const Digest& network,
                                                        std::uint32_t slots);

std::vector<std::uint8_t> sign_leave(const Identity& id, std::uint32_t inc);
bool verify_leave(const PublicKey& key, std::uint32_t inc, std::span<const std::uint8_t> sig);

// An accusation (suspect or dead) of member `id` at `inc`, signed by its accuser.
enum class Accusation : std::uint8_t { Suspect = 1, Dead = 2 };
std::vector<std::uint8_t> sign_accusation(const Identity& accuser, Accusation kind,
                                          const NodeId& id, std::uint32_t inc);
bool verify_accusation(const PublicKey& accuser, Accusation kind, const NodeId& id,
                       std::uint32_t inc, std::span<const std::uint8_t> sig);

}  // namespace shoal
