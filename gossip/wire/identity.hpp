#pragma once
// A node's Ed25519 identity. The node id is the first 16 bytes of BLAKE2b(public key), so an id
// cannot be claimed without the key, and the id is all the rest of the protocol needs to carry.
#include <array>
#include <cstdint>
#include <span>

#include "gossip/wire/node_id.hpp"
#include "gossip/wire/rng.hpp"

namespace shoal {

using PublicKey = std::array<std::uint8_t, 32>;
using Signature = std::array<std::uint8_t, 64>;
using KeySeed = std::array<std::uint8_t, 32>;

NodeId node_id_for(const PublicKey& key);
bool verify_signature(const PublicKey& key, std::span<const std::uint8_t> message,
                      std::span<const std::uint8_t> signature);

class Identity {
  public:
    // The whole key pair follows from the 32-byte seed; that seed is what the key file stores.
    explicit Identity(const KeySeed& seed);
    static Identity generate(Rng& rng);
    Identity(const Identity&);
    Identity& operator=(const Identity&);
    ~Identity();

    const PublicKey& public_key() const { return public_; }
    const NodeId& id() const { return id_; }
    const KeySeed& seed() const { return seed_; }
    Signature sign(std::span<const std::uint8_t> message) const;

  private:
    KeySeed seed_;
    std::array<std::uint8_t, 64> secret_;
    PublicKey public_;
    NodeId id_;
};

}  // namespace shoal
