#include "gossip/wire/identity.hpp"

#include <sodium.h>

namespace shoal {

NodeId node_id_for(const PublicKey& key) {
    NodeId id;
    crypto_generichash(id.bytes.data(), id.bytes.size(), key.data(), key.size(), nullptr, 0);
    return id;
}

bool verify_signature(const PublicKey& key, std::span<const std::uint8_t> message,
                      std::span<const std::uint8_t> signature) {
    return signature.size() == crypto_sign_BYTES &&
           crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                       key.data()) == 0;
}

Identity::Identity(const KeySeed& seed) : seed_(seed) {
    crypto_sign_seed_keypair(public_.data(), secret_.data(), seed_.data());
    id_ = node_id_for(public_);
}

Identity Identity::generate(Rng& rng) {
    KeySeed seed;
    rng.fill(seed);
    Identity id(seed);
    sodium_memzero(seed.data(), seed.size());
    return id;
}

Identity::Identity(const Identity& o) = default;
Identity& Identity::operator=(const Identity& o) = default;

Identity::~Identity() {
    sodium_memzero(seed_.data(), seed_.size());
    sodium_memzero(secret_.data(), secret_.size());
}

Signature Identity::sign(std::span<const std::uint8_t> message) const {
    Signature sig;
    crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), secret_.data());
    return sig;
}

}  // namespace shoal
