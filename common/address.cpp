#include "common/address.hpp"

#include <charconv>

namespace shoal {

std::string ipv4_to_string(std::uint32_t ip) {
    return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 0xff) + "." +
           std::to_string((ip >> 8) & 0xff) + "." + std::to_string(ip & 0xff);
}

std::string Address::to_string() const {
    return ipv4_to_string(ip) + ":" + std::to_string(port);
}

static bool parse_decimal(std::string_view text, std::uint32_t max, std::uint32_t& out) {
    if (text.empty() || text.size() > 5) return false;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size() && out <= max;
}

std::optional<std::uint32_t> parse_ipv4(std::string_view text) {
    std::uint32_t ip = 0;
    for (int part = 0; part < 4; ++part) {
        auto dot = text.find('.');
        if ((part < 3) != (dot != std::string_view::npos)) return std::nullopt;
        std::uint32_t octet = 0;
        if (!parse_decimal(text.substr(0, dot), 255, octet)) return std::nullopt;
        ip = (ip << 8) | octet;
        text = part < 3 ? text.substr(dot + 1) : std::string_view{};
    }
    return ip;
}

std::optional<Address> Address::parse(std::string_view text) {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto ip = parse_ipv4(text.substr(0, colon));
    std::uint32_t port = 0;
    if (!ip || !parse_decimal(text.substr(colon + 1), 65535, port) || port == 0)
        return std::nullopt;
    return Address{*ip, static_cast<std::uint16_t>(port)};
}

}  // namespace shoal
