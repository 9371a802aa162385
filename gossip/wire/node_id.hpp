#pragma once
// A member's identity: 16 bytes. Derived from the node's public key once identities exist; the
// simulator draws them from its seeded generator.
#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/hex.hpp"

namespace shoal {

struct NodeId {
    std::array<std::uint8_t, 16> bytes{};

    // Ids are compared constantly (ordered table, hash lookups): two 64-bit loads, not memcmp.
    std::strong_ordering operator<=>(const NodeId& o) const {
        if (auto c = prefix64() <=> o.prefix64(); c != 0) return c;
        return suffix64() <=> o.suffix64();
    }
    bool operator==(const NodeId& o) const {
        return prefix64() == o.prefix64() && suffix64() == o.suffix64();
    }
    bool is_zero() const {
        for (auto b : bytes)
            if (b) return false;
        return true;
    }
    std::string hex() const { return to_hex(bytes); }
    // The inverse of hex(): exactly 32 lower- or upper-case hex digits.
    static std::optional<NodeId> from_hex(std::string_view text) {
        NodeId id;
        if (!shoal::from_hex(text, id.bytes)) return std::nullopt;
        return id;
    }
    // Eight hex digits: enough to tell members apart in a log line.
    std::string short_hex() const { return hex().substr(0, 8); }
    // The id as two big-endian halves, so that numeric order is byte order.
    std::uint64_t prefix64() const { return load_be(0); }
    std::uint64_t suffix64() const { return load_be(8); }

  private:
    std::uint64_t load_be(std::size_t at) const {
        std::uint64_t v;
        std::memcpy(&v, bytes.data() + at, sizeof(v));
        return __builtin_bswap64(v);
    }

  public:
};

}  // namespace shoal

template <>
struct std::hash<shoal::NodeId> {
    std::size_t operator()(const shoal::NodeId& id) const noexcept {
        std::uint64_t a, b;
        std::memcpy(&a, id.bytes.data(), 8);
        std::memcpy(&b, id.bytes.data() + 8, 8);
        return std::hash<std::uint64_t>{}(a ^ (b * 0x9e3779b97f4a7c15ULL));
    }
};
