#pragma once
// An IPv4 UDP endpoint. Gossip runs over IPv4 only: host-gw next hops are IPv4 addresses on one
// L2 segment, and pod subnets of either family are carried as announcement data.
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace shoal {

struct Address {
    std::uint32_t ip = 0;  // host byte order
    std::uint16_t port = 0;

    auto operator<=>(const Address&) const = default;
    bool is_unset() const { return ip == 0 && port == 0; }
    std::string to_string() const;
    // "a.b.c.d:port"; nullopt for anything else.
    static std::optional<Address> parse(std::string_view text);
};

std::string ipv4_to_string(std::uint32_t ip);
std::optional<std::uint32_t> parse_ipv4(std::string_view text);

}  // namespace shoal

template <>
struct std::hash<shoal::Address> {
    std::size_t operator()(const shoal::Address& a) const noexcept {
        return std::hash<std::uint64_t>{}((std::uint64_t{a.ip} << 16) | a.port);
    }
};
