#pragma once
// The only source of randomness in the core: a ChaCha20 keystream under a 32-byte seed. Good
// enough for AEAD nonces (which need uniqueness) and fully reproducible, so a simulation with the
// same seed replays bit for bit. The agent seeds it from the OS.
#include <array>
#include <cstdint>
#include <span>

namespace shoal {

class Rng {
  public:
    using Seed = std::array<std::uint8_t, 32>;
    explicit Rng(const Seed& seed);
    static Rng from_u64(std::uint64_t seed);
    static Rng from_os();

    std::uint64_t next_u64();
    // Uniform in [0, n); n must be > 0.
    std::uint64_t below(std::uint64_t n);
    // Uniform in [0, 1).
    double unit();
    bool chance(double p) { return unit() < p; }
    void fill(std::span<std::uint8_t> out);
    // An independent generator whose seed is drawn from this one.
    Rng fork();

  private:
    void refill();
    Seed key_;
    std::uint64_t counter_ = 0;
    std::array<std::uint8_t, 256> buf_{};
    std::size_t pos_ = sizeof(buf_);
};

}  // namespace shoal
