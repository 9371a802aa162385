#pragma once
// IP prefixes: a pod network, a node's subnet, a route's destination. Addresses are held in host
// byte order (IPv4) or as 16 bytes (IPv6).
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace shoal {

struct Ipv4Net {
    std::uint32_t addr = 0;  // host byte order
    int len = 0;
    std::string to_string() const;
    bool operator==(const Ipv4Net&) const = default;
};
struct Ipv6Net {
    std::array<std::uint8_t, 16> addr{};
    int len = 0;
    std::string to_string() const;
    bool operator==(const Ipv6Net&) const = default;
};

// The netmask of a prefix length, host byte order (0 for /0).
constexpr std::uint32_t ipv4_mask(int len) {
    return len == 0 ? 0 : ~std::uint32_t{0} << (32 - len);
}
// `inner` lies strictly inside `net`: longer, and within its range.
constexpr bool strictly_inside(const Ipv4Net& net, const Ipv4Net& inner) {
    return inner.len > net.len && (inner.addr & ipv4_mask(net.len)) == net.addr;
}

// "a.b.c.d/len" with no host bits set; the error says what is wrong.
Result<Ipv4Net> parse_ipv4_net(std::string_view text);
Result<Ipv6Net> parse_ipv6_net(std::string_view text);

}  // namespace shoal
