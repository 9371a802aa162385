#include "netlink/vxlan_peers.hpp"

#include <arpa/inet.h>
#include <linux/neighbour.h>
#include <netlink/netlink.h>
#include <netlink/route/neighbour.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>

#include "common/address.hpp"
#include "netlink/nl_handles.hpp"

namespace shoal::netlink {

namespace {

struct NeighFree {
    void operator()(rtnl_neigh* n) const { rtnl_neigh_put(n); }
};
using NeighPtr = std::unique_ptr<rtnl_neigh, NeighFree>;

AddrPtr ipv4(std::uint32_t ip) {
    std::uint32_t be = htonl(ip);
    return AddrPtr(nl_addr_build(AF_INET, &be, sizeof(be)));
}
AddrPtr ipv6(const Ipv6Addr& ip) {
    return AddrPtr(nl_addr_build(AF_INET6, ip.data(), ip.size()));
}
AddrPtr lladdr(const Mac& mac) {
    return AddrPtr(nl_addr_build(AF_LLC, mac.data(), mac.size()));
}
std::optional<std::uint32_t> ipv4_of(nl_addr* a) {
    if (!a || nl_addr_get_family(a) != AF_INET || nl_addr_get_len(a) != 4) return std::nullopt;
    std::uint32_t be;
    std::memcpy(&be, nl_addr_get_binary_addr(a), 4);
    return ntohl(be);
}
std::optional<Ipv6Addr> ipv6_of(nl_addr* a) {
    if (!a || nl_addr_get_family(a) != AF_INET6 || nl_addr_get_len(a) != 16) return std::nullopt;
    Ipv6Addr ip;
    std::memcpy(ip.data(), nl_addr_get_binary_addr(a), 16);
    return ip;
}
std::optional<Mac> mac_of(nl_addr* a) {
    if (!a || nl_addr_get_len(a) != 6) return std::nullopt;
    Mac m;
    std::memcpy(m.data(), nl_addr_get_binary_addr(a), 6);
    return m;
}

// One entry as the kernel has it or as it is to be: a neighbour (family AF_INET or AF_INET6:
// VTEP address -> MAC) or a forwarding entry (AF_BRIDGE: MAC -> underlay address).
struct Entry {
    int family = AF_INET;
    std::uint32_t ip = 0;  // the VTEP address, or the underlay address
    Ipv6Addr ip6{};        // AF_INET6: the VTEP address
    Mac mac{};
    bool operator==(const Entry&) const = default;
};

std::string describe(const Entry& e) {
    switch (e.family) {
        case AF_INET:
            return "neighbour " + ipv4_to_string(e.ip) + " lladdr " + mac_to_string(e.mac);
        case AF_INET6:
            return "neighbour " + ipv6_to_string(e.ip6) + " lladdr " + mac_to_string(e.mac);
        default: return "fdb " + mac_to_string(e.mac) + " dst " + ipv4_to_string(e.ip);
    }
}

NeighPtr build(int ifindex, const Entry& e) {
    NeighPtr n(rtnl_neigh_alloc());
    rtnl_neigh_set_ifindex(n.get(), ifindex);
    rtnl_neigh_set_state(n.get(), NUD_PERMANENT);
    AddrPtr mac = lladdr(e.mac), ip = e.family == AF_INET6 ? ipv6(e.ip6) : ipv4(e.ip);
    rtnl_neigh_set_lladdr(n.get(), mac.get());
    // The address first: libnl takes the family from it and refuses one of another family
    // after; a forwarding entry is then made a bridge-family one, its address an IPv4 one.
    rtnl_neigh_set_dst(n.get(), ip.get());
    rtnl_neigh_set_family(n.get(), e.family);
    if (e.family == AF_BRIDGE) rtnl_neigh_set_flags(n.get(), NTF_SELF);
    return n;
}

struct Dump {
    int ifindex = 0, family = 0;
    std::vector<Entry> entries;
};

int take(nl_msg* msg, void* arg) {
    auto* dump = static_cast<Dump*>(arg);
    rtnl_neigh* raw = nullptr;
    if (rtnl_neigh_parse(nlmsg_hdr(msg), &raw) < 0 || !raw) return NL_OK;
    NeighPtr n(raw);
    if (rtnl_neigh_get_ifindex(n.get()) != dump->ifindex ||
        rtnl_neigh_get_family(n.get()) != dump->family)
        return NL_OK;
    // Ours are permanent; the kernel's own (learned, being resolved: IPv6's neighbour discovery
    // on the device makes some) are left to it.
    if (dump->family != AF_BRIDGE && !(rtnl_neigh_get_state(n.get()) & NUD_PERMANENT)) return NL_OK;
    auto mac = mac_of(rtnl_neigh_get_lladdr(n.get()));
    if (!mac) return NL_OK;  // an incomplete entry: no address to compare or keep
    nl_addr* dst = rtnl_neigh_get_dst(n.get());
    dump->entries.push_back(
        Entry{dump->family, ipv4_of(dst).value_or(0), ipv6_of(dst).value_or(Ipv6Addr{}), *mac});
    return NL_OK;
}

// The entries of one family on `ifindex`: for AF_BRIDGE, the forwarding database. A dump of
// its own (libnl's neighbour cache asks for the IP families only).
Result<std::vector<Entry>> read(int ifindex, int family) {
    auto sk = connect_route_socket();
    if (!sk) return Error{"cannot open an rtnetlink socket"};
    Dump dump{ifindex, family, {}};
    ndmsg req{};
    req.ndm_family = static_cast<std::uint8_t>(family);
    req.ndm_ifindex = ifindex;
    nl_socket_modify_cb(sk.get(), NL_CB_VALID, NL_CB_CUSTOM, take, &dump);
    if (int err = nl_send_simple(sk.get(), RTM_GETNEIGH, NLM_F_DUMP, &req, sizeof(req)); err < 0)
        return Error{std::string("cannot list neighbours: ") + nl_geterror(err)};
    if (int err = nl_recvmsgs_default(sk.get()); err < 0)
        return Error{std::string("cannot list neighbours: ") + nl_geterror(err)};
    return std::move(dump.entries);
}

}  // namespace

std::vector<std::uint32_t> vxlan_peer_underlays(int ifindex) {
    std::vector<std::uint32_t> out;
    if (auto have = read(ifindex, AF_BRIDGE))
        for (const Entry& e : *have)
            if (e.ip != 0) out.push_back(e.ip);
    return out;
}

VxlanPeersResult reconcile_vxlan_peers(int ifindex, const std::vector<VxlanPeer>& peers,
                                       bool remove_stale) {
    VxlanPeersResult res;
    auto sk = connect_route_socket();
    if (!sk) {
        res.errors = 1;
        res.messages.push_back("cannot open an rtnetlink socket");
        return res;
    }
    std::vector<Entry> want;
    for (const auto& p : peers) {
        want.push_back(Entry{AF_INET, p.vtep, {}, p.mac});
        if (p.vtep6) want.push_back(Entry{AF_INET6, 0, *p.vtep6, p.mac});
        want.push_back(Entry{AF_BRIDGE, p.underlay, {}, p.mac});
    }
    for (int family : {AF_INET, AF_INET6, AF_BRIDGE}) {
        auto have = read(ifindex, family);
        if (!have) {
            ++res.errors;
            res.messages.push_back(have.error());
            continue;
        }
        for (const Entry& e : *have) {
            if (!remove_stale || std::find(want.begin(), want.end(), e) != want.end()) continue;
            NeighPtr n = build(ifindex, e);
            if (int err = rtnl_neigh_delete(sk.get(), n.get(), 0); err < 0) {
                ++res.errors;
                res.messages.push_back("cannot remove " + describe(e) + ": " + nl_geterror(err));
            } else {
                ++res.removed;
                res.messages.push_back("removed " + describe(e));
            }
        }
        for (const Entry& e : want) {
            if (e.family != family || std::find(have->begin(), have->end(), e) != have->end())
                continue;
            NeighPtr n = build(ifindex, e);
            if (int err = rtnl_neigh_add(sk.get(), n.get(), NLM_F_CREATE | NLM_F_REPLACE);
                err < 0) {
                ++res.errors;
                res.messages.push_back("cannot add " + describe(e) + ": " + nl_geterror(err));
            } else {
                ++res.added;
                res.messages.push_back("added " + describe(e));
            }
        }
    }
    return res;
}

}  // namespace shoal::netlink
