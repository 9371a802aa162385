#pragma once
// The CA's ledger, DIR/ledger next to DIR/ca.key: every certificate the CA issued and revoked, so
// that two nodes are never given the same subnet and a revoked certificate's subnet can be given
// again. Plain text, for people as much as for `shoal ca`:
//
//   # shoal CA ledger: every certificate this CA issued and revoked. Written by `shoal ca`.
//   network 10.244.0.0/16 subnet-len 24 [subnet-min A.B.C.D] [subnet-max A.B.C.D]
//   issued FINGERPRINT-HEX NAME NODE-KEY-HEX SUBNET-CIDR|- NOT-AFTER-UNIX|0 ISSUED-AT-UNIX
//   revoked FINGERPRINT-HEX REVOKED-AT-UNIX
//
// Blank lines and lines starting with '#' are comments (the written file describes each line
// kind in its header). The network line is there when the CA was made with `--network`: without
// it no certificate can name a subnet. A revoked line may name a fingerprint no issued line has
// (the CA's word stands even when the ledger was lost).
//
// Rules: a subnet is held by every issued, unrevoked certificate naming it. An explicit subnet
// held by another certificate is refused, unless that certificate has the same name and the same
// node key (a renewal). `auto` gives a renewal the subnet it holds, anyone else the lowest free
// slot. An expired certificate still holds its subnet until it is revoked: the CA cannot know
// that every agent's clock agrees that it expired.
//
// update_ledger holds an exclusive flock on DIR/ledger.lock for the whole read-modify-write and
// replaces the ledger atomically, so concurrent `shoal ca sign` runs never hand out one subnet
// twice.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_net.hpp"
#include "common/result.hpp"
#include "gossip/ownership/network_config.hpp"
#include "gossip/wire/certificate.hpp"

namespace shoal::agent {

struct IssuedCert {
    Fingerprint fingerprint{};
    std::string name;
    PublicKey node{};
    std::optional<Ipv4Net> subnet;
    std::uint64_t not_after = 0;  // 0: never expires
    std::uint64_t issued_at = 0;
    bool operator==(const IssuedCert&) const = default;
};

struct RevokedCert {
    Fingerprint fingerprint{};
    std::uint64_t revoked_at = 0;
    bool operator==(const RevokedCert&) const = default;
};

// What `--subnet` asked for: nothing (the node claims one dynamically), `auto`, a slot number of
// the ledger's network, or a CIDR.
struct SubnetRequest {
    enum class Kind { None, Auto, Slot, Cidr };
    Kind kind = Kind::None;
    std::uint32_t slot = 0;
    Ipv4Net cidr{};
};
// "" is None; the error says what the text should have been.
Result<SubnetRequest> parse_subnet_request(std::string_view text);

class Ledger {
  public:
    // `origin` (the path) and the line number start every error.
    static Result<Ledger> parse(std::string_view text, const std::string& origin);
    std::string format() const;

    // Validated by NetworkConfig::make; only the IPv4 settings are kept.
    Status set_network(const NetworkSettings& settings);
    const std::optional<NetworkConfig>& network() const { return network_; }

    const std::vector<IssuedCert>& issued() const { return issued_; }
    const std::vector<RevokedCert>& revoked() const { return revoked_; }
    const IssuedCert* find(const Fingerprint& fingerprint) const;
    const RevokedCert* find_revoked(const Fingerprint& fingerprint) const;

    // Subnets of issued, unrevoked certificates, in address order, each once.
    std::vector<Ipv4Net> held_subnets() const;
    // The lowest slot of `network` no certificate holds.
    std::optional<Ipv4Net> pick_free(const NetworkConfig& network) const;

    // Whether the request fits the ledger's network: a slot it has, one of its subnets. These are
    // the operator's mistakes in the flag (exit 2), apart from which subnets are taken.
    Status check_request(const SubnetRequest& request) const;
    // The subnet the certificate for `name` and `node` gets (nullopt for Kind::None), by the
    // rules above; the error names the holder of a taken subnet.
    Result<std::optional<Ipv4Net>> assign(const SubnetRequest& request, std::string_view name,
                                          const PublicKey& node) const;

    // False when the same certificate (same fingerprint) is already recorded: signing is
    // deterministic, so re-signing identical fields gives identical bytes. Refused when that
    // fingerprint was revoked: the certificate would be revoked on arrival.
    Result<bool> add_issued(const IssuedCert& cert);
    // Records the revocation (once). Returns the revoked certificate's subnet when that made it
    // free again (no renewal holds it).
    std::optional<Ipv4Net> add_revoked(const Fingerprint& fingerprint, std::uint64_t at);

  private:
    NetworkSettings settings_;
    std::optional<NetworkConfig> network_;
    std::vector<IssuedCert> issued_;
    std::vector<RevokedCert> revoked_;
};

std::string ledger_path(const std::string& dir);
// DIR/ledger, created (never replaced) for a new CA.
Status create_ledger(const std::string& dir, const Ledger& ledger);
// A snapshot without the lock, for reading only.
Result<Ledger> read_ledger(const std::string& dir);

enum class IfLedgerMissing { Fail, StartEmpty };
// Locks DIR/ledger.lock, reads DIR/ledger, applies `change` and, if it succeeded and changed
// anything, writes the ledger back atomically before unlocking. An error from `change` leaves
// the file as it was.
Status update_ledger(const std::string& dir, const std::function<Status(Ledger&)>& change,
                     IfLedgerMissing missing = IfLedgerMissing::Fail);

}  // namespace shoal::agent
