#pragma once
// The cluster keyring: every datagram is sealed with the primary key (the first) and opened with
// any key in the ring, so a key is rotated without downtime: add the new key everywhere, make it
// primary everywhere, then remove the old one.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace shoal {

using ClusterKey = std::array<std::uint8_t, 32>;

class Keyring {
  public:
    Keyring() = default;
    explicit Keyring(std::vector<ClusterKey> keys) : keys_(std::move(keys)) {}

    bool empty() const { return keys_.empty(); }
    std::size_t size() const { return keys_.size(); }
    const ClusterKey& primary() const { return keys_.front(); }
    const std::vector<ClusterKey>& keys() const { return keys_; }

    // Text form of one key: standard base64 of its 32 bytes.
    static std::string encode_key(const ClusterKey& key);
    static std::optional<ClusterKey> decode_key(std::string_view text);
    // One key per line; blank lines and lines starting with '#' are ignored. The error says
    // which line is wrong and why. `lines`, when given, receives each key's line number.
    static Result<Keyring> parse(std::string_view text, std::vector<int>* lines = nullptr);
    // A short, non-secret name for a key (first bytes of its BLAKE2b hash), for logs and status.
    static std::string fingerprint(const ClusterKey& key);

  private:
    std::vector<ClusterKey> keys_;
};

}  // namespace shoal
