#pragma once
// A node certificate: an operator's CA (an Ed25519 key kept offline) binds a node's public key to
// a name, optionally to the one subnet it may claim, and optionally to an expiry. It rides as a
// field of the node's signed announcement, so it costs no message of its own.
//
//   certificate = msgpack [body: bin, CA signature: bin(64)]
//   body        = msgpack ["shoal/cert/1", CA public key, node public key, name,
//                          subnet: nil or [ip, prefix length], not after (Unix seconds, 0: never),
//                          later fields...]
//
// A CA revokes a certificate by its fingerprint (BLAKE2b-256 of the certificate's bytes), not by
// name: a certificate re-issued with any field changed (key, subnet, expiry) has another one.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/ip_net.hpp"
#include "common/result.hpp"
#include "gossip/wire/identity.hpp"

namespace shoal {

// Room for the certificate next to the rest of the announcement in its 600-byte body.
inline constexpr std::size_t kMaxCertName = 100;
inline constexpr std::size_t kMaxCertificateLen = 300;

using Fingerprint = std::array<std::uint8_t, 32>;

struct Certificate {
    PublicKey ca{};
    PublicKey node{};
    std::string name;
    std::optional<Ipv4Net> subnet;
    std::uint64_t not_after = 0;
    bool operator==(const Certificate&) const = default;
};

// The certificate's bytes, signed by `ca` (whose public key `c.ca` must be). Fails on a name
// that is not a member name or longer than kMaxCertName, or a subnet that is not a network
// address.
Result<std::vector<std::uint8_t>> issue_certificate(const Certificate& c, const Identity& ca);
// Decodes `bytes` and checks the signature of the CA it names. Whether that CA is trusted, the
// certificate expired or revoked is the reader's policy.
Result<Certificate> open_certificate(std::span<const std::uint8_t> bytes);
Fingerprint fingerprint_of(std::span<const std::uint8_t> bytes);

// A CA's word that the certificate with this fingerprint is revoked: signed by the CA over
// "shoal/revoke/1" and the fingerprint, so any member may relay it.
struct Revocation {
    PublicKey ca{};
    Fingerprint cert{};
    Signature sig{};
    bool operator==(const Revocation&) const = default;
};
Revocation revoke_certificate(const Fingerprint& cert, const Identity& ca);
bool check_revocation(const Revocation& r);

// A CA's order that member `id` at incarnation `inc` is out (a force-leave under admission):
// signed over "shoal/force-leave/1", the id and the incarnation, so it is void once the member
// announces again above `inc`.
struct ForceLeave {
    PublicKey ca{};
    NodeId id;
    std::uint32_t inc = 0;
    Signature sig{};
    bool operator==(const ForceLeave&) const = default;
};
ForceLeave sign_force_leave(const NodeId& id, std::uint32_t inc, const Identity& ca);
bool check_force_leave(const ForceLeave& f);

}  // namespace shoal
