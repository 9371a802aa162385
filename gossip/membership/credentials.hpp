#pragma once
// How the core signs its own announcements and checks everyone else's. The core knows nothing of
// keys or subnets; the application (SubnetNode) plugs this in. Without it, announcements are
// unsigned (the core's own unit tests).
//
// Nothing here holds state the core depends on: the core owns what it announces (its address,
// incarnation, restart hold and the application's opaque payload) and passes all of it to every
// signature, and a verified announcement is an immutable object the core keeps with its member.
#include <memory>
#include <span>
#include <variant>
#include <vector>

#include "gossip/wire/announcement.hpp"

namespace shoal {

// An announcement as verified. Immutable, so one copy serves every holder: the member that
// carries it, the ownership layer, and (through a shared cache) every node of a simulation.
using VerifiedAnnouncement = std::shared_ptr<const Announcement>;
using Verification = std::variant<VerifiedAnnouncement, Rejection>;

// Everything our own announcement says that the core decides.
struct SelfAnnouncement {
    std::uint32_t inc = 0;
    Address addr;
    std::span<const std::uint8_t> payload;  // the application's bytes, opaque to the core
    std::uint32_t restart_hold_ms = 0;      // non-zero before a planned restart
    std::uint64_t boot = 0;                 // this start's random nonce (clone detection)
};

struct SignedAnnouncement {
    Alive alive;
    VerifiedAnnouncement announcement;  // what `alive` says, so we never verify ourselves
};

class Credentials {
  public:
    virtual ~Credentials() = default;
    // A pure function of `self` (Ed25519 signatures are deterministic).
    virtual SignedAnnouncement announce(const SelfAnnouncement& self) const = 0;
    virtual std::vector<std::uint8_t> sign_leave(std::uint32_t inc) const = 0;
    // The announcement `a` carries (never null) if it is a valid one of its member for our
    // network, or why not. Called once per announcement the core has not seen; the core keeps
    // the result with the member.
    virtual Verification verify(const Alive& a) = 0;
    // Whether `l` is signed by the member whose verified announcement is `a`.
    virtual bool check_leave(const Announcement& a, const Left& l) const = 0;
    // Our signature on an accusation we make.
    virtual std::vector<std::uint8_t> sign_accusation(Accusation kind, const NodeId& id,
                                                      std::uint32_t inc) const = 0;
    // Whether `sig` is the signature of the member whose verified announcement is `accuser`.
    virtual bool check_accusation(const Announcement& accuser, Accusation kind, const NodeId& id,
                                  std::uint32_t inc, std::span<const std::uint8_t> sig) const = 0;

    // Admission (certificates). A CA's revocation: true if it is valid, from a trusted CA and
    // new; verify() then refuses the certificate it names.
    virtual bool learn_revocation(const Revocation&) { return false; }
    // Whether a member admitted with announcement `a` still is (not revoked since).
    virtual bool still_admitted(const Announcement&) const { return true; }
    // Every revocation learned, to pass on in state transfers and keep across restarts.
    virtual std::vector<Revocation> revocations() const { return {}; }
    virtual std::size_t revocation_count() const { return 0; }
    // Whether a force-leave must be signed by a trusted CA (admission on), and whether `l` is.
    virtual bool force_leave_needs_ca() const { return false; }
    virtual bool check_force_leave(const Left&) const { return false; }
};

}  // namespace shoal
