#include "netlink/route_plan.hpp"

#include <algorithm>
#include <set>
#include <utility>

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

constexpr const char* family_name(const Ipv4Net*) {
    return "IPv4";
}
constexpr const char* family_name(const Ipv6Net*) {
    return "IPv6";
}

template <class Net>
class Planner {
    using Route = BasicRoute<Net>;
    using RouteReport = BasicRouteReport<Net>;
    using ReconcileResult = BasicReconcileResult<Net>;
    using KernelRoute = BasicKernelRoute<Net>;
    using KernelView = BasicKernelView<Net>;
    using RouteOp = BasicRouteOp<Net>;
    using RoutePlan = BasicRoutePlan<Net>;
    using Prefix = Net;  // as it is to the kernel: address and length

  public:
    Planner(const KernelView& kernel, RoutePlan& plan) : kernel_(kernel), plan_(plan) {
        // Several routes of ours for one prefix (other metrics) count as one, the last listed: a
        // pass sends one request per prefix, and the next pass sees what is left.
        for (const KernelRoute& k : kernel.routes) {
            if (k.ours)
                own_[k.dst] = &k;
            else
                foreign_.insert(k.dst);
        }
    }

    void desired(const Route& want, const Net& pod_network) {
        ReconcileResult& res = plan_.result;
        RouteReport rep{want, RouteState::Pending, {}};
        const Prefix& p = want.dst;
        if (!strictly_inside(pod_network, want.dst)) {
            rep.state = RouteState::Refused;
            rep.reason = want.dst.to_string() + " is not inside the pod network " +
                         pod_network.to_string() + "; not installed";
            ++res.refused;
        } else if (foreign_.count(p)) {
            rep.state = RouteState::Conflict;
            rep.reason = "another route for " + want.dst.to_string() +
                         " exists in this table (not ours; left alone)";
            ++res.conflicts;
        } else if (auto why = want.onlink ? std::string{} : off_link(want); !why.empty()) {
            rep.state = RouteState::NotRoutable;
            rep.reason = std::move(why);
            ++res.unroutable;
        } else {
            keep_.insert(p);
            const KernelRoute* have = own(p);
            if (have && have->type == RouteType::Unicast && have->via == want.via &&
                have->ifindex == want.ifindex && have->onlink == want.onlink) {
                rep.state = RouteState::Installed;
                ++res.unchanged;
            } else {
                KernelRoute send{.dst = want.dst,
                                 .ours = true,
                                 .via = want.via,
                                 .ifindex = want.ifindex,
                                 .onlink = want.onlink};
                plan_.ops.push_back(RouteOp{
                    have ? RouteOp::Kind::Replace : RouteOp::Kind::Add, send, res.reports.size(),
                    (have ? "replaced route " : "added route ") + want.dst.to_string() + " via " +
                        addr_to_string(want.via) + " dev " + ifname(want.ifindex) +
                        (want.onlink ? " onlink" : "")});
            }
        }
        res.reports.push_back(std::move(rep));
    }

    void unreachable(const Net& net) {
        const Prefix& p = net;
        const KernelRoute* have = own(p);
        if (foreign_.count(p)) {
            plan_.result.messages.push_back("a foreign route for the cluster network " +
                                            net.to_string() +
                                            " exists; not adding the unreachable route");
        } else if (!have || have->type != RouteType::Unreachable) {
            plan_.ops.push_back(
                RouteOp{have ? RouteOp::Kind::Replace : RouteOp::Kind::Add,
                        KernelRoute{.dst = net, .type = RouteType::Unreachable, .ours = true},
                        std::nullopt, "added unreachable route for " + net.to_string()});
        }
        keep_.insert(p);
    }

    // Our routes nobody wants: all of them, or only those to `only`'s destinations.
    void withdraw_stale(const std::vector<Net>* only = nullptr) {
        for (const auto& [p, k] : own_) {
            if (keep_.count(p)) continue;
            if (only && std::find(only->begin(), only->end(), p) == only->end()) continue;
            plan_.ops.push_back(RouteOp{RouteOp::Kind::Delete, *k, std::nullopt,
                                        "withdrew route " + k->dst.to_string()});
        }
    }

  private:
    const KernelRoute* own(const Prefix& p) const {
        auto it = own_.find(p);
        return it == own_.end() ? nullptr : it->second;
    }

    std::string ifname(int ifindex) const {
        auto it = kernel_.ifnames.find(ifindex);
        return it != kernel_.ifnames.end() ? it->second : "if" + std::to_string(ifindex);
    }

    // Why `r`'s next hop is not on one of its interface's connected networks (host-gw needs
    // every host on one L2 segment), or empty if it is.
    std::string off_link(const Route& r) const {
        auto it = kernel_.connected.find(r.ifindex);
        if (it == kernel_.connected.end() || it->second.empty())
            return ifname(r.ifindex) + " has no " + family_name(static_cast<Net*>(nullptr)) +
                   " address";
        for (const Net& net : it->second)
            if (contains(net, r.via)) return {};
        std::string nets;
        for (const Net& net : it->second)
            nets += (nets.empty() ? "" : ", ") + network_of(net).to_string();
        return "next hop " + addr_to_string(r.via) + " is not on " + ifname(r.ifindex) +
               "'s network (" + nets + "): host-gw needs all hosts on one L2 segment";
    }

    const KernelView& kernel_;
    RoutePlan& plan_;
    std::map<Prefix, const KernelRoute*> own_;
    std::set<Prefix> foreign_;
    std::set<Prefix> keep_;  // prefixes of ours that stay
};

}  // namespace

template <class Net>
BasicRoutePlan<Net> plan_routes(const std::vector<BasicRoute<Net>>& desired,
                                const BasicKernelView<Net>& kernel, const Net& pod_network,
                                const std::optional<std::type_identity_t<Net>>& unreachable,
                                bool delete_stale,
                                const std::vector<std::type_identity_t<Net>>& gone) {
    BasicRoutePlan<Net> plan;
    Planner<Net> planner(kernel, plan);
    plan.result.reports.reserve(desired.size());
    for (const auto& want : desired) planner.desired(want, pod_network);
    if (unreachable) planner.unreachable(*unreachable);
    if (delete_stale)
        planner.withdraw_stale();
    else if (!gone.empty())
        planner.withdraw_stale(&gone);
    return plan;
}

template RoutePlan plan_routes(const std::vector<Route>&, const KernelView&, const Ipv4Net&,
                               const std::optional<Ipv4Net>&, bool, const std::vector<Ipv4Net>&);
template RoutePlan6 plan_routes(const std::vector<Route6>&, const KernelView6&, const Ipv6Net&,
                                const std::optional<Ipv6Net>&, bool, const std::vector<Ipv6Net>&);

}  // namespace shoal::netlink
