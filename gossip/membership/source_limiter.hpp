#pragma once
// Token buckets per source IP in a fixed-size table: what one sender may make this node do per
// second (introduce new identities, later: be answered before it is verified). Fixed size, so a
// flood from spoofed addresses costs no memory; sources that hash alike share a bucket, which
// only ever makes the limit stricter for them.
#include <array>
#include <cstdint>

#include "common/address.hpp"
#include "gossip/wire/time.hpp"

namespace shoal {

class SourceLimiter {
  public:
    SourceLimiter(double per_second, double burst) : rate_(per_second), burst_(burst) {}
    // Takes one token from `source`'s bucket; false when it is empty.
    bool take(Time now, const Address& source);

  private:
    struct Bucket {
        std::uint32_t ip = 0;
        double tokens = 0;
        Time refilled{};
        bool used = false;
    };
    static constexpr std::size_t kBuckets = 256;
    double rate_, burst_;
    std::array<Bucket, kBuckets> buckets_{};
};

}  // namespace shoal
