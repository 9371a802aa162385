#pragma once
// Route requests sent as one batch: up to 32 messages go out in one sendmsg before their acks
// are read, instead of one round trip each. The kernel queues an ack per request; the window
// keeps them well within the socket's receive buffer (at 100 unread acks it overflows and acks
// are lost). The socket is the reconciler's batch socket (RouteReconciler::open()).
#include <cstddef>
#include <functional>
#include <vector>

#include "netlink/nl_handles.hpp"

namespace shoal::netlink {

class RouteBatch {
  public:
    // A delete if `remove`, else an add with `flags` (NLM_F_CREATE | NLM_F_EXCL or NLM_F_REPLACE).
    void add(RoutePtr route, bool remove, int flags);
    // Sends every request added so far and calls `done(i, err)` once for each, i counting from
    // 0 in the order they were added: err is 0, or a negative libnl error code.
    void run(nl_sock* sk, const std::function<void(std::size_t i, int err)>& done);

  private:
    struct Op {
        RoutePtr route;
        bool remove;
        int flags;
    };
    std::vector<Op> ops_;
};

}  // namespace shoal::netlink
