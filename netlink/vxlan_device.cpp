#include "netlink/vxlan_device.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/vxlan.h>

#include <cstdio>
#include <cstring>
#include <memory>

#include "netlink/nl_handles.hpp"

namespace shoal::netlink {

namespace {

struct LinkFree {
    void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
using LinkPtr = std::unique_ptr<rtnl_link, LinkFree>;
struct RtAddrFree {
    void operator()(rtnl_addr* a) const { rtnl_addr_put(a); }
};
using RtAddrPtr = std::unique_ptr<rtnl_addr, RtAddrFree>;

AddrPtr ipv4(std::uint32_t ip, int len) {
    std::uint32_t be = htonl(ip);
    AddrPtr a(nl_addr_build(AF_INET, &be, sizeof(be)));
    nl_addr_set_prefixlen(a.get(), len);
    return a;
}

std::string error(const std::string& what, int err) {
    return what + ": " + nl_geterror(err);
}

LinkPtr get_link(nl_sock* sk, const std::string& name) {
    rtnl_link* raw = nullptr;
    if (rtnl_link_get_kernel(sk, 0, name.c_str(), &raw) < 0) return nullptr;
    return LinkPtr(raw);
}

bool ours(rtnl_link* link) {
    const char* alias = rtnl_link_get_ifalias(link);
    return alias && std::strcmp(alias, kVxlanAlias) == 0;
}

// Its VXLAN settings are those of `spec`: otherwise it is made again.
bool same_tunnel(rtnl_link* link, const VxlanSpec& spec) {
    const char* type = rtnl_link_get_type(link);
    if (!type || std::strcmp(type, "vxlan") != 0) return false;
    std::uint32_t vni = 0, port = 0, under = 0;
    nl_addr* local = nullptr;
    if (rtnl_link_vxlan_get_id(link, &vni) < 0 || vni != spec.vni) return false;
    if (rtnl_link_vxlan_get_port(link, &port) < 0 || port != spec.port) return false;
    if (rtnl_link_vxlan_get_link(link, &under) < 0 || static_cast<int>(under) != spec.underlay)
        return false;
    if (rtnl_link_vxlan_get_learning(link) != 0) return false;
    if (rtnl_link_vxlan_get_local(link, &local) < 0 || !local) return false;
    AddrPtr owned(local);
    std::uint32_t be = 0;
    if (nl_addr_get_len(local) != 4) return false;
    std::memcpy(&be, nl_addr_get_binary_addr(local), 4);
    return ntohl(be) == spec.local;
}

Status create(nl_sock* sk, const VxlanSpec& spec) {
    LinkPtr link(rtnl_link_vxlan_alloc());
    if (!link) return Error{"cannot allocate a VXLAN link"};
    rtnl_link_set_name(link.get(), spec.name.c_str());
    rtnl_link_vxlan_set_id(link.get(), spec.vni);
    rtnl_link_vxlan_set_port(link.get(), spec.port);
    rtnl_link_vxlan_set_link(link.get(), static_cast<std::uint32_t>(spec.underlay));
    AddrPtr local = ipv4(spec.local, 32);
    rtnl_link_vxlan_set_local(link.get(), local.get());
    rtnl_link_vxlan_set_learning(link.get(), 0);
    if (spec.mtu > 0) rtnl_link_set_mtu(link.get(), static_cast<unsigned>(spec.mtu));
    AddrPtr mac(nl_addr_build(AF_LLC, spec.mac.data(), spec.mac.size()));
    rtnl_link_set_addr(link.get(), mac.get());
    rtnl_link_set_flags(link.get(), IFF_UP);
    if (int err = rtnl_link_add(sk, link.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
        return Error{error("cannot create VXLAN device " + spec.name, err)};
    // The kernel takes no alias with a new link: marked ours by a change right after.
    LinkPtr made = get_link(sk, spec.name), alias(rtnl_link_alloc());
    rtnl_link_set_ifalias(alias.get(), kVxlanAlias);
    if (!made) return Error{"VXLAN device " + spec.name + " vanished after it was made"};
    if (int err = rtnl_link_change(sk, made.get(), alias.get(), 0); err < 0) {
        (void)rtnl_link_delete(sk, made.get());
        return Error{error("cannot mark VXLAN device " + spec.name + " as shoal's", err)};
    }
    return {};
}

// MTU, MAC and up state as `spec` says; true if it changed any.
Result<bool> tune(nl_sock* sk, rtnl_link* have, const VxlanSpec& spec) {
    LinkPtr want(rtnl_link_alloc());
    bool change = false;
    if (spec.mtu > 0 && rtnl_link_get_mtu(have) != static_cast<unsigned>(spec.mtu)) {
        rtnl_link_set_mtu(want.get(), static_cast<unsigned>(spec.mtu));
        change = true;
    }
    nl_addr* mac = rtnl_link_get_addr(have);
    if (!mac || nl_addr_get_len(mac) != 6 ||
        std::memcmp(nl_addr_get_binary_addr(mac), spec.mac.data(), 6) != 0) {
        AddrPtr m(nl_addr_build(AF_LLC, spec.mac.data(), spec.mac.size()));
        rtnl_link_set_addr(want.get(), m.get());
        change = true;
    }
    if (!(rtnl_link_get_flags(have) & IFF_UP)) {
        rtnl_link_set_flags(want.get(), IFF_UP);
        change = true;
    }
    if (!change) return false;
    if (int err = rtnl_link_change(sk, have, want.get(), 0); err < 0)
        return Error{error("cannot change VXLAN device " + spec.name, err)};
    return true;
}

// Exactly our VTEP address on it (none without one); true if it changed.
Result<bool> set_address(nl_sock* sk, int ifindex, const VxlanSpec& spec) {
    nl_cache* raw = nullptr;
    if (int err = rtnl_addr_alloc_cache(sk, &raw); err < 0)
        return Error{error("cannot list addresses", err)};
    CachePtr cache(raw);
    bool have_ours = false, changed = false;
    for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
        auto* a = reinterpret_cast<rtnl_addr*>(o);
        if (rtnl_addr_get_ifindex(a) != ifindex || rtnl_addr_get_family(a) != AF_INET) continue;
        nl_addr* local = rtnl_addr_get_local(a);
        std::uint32_t be = 0;
        if (local && nl_addr_get_len(local) == 4)
            std::memcpy(&be, nl_addr_get_binary_addr(local), 4);
        if (spec.address && ntohl(be) == *spec.address && rtnl_addr_get_prefixlen(a) == 32) {
            have_ours = true;
            continue;
        }
        if (int err = rtnl_addr_delete(sk, a, 0); err < 0)
            return Error{error("cannot remove an address from " + spec.name, err)};
        changed = true;
    }
    if (spec.address && !have_ours) {
        RtAddrPtr a(rtnl_addr_alloc());
        rtnl_addr_set_ifindex(a.get(), ifindex);
        AddrPtr local = ipv4(*spec.address, 32);
        rtnl_addr_set_local(a.get(), local.get());
        if (int err = rtnl_addr_add(sk, a.get(), 0); err < 0)
            return Error{error("cannot add our VTEP address to " + spec.name, err)};
        changed = true;
    }
    return changed;
}

}  // namespace

std::string mac_to_string(const Mac& mac) {
    char buf[18];
    std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                  mac[4], mac[5]);
    return buf;
}

std::optional<int> VxlanDevice::index(const std::string& name) {
    unsigned idx = if_nametoindex(name.c_str());
    if (idx == 0) return std::nullopt;
    return static_cast<int>(idx);
}

Result<VxlanDevice::Outcome> VxlanDevice::ensure(const VxlanSpec& spec) {
    auto sk = connect_route_socket();
    if (!sk) return Error{"cannot open an rtnetlink socket"};
    Outcome outcome = Outcome::Unchanged;
    LinkPtr have = get_link(sk.get(), spec.name);
    if (have && !ours(have.get()))
        return Error{"an interface named " + spec.name +
                     " exists and is not shoal's; not touching it (set vxlan-device to another "
                     "name, or remove it)"};
    if (have && !same_tunnel(have.get(), spec)) {
        if (int err = rtnl_link_delete(sk.get(), have.get()); err < 0)
            return Error{error("cannot remove the outdated VXLAN device " + spec.name, err)};
        have.reset();
    }
    if (!have) {
        if (auto made = create(sk.get(), spec); !made) return Error{made.error()};
        outcome = Outcome::Created;
        have = get_link(sk.get(), spec.name);
        if (!have) return Error{"VXLAN device " + spec.name + " vanished after it was made"};
    }
    auto tuned = tune(sk.get(), have.get(), spec);
    if (!tuned) return Error{tuned.error()};
    auto addressed = set_address(sk.get(), rtnl_link_get_ifindex(have.get()), spec);
    if (!addressed) return Error{addressed.error()};
    if (outcome == Outcome::Unchanged && (*tuned || *addressed)) outcome = Outcome::Changed;
    return outcome;
}

Status VxlanDevice::remove(const std::string& name) {
    auto sk = connect_route_socket();
    if (!sk) return Error{"cannot open an rtnetlink socket"};
    LinkPtr have = get_link(sk.get(), name);
    if (!have || !ours(have.get())) return {};
    if (int err = rtnl_link_delete(sk.get(), have.get()); err < 0)
        return Error{error("cannot remove VXLAN device " + name, err)};
    return {};
}

}  // namespace shoal::netlink
