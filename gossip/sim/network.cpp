#include "gossip/sim/network.hpp"

#include <algorithm>

namespace shoal::sim {

namespace {
bool later(const InFlight& a, const InFlight& b) {
    return a.at != b.at ? a.at > b.at : a.order > b.order;
}
}  // namespace

bool Network::send(Time now, std::size_t from_group, std::size_t to_group, std::size_t to,
                   const Address& from, std::vector<std::uint8_t> bytes) {
    // Draw both numbers every time so that one loss decision never shifts the others.
    double lost = rng_.unit();
    double extra = rng_.unit();
    if (from_group != to_group || lost < link_.loss) return false;
    auto delay = link_.latency + std::chrono::duration_cast<Duration>(link_.jitter * extra);
    heap_.push_back(InFlight{now + delay, order_++, to, from, std::move(bytes)});
    std::push_heap(heap_.begin(), heap_.end(), later);
    return true;
}

InFlight Network::pop() {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    InFlight f = std::move(heap_.back());
    heap_.pop_back();
    return f;
}

}  // namespace shoal::sim
