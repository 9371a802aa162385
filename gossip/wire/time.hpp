#pragma once
// Time in the sans-IO core: the caller owns the clock. The agent feeds a monotonic clock, the
// simulator a virtual one; the core never reads a clock itself.
#include <chrono>
#include <cstdint>

namespace shoal {

struct CoreClock {
    using duration = std::chrono::microseconds;
    using rep = duration::rep;
    using period = duration::period;
    using time_point = std::chrono::time_point<CoreClock>;
    static constexpr bool is_steady = true;
};

using Duration = std::chrono::microseconds;
using Time = CoreClock::time_point;

using namespace std::chrono_literals;

inline double to_seconds(Duration d) {
    return std::chrono::duration<double>(d).count();
}
inline Duration from_seconds(double s) {
    return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}
inline Duration from_millis(std::int64_t ms) {
    return std::chrono::milliseconds(ms);
}

}  // namespace shoal
