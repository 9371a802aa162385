#include "gossip/wire/rng.hpp"

#include <sodium.h>

#include <cstring>

namespace shoal {

Rng::Rng(const Seed& seed) : key_(seed) {}

Rng Rng::from_u64(std::uint64_t seed) {
    Seed s{};
    for (int i = 0; i < 8; ++i) s[i] = static_cast<std::uint8_t>(seed >> (8 * i));
    s[8] = 0x5e;  // keep an all-zero u64 seed from giving an all-zero key
    return Rng(s);
}

Rng Rng::from_os() {
    Seed s;
    randombytes_buf(s.data(), s.size());
    return Rng(s);
}

void Rng::refill() {
    std::array<std::uint8_t, crypto_stream_chacha20_ietf_NONCEBYTES> nonce{};
    std::memcpy(nonce.data(), &counter_, sizeof(counter_));
    ++counter_;
    crypto_stream_chacha20_ietf(buf_.data(), buf_.size(), nonce.data(), key_.data());
    pos_ = 0;
}

void Rng::fill(std::span<std::uint8_t> out) {
    std::size_t done = 0;
    while (done < out.size()) {
        if (pos_ == buf_.size()) refill();
        std::size_t n = std::min(out.size() - done, buf_.size() - pos_);
        std::memcpy(out.data() + done, buf_.data() + pos_, n);
        pos_ += n;
        done += n;
    }
}

std::uint64_t Rng::next_u64() {
    std::uint64_t v;
    fill({reinterpret_cast<std::uint8_t*>(&v), sizeof(v)});
    return v;
}

std::uint64_t Rng::below(std::uint64_t n) {
    // Rejection sampling keeps the draw unbiased.
    std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    for (;;) {
        std::uint64_t v = next_u64();
        if (v < limit) return v % n;
    }
}

double Rng::unit() {
    return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
}

Rng Rng::fork() {
    Seed s;
    fill(s);
    return Rng(s);
}

}  // namespace shoal
