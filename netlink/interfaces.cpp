#include "netlink/interfaces.hpp"

#include "netlink/nl_handles.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#include <cstring>
#include <memory>

namespace shoal::netlink {

std::optional<int> interface_index(const std::string& ifname) {
    unsigned idx = if_nametoindex(ifname.c_str());
    if (idx == 0) return std::nullopt;
    return static_cast<int>(idx);
}

std::optional<std::string> default_route_interface() {
    auto sk = connect_route_socket();
    nl_cache* raw = nullptr;
    if (!sk || rtnl_route_alloc_cache(sk.get(), AF_INET, 0, &raw) < 0) return std::nullopt;
    CachePtr cache(raw);
    for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
        auto* r = reinterpret_cast<rtnl_route*>(o);
        nl_addr* dst = rtnl_route_get_dst(r);
        if (rtnl_route_get_table(r) != RT_TABLE_MAIN || (dst && nl_addr_get_prefixlen(dst) != 0) ||
            rtnl_route_get_nnexthops(r) == 0)
            continue;
        char name[IF_NAMESIZE] = {};
        int idx = rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(r, 0));
        if (if_indextoname(static_cast<unsigned>(idx), name)) return std::string(name);
    }
    return std::nullopt;
}

std::optional<std::pair<std::uint32_t, int>> primary_ipv4(const std::string& ifname) {
    auto idx = interface_index(ifname);
    auto sk = connect_route_socket();
    nl_cache* raw = nullptr;
    if (!idx || !sk || rtnl_addr_alloc_cache(sk.get(), &raw) < 0) return std::nullopt;
    CachePtr cache(raw);
    for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
        auto* a = reinterpret_cast<rtnl_addr*>(o);
        nl_addr* local = rtnl_addr_get_local(a);
        if (rtnl_addr_get_ifindex(a) != *idx || rtnl_addr_get_family(a) != AF_INET || !local ||
            (rtnl_addr_get_flags(a) & IFA_F_SECONDARY))
            continue;
        std::uint32_t be;
        std::memcpy(&be, nl_addr_get_binary_addr(local), 4);
        return std::pair{ntohl(be), rtnl_addr_get_prefixlen(a)};
    }
    return std::nullopt;
}

std::optional<Ipv6Addr> global_ipv6(const std::string& ifname) {
    auto idx = interface_index(ifname);
    auto sk = connect_route_socket();
    nl_cache* raw = nullptr;
    if (!idx || !sk || rtnl_addr_alloc_cache(sk.get(), &raw) < 0) return std::nullopt;
    CachePtr cache(raw);
    // Temporary (privacy) addresses come and go, a deprecated one is on its way out, a
    // tentative one may still fail duplicate address detection: none is for peers to route to.
    constexpr unsigned kSkip =
        IFA_F_TEMPORARY | IFA_F_DEPRECATED | IFA_F_TENTATIVE | IFA_F_DADFAILED;
    for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
        auto* a = reinterpret_cast<rtnl_addr*>(o);
        nl_addr* local = rtnl_addr_get_local(a);
        if (rtnl_addr_get_ifindex(a) != *idx || rtnl_addr_get_family(a) != AF_INET6 || !local ||
            nl_addr_get_len(local) != 16 || rtnl_addr_get_scope(a) != RT_SCOPE_UNIVERSE ||
            (rtnl_addr_get_flags(a) & kSkip))
            continue;
        Ipv6Addr out{};
        std::memcpy(out.data(), nl_addr_get_binary_addr(local), 16);
        if (is_unicast_global(out)) return out;
    }
    return std::nullopt;
}

std::vector<Ipv4Net> ipv4_networks(const std::string& ifname) {
    std::vector<Ipv4Net> out;
    auto idx = interface_index(ifname);
    auto sk = connect_route_socket();
    nl_cache* raw = nullptr;
    if (!idx || !sk || rtnl_addr_alloc_cache(sk.get(), &raw) < 0) return out;
    CachePtr cache(raw);
    for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
        auto* a = reinterpret_cast<rtnl_addr*>(o);
        nl_addr* local = rtnl_addr_get_local(a);
        if (rtnl_addr_get_ifindex(a) != *idx || rtnl_addr_get_family(a) != AF_INET || !local ||
            nl_addr_get_len(local) != 4)
            continue;
        std::uint32_t be;
        std::memcpy(&be, nl_addr_get_binary_addr(local), 4);
        out.push_back(network_of(Ipv4Net{ntohl(be), rtnl_addr_get_prefixlen(a)}));
    }
    return out;
}

std::optional<int> interface_mtu(const std::string& ifname) {
    auto sk = connect_route_socket();
    rtnl_link* link = nullptr;
    if (!sk || rtnl_link_get_kernel(sk.get(), 0, ifname.c_str(), &link) < 0) return std::nullopt;
    int mtu = static_cast<int>(rtnl_link_get_mtu(link));
    rtnl_link_put(link);
    return mtu;
}

std::optional<bool> interface_has_carrier(const std::string& ifname) {
    auto sk = connect_route_socket();
    rtnl_link* link = nullptr;
    if (!sk || rtnl_link_get_kernel(sk.get(), 0, ifname.c_str(), &link) < 0) return std::nullopt;
    // Administratively up and with a carrier (a veth whose peer is down has none). IFF_LOWER_UP
    // is linux/if.h's, which clashes with net/if.h: its value is part of the kernel's ABI.
    constexpr unsigned kLowerUp = 1u << 16;
    unsigned flags = rtnl_link_get_flags(link);
    rtnl_link_put(link);
    return (flags & IFF_UP) && (flags & kLowerUp);
}

}  // namespace shoal::netlink
