#include "gossip/membership/source_limiter.hpp"

#include <algorithm>

namespace shoal {

bool SourceLimiter::take(Time now, const Address& source) {
    // Fibonacci hashing of the IP: neighbouring addresses land in different buckets.
    std::size_t i = static_cast<std::size_t>((source.ip * 2654435769u) >> 24) % kBuckets;
    Bucket& b = buckets_[i];
    if (!b.used || b.ip != source.ip) {
        // A new source (or one that shares the slot) starts full only if the slot is idle: a
        // sender rotating spoofed addresses through one slot gets no fresh burst each time.
        double idle = b.used ? to_seconds(now - b.refilled) * rate_ : burst_;
        b = Bucket{source.ip, std::min(burst_, b.tokens + idle), now, true};
    }
    b.tokens = std::min(burst_, b.tokens + to_seconds(now - b.refilled) * rate_);
    b.refilled = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
}

}  // namespace shoal
