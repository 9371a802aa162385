#include "netlink/route_reconciler.hpp"

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#include <sys/socket.h>

#include <cstring>
#include <fstream>
#include <string>
#include <type_traits>

#include "netlink/nl_handles.hpp"
#include "netlink/route_batch.hpp"

namespace shoal::netlink {

namespace {

AddrPtr make_addr(std::uint32_t ip, int len) {
    std::uint32_t be = htonl(ip);
    AddrPtr a(nl_addr_build(AF_INET, &be, sizeof(be)));
    nl_addr_set_prefixlen(a.get(), len);
    return a;
}

AddrPtr make_addr(const Ipv6Addr& ip, int len) {
    AddrPtr a(nl_addr_build(AF_INET6, ip.data(), ip.size()));
    nl_addr_set_prefixlen(a.get(), len);
    return a;
}

constexpr int family_of(const Ipv4Net*) {
    return AF_INET;
}
constexpr int family_of(const Ipv6Net*) {
    return AF_INET6;
}
template <class Net>
constexpr int family() {
    return family_of(static_cast<const Net*>(nullptr));
}

// The address in `a` if it is of `Net`'s family.
template <class Net>
std::optional<typename Net::Addr> addr_of(nl_addr* a) {
    if (!a || nl_addr_get_family(a) != family<Net>()) return std::nullopt;
    typename Net::Addr out{};
    if constexpr (std::is_same_v<Net, Ipv4Net>) {
        if (nl_addr_get_len(a) != 4) return std::nullopt;
        std::uint32_t be;
        std::memcpy(&be, nl_addr_get_binary_addr(a), 4);
        out = ntohl(be);
    } else {
        if (nl_addr_get_len(a) != out.size()) return std::nullopt;
        std::memcpy(out.data(), nl_addr_get_binary_addr(a), out.size());
    }
    return out;
}

// The kernel's number for a route's type (rtm_type).
template <class Net>
std::uint8_t kernel_type(const BasicKernelRoute<Net>& k) {
    switch (k.type) {
        case RouteType::Unicast: return RTN_UNICAST;
        case RouteType::Unreachable: return RTN_UNREACHABLE;
        case RouteType::Other: return k.other_type;
    }
    return k.other_type;
}

template <class Net>
BasicKernelRoute<Net> parse_route(rtnl_route* r, std::uint8_t protocol) {
    BasicKernelRoute<Net> k;
    nl_addr* dst = rtnl_route_get_dst(r);
    k.dst = Net{addr_of<Net>(dst).value_or(typename Net::Addr{}),
                dst ? static_cast<int>(nl_addr_get_prefixlen(dst)) : 0};
    std::uint8_t type = rtnl_route_get_type(r);
    k.type = type == RTN_UNICAST       ? RouteType::Unicast
             : type == RTN_UNREACHABLE ? RouteType::Unreachable
                                       : RouteType::Other;
    if (k.type == RouteType::Other) k.other_type = type;
    k.ours = rtnl_route_get_protocol(r) == protocol;
    if (rtnl_route_get_nnexthops(r) > 0) {
        rtnl_nexthop* nh = rtnl_route_nexthop_n(r, 0);
        k.via = addr_of<Net>(rtnl_route_nh_get_gateway(nh)).value_or(typename Net::Addr{});
        k.ifindex = rtnl_route_nh_get_ifindex(nh);
        k.onlink = (rtnl_route_nh_get_flags(nh) & RTNH_F_ONLINK) != 0;
    }
    return k;
}

template <class Net>
RoutePtr build_route(const BasicKernelRoute<Net>& k, int table, std::uint8_t protocol) {
    RoutePtr r(rtnl_route_alloc());
    rtnl_route_set_family(r.get(), static_cast<std::uint8_t>(family<Net>()));
    rtnl_route_set_table(r.get(), static_cast<std::uint32_t>(table));
    rtnl_route_set_protocol(r.get(), protocol);
    rtnl_route_set_type(r.get(), kernel_type(k));
    rtnl_route_set_scope(r.get(), RT_SCOPE_UNIVERSE);
    AddrPtr dst = make_addr(k.dst.addr, k.dst.len);
    rtnl_route_set_dst(r.get(), dst.get());
    if (k.type == RouteType::Unicast) {
        rtnl_nexthop* nh = rtnl_route_nh_alloc();
        rtnl_route_nh_set_ifindex(nh, k.ifindex);
        if (k.onlink) rtnl_route_nh_set_flags(nh, RTNH_F_ONLINK);
        AddrPtr gw = make_addr(k.via, Net::kBits);
        rtnl_route_nh_set_gateway(nh, gw.get());
        rtnl_route_add_nexthop(r.get(), nh);  // the route owns it now
    }
    return r;
}

}  // namespace

template <class Net>
struct BasicRouteReconciler<Net>::Socket {
    // Dumps use libnl's request/reply matching; batches send many requests and read the acks
    // themselves, which would leave that matching out of step, so they get a socket of their own.
    SockPtr dump;
    SockPtr batch;
};

template <class Net>
BasicRouteReconciler<Net>::BasicRouteReconciler(const Net& pod_network, int table,
                                                std::uint8_t protocol)
    : pod_network_(pod_network), table_(table), protocol_(protocol) {}
template <class Net>
BasicRouteReconciler<Net>::~BasicRouteReconciler() = default;

template <class Net>
Status BasicRouteReconciler<Net>::open() {
    auto s = std::make_unique<Socket>();
    s->dump = connect_route_socket();
    s->batch = connect_route_socket();
    if (!s->dump || !s->batch) return Error{"cannot open rtnetlink sockets"};
    // Acks without the request echoed back, and never an endless wait for one that was lost.
    int fd = nl_socket_get_fd(s->batch.get());
    int one = 1;
    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
    timeval timeout{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    // An ack fits any buffer: one recvmsg per ack instead of a peek for its size first.
    nl_socket_disable_msg_peek(s->batch.get());
    nl_socket_set_msg_buf_size(s->batch.get(), 16384);
    sock_ = std::move(s);
    return Status::success();
}

template <class Net>
Result<BasicKernelView<Net>> BasicRouteReconciler<Net>::read(const std::vector<Route>& desired) {
    auto routes = read_routes();
    if (!routes) return Error{routes.error()};
    BasicKernelView<Net> view{std::move(*routes), {}, {}};
    // Without the addresses every next hop is reported as not routable, and nothing is added.
    nl_cache* raw = nullptr;
    if (rtnl_addr_alloc_cache(sock_->dump.get(), &raw) >= 0) {
        CachePtr addrs(raw);
        for (nl_object* o = nl_cache_get_first(addrs.get()); o; o = nl_cache_get_next(o)) {
            auto* a = reinterpret_cast<rtnl_addr*>(o);
            if (rtnl_addr_get_family(a) != family<Net>()) continue;
            if (auto ip = addr_of<Net>(rtnl_addr_get_local(a)))
                view.connected[rtnl_addr_get_ifindex(a)].push_back(
                    Net{*ip, rtnl_addr_get_prefixlen(a)});
        }
    }
    // Once per interface and pass: if_indextoname costs a socket, an ioctl and a close, which
    // once made a 10,000-route pass a third slower than `ip -batch`.
    for (const Route& r : desired) {
        if (view.ifnames.count(r.ifindex)) continue;
        char name[IF_NAMESIZE] = {};
        if (if_indextoname(static_cast<unsigned>(r.ifindex), name)) view.ifnames[r.ifindex] = name;
    }
    return view;
}

template <class Net>
Result<std::vector<BasicKernelRoute<Net>>> BasicRouteReconciler<Net>::read_routes() {
    if (!sock_) return Error{"route reconciler is not connected to rtnetlink"};
    nl_cache* raw = nullptr;
    if (int err = rtnl_route_alloc_cache(sock_->dump.get(), family<Net>(), 0, &raw); err < 0)
        return Error{std::string("cannot list routes: ") + nl_geterror(err)};
    CachePtr cache(raw);
    std::vector<KernelRoute> routes;
    for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
        auto* r = reinterpret_cast<rtnl_route*>(o);
        if (static_cast<int>(rtnl_route_get_table(r)) == table_)
            routes.push_back(parse_route<Net>(r, protocol_));
    }
    return routes;
}

template <class Net>
void BasicRouteReconciler<Net>::apply(const std::vector<BasicRouteOp<Net>>& ops, Reconciled& res) {
    using Kind = typename BasicRouteOp<Net>::Kind;
    RouteBatch batch;
    for (const auto& op : ops) {
        bool remove = op.kind == Kind::Delete;
        int flags = NLM_F_CREATE | (op.kind == Kind::Replace ? NLM_F_REPLACE : NLM_F_EXCL);
        batch.add(build_route(op.route, table_, protocol_), remove, remove ? 0 : flags);
    }
    batch.run(sock_->batch.get(), [&](std::size_t i, int err) {
        const auto& op = ops[i];
        if (err < 0) {
            ++res.errors;
            res.messages.push_back(op.message + " failed: " + nl_geterror(err));
            if (op.report) res.reports[*op.report].reason = res.messages.back();
            return;
        }
        res.messages.push_back(op.message);
        if (op.kind == Kind::Delete) {
            ++res.deleted;
        } else if (op.report) {
            res.reports[*op.report].state = RouteState::Installed;
            res.reports[*op.report].changed = true;
            ++(op.kind == Kind::Replace ? res.replaced : res.added);
        }
    });
}

template <class Net>
BasicReconcileResult<Net> BasicRouteReconciler<Net>::reconcile(
    const std::vector<Route>& desired, const std::optional<Net>& unreachable, bool delete_stale,
    const std::vector<Net>& gone) {
    auto kernel = read(desired);
    if (!kernel) {
        Reconciled res;
        res.errors = 1;
        res.messages.push_back(kernel.error());
        return res;
    }
    auto plan = plan_routes(desired, *kernel, pod_network_, unreachable, delete_stale, gone);
    apply(plan.ops, plan.result);
    return std::move(plan.result);
}

template <class Net>
std::vector<BasicRoute<Net>> BasicRouteReconciler<Net>::own_routes() {
    std::vector<Route> out;
    auto routes = read_routes();
    if (!routes) return out;
    for (const KernelRoute& k : *routes)
        if (k.ours && k.type == RouteType::Unicast)
            out.push_back(Route{k.dst, k.via, k.ifindex, k.onlink});
    return out;
}

template class BasicRouteReconciler<Ipv4Net>;
template class BasicRouteReconciler<Ipv6Net>;

namespace {
// Sets the sysctl at `path` to `to` if it reads `from` (any value but `to` when `from` is
// empty); true if it changed it.
Result<bool> move_sysctl(const std::string& path, const std::string& from, const std::string& to,
                         const std::string& what) {
    std::ifstream in(path);
    std::string value;
    if (!(in >> value)) return Error{"cannot read " + path};
    if (value == to || (!from.empty() && value != from)) return false;
    std::ofstream out(path);
    out << to << "\n";
    out.flush();
    if (!out) return Error{"cannot " + what + " (" + path + ")"};
    return true;
}
}  // namespace

Result<bool> ensure_ipv4_forwarding() {
    return move_sysctl("/proc/sys/net/ipv4/ip_forward", "", "1", "turn on IPv4 forwarding");
}

Result<Ipv6Forwarding> ensure_ipv6_forwarding(const std::string& iface) {
    Ipv6Forwarding done;
    // An interface name never holds '/' or "..", so the path stays under conf/.
    auto ra = move_sysctl("/proc/sys/net/ipv6/conf/" + iface + "/accept_ra", "1", "2",
                          "keep router advertisements on " + iface);
    if (!ra) return Error{ra.error()};
    done.accept_ra = *ra;
    auto fwd =
        move_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "", "1", "turn on IPv6 forwarding");
    if (!fwd) return Error{fwd.error()};
    done.forwarding = *fwd;
    return done;
}

}  // namespace shoal::netlink
