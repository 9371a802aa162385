#include "agent/icmp_echo.hpp"

#include <arpa/inet.h>
#include <linux/icmp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

#include "gossip/wire/rng.hpp"

namespace shoal::agent {

namespace {
constexpr std::size_t kIcmpHeader = 8, kToken = 8;

std::uint16_t internet_checksum(std::span<const std::uint8_t> b) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < b.size(); i += 2) sum += (b[i] << 8) | b[i + 1];
    if (b.size() % 2) sum += b.back() << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
}

std::uint16_t be16(const std::uint8_t* p) {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
}  // namespace

std::vector<std::uint8_t> encode_echo_request(std::uint16_t ident, std::uint16_t seq,
                                              std::uint64_t token) {
    std::vector<std::uint8_t> b(kIcmpHeader + kToken, 0);
    b[0] = ICMP_ECHO;
    b[4] = ident >> 8;
    b[5] = ident & 0xff;
    b[6] = seq >> 8;
    b[7] = seq & 0xff;
    for (std::size_t i = 0; i < kToken; ++i) b[kIcmpHeader + i] = (token >> (56 - 8 * i)) & 0xff;
    std::uint16_t sum = internet_checksum(b);
    b[2] = sum >> 8;
    b[3] = sum & 0xff;
    return b;
}

std::optional<EchoReply> decode_echo_reply(std::span<const std::uint8_t> bytes, bool ip_header,
                                           std::optional<std::uint16_t> ident, std::uint32_t from) {
    if (ip_header) {
        if (bytes.size() < 20 || (bytes[0] >> 4) != 4) return std::nullopt;
        std::size_t ihl = (bytes[0] & 0x0f) * 4u;
        if (ihl < 20 || bytes.size() < ihl) return std::nullopt;
        bytes = bytes.subspan(ihl);
    }
    if (bytes.size() < kIcmpHeader + kToken || bytes[0] != ICMP_ECHOREPLY || bytes[1] != 0)
        return std::nullopt;
    if (internet_checksum(bytes) != 0) return std::nullopt;
    if (ident && be16(&bytes[4]) != *ident) return std::nullopt;
    EchoReply r{from, be16(&bytes[6]), 0};
    for (std::size_t i = 0; i < kToken; ++i) r.token = (r.token << 8) | bytes[kIcmpHeader + i];
    return r;
}

Result<IcmpEcho> IcmpEcho::open() {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (fd >= 0) return IcmpEcho(UniqueFd(fd), false, 0);
    std::string ping_error = errno_text();
    fd = ::socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (fd < 0)
        return Error{"no ICMP socket: a ping socket was refused (" + ping_error +
                     "; net.ipv4.ping_group_range excludes this group) and a raw one too (" +
                     errno_text() + "; it needs CAP_NET_RAW)"};
    UniqueFd raw(fd);
    // The kernel hands a raw socket every ICMP message the host gets: only echo replies, please.
    icmp_filter only_replies{~(1u << ICMP_ECHOREPLY)};
    (void)::setsockopt(fd, SOL_RAW, ICMP_FILTER, &only_replies, sizeof(only_replies));
    auto ident = static_cast<std::uint16_t>(Rng::from_os().next_u64());
    return IcmpEcho(std::move(raw), true, ident);
}

void IcmpEcho::send(std::uint32_t to, std::uint16_t seq, std::uint64_t token) {
    auto bytes = encode_echo_request(ident_, seq, token);
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_addr.s_addr = htonl(to);
    (void)::sendto(fd_.get(), bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&dst),
                   sizeof(dst));
}

std::optional<EchoReply> IcmpEcho::receive() {
    std::uint8_t buf[1500];
    // Bounded: other hosts' replies (a raw socket sees them all) cannot keep the loop here.
    for (int i = 0; i < 256; ++i) {
        sockaddr_in from{};
        socklen_t len = sizeof(from);
        ssize_t n =
            ::recvfrom(fd_.get(), buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
            continue;  // a reported ICMP error (host unreachable) is consumed by the read
        }
        std::optional<std::uint16_t> ident;
        if (raw_) ident = ident_;
        if (auto r = decode_echo_reply({buf, static_cast<std::size_t>(n)}, raw_, ident,
                                       ntohl(from.sin_addr.s_addr)))
            return r;
    }
    return std::nullopt;
}

}  // namespace shoal::agent
