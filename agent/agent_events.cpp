// What comes out of the core for the host (routes, subnet files, the state file) and what the
// operator sends in (signals, SIGHUP's reload, control commands). See agent_loop.hpp.
#include <algorithm>
#include <csignal>
#include <utility>

#include "agent/agent_loop.hpp"
#include "agent/control_replies.hpp"
#include "agent/credential_files.hpp"
#include "agent/masquerade.hpp"
#include "netlink/interfaces.hpp"

namespace shoal::agent {

void Agent::apply_routes() {
    if (!node_ || phase_ == Phase::Stopped) return;
    Time now = monotonic_now();
    // With VXLAN, iface's networks decide which members go through the tunnel (routes, and the
    // host check's echoes).
    std::vector<Ipv4Net> segment;
    if (cfg_.vxlan) segment = netlink::ipv4_networks(cfg_.iface);
    if (icmp_) {
        host_check_.follow(now, host_subjects(*node_, cfg_.vxlan ? &segment : nullptr));
        (void)host_check_.take_changed();  // this pass applies whatever changed
        drive_host_check(false);
    }
    bool armed = arming_->armed(now, node_->node().synced());
    auto ifindex = netlink::interface_index(cfg_.iface);
    if (!ifindex) {
        log_(LogLevel::Warn, "interface " + cfg_.iface + " is gone; routes wait for it");
        return;
    }
    // Without a carrier the kernel refuses routes through iface: they wait for it (one line
    // when it goes, not a failure per route and event).
    if (!carrier_) return;
    std::set<NodeId> kept = host_check_.kept();  // empty without an ICMP socket
    std::optional<VxlanPlan> vxlan;
    if (cfg_.vxlan) vxlan = routes_with_vxlan(*ifindex, segment, kept, armed);
    reconcile_family(routes_, route_log_,
                     vxlan ? std::move(vxlan->routes) : desired_routes(*node_, *ifindex, kept),
                     cfg_.network.network(), armed, kept);
    if (routes6_)
        reconcile_family(
            *routes6_, route_log6_,
            vxlan ? std::move(vxlan->routes6) : desired_routes<Ipv6Net>(*node_, *ifindex, kept),
            *cfg_.network.network6(), armed, kept);
}

VxlanPlan Agent::routes_with_vxlan(int ifindex, const std::vector<Ipv4Net>& segment,
                                   const std::set<NodeId>& kept, bool armed) {
    // A restart adopts the last run's peers without a gap: their addresses answered that run,
    // and nothing it wrote is removed until the agent knows the cluster (armed), as its routes.
    if (!vxlan_adopted_) {
        vxlan_adopted_ = true;
        if (auto index = netlink::VxlanDevice::index(cfg_.vxlan_device))
            for (auto a : netlink::vxlan_peer_underlays(*index)) answered_.insert(a);
    }
    // Answers from addresses no member has any more are forgotten (once the agent knows the
    // cluster: those adopted above may belong to members it has not heard of yet).
    std::set<std::uint32_t> members;
    for (const auto& [id, m] : node_->node().members().all()) members.insert(m.info.addr.ip);
    if (armed) std::erase_if(answered_, [&](std::uint32_t a) { return !members.count(a); });
    auto plan = vxlan_plan(*node_, ifindex, segment, vxlan_index_.value_or(0), answered_, kept);
    // Made when a member is first off the segment (or adopted from the last run), kept after.
    if (plan.off_segment > 0 || vxlan_index_ || netlink::VxlanDevice::index(cfg_.vxlan_device)) {
        bool had = vxlan_index_.has_value();
        ensure_vxlan_device(ifindex);
        if (!had && vxlan_index_)
            plan = vxlan_plan(*node_, ifindex, segment, *vxlan_index_, answered_, kept);
    }
    if (vxlan_index_) {
        auto res = netlink::reconcile_vxlan_peers(*vxlan_index_, plan.peers, armed);
        for (const auto& msg : res.messages)
            log_(res.errors ? LogLevel::Warn : LogLevel::Info, cfg_.vxlan_device + ": " + msg);
    }
    return plan;
}

void Agent::ensure_vxlan_device(int ifindex) {
    netlink::VxlanSpec spec{.name = cfg_.vxlan_device,
                            .vni = cfg_.vxlan_vni,
                            .port = cfg_.vxlan_port,
                            .local = address_,
                            .underlay = ifindex,
                            .mtu = pod_mtu(),
                            .mac = vtep_mac(node_->node().id()),
                            .address = std::nullopt};
    if (auto slot = node_->slot()) spec.address = cfg_.network.subnet(*slot).addr;
    auto done = vxlan_.ensure(spec);
    if (!done) {
        if (done.error() != vxlan_error_)
            log_(LogLevel::Error, done.error() + "; members off " + cfg_.iface +
                                      "'s network are not routed (tried again every second)");
        vxlan_error_ = done.error();
        vxlan_index_.reset();
        return;
    }
    vxlan_error_.clear();
    vxlan_index_ = netlink::VxlanDevice::index(cfg_.vxlan_device);
    if (*done == netlink::VxlanDevice::Outcome::Created)
        log_(LogLevel::Info,
             "made VXLAN device " + cfg_.vxlan_device + " (VNI " + std::to_string(cfg_.vxlan_vni) +
                 ", UDP " + std::to_string(cfg_.vxlan_port) + ", MTU " + std::to_string(spec.mtu) +
                 ") for members off " + cfg_.iface + "'s network");
    else if (*done == netlink::VxlanDevice::Outcome::Changed)
        log_(LogLevel::Info,
             "VXLAN device " + cfg_.vxlan_device + " put right (MTU, address, MAC or state)");
}

int Agent::pod_mtu() const {
    int mtu = netlink::interface_mtu(cfg_.iface).value_or(1500);
    return cfg_.vxlan ? mtu - kVxlanOverhead : mtu;
}

template <class Net>
void Agent::reconcile_family(netlink::BasicRouteReconciler<Net>& routes,
                             BasicRouteReportLog<Net>& log,
                             std::vector<netlink::BasicRoute<Net>> desired, const Net& network,
                             bool armed, const std::set<NodeId>& kept) {
    // Until armed, our stale routes already in the kernel are kept as they are, but for those
    // to members we know have left or died.
    auto res = routes.reconcile(desired, network, armed,
                                armed ? std::vector<Net>{} : departed_subnets<Net>(*node_, kept));
    route_counters_.installed += static_cast<std::uint64_t>(res.added + res.replaced);
    route_counters_.withdrawn += static_cast<std::uint64_t>(res.deleted);
    route_counters_.reconcile_errors += static_cast<std::uint64_t>(res.errors);
    for (const auto& msg : res.messages) log_(res.errors ? LogLevel::Warn : LogLevel::Info, msg);
    auto outcome = log.record(std::move(res.reports));
    route_counters_.restored += outcome.restored;
    route_counters_.refused += outcome.refused;
    for (const auto& line : outcome.lines) log_(line);
}

void Agent::follow_address6() {
    if (!routes6_ || !cfg_.advertise6_follows_iface) return;
    auto now_addr = netlink::global_ipv6(cfg_.iface);
    if (now_addr == address6_) return;
    auto shown = [](const std::optional<Ipv6Addr>& a) {
        return a ? ipv6_to_string(*a) : std::string("none");
    };
    log_(LogLevel::Info, "the global IPv6 address of " + cfg_.iface + " changed from " +
                             shown(address6_) + " to " + shown(now_addr) + "; announcing it");
    address6_ = now_addr;
    node_->set_address6(monotonic_now(), address6_);
}

void Agent::ensure_masquerade() {
    if (!masq_ || phase_ == Phase::Stopped) return;
    // The VXLAN filter needs the members: until the core exists, the table the last run left
    // stays as it is (no moment without its rules).
    if (cfg_.vxlan && !node_) return;
    std::string body = cfg_.ip_masq ? masquerade_rules(cfg_.network) : "";
    std::size_t allowed = 0;
    if (cfg_.vxlan) {
        // Every member's address but ours and the departed: a dead member's host may still
        // send (its route may be kept), and it was one of us.
        std::vector<std::uint32_t> members;
        for (const auto& [id, m] : node_->node().members().all())
            if (id != node_->node().id() && m.state != MemberState::Left)
                members.push_back(m.info.addr.ip);
        allowed = members.size();
        body += vxlan_filter_rules(cfg_.vxlan_port, std::move(members));
    }
    auto done = masq_->ensure(body);
    if (!done) {
        if (done.error() != masq_error_)
            log_(LogLevel::Error,
                 done.error() +
                     (cfg_.ip_masq ? "; pods' traffic to outside the pod network is "
                                     "not masqueraded"
                                   : "; VXLAN is not filtered") +
                     " (tried again every second)");
        masq_error_ = done.error();
        return;
    }
    masq_error_.clear();
    const std::string table = std::string("nftables table ") + kNftFamily + " " + kNftTable;
    if (*done == netlink::NftTable::Outcome::Written && !masq_written_) {
        masq_written_ = true;
        log_(LogLevel::Info,
             (cfg_.ip_masq ? "masquerading pods' traffic to outside " +
                                 cfg_.network.network().to_string() + (cfg_.vxlan ? "; " : "")
                           : std::string()) +
                 (cfg_.vxlan ? "accepting VXLAN (UDP " + std::to_string(cfg_.vxlan_port) +
                                   ") only from members' addresses"
                             : std::string()) +
                 " (" + table + ")");
    } else if (*done == netlink::NftTable::Outcome::Written) {
        log_(LogLevel::Debug, "VXLAN accepted from " + std::to_string(allowed) +
                                  " member addresses (" + table + ")");
    } else if (*done == netlink::NftTable::Outcome::Restored)
        log_(LogLevel::Warn, table + " was deleted or changed by someone else; put back");
}

void Agent::remove_masquerade() {
    if (!masq_) return;
    const std::string table = std::string("nftables table ") + kNftFamily + " " + kNftTable;
    if (auto removed = masq_->remove(); !removed)
        log_(LogLevel::Warn, "cannot remove " + table + ": " + removed.error());
    else
        log_(LogLevel::Info, "removed " + table + " (left the cluster)");
    masq_.reset();
}

void Agent::ensure_forwarding() {
    if (phase_ == Phase::Stopped) return;
    std::string blocked;
    for (auto& family : forwarding_) {
        for (const auto& line : family.ensure(cfg_.forward_rules)) log_(line);
        if (!family.blocked().empty()) blocked += (blocked.empty() ? "" : "; ") + family.blocked();
    }
    forwarding_blocked_ = std::move(blocked);
}

void Agent::remove_forwarding() {
    for (auto& family : forwarding_)
        for (const auto& line : family.remove()) log_(line);
}

void Agent::start_host_check() {
    if (!host_check_.enabled()) return;
    auto opened = IcmpEcho::open();
    if (!opened) {
        log_(LogLevel::Warn, "host check off: " + opened.error() +
                                 "; a dead member's route goes when it is declared dead, "
                                 "whether or not its host answers (route-hold)");
        return;
    }
    icmp_.emplace(std::move(*opened));
    log_(LogLevel::Info, std::string("host check on: a dead member's route stays while its host "
                                     "answers ICMP echoes (") +
                             (icmp_->raw() ? "raw socket" : "ping socket") + ", route-hold " +
                             std::to_string(to_seconds(cfg_.route_hold)) + " s)");
    uv_timer_init(&loop_, &host_timer_);
    host_timer_.data = this;
    uv_poll_init(&loop_, &icmp_poll_, icmp_->fd());
    icmp_poll_.data = this;
    uv_poll_start(&icmp_poll_, UV_READABLE, [](uv_poll_t* p, int, int) {
        auto* self = static_cast<Agent*>(p->data);
        if (self->phase_ == Phase::Stopped) return;
        self->read_echo_replies();
        self->drive_host_check(true);
    });
}

void Agent::read_echo_replies() {
    while (auto r = icmp_->receive())
        host_check_.on_reply(monotonic_now(), r->from, r->seq, r->token);
}

void Agent::drive_host_check(bool reconcile) {
    while (auto e = host_check_.poll_echo()) icmp_->send(e->to, e->seq, e->token);
    while (auto l = host_check_.poll_log()) log_(*l);
    if (reconcile && host_check_.take_changed()) {
        apply_routes();  // drives the check again
        return;
    }
    if (auto when = host_check_.poll_timeout())
        start_timer_at(&host_timer_, *when, [](uv_timer_t* t) {
            auto* self = static_cast<Agent*>(t->data);
            if (self->phase_ == Phase::Stopped) return;
            // Replies that came in time count, even when this timer runs before the poll.
            self->read_echo_replies();
            self->host_check_.handle_timeout(monotonic_now());
            self->drive_host_check(true);
        });
}

std::vector<std::pair<std::string, std::string>> Agent::answered_routes() const {
    std::vector<std::pair<std::string, std::string>> kept;
    for (const auto& id : host_check_.kept(true)) {
        const Member* m = node_->node().members().find(id);
        auto claim = node_->claims().claim_of(id);
        if (!m || !claim) continue;
        kept.emplace_back(m->info.name, cfg_.network.subnet(claim->slot).to_string());
        if (auto sub6 = cfg_.network.subnet6(claim->slot); sub6 && routes6_)
            kept.emplace_back(m->info.name, sub6->to_string());
    }
    return kept;
}

// The carrier of iface. Without it nothing we hear or miss tells us about the others: the core
// accuses nobody (Node::set_link_up, which logs that) and routes wait.
void Agent::follow_carrier() {
    if (!node_ || phase_ == Phase::Stopped) return;
    bool up = netlink::interface_has_carrier(cfg_.iface).value_or(false);
    if (up == carrier_) return;
    carrier_ = up;
    host_check_.set_link_up(up);
    if (up)
        log_(LogLevel::Info, "carrier back on " + cfg_.iface + "; reconciling routes");
    else
        log_(LogLevel::Warn, "no carrier on " + cfg_.iface + ": routes wait for it");
    node_->set_link_up(monotonic_now(), up);
    if (up) apply_routes();
}

void Agent::on_subnet_event(const SubnetEvent& e) {
    if (e.previous) {
        std::string winner = "an older claim";
        if (e.lost_to) {
            const Member* m = node_->node().members().find(*e.lost_to);
            winner = m ? m->info.name + " (" + e.lost_to->short_hex() + ", " +
                             m->info.addr.to_string() + ")"
                       : e.lost_to->short_hex();
        }
        lost_ = LostSubnet{cfg_.network.subnet(*e.previous).to_string(), winner, monotonic_now()};
    }
    std::vector<LogLine> lines;
    if (e.slot) {
        files_mtu_ = pod_mtu();
        lines = files_.write(cfg_.network, *e.slot, files_mtu_);
    } else {
        lines =
            files_.withdraw(lost_ && e.previous ? "lost subnet " + lost_->subnet + " to " +
                                                      lost_->winner + " and no subnet is free"
                                                : "no free subnet in " + cfg_.network.describe());
    }
    for (const auto& l : lines) log_(l);
    if (e.previous)
        log_(LogLevel::Error,
             "lost subnet " + lost_->subnet + " to " + lost_->winner + " (an older claim); " +
                 (e.slot ? "now serving " + cfg_.network.subnet(*e.slot).to_string() + " in "
                         : "removed ") +
                 files_.describe() + ". Pods holding addresses in " + lost_->subnet +
                 " are routed to the winner by every other host: recreate them "
                 "(docs/OWNERSHIP.md, 'Losing a subnet')");
}

void Agent::save_state(bool membership_changed) {
    SavedState now{node_->persisted(), saved_.peers};
    if (membership_changed) {
        now.peers.clear();
        // Distinct addresses: identities are cheap for a key holder, addresses on the segment
        // are not (16 identities at one address once filled the whole list).
        for (const auto& [id, m] : node_->node().members().all()) {
            if (now.peers.size() == 16) break;
            if (id == node_->node().id() || !is_live(m.state)) continue;
            if (std::find(now.peers.begin(), now.peers.end(), m.info.addr) == now.peers.end())
                now.peers.push_back(m.info.addr);
        }
    }
    // Tombstones and revocations change rarely and may be many: compared by their change count
    // (revocations only grow), copied only to be written.
    const Tombstones& tombs = node_->node().tombstones();
    const std::size_t revocations = node_->node().revocation_count();
    if (now == saved_ && tombs.changes() == saved_tombstone_changes_ &&
        revocations == saved_revocations_)
        return;
    now.node.tombstones = tombs.list();
    now.node.revocations = node_->revocations();
    if (auto saved = shoal::agent::save_state(cfg_.state_dir, now); !saved)
        log_(LogLevel::Error, saved.error());
    now.node.tombstones.clear();
    now.node.revocations.clear();
    saved_ = now;
    saved_tombstone_changes_ = tombs.changes();
    saved_revocations_ = revocations;
}

void Agent::on_kernel_event() {
    if (!kernel_.drain() || phase_ == Phase::Stopped) return;
    follow_carrier();
    if (cfg_.advertise_follows_iface) {
        auto now_addr = netlink::primary_ipv4(cfg_.iface);
        if (now_addr && now_addr->first != address_) {
            log_(LogLevel::Info, "the address of " + cfg_.iface + " changed from " +
                                     ipv4_to_string(address_) + " to " +
                                     ipv4_to_string(now_addr->first) + "; announcing it");
            address_ = now_addr->first;
            node_->set_address(monotonic_now(), Address{address_, cfg_.bind.port});
        }
    }
    follow_address6();
    // iface's MTU changed: pods made from now on get the new one.
    if (auto slot = node_->slot(); slot && files_.written() && pod_mtu() != files_mtu_) {
        log_(LogLevel::Info, "the MTU of " + cfg_.iface + " changed: pods get " +
                                 std::to_string(pod_mtu()) + " (was " + std::to_string(files_mtu_) +
                                 ")");
        files_mtu_ = pod_mtu();
        for (const auto& l : files_.write(cfg_.network, *slot, files_mtu_)) log_(l);
    }
    apply_routes();
    pump();
}

void Agent::apply_revocations(const std::vector<Revocation>& revs, const std::string& when) {
    std::size_t added = 0;
    for (const auto& r : revs)
        if (node_->add_revocation(monotonic_now(), r)) ++added;
    if (added > 0)
        log_(LogLevel::Info, when + "applied " + std::to_string(added) + " new revocations of " +
                                 std::to_string(revs.size()) + " in " + cfg_.revocations_file +
                                 "; gossiping them");
    pump();
}

void Agent::reload() {
    notify_.reloading();
    std::vector<int> lines;
    auto ring = read_keyring(cfg_.cluster_key_file, &lines);
    auto secret = check_keyring_permissions(cfg_.cluster_key_file);
    if (!ring) {
        log_(LogLevel::Error, "SIGHUP: keyring not reloaded: " + ring.error());
    } else if (!secret) {
        // The keys in it may already be known to others: the running ones stay.
        log_(LogLevel::Error, "SIGHUP: keyring not reloaded: " + secret.error());
    } else {
        std::string fps;
        for (const auto& k : ring->keys())
            fps += (fps.empty() ? "" : ", ") + Keyring::fingerprint(k);
        log_(LogLevel::Info, "SIGHUP: reloaded the keyring (" + std::to_string(ring->size()) +
                                 " keys: " + fps + "; the first sends)");
        node_->set_keyring(std::move(*ring));
        key_lines_ = std::move(lines);
    }
    if (!cfg_.revocations_file.empty()) {
        auto revs = read_revocations(cfg_.revocations_file);
        if (revs)
            apply_revocations(*revs, "SIGHUP: ");
        else
            log_(LogLevel::Error, "SIGHUP: revocations not read: " + revs.error());
    }
    if (!cfg_.config_file.empty()) {
        auto level = read_log_level(cfg_.config_file);
        if (!level) {
            log_(LogLevel::Error, "SIGHUP: log level not reloaded: " + level.error());
        } else if (*level) {
            log_.set_threshold(**level);
            log_.notice(std::string("SIGHUP: log level now ") + to_string(**level));
        }
    }
    publish();
    notify_.reloaded();
}

void Agent::on_signal(int signum) {
    if (signum == SIGHUP) {
        reload();
        return;
    }
    begin_stopping();
    if (signum == SIGINT || (signum == SIGTERM && cfg_.leave_on_terminate)) {
        log_(LogLevel::Info, "leaving the cluster");
        node_->leave(monotonic_now());
        pump();
        return;
    }
    // SIGTERM: a planned restart. Routes stay as they are here, and the peers, told (signed)
    // that we will be back within restart-hold, keep theirs too.
    log_(LogLevel::Info, "SIGTERM: stopping for a restart; peers hold our routes for " +
                             std::to_string(to_seconds(cfg_.restart_hold)) + " s");
    node_->prepare_restart(monotonic_now(), cfg_.restart_hold);
    pump();
    shutdown(0);
}

Control::Reply Agent::handle_command(const std::string& line) {
    auto sp = line.find(' ');
    std::string cmd = line.substr(0, sp), arg = sp == std::string::npos ? "" : line.substr(sp + 1);
    bool json = arg == "json";
    if (cmd == "members")
        return {true, render_members(member_rows(*node_, route_log_.reports(),
                                                 host_check_.kept(true), route_log6_.reports()),
                                     json)};
    if (cmd == "routes") {
        std::set<std::string> kept;
        for (const auto& [name, subnet] : answered_routes()) kept.insert(subnet);
        std::map<int, std::string> devices;
        if (vxlan_index_) devices[*vxlan_index_] = cfg_.vxlan_device;
        auto rows = route_rows(route_log_.reports(), cfg_.iface, kept, devices);
        auto rows6 = route_rows(route_log6_.reports(), cfg_.iface, kept, devices);
        rows.insert(rows.end(), rows6.begin(), rows6.end());
        return {true, render_routes(rows, json)};
    }
    if (cmd == "status") {
        StatusInput in{*node_,
                       cfg_.name,
                       SHOAL_VERSION_STRING,
                       to_string(cfg_.profile),
                       static_cast<std::int64_t>(to_seconds(monotonic_now() - started_)),
                       address_,
                       route_log_.reports(),
                       std::nullopt};
        in.routes6 = &route_log6_.reports();
        in.addr6 = address6_;
        for (const auto& family : forwarding_)
            in.forwarding +=
                (in.forwarding.empty() ? "" : "; ") + family.describe(cfg_.forward_rules);
        if (lost_)
            in.lost = StatusInput::Lost{
                lost_->subnet, lost_->winner,
                static_cast<std::int64_t>(to_seconds(monotonic_now() - lost_->when))};
        Record r = status_record(in);
        return {true, json ? render_json(r) + "\n" : render_lines(r)};
    }
    if (cmd == "keys")
        return {true,
                render_keys(keys_record(node_->node().keyring(), cfg_.cluster_key_file, key_lines_),
                            json)};
    if (cmd == "leave") {
        log_(LogLevel::Info, "leave requested over the control socket");
        begin_stopping();
        node_->leave(monotonic_now());
        pump();
        return {true, "leaving\n"};
    }
    if (cmd == "force-leave") {
        // "MEMBER" or "MEMBER shoal-force-leave ..." (the CA's order, under admission).
        std::string who = arg.substr(0, arg.find(' '));
        std::optional<ForceLeave> order;
        if (who.size() < arg.size()) {
            auto parsed = parse_force_leave(std::string_view(arg).substr(who.size() + 1));
            if (!parsed) return {false, "--ca-signed: " + parsed.error() + "\n"};
            order = *parsed;
        }
        auto forced = node_->force_leave(monotonic_now(), who, order);
        pump();
        if (!forced) return {false, forced.error() + "\n"};
        return {true, "forced out " + who + "\n"};
    }
    return {false, "unknown command '" + cmd + "'\n"};
}

}  // namespace shoal::agent
