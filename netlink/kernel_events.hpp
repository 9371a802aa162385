#pragma once
// The kernel's route, link and address notifications (rtnetlink multicast groups), for the
// agent's event loop: poll fd() for readability, then drain(). Any notification means "look
// again": the agent re-reads the interface and reconciles, so no event needs parsing.
#include <memory>

#include "common/result.hpp"

namespace shoal::netlink {

class KernelEvents {
  public:
    KernelEvents();
    ~KernelEvents();
    KernelEvents(const KernelEvents&) = delete;
    KernelEvents& operator=(const KernelEvents&) = delete;

    // `ipv6`: IPv6 route and address notifications too (dual stack).
    [[nodiscard]] Status open(bool ipv6 = false);
    int fd() const;
    // Reads every pending notification; true if there was at least one.
    bool drain();

  private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace shoal::netlink
