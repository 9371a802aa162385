#include "netlink/kernel_events.hpp"

#include <linux/rtnetlink.h>

#include <string>

#include "netlink/nl_handles.hpp"

namespace shoal::netlink {

struct KernelEvents::State {
    SockPtr sock;
    int seen = 0;
};

KernelEvents::KernelEvents() : state_(std::make_unique<State>()) {}
KernelEvents::~KernelEvents() = default;

Status KernelEvents::open(bool ipv6) {
    SockPtr s(nl_socket_alloc());
    if (!s) return Error{"cannot allocate a netlink socket"};
    nl_socket_disable_seq_check(s.get());
    nl_socket_modify_cb(
        s.get(), NL_CB_VALID, NL_CB_CUSTOM,
        [](nl_msg*, void* arg) {
            ++*static_cast<int*>(arg);
            return static_cast<int>(NL_OK);
        },
        &state_->seen);
    if (int err = nl_connect(s.get(), NETLINK_ROUTE); err < 0)
        return Error{std::string("cannot open rtnetlink: ") + nl_geterror(err)};
    int err = nl_socket_add_memberships(s.get(), RTNLGRP_IPV4_ROUTE, RTNLGRP_LINK,
                                        RTNLGRP_IPV4_IFADDR, 0);
    if (err >= 0 && ipv6)
        err = nl_socket_add_memberships(s.get(), RTNLGRP_IPV6_ROUTE, RTNLGRP_IPV6_IFADDR, 0);
    if (err < 0)
        return Error{std::string("cannot subscribe to route, link and address events: ") +
                     nl_geterror(err)};
    nl_socket_set_nonblocking(s.get());
    state_->sock = std::move(s);
    return Status::success();
}

int KernelEvents::fd() const {
    return state_->sock ? nl_socket_get_fd(state_->sock.get()) : -1;
}

bool KernelEvents::drain() {
    if (!state_->sock) return false;
    state_->seen = 0;
    // Non-blocking: returns an error (no data) once the socket is empty. An overrun (the kernel
    // dropped notifications) also ends up here, and "look again" covers it.
    for (int i = 0; i < 1024; ++i)
        if (nl_recvmsgs_default(state_->sock.get()) < 0) break;
    return state_->seen > 0;
}

}  // namespace shoal::netlink
