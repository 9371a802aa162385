#pragma once
// Who may be a member beyond holding the cluster key: node certificates issued by an operator's
// CA (gossip/wire/certificate.hpp). Pure policy over verified announcements; the agent supplies
// the trusted CA keys, the revoked fingerprints and the wall clock.
//
//   off         certificates are ignored (today's open mode)
//   permissive  every member is admitted; those without a valid certificate are counted, so a
//               cluster can be switched on host by host and checked before enforcing
//   enforce     only members with a valid certificate are admitted
//
// Under permissive and enforce, a certificate that names a subnet makes that subnet the member's
// only acceptable claim, and such a claim beats every dynamic one (the CA never issues a subnet
// twice), so certified subnets cannot collide.
//
// Expiry is checked only while the wall clock is plausible (after kPlausibleUnixTime): a device
// without a real-time clock boots in 1970, and must not refuse everyone until NTP has run.
#include <cstdint>
#include <optional>
#include <set>
#include <vector>

#include "gossip/ownership/network_config.hpp"
#include "gossip/wire/announcement.hpp"

namespace shoal {

enum class AdmissionMode : std::uint8_t { Off, Permissive, Enforce };
const char* to_string(AdmissionMode m);

// Revocations a member keeps (each 128 bytes): far more certificates than a small cluster ever
// revokes; a CA that needs more should rotate.
inline constexpr std::size_t kMaxRevocations = 4096;

// 2026-01-01T00:00:00Z: no shoal certificate was issued before it.
inline constexpr std::uint64_t kPlausibleUnixTime = 1'767'225'600;

struct AdmissionPolicy {
    AdmissionMode mode = AdmissionMode::Off;
    std::vector<PublicKey> cas;     // trusted CA public keys
    std::set<Fingerprint> revoked;  // certificate fingerprints revoked by a trusted CA
    std::uint64_t unix_now = 0;     // the wall clock, seconds (0: not known)

    bool on() const { return mode != AdmissionMode::Off; }
    // Why `a` is not validly certified under this policy (nullopt: it is). Checks the
    // certificate only; `network` turns its subnet into a slot.
    std::optional<Rejection> check(const Announcement& a, const NetworkConfig& network) const;
    // The slot a valid certificate pins `a` to, if it names one.
    std::optional<std::uint32_t> pinned_slot(const Announcement& a,
                                             const NetworkConfig& network) const;
};

}  // namespace shoal
