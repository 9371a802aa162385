#include "netlink/route_reconciler.hpp"

#include "netlink/nl_handles.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>

#include <fstream>
#include <map>
#include <set>

namespace shoal::netlink {

const char* to_string(RouteState s) {
    switch (s) {
        case RouteState::Installed: return "installed";
        case RouteState::Pending: return "pending";
        case RouteState::Conflict: return "conflict";
        case RouteState::NotRoutable: return "not-routable";
    }
    return "?";
}

namespace {

using Prefix = std::pair<std::uint32_t, int>;  // address (host order), length

AddrPtr make_addr(std::uint32_t ip, int len) {
    std::uint32_t be = htonl(ip);
    AddrPtr a(nl_addr_build(AF_INET, &be, sizeof(be)));
    nl_addr_set_prefixlen(a.get(), len);
    return a;
}

std::optional<std::uint32_t> ipv4_of(nl_addr* a) {
    if (!a || nl_addr_get_family(a) != AF_INET || nl_addr_get_len(a) != 4) return std::nullopt;
    std::uint32_t be;
    std::memcpy(&be, nl_addr_get_binary_addr(a), 4);
    return ntohl(be);
}

struct KernelRoute {
    std::uint32_t via = 0;
    int ifindex = 0;
    std::uint8_t type = RTN_UNICAST;
};

std::string ifname(int ifindex) {
    char buf[IF_NAMESIZE] = {};
    return if_indextoname(static_cast<unsigned>(ifindex), buf) ? buf
                                                               : "if" + std::to_string(ifindex);
}

std::string describe(const Route& r) {
    return r.dst.to_string() + " via " + ipv4_to_string(r.via) + " dev " + ifname(r.ifindex);
}

}  // namespace

struct RouteReconciler::Socket {
    nl_sock* sk = nullptr;
    ~Socket() {
        if (sk) nl_socket_free(sk);
    }
};

RouteReconciler::RouteReconciler(int table, std::uint8_t protocol)
    : table_(table), protocol_(protocol) {}
RouteReconciler::~RouteReconciler() = default;

std::string RouteReconciler::open() {
    auto s = std::make_unique<Socket>();
    s->sk = nl_socket_alloc();
    if (!s->sk) return "cannot allocate a netlink socket";
    if (int err = nl_connect(s->sk, NETLINK_ROUTE); err < 0)
        return std::string("cannot open rtnetlink: ") + nl_geterror(err);
    sock_ = std::move(s);
    return {};
}

std::vector<Route> RouteReconciler::own_routes() {
    std::vector<Route> out;
    nl_cache* raw = nullptr;
    if (!sock_ || rtnl_route_alloc_cache(sock_->sk, AF_INET, 0, &raw) < 0) return out;
    CachePtr cache(raw);
    for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
        auto* r = reinterpret_cast<rtnl_route*>(o);
        if (static_cast<int>(rtnl_route_get_table(r)) != table_ ||
            rtnl_route_get_protocol(r) != protocol_ || rtnl_route_get_type(r) != RTN_UNICAST)
            continue;
        auto dst = ipv4_of(rtnl_route_get_dst(r));
        Route route{Ipv4Net{dst.value_or(0),
                            static_cast<int>(nl_addr_get_prefixlen(rtnl_route_get_dst(r)))}};
        if (rtnl_route_get_nnexthops(r) > 0) {
            rtnl_nexthop* nh = rtnl_route_nexthop_n(r, 0);
            route.via = ipv4_of(rtnl_route_nh_get_gateway(nh)).value_or(0);
            route.ifindex = rtnl_route_nh_get_ifindex(nh);
        }
        out.push_back(route);
    }
    return out;
}

ReconcileResult RouteReconciler::reconcile(const std::vector<Route>& desired,
                                           const std::optional<Ipv4Net>& unreachable) {
    ReconcileResult res;
    if (!sock_) {
        res.errors = 1;
        res.messages.push_back("route reconciler is not connected to rtnetlink");
        return res;
    }
    // 1. What the kernel has: our routes by prefix, and the prefixes others own in this table.
    std::map<Prefix, KernelRoute> own;
    std::set<Prefix> foreign;
    nl_cache* raw = nullptr;
    if (int err = rtnl_route_alloc_cache(sock_->sk, AF_INET, 0, &raw); err < 0) {
        res.errors = 1;
        res.messages.push_back(std::string("cannot list routes: ") + nl_geterror(err));
        return res;
    }
    CachePtr routes(raw);
    for (nl_object* o = nl_cache_get_first(routes.get()); o; o = nl_cache_get_next(o)) {
        auto* r = reinterpret_cast<rtnl_route*>(o);
        if (static_cast<int>(rtnl_route_get_table(r)) != table_) continue;
        nl_addr* d = rtnl_route_get_dst(r);
        Prefix p{ipv4_of(d).value_or(0), static_cast<int>(nl_addr_get_prefixlen(d))};
        if (rtnl_route_get_protocol(r) != protocol_) {
            foreign.insert(p);
            continue;
        }
        KernelRoute k;
        k.type = rtnl_route_get_type(r);
        if (rtnl_route_get_nnexthops(r) > 0) {
            rtnl_nexthop* nh = rtnl_route_nexthop_n(r, 0);
            k.via = ipv4_of(rtnl_route_nh_get_gateway(nh)).value_or(0);
            k.ifindex = rtnl_route_nh_get_ifindex(nh);
        }
        own[p] = k;
    }
    // Connected prefixes per interface: a next hop must be on one of them (same L2 segment).
    std::map<int, std::vector<Ipv4Net>> connected;
    if (rtnl_addr_alloc_cache(sock_->sk, &raw) >= 0) {
        CachePtr addrs(raw);
        for (nl_object* o = nl_cache_get_first(addrs.get()); o; o = nl_cache_get_next(o)) {
            auto* a = reinterpret_cast<rtnl_addr*>(o);
            if (rtnl_addr_get_family(a) != AF_INET) continue;
            auto ip = ipv4_of(rtnl_addr_get_local(a));
            int len = rtnl_addr_get_prefixlen(a);
            if (ip) connected[rtnl_addr_get_ifindex(a)].push_back(Ipv4Net{*ip, len});
        }
    }
    auto on_link = [&](const Route& r) -> std::string {
        auto it = connected.find(r.ifindex);
        if (it == connected.end() || it->second.empty())
            return ifname(r.ifindex) + " has no IPv4 address";
        for (const auto& net : it->second) {
            std::uint32_t mask = net.len == 0 ? 0 : ~std::uint32_t{0} << (32 - net.len);
            if ((net.addr & mask) == (r.via & mask)) return {};
        }
        std::string nets;
        for (const auto& net : it->second) {
            std::uint32_t mask = net.len == 0 ? 0 : ~std::uint32_t{0} << (32 - net.len);
            nets += (nets.empty() ? "" : ", ") + Ipv4Net{net.addr & mask, net.len}.to_string();
        }
        return "next hop " + ipv4_to_string(r.via) + " is not on " + ifname(r.ifindex) +
               "'s network (" + nets + "): host-gw needs all hosts on one L2 segment";
    };

    auto apply = [&](rtnl_route* route, int flags, const std::string& what) -> bool {
        if (int err = rtnl_route_add(sock_->sk, route, flags); err < 0) {
            ++res.errors;
            res.messages.push_back(what + " failed: " + nl_geterror(err));
            return false;
        }
        res.messages.push_back(what);
        return true;
    };
    auto build = [&](const Ipv4Net& dst, std::uint8_t type) {
        RoutePtr r(rtnl_route_alloc());
        rtnl_route_set_family(r.get(), AF_INET);
        rtnl_route_set_table(r.get(), static_cast<std::uint32_t>(table_));
        rtnl_route_set_protocol(r.get(), protocol_);
        rtnl_route_set_type(r.get(), type);
        rtnl_route_set_scope(r.get(), RT_SCOPE_UNIVERSE);
        AddrPtr d = make_addr(dst.addr, dst.len);
        rtnl_route_set_dst(r.get(), d.get());
        return r;
    };

    // 2. Desired host-gw routes.
    std::set<Prefix> keep;
    for (const Route& want : desired) {
        RouteReport rep{want, RouteState::Pending, {}};
        Prefix p{want.dst.addr, want.dst.len};
        if (foreign.count(p)) {
            rep.state = RouteState::Conflict;
            rep.reason = "another route for " + want.dst.to_string() +
                         " exists in this table (not ours; left alone)";
            ++res.conflicts;
        } else if (auto why = on_link(want); !why.empty()) {
            rep.state = RouteState::NotRoutable;
            rep.reason = why;
            ++res.unroutable;
        } else {
            keep.insert(p);
            auto it = own.find(p);
            if (it != own.end() && it->second.type == RTN_UNICAST && it->second.via == want.via &&
                it->second.ifindex == want.ifindex) {
                rep.state = RouteState::Installed;
                ++res.unchanged;
            } else {
                RoutePtr r = build(want.dst, RTN_UNICAST);
                rtnl_nexthop* nh = rtnl_route_nh_alloc();
                rtnl_route_nh_set_ifindex(nh, want.ifindex);
                AddrPtr gw = make_addr(want.via, 32);
                rtnl_route_nh_set_gateway(nh, gw.get());
                rtnl_route_add_nexthop(r.get(), nh);  // the route owns it now
                bool replace = it != own.end();
                if (apply(r.get(), NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL),
                          (replace ? "replaced route " : "added route ") + describe(want))) {
                    rep.state = RouteState::Installed;
                    ++(replace ? res.replaced : res.added);
                } else {
                    rep.reason = res.messages.back();
                }
            }
        }
        res.reports.push_back(std::move(rep));
    }

    // 3. The unreachable route for the whole cluster network.
    if (unreachable) {
        Prefix p{unreachable->addr, unreachable->len};
        auto it = own.find(p);
        if (foreign.count(p)) {
            res.messages.push_back("a foreign route for the cluster network " +
                                   unreachable->to_string() +
                                   " exists; not adding the unreachable route");
        } else if (it == own.end() || it->second.type != RTN_UNREACHABLE) {
            RoutePtr r = build(*unreachable, RTN_UNREACHABLE);
            apply(r.get(), NLM_F_CREATE | (it != own.end() ? NLM_F_REPLACE : NLM_F_EXCL),
                  "added unreachable route for " + unreachable->to_string());
        }
        keep.insert(p);
    }

    // 4. Our routes nobody wants any more.
    for (const auto& [p, k] : own) {
        if (keep.count(p)) continue;
        RoutePtr r = build(Ipv4Net{p.first, p.second}, k.type);
        if (k.type == RTN_UNICAST) {
            rtnl_nexthop* nh = rtnl_route_nh_alloc();
            rtnl_route_nh_set_ifindex(nh, k.ifindex);
            AddrPtr gw = make_addr(k.via, 32);
            rtnl_route_nh_set_gateway(nh, gw.get());
            rtnl_route_add_nexthop(r.get(), nh);
        }
        std::string what = "withdrew route " + Ipv4Net{p.first, p.second}.to_string();
        if (int err = rtnl_route_delete(sock_->sk, r.get(), 0); err < 0) {
            ++res.errors;
            res.messages.push_back(what + " failed: " + nl_geterror(err));
        } else {
            ++res.deleted;
            res.messages.push_back(what);
        }
    }
    return res;
}

std::optional<bool> ensure_ipv4_forwarding(std::string& error) {
    const char* path = "/proc/sys/net/ipv4/ip_forward";
    std::ifstream in(path);
    std::string value;
    if (!(in >> value)) {
        error = std::string("cannot read ") + path;
        return std::nullopt;
    }
    if (value == "1") return false;
    std::ofstream out(path);
    out << "1\n";
    out.flush();
    if (!out) {
        error = std::string("cannot turn on IPv4 forwarding (") + path + ")";
        return std::nullopt;
    }
    return true;
}

}  // namespace shoal::netlink
