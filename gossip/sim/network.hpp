#pragma once
// A virtual network for the simulator: datagrams in flight ordered by delivery time, with seeded
// loss, latency with jitter and partitions. Everything random comes from its own Rng, so a run is
// a pure function of the seed.
#include <cstdint>
#include <vector>

#include "common/address.hpp"
#include "gossip/wire/rng.hpp"
#include "gossip/wire/time.hpp"

namespace shoal::sim {

struct LinkModel {
    double loss = 0.0;         // probability that a datagram is lost
    Duration latency = 200us;  // one-way base latency
    Duration jitter = 50us;    // uniform extra delay in [0, jitter]
};

struct InFlight {
    Time at;
    std::uint64_t order;
    std::size_t to;  // node index
    Address from;
    std::vector<std::uint8_t> bytes;
};

class Network {
  public:
    Network(LinkModel link, Rng rng) : link_(link), rng_(std::move(rng)) {}

    // Queues a datagram unless loss or a partition eats it; false when it is dropped.
    bool send(Time now, std::size_t from_group, std::size_t to_group, std::size_t to,
              const Address& from, std::vector<std::uint8_t> bytes);
    bool empty() const { return heap_.empty(); }
    Time next_time() const { return heap_.front().at; }
    // The next datagram due; like the cores' poll_* functions, dropping it loses it.
    [[nodiscard]] InFlight pop();
    LinkModel& link() { return link_; }

  private:
    LinkModel link_;
    Rng rng_;
    std::vector<InFlight> heap_;
    std::uint64_t order_ = 0;
};

}  // namespace shoal::sim
