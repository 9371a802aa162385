#include "common/ip_net.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include "common/address.hpp"

namespace shoal {

namespace {

bool parse_len(std::string_view text, int max, int& out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size() && out >= 0 && out <= max;
}

bool host_bits_zero6(const std::array<std::uint8_t, 16>& a, int len) {
    for (int bit = len; bit < 128; ++bit)
        if (a[bit / 8] & (0x80 >> (bit % 8))) return false;
    return true;
}

// 'TEXT', built by appending: g++ 12 at -O3 raises a false -Wrestrict on "'" + std::string(text).
std::string quoted(std::string_view text) {
    std::string s;
    s.reserve(text.size() + 2);
    s += '\'';
    s += text;
    s += '\'';
    return s;
}

}  // namespace

std::string Ipv4Net::to_string() const {
    return ipv4_to_string(addr) + "/" + std::to_string(len);
}

std::string Ipv6Net::to_string() const {
    return ipv6_to_string(addr) + "/" + std::to_string(len);
}

std::string ipv6_to_string(const Ipv6Addr& a) {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, a.data(), buf, sizeof(buf));
    return buf;
}

std::string addr_to_string(std::uint32_t ip) {
    return ipv4_to_string(ip);
}

std::optional<Ipv6Addr> parse_ipv6(std::string_view text) {
    Ipv6Addr a{};
    std::string s(text);
    if (inet_pton(AF_INET6, s.c_str(), a.data()) != 1) return std::nullopt;
    return a;
}

bool contains(const Ipv4Net& net, std::uint32_t addr) {
    return (addr & ipv4_mask(net.len)) == (net.addr & ipv4_mask(net.len));
}

bool contains(const Ipv6Net& net, const Ipv6Addr& addr) {
    for (int bit = 0; bit < net.len; ++bit) {
        std::uint8_t m = static_cast<std::uint8_t>(0x80 >> (bit % 8));
        if ((addr[bit / 8] & m) != (net.addr[bit / 8] & m)) return false;
    }
    return true;
}

Ipv4Net network_of(const Ipv4Net& n) {
    return Ipv4Net{n.addr & ipv4_mask(n.len), n.len};
}

Ipv6Net network_of(const Ipv6Net& n) {
    Ipv6Net out{{}, n.len};
    for (int bit = 0; bit < n.len; ++bit)
        out.addr[bit / 8] |= static_cast<std::uint8_t>(n.addr[bit / 8] & (0x80 >> (bit % 8)));
    return out;
}

bool strictly_inside(const Ipv6Net& net, const Ipv6Net& inner) {
    return inner.len > net.len && contains(net, inner.addr);
}

Ipv6Addr first_address(const Ipv6Net& n) {
    Ipv6Addr a = n.addr;
    for (int i = 15; i >= 0; --i)
        if (++a[i] != 0) break;  // carried on only past 0xff
    return a;
}

bool is_unicast_global(const Ipv6Addr& a) {
    static constexpr Ipv6Addr kZero{};
    Ipv6Addr loopback{};
    loopback[15] = 1;
    Ipv6Addr mapped{};
    mapped[10] = mapped[11] = 0xff;
    bool is_mapped = std::equal(mapped.begin(), mapped.begin() + 12, a.begin());
    bool link_local = a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
    return a != kZero && a != loopback && a[0] != 0xff && !link_local && !is_mapped;
}

Result<Ipv4Net> parse_ipv4_net(std::string_view text) {
    auto slash = text.find('/');
    if (slash == std::string_view::npos)
        return Error{quoted(text) + " is not a CIDR (a.b.c.d/len)"};
    auto ip = parse_ipv4(text.substr(0, slash));
    int len = 0;
    if (!ip || !parse_len(text.substr(slash + 1), 32, len))
        return Error{quoted(text) + " is not a CIDR (a.b.c.d/len)"};
    if (*ip & ~ipv4_mask(len))
        return Error{quoted(text) + " has host bits set; did you mean " +
                     Ipv4Net{*ip & ipv4_mask(len), len}.to_string() + "?"};
    return Ipv4Net{*ip, len};
}

Result<Ipv6Net> parse_ipv6_net(std::string_view text) {
    auto slash = text.find('/');
    Ipv6Net net;
    std::string addr(text.substr(0, slash));
    if (slash == std::string_view::npos ||
        inet_pton(AF_INET6, addr.c_str(), net.addr.data()) != 1 ||
        !parse_len(text.substr(slash + 1), 128, net.len))
        return Error{quoted(text) + " is not an IPv6 CIDR (addr/len)"};
    if (!host_bits_zero6(net.addr, net.len)) return Error{quoted(text) + " has host bits set"};
    return net;
}

}  // namespace shoal
