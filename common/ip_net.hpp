#pragma once
// IP prefixes: a pod network, a node's subnet, a route's destination. Addresses are held in host
// byte order (IPv4) or as 16 bytes (IPv6).
#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace shoal {

using Ipv6Addr = std::array<std::uint8_t, 16>;

// Both families have the same shape, so code that is the same for both (the route reconciler)
// is written once, as a template over the prefix type, with the overloads below.
struct Ipv4Net {
    using Addr = std::uint32_t;  // host byte order
    static constexpr int kBits = 32;
    Addr addr = 0;
    int len = 0;
    std::string to_string() const;
    auto operator<=>(const Ipv4Net&) const = default;
};
struct Ipv6Net {
    using Addr = Ipv6Addr;
    static constexpr int kBits = 128;
    Addr addr{};
    int len = 0;
    std::string to_string() const;
    auto operator<=>(const Ipv6Net&) const = default;
};

std::string ipv6_to_string(const Ipv6Addr& a);
inline std::string addr_to_string(const Ipv6Addr& a) {
    return ipv6_to_string(a);
}
std::string addr_to_string(std::uint32_t ip);
std::optional<Ipv6Addr> parse_ipv6(std::string_view text);

// `addr` lies in `net` (the host bits of `net` are ignored: an interface's address and length).
bool contains(const Ipv4Net& net, std::uint32_t addr);
bool contains(const Ipv6Net& net, const Ipv6Addr& addr);
// An interface address's network: the address with its host bits cleared.
Ipv4Net network_of(const Ipv4Net& n);
Ipv6Net network_of(const Ipv6Net& n);
// An address a host may have on a link and be routed through: not unspecified, loopback,
// multicast, link-local (ambiguous without an interface) or IPv4-mapped.
bool is_unicast_global(const Ipv6Addr& a);
// The first address after a subnet's own (its gateway: the pod bridge's address).
Ipv6Addr first_address(const Ipv6Net& n);

// The netmask of a prefix length, host byte order (0 for /0).
constexpr std::uint32_t ipv4_mask(int len) {
    return len == 0 ? 0 : ~std::uint32_t{0} << (32 - len);
}
// `inner` lies strictly inside `net`: longer, and within its range.
constexpr bool strictly_inside(const Ipv4Net& net, const Ipv4Net& inner) {
    return inner.len > net.len && (inner.addr & ipv4_mask(net.len)) == net.addr;
}
bool strictly_inside(const Ipv6Net& net, const Ipv6Net& inner);

// "a.b.c.d/len" with no host bits set; the error says what is wrong.
Result<Ipv4Net> parse_ipv4_net(std::string_view text);
Result<Ipv6Net> parse_ipv6_net(std::string_view text);

}  // namespace shoal
