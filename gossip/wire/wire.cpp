#include "gossip/wire/wire.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>

#include "gossip/wire/msgpack_reader.hpp"
#include "gossip/wire/msgpack_writer.hpp"

namespace shoal {

// The array header in front of the messages takes at most five bytes (array32).
constexpr std::size_t kArrayHeaderMax = 5;

const char* to_string(DropReason r) {
    switch (r) {
        case DropReason::Truncated: return "truncated";
        case DropReason::Oversized: return "oversized";
        case DropReason::NewerVersion: return "newer_version";
        case DropReason::OlderVersion: return "older_version";
        case DropReason::Unauthenticated: return "unauthenticated";
        case DropReason::Malformed: return "malformed";
        case DropReason::Count: break;
    }
    return "?";
}

std::optional<std::vector<Message>> decode_messages(std::span<const std::uint8_t> plain) {
    MsgReader r(plain);
    std::uint32_t n = 0;
    if (!r.array(n) || n == 0) return std::nullopt;
    std::vector<Message> out;
    out.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) {
        auto m = decode_message(r);
        if (!m) return std::nullopt;
        out.push_back(std::move(*m));
    }
    if (!r.at_end()) return std::nullopt;
    return out;
}

namespace {
std::array<std::uint8_t, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES> full_nonce(
    const std::uint8_t* sent) {
    std::array<std::uint8_t, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES> n{};
    std::copy(sent, sent + kNonceBytes, n.begin());
    return n;
}
}  // namespace

std::variant<Datagram, DropReason> open_datagram(std::span<const std::uint8_t> bytes,
                                                 const Keyring& ring, std::uint8_t oldest) {
    if (bytes.size() > kMaxDatagramIn) return DropReason::Oversized;
    if (bytes.size() < kDatagramOverhead) return DropReason::Truncated;
    std::uint8_t version = bytes[0];
    if (version > kProtocolVersion) return DropReason::NewerVersion;
    if (version < oldest) return DropReason::OlderVersion;

    const auto nonce = full_nonce(bytes.data() + 1);
    auto cipher = bytes.subspan(1 + kNonceBytes);
    std::vector<std::uint8_t> plain(cipher.size() - kTagBytes);
    Datagram d;
    d.version = version;
    bool opened = false;
    for (std::size_t i = 0; i < ring.size() && !opened; ++i) {
        unsigned long long plain_len = 0;
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(
                plain.data(), &plain_len, nullptr, cipher.data(), cipher.size(), bytes.data(), 1,
                nonce.data(), ring.keys()[i].data()) == 0) {
            opened = true;
            d.key_index = i;
        }
    }
    if (!opened) return DropReason::Unauthenticated;

    auto messages = decode_messages(plain);
    if (!messages) return DropReason::Malformed;
    d.messages = std::move(*messages);
    return d;
}

DatagramBuilder::DatagramBuilder(std::size_t max_datagram)
    : budget_(max_datagram > kDatagramOverhead + kArrayHeaderMax
                  ? max_datagram - kDatagramOverhead - kArrayHeaderMax
                  : 0) {}

bool DatagramBuilder::add(std::span<const std::uint8_t> encoded) {
    if (encoded.size() > room()) return false;
    body_.insert(body_.end(), encoded.begin(), encoded.end());
    ++count_;
    return true;
}

bool DatagramBuilder::add(const Message& m) {
    std::vector<std::uint8_t> enc;
    encode_message(m, enc);
    return add(enc);
}

std::vector<std::uint8_t> DatagramBuilder::seal(const Keyring& ring, Rng& rng,
                                                std::uint8_t version) const {
    std::vector<std::uint8_t> header;
    {
        MsgWriter w(header);
        w.array(count_);
    }
    // The plaintext is written where its ciphertext goes and sealed in place.
    const std::size_t plain_len = header.size() + body_.size();
    std::vector<std::uint8_t> out(1 + kNonceBytes + plain_len + kTagBytes);
    out[0] = version;
    rng.fill({out.data() + 1, kNonceBytes});
    std::uint8_t* plain = out.data() + 1 + kNonceBytes;
    std::copy(header.begin(), header.end(), plain);
    std::copy(body_.begin(), body_.end(), plain + header.size());
    const auto nonce = full_nonce(out.data() + 1);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(plain, &clen, plain, plain_len, out.data(), 1,
                                               nullptr, nonce.data(), ring.primary().data());
    out.resize(1 + kNonceBytes + clen);
    return out;
}

}  // namespace shoal
