#pragma once
// ICMP echo for the host check (agent/host_check.hpp): a ping socket where the kernel allows one
// to this process (net.ipv4.ping_group_range), else a raw ICMP socket (CAP_NET_RAW; the packaged
// unit grants it). The encoding and decoding are pure functions, tested on hand-made bytes.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace shoal::agent {

struct EchoReply {
    std::uint32_t from = 0;
    std::uint16_t seq = 0;
    std::uint64_t token = 0;
};

// An echo request: type 8, the identifier and sequence number, the token as its 8-byte payload.
// The checksum is filled in (a ping socket recomputes it; a raw socket sends it as is).
std::vector<std::uint8_t> encode_echo_request(std::uint16_t ident, std::uint16_t seq,
                                              std::uint64_t token);
// An echo reply with our identifier (raw socket: after its IPv4 header; a ping socket's kernel
// has matched the identifier already); anything else, short or malformed, is nullopt.
std::optional<EchoReply> decode_echo_reply(std::span<const std::uint8_t> bytes, bool ip_header,
                                           std::optional<std::uint16_t> ident, std::uint32_t from);

class IcmpEcho {
  public:
    // A ping socket, else a raw one; the error names both refusals and what would allow them.
    static Result<IcmpEcho> open();
    int fd() const { return fd_.get(); }
    bool raw() const { return raw_; }
    // Fire and forget: a full buffer or an unreachable host is a lost echo.
    void send(std::uint32_t to, std::uint16_t seq, std::uint64_t token);
    // The next reply of ours waiting on the socket; nullopt when none is left.
    std::optional<EchoReply> receive();

  private:
    IcmpEcho(UniqueFd fd, bool raw, std::uint16_t ident)
        : fd_(std::move(fd)), raw_(raw), ident_(ident) {}
    UniqueFd fd_;
    bool raw_;
    std::uint16_t ident_;  // raw sockets only: ours, to tell our replies from others'
};

}  // namespace shoal::agent
