#pragma once
// RAII for the libnl objects the netlink code holds.
#include <netlink/netlink.h>
#include <netlink/route/route.h>

#include <memory>

namespace shoal::netlink {

struct SockFree {
    void operator()(nl_sock* s) const { nl_socket_free(s); }
};
struct CacheFree {
    void operator()(nl_cache* c) const { nl_cache_free(c); }
};
struct RouteFree {
    void operator()(rtnl_route* r) const { rtnl_route_put(r); }
};
struct AddrFree {
    void operator()(nl_addr* a) const { nl_addr_put(a); }
};
using SockPtr = std::unique_ptr<nl_sock, SockFree>;
using CachePtr = std::unique_ptr<nl_cache, CacheFree>;
using RoutePtr = std::unique_ptr<rtnl_route, RouteFree>;
using AddrPtr = std::unique_ptr<nl_addr, AddrFree>;

// A connected rtnetlink socket, or null.
inline SockPtr connect_route_socket() {
    SockPtr s(nl_socket_alloc());
    if (!s || nl_connect(s.get(), NETLINK_ROUTE) < 0) return nullptr;
    return s;
}

}  // namespace shoal::netlink
