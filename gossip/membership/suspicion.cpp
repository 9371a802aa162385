#include "gossip/membership/suspicion.hpp"

#include <algorithm>
#include <cmath>

namespace shoal {

Duration suspicion_min(const Timing& t, std::size_t members) {
    double scale =
        std::max(1.0, std::log10(static_cast<double>(std::max<std::size_t>(members, 1))));
    return std::chrono::duration_cast<Duration>(t.probe_interval * (t.suspicion_mult * scale));
}

Suspicion::Suspicion(const NodeId& first, int needed, Duration min, Duration max, Time start)
    : first_(first),
      needed_(std::max(0, needed)),
      min_(min),
      max_(std::max(min, max)),
      start_(start) {}

bool Suspicion::would_count(const NodeId& from) const {
    return from != first_ && confirmations() < needed_ &&
           std::find(confirmers_.begin(), confirmers_.end(), from) == confirmers_.end();
}

bool Suspicion::confirm(const NodeId& from) {
    if (!would_count(from)) return false;
    confirmers_.push_back(from);
    return true;
}

bool Suspicion::would_vote(const NodeId& from) const {
    return dead_voters_.size() < kDeadVotesNeeded &&
           std::find(dead_voters_.begin(), dead_voters_.end(), from) == dead_voters_.end();
}

bool Suspicion::vote_dead(const NodeId& from) {
    if (!would_vote(from)) return false;
    dead_voters_.push_back(from);
    return true;
}

Time Suspicion::deadline() const {
    if (needed_ == 0) return start_ + min_;
    double frac = std::log(confirmations() + 1.0) / std::log(needed_ + 1.0);
    auto timeout = max_ - std::chrono::duration_cast<Duration>((max_ - min_) * frac);
    return start_ + std::max(min_, timeout);
}

}  // namespace shoal
