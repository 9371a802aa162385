// libFuzzer target for everything that reads bytes off the network.
//
// The input is tried twice: as a whole datagram (header checks, decryption) and as the plaintext
// inside a valid seal (the message decoder, which is where the parsing is). A decoded plaintext
// must re-encode into something that decodes to the same number of messages. It is also an ICMP
// echo reply, bare (ping socket) and behind an IPv4 header (raw socket), for the host check.
#include <cstdlib>

#include "agent/icmp_echo.hpp"
#include "gossip/wire/wire.hpp"

using namespace shoal;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const Keyring ring = [] {
        ClusterKey k{};
        k[0] = 1;
        return Keyring({k});
    }();
    std::span<const std::uint8_t> input(data, size);
    (void)open_datagram(input, ring);
    for (bool raw : {false, true}) {
        auto reply = agent::decode_echo_reply(input, raw, std::nullopt, 1);
        if (reply && reply->from != 1) std::abort();
    }

    auto messages = decode_messages(input);
    if (!messages) return 0;
    DatagramBuilder b(kMaxDatagramIn);
    for (const auto& m : *messages) {
        if (!b.add(m)) return 0;  // re-encoding may be larger (canonical ints); that is fine
    }
    Rng rng = Rng::from_u64(size);
    auto sealed = b.seal(ring, rng);
    auto reopened = open_datagram(sealed, ring);
    if (!std::holds_alternative<Datagram>(reopened) ||
        std::get<Datagram>(reopened).messages.size() != messages->size())
        std::abort();
    return 0;
}
