#include "gossip/ownership/network_config.hpp"

#include <sodium.h>

namespace shoal {

namespace {

// IPv6 arithmetic on 128-bit integers.
using u128 = unsigned __int128;
u128 load6(const std::array<std::uint8_t, 16>& a) {
    u128 v = 0;
    for (auto b : a) v = (v << 8) | b;
    return v;
}
std::array<std::uint8_t, 16> store6(u128 v) {
    std::array<std::uint8_t, 16> a{};
    for (int i = 15; i >= 0; --i, v >>= 8) a[i] = static_cast<std::uint8_t>(v);
    return a;
}

}  // namespace

Result<NetworkConfig> NetworkConfig::make(const NetworkSettings& s) {
    NetworkConfig c;
    if (s.network.empty())
        return Error{std::string("network: not set (e.g. network = \"10.244.0.0/16\")")};
    auto net = parse_ipv4_net(s.network);
    if (!net) return Error{"network: " + net.error()};
    c.network_ = *net;
    if (c.network_.len > 28)
        return Error{"network: " + c.network_.to_string() +
                     " is too small; it must be at least a /28"};

    // flannel's default: /24 subnets in networks of /22 or larger, else two bits longer.
    c.subnet_len_ = s.subnet_len ? s.subnet_len : (c.network_.len <= 22 ? 24 : c.network_.len + 2);
    if (c.subnet_len_ > 30)
        return Error{"subnet-len: /" + std::to_string(c.subnet_len_) + " is longer than /30"};
    if (c.subnet_len_ < c.network_.len + 2)
        return Error{"subnet-len: /" + std::to_string(c.subnet_len_) +
                     " must be at least 2 bits longer than the network (" + c.network_.to_string() +
                     ")"};

    const std::uint32_t size = std::uint32_t{1} << (32 - c.subnet_len_);
    const std::uint32_t first = c.network_.addr;
    const std::uint32_t last = c.network_.addr | ~ipv4_mask(c.network_.len);
    auto bound = [&](const std::string& text, const char* name, std::uint32_t def,
                     std::uint32_t& out) -> std::string {
        if (text.empty()) {
            out = def;
            return {};
        }
        std::string_view t = text;
        if (auto slash = t.find('/'); slash != std::string_view::npos) t = t.substr(0, slash);
        auto ip = parse_ipv4(t);
        if (!ip) return std::string(name) + ": '" + text + "' is not an IPv4 address";
        if (*ip < first || *ip > last)
            return std::string(name) + ": " + ipv4_to_string(*ip) + " is outside the network " +
                   c.network_.to_string();
        if (*ip % size)
            return std::string(name) + ": " + ipv4_to_string(*ip) + " is not aligned to a /" +
                   std::to_string(c.subnet_len_) + " subnet";
        out = *ip;
        return {};
    };
    // flannel skips the network's first subnet by default.
    if (auto err = bound(s.subnet_min, "subnet-min", first + size, c.min_); !err.empty())
        return Error{err};
    if (auto err = bound(s.subnet_max, "subnet-max", last - size + 1, c.max_); !err.empty())
        return Error{err};
    if (c.min_ > c.max_)
        return Error{"subnet-min: " + ipv4_to_string(c.min_) + " is above subnet-max " +
                     ipv4_to_string(c.max_)};
    c.slots_ = (c.max_ - c.min_) / size + 1;

    if (!s.ipv6_network.empty()) {
        auto net6 = parse_ipv6_net(s.ipv6_network);
        if (!net6) return Error{"ipv6-network: " + net6.error()};
        c.network6_ = *net6;
        c.subnet6_len_ = s.ipv6_subnet_len ? s.ipv6_subnet_len : 64;
        if (c.subnet6_len_ > 126)
            return Error{"ipv6-subnet-len: /" + std::to_string(c.subnet6_len_) +
                         " is longer than /126"};
        if (c.subnet6_len_ < c.network6_->len + 2)
            return Error{"ipv6-subnet-len: /" + std::to_string(c.subnet6_len_) +
                         " must be at least 2 bits longer than the IPv6 network"};
        int bits6 = c.subnet6_len_ - c.network6_->len;
        std::uint64_t needed = (c.max_ - first) / size + 1;  // highest IPv4 subnet index + 1
        if (bits6 < 40 && (std::uint64_t{1} << bits6) < needed)
            return Error{"ipv6-subnet-len: the IPv6 network holds " +
                         std::to_string(1ull << bits6) + " subnets but the IPv4 range needs " +
                         std::to_string(needed)};
    } else if (s.ipv6_subnet_len) {
        return Error{std::string("ipv6-subnet-len: set without ipv6-network")};
    }

    std::string canon =
        c.network_.to_string() + "|" + std::to_string(c.subnet_len_) + "|" +
        ipv4_to_string(c.min_) + "|" + ipv4_to_string(c.max_) + "|" +
        (c.network6_ ? c.network6_->to_string() + "|" + std::to_string(c.subnet6_len_)
                     : std::string("-"));
    crypto_generichash(c.digest_.data(), c.digest_.size(),
                       reinterpret_cast<const unsigned char*>(canon.data()), canon.size(), nullptr,
                       0);
    return c;
}

Ipv4Net NetworkConfig::subnet(std::uint32_t slot) const {
    return Ipv4Net{min_ + (slot << (32 - subnet_len_)), subnet_len_};
}

std::optional<Ipv6Net> NetworkConfig::subnet6(std::uint32_t slot) const {
    if (!network6_) return std::nullopt;
    std::uint64_t index = (subnet(slot).addr - network_.addr) >> (32 - subnet_len_);
    u128 addr = load6(network6_->addr) + (static_cast<u128>(index) << (128 - subnet6_len_));
    return Ipv6Net{store6(addr), subnet6_len_};
}

std::optional<std::uint32_t> NetworkConfig::slot_of(const Ipv4Net& n) const {
    if (n.len != subnet_len_ || n.addr < min_ || n.addr > max_) return std::nullopt;
    return (n.addr - min_) >> (32 - subnet_len_);
}

std::string NetworkConfig::describe() const {
    std::string d = network_.to_string() + " in /" + std::to_string(subnet_len_) + " subnets " +
                    subnet(0).to_string() + " .. " + subnet(slots_ - 1).to_string();
    if (network6_) d += ", IPv6 " + network6_->to_string() + " in /" + std::to_string(subnet6_len_);
    return d;
}

}  // namespace shoal
