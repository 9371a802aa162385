#include "netlink/route_reconciler.hpp"

#include "netlink/nl_handles.hpp"

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#include <sys/socket.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <set>

namespace shoal::netlink {

const char* to_string(RouteState s) {
    switch (s) {
        case RouteState::Installed: return "installed";
        case RouteState::Pending: return "pending";
        case RouteState::Conflict: return "conflict";
        case RouteState::NotRoutable: return "not-routable";
        case RouteState::Refused: return "refused";
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

// Interface names for log lines, looked up once per pass: if_indextoname costs a socket, an ioctl
// and a close, which made a 10,000-route pass a third slower than `ip -batch`.
class IfNames {
  public:
    const std::string& operator()(int ifindex) {
        auto it = names_.find(ifindex);
        if (it == names_.end()) it = names_.emplace(ifindex, ifname(ifindex)).first;
        return it->second;
    }

  private:
    std::map<int, std::string> names_;
};

}  // namespace

// Route requests sent as one batch: up to kWindow messages go out before their acks are read,
// instead of one round trip each. The kernel queues an ack per request; the window keeps them
// well within the socket's receive buffer (at 100 unread acks it overflows and acks are lost).
class Batch {
  public:
    using Done = std::function<void(int err)>;  // 0, or a negative errno from the kernel
    void add(RoutePtr route, bool remove, int flags, Done done) {
        ops_.push_back(Op{std::move(route), remove, flags, std::move(done)});
    }
    void run(nl_sock* sk) {
        constexpr std::size_t kWindow = 32;
        for (std::size_t start = 0; start < ops_.size(); start += kWindow) {
            // The whole window goes out in one sendmsg: the kernel handles each message of a
            // datagram in turn and acks each one.
            std::map<std::uint32_t, std::size_t> pending;  // sequence number -> op
            std::vector<unsigned char> out;
            for (std::size_t i = start; i < std::min(ops_.size(), start + kWindow); ++i) {
                Op& op = ops_[i];
                nl_msg* msg = nullptr;
                int err = op.remove ? rtnl_route_build_del_request(op.route.get(), 0, &msg)
                                    : rtnl_route_build_add_request(op.route.get(), op.flags, &msg);
                if (err < 0) {
                    op.done(err);
                    continue;
                }
                nl_complete_msg(sk, msg);  // sequence number, NLM_F_REQUEST | NLM_F_ACK
                const nlmsghdr* h = nlmsg_hdr(msg);
                const auto* bytes = reinterpret_cast<const unsigned char*>(h);
                out.insert(out.end(), bytes, bytes + h->nlmsg_len);
                out.resize(NLMSG_ALIGN(out.size()));
                pending[h->nlmsg_seq] = i;
                nlmsg_free(msg);
            }
            if (!out.empty()) {
                if (int err = nl_sendto(sk, out.data(), out.size()); err < 0) {
                    for (auto& [seq, i] : pending) ops_[i].done(err);
                    pending.clear();
                }
            }
            while (!pending.empty()) {
                unsigned char* buf = nullptr;
                sockaddr_nl peer{};
                int n = nl_recv(sk, &peer, &buf, nullptr);
                if (n <= 0) {
                    for (auto& [seq, i] : pending) ops_[i].done(n < 0 ? n : -NLE_FAILURE);
                    pending.clear();
                    break;
                }
                int len = n;
                for (auto* h = reinterpret_cast<nlmsghdr*>(buf); nlmsg_ok(h, len);
                     h = nlmsg_next(h, &len)) {
                    if (h->nlmsg_type != NLMSG_ERROR) continue;
                    auto it = pending.find(h->nlmsg_seq);
                    if (it == pending.end()) continue;
                    int err = static_cast<nlmsgerr*>(nlmsg_data(h))->error;  // 0 is an ack
                    ops_[it->second].done(err == 0 ? 0 : -nl_syserr2nlerr(-err));
                    pending.erase(it);
                }
                std::free(buf);
            }
        }
        ops_.clear();
    }

  private:
    struct Op {
        RoutePtr route;
        bool remove;
        int flags;
        Done done;
    };
    std::vector<Op> ops_;
};

struct RouteReconciler::Socket {
    // Dumps use libnl's request/reply matching; batches send many requests and read the acks
    // themselves, which would leave that matching out of step, so they get a socket of their own.
    SockPtr dump;
    SockPtr batch;
    nl_sock* sk = nullptr;  // = dump.get()
};

RouteReconciler::RouteReconciler(const Ipv4Net& pod_network, int table, std::uint8_t protocol)
    : pod_network_(pod_network), table_(table), protocol_(protocol) {}
RouteReconciler::~RouteReconciler() = default;

std::string RouteReconciler::open() {
    auto s = std::make_unique<Socket>();
    s->dump = connect_route_socket();
    s->batch = connect_route_socket();
    if (!s->dump || !s->batch) return "cannot open rtnetlink sockets";
    s->sk = s->dump.get();
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
    IfNames ifnames;
    auto on_link = [&](const Route& r) -> std::string {
        auto it = connected.find(r.ifindex);
        if (it == connected.end() || it->second.empty())
            return ifnames(r.ifindex) + " has no IPv4 address";
        for (const auto& net : it->second) {
            std::uint32_t mask = net.len == 0 ? 0 : ~std::uint32_t{0} << (32 - net.len);
            if ((net.addr & mask) == (r.via & mask)) return {};
        }
        std::string nets;
        for (const auto& net : it->second) {
            std::uint32_t mask = net.len == 0 ? 0 : ~std::uint32_t{0} << (32 - net.len);
            nets += (nets.empty() ? "" : ", ") + Ipv4Net{net.addr & mask, net.len}.to_string();
        }
        return "next hop " + ipv4_to_string(r.via) + " is not on " + ifnames(r.ifindex) +
               "'s network (" + nets + "): host-gw needs all hosts on one L2 segment";
    };

    Batch batch;
    // Queues one request; `ok` runs if the kernel accepts it, and a failure is logged and counted.
    auto queue = [&](RoutePtr route, bool remove, int flags, std::string what,
                     std::function<void()> ok, std::function<void(const std::string&)> failed) {
        batch.add(std::move(route), remove, flags,
                  [&res, what = std::move(what), ok = std::move(ok),
                   failed = std::move(failed)](int err) {
                      if (err < 0) {
                          ++res.errors;
                          res.messages.push_back(what + " failed: " + nl_geterror(err));
                          if (failed) failed(res.messages.back());
                          return;
                      }
                      res.messages.push_back(what);
                      if (ok) ok();
                  });
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
    res.reports.reserve(desired.size());
    for (const Route& want : desired) {
        RouteReport rep{want, RouteState::Pending, {}};
        Prefix p{want.dst.addr, want.dst.len};
        if (!strictly_inside(pod_network_, want.dst)) {
            rep.state = RouteState::Refused;
            rep.reason = want.dst.to_string() + " is not inside the pod network " +
                         pod_network_.to_string() + "; not installed";
            ++res.refused;
        } else if (foreign.count(p)) {
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
                std::size_t index = res.reports.size();
                queue(
                    std::move(r), false, NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL),
                    (replace ? "replaced route " : "added route ") + want.dst.to_string() +
                        " via " + ipv4_to_string(want.via) + " dev " + ifnames(want.ifindex),
                    [&res, index, replace] {
                        res.reports[index].state = RouteState::Installed;
                        res.reports[index].changed = true;
                        ++(replace ? res.replaced : res.added);
                    },
                    [&res, index](const std::string& why) { res.reports[index].reason = why; });
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
            queue(build(*unreachable, RTN_UNREACHABLE), false,
                  NLM_F_CREATE | (it != own.end() ? NLM_F_REPLACE : NLM_F_EXCL),
                  "added unreachable route for " + unreachable->to_string(), nullptr, nullptr);
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
        queue(
            std::move(r), true, 0, "withdrew route " + Ipv4Net{p.first, p.second}.to_string(),
            [&res] { ++res.deleted; }, nullptr);
    }
    batch.run(sock_->batch.get());
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
