#include "common/ip_net.hpp"

#include <arpa/inet.h>

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
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, addr.data(), buf, sizeof(buf));
    return std::string(buf) + "/" + std::to_string(len);
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
