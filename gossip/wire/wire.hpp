#pragma once
// Datagram framing:
//
//   byte 0      protocol version (authenticated as associated data)
//   bytes 1-16  nonce: 16 random bytes, zero-extended to XChaCha20-Poly1305's 24
//   rest        ciphertext of a msgpack array of messages, then the 16-byte tag
//
// Version 2 differs from 1 in what its messages may carry (64-bit probe and transfer numbers,
// signed accusations, tombstones in state transfers), not in how datagrams are sealed. A node
// accepts version 1 only while `accept-protocol-1` is on (a rolling upgrade), and then answers
// each datagram in the version it came in and speaks 1 to members that announced 1.
#include <cstdint>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "gossip/wire/keyring.hpp"
#include "gossip/wire/messages.hpp"
#include "gossip/wire/rng.hpp"

namespace shoal {

inline constexpr std::uint8_t kProtocolVersion = 2;
inline constexpr std::uint8_t kProtocolVersion1 = 1;
// 128 random bits make a repeated nonce under one key unlikely beyond any cluster's lifetime
// (about 2^-49 after 2^40 datagrams); sending 24 would cost 8 bytes more on every datagram, a
// tenth of an idle probe's size.
inline constexpr std::size_t kNonceBytes = 16;
inline constexpr std::size_t kTagBytes = 16;
inline constexpr std::size_t kDatagramOverhead = 1 + kNonceBytes + kTagBytes;
// Larger than any datagram we send; anything bigger is refused before decryption.
inline constexpr std::size_t kMaxDatagramIn = 16 * 1024;
// IPv4 + UDP headers, counted in traffic figures.
inline constexpr std::size_t kIpUdpHeaderBytes = 28;

enum class DropReason : std::uint8_t {
    Truncated,        // shorter than the fixed header
    Oversized,        // larger than kMaxDatagramIn
    NewerVersion,     // a protocol version this node does not speak yet
    OlderVersion,     // a version older than the one before the current
    Unauthenticated,  // no key in the ring opens it
    Malformed,        // opened, but the messages do not decode
    Count,
};
const char* to_string(DropReason r);

struct Datagram {
    std::uint8_t version = 0;
    std::vector<Message> messages;
    std::size_t key_index = 0;  // which ring key opened it
};

// The messages of an opened datagram's plaintext; nullopt when anything in it is malformed.
std::optional<std::vector<Message>> decode_messages(std::span<const std::uint8_t> plain);

// Versions below `oldest` are dropped as OlderVersion.
std::variant<Datagram, DropReason> open_datagram(std::span<const std::uint8_t> bytes,
                                                 const Keyring& ring,
                                                 std::uint8_t oldest = kProtocolVersion);

// Collects encoded messages up to a datagram size, then seals them.
class DatagramBuilder {
  public:
    explicit DatagramBuilder(std::size_t max_datagram);
    // Appends one encoded message if it fits; false (and nothing appended) otherwise.
    bool add(std::span<const std::uint8_t> encoded);
    bool add(const Message& m);
    std::size_t room() const { return budget_ - body_.size(); }
    bool empty() const { return count_ == 0; }
    std::vector<std::uint8_t> seal(const Keyring& ring, Rng& rng,
                                   std::uint8_t version = kProtocolVersion) const;

  private:
    std::size_t budget_;
    std::vector<std::uint8_t> body_;
    std::uint32_t count_ = 0;
};

}  // namespace shoal
