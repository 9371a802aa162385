// `shoal agent`: the libuv loop that wires the sans-IO core to the world. Datagrams and timers go
// into the core; what comes out goes to the socket, the route reconciler, the subnet files, the
// state file, the log, systemd and the HTTP snapshot. Policy lives elsewhere (route_policy,
// readiness, control_replies, subnet_files), as pure functions where it can.
#include <sys/socket.h>

#include <algorithm>
#include <csignal>
#include <ctime>
#include <fstream>
#include <map>

#include "agent/agent_loop.hpp"
#include "agent/masquerade.hpp"
#include "common/sockaddr.hpp"
#include "netlink/interfaces.hpp"

namespace shoal::agent {

Time monotonic_now() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return Time{} + std::chrono::seconds(ts.tv_sec) +
           std::chrono::duration_cast<Duration>(std::chrono::nanoseconds(ts.tv_nsec));
}

namespace {

bool has_net_admin() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("CapEff:", 0) == 0) {
            unsigned long long caps = std::stoull(line.substr(7), nullptr, 16);
            return caps & (1ull << 12);  // CAP_NET_ADMIN
        }
    }
    return false;
}

}  // namespace

std::optional<std::string> Agent::own_subnet() const {
    auto slot = node_->slot();
    if (!slot) return std::nullopt;
    return cfg_.network.subnet(*slot).to_string();
}

std::string Agent::not_ready() const {
    ReadinessInput in{
        phase_,           node_->node().synced(), node_->slot().has_value(), files_.written(),
        cfg_.subnet_file, std::nullopt,           forwarding_blocked_};
    if (lost_) in.lost = lost_->subnet + " to " + lost_->winner;
    return agent::not_ready(in);
}

std::string Agent::status_line() const {
    auto sub = own_subnet();
    return std::to_string(node_->node().members().count(MemberState::Alive)) +
           " members alive, subnet " + sub.value_or("none yet");
}

std::string Agent::metrics_text() const {
    std::size_t uncertified =
        cfg_.admission == AdmissionMode::Off ? 0 : node_->uncertified_members();
    HostCheckFigures host{answered_routes(), host_check_.echoes_sent(), host_check_.replies()};
    MetricsInput in{node_->node(),
                    own_subnet(),
                    route_counters_,
                    SHOAL_VERSION_STRING,
                    to_string(cfg_.profile),
                    to_seconds(monotonic_now() - started_),
                    uncertified,
                    std::move(host)};
    if (auto slot = node_->slot(); slot && routes6_)
        in.subnet6 = cfg_.network.subnet6(*slot)->to_string();
    auto count = [&](const char* family, const auto& reports) {
        std::map<std::string, std::size_t> by_state;
        for (const auto& r : reports) ++by_state[netlink::to_string(r.state)];
        for (const auto& [state, n] : by_state) in.route_states.push_back({family, state, n});
    };
    count("ipv4", route_log_.reports());
    if (routes6_) count("ipv6", route_log6_.reports());
    return render_metrics(in);
}

void Agent::publish() {
    if (http_) {
        http_->heartbeat();
        http_->publish(metrics_text(), not_ready());
    }
    notify_.status(status_line());
}

void Agent::begin_stopping() {
    if (phase_ == Phase::Leaving || phase_ == Phase::Stopped) return;
    phase_ = Phase::Leaving;
    notify_.stopping();
    publish();
}

void Agent::shutdown(int code) {
    if (phase_ == Phase::Stopped) return;
    // What the core decided last (a planned restart's incarnation and hold) reaches the disk.
    save_state(std::exchange(membership_changed_, false));
    outputs_due_ = false;
    begin_stopping();
    phase_ = Phase::Stopped;
    exit_code_ = code;
    uv_stop(&loop_);
}

int Agent::prepare() {
    if (!has_net_admin()) {
        log_(LogLevel::Error,
             "shoal agent needs CAP_NET_ADMIN to manage routes; run it as root or grant the "
             "capability");
        return 1;
    }
    for (auto opened : {routes_.open(), routes6_ ? routes6_->open() : Status::success()}) {
        if (!opened) {
            log_(LogLevel::Error, opened.error());
            return 1;
        }
    }
    if (cfg_.ip_masq || cfg_.vxlan) {
        masq_.emplace(kNftFamily, kNftTable);
        ensure_masquerade();
    }
    ensure_forwarding();
    auto loaded = load_or_create_identity(cfg_.state_dir);
    if (!loaded) {
        log_(LogLevel::Error, loaded.error());
        return 1;
    }
    identity_ = std::move(*loaded);
    if (identity_->created)
        log_(LogLevel::Info, "created a new node identity " + identity_->identity.id().hex() +
                                 " in " + cfg_.state_dir);
    if (cfg_.cert && cfg_.cert->node != identity_->identity.public_key()) {
        log_(LogLevel::Error, "node-cert: " + cfg_.node_cert +
                                  " certifies another node key than this node's (" +
                                  cfg_.state_dir +
                                  "/node.key); issue one for the key `shoal identity show` "
                                  "prints");
        return 2;
    }
    if (cfg_.admission == AdmissionMode::Permissive && !cfg_.cert)
        log_(LogLevel::Warn, "admission = permissive and no node-cert at " + cfg_.node_cert +
                                 ": this node is admitted only while admission is not enforced");
    auto state = load_state(cfg_.state_dir, cfg_.network);
    if (!state) {
        log_(LogLevel::Error, state.error());
        return 1;
    }
    saved_ = *state;
    key_lines_ = cfg_.keyring_lines;  // its permissions were checked with the other settings
    if (cfg_.metrics) {
        auto server = HttpServer::start(*cfg_.metrics);
        if (!server) {
            log_(LogLevel::Error, server.error());
            return 1;
        }
        http_ = std::move(*server);
    }
    if (auto changed = netlink::ensure_ipv4_forwarding(); !changed)
        log_(LogLevel::Warn, changed.error());
    else if (*changed)
        log_(LogLevel::Info, "turned on IPv4 forwarding");
    if (routes6_) {
        if (auto changed = netlink::ensure_ipv6_forwarding(cfg_.iface); !changed) {
            log_(LogLevel::Warn, changed.error());
        } else {
            if (changed->accept_ra)
                log_(LogLevel::Info, "set accept_ra = 2 on " + cfg_.iface +
                                         ": a forwarding host keeps its router-advertised routes");
            if (changed->forwarding) log_(LogLevel::Info, "turned on IPv6 forwarding");
        }
        if (!cfg_.advertise6)
            log_(LogLevel::Warn, cfg_.iface +
                                     " has no global IPv6 address: announcing none, so no host "
                                     "routes our IPv6 subnet to us until it has one (or set "
                                     "advertise6)");
    }
    return 0;
}

int Agent::run() {
    // A client that gives up before its reply (a health check with a deadline) closes its end;
    // writing to it must be an EPIPE for that connection, not the end of the agent.
    std::signal(SIGPIPE, SIG_IGN);
    if (int rc = prepare(); rc != 0) return rc;

    uv_loop_init(&loop_);
    loop_.data = this;
    started_ = monotonic_now();
    arming_.emplace(started_);

    sockaddr_in addr = to_sockaddr(cfg_.bind);
    uv_udp_init(&loop_, &udp_);
    udp_.data = this;
    if (int rc = uv_udp_bind(&udp_, reinterpret_cast<const sockaddr*>(&addr), 0); rc < 0) {
        log_(LogLevel::Error, "cannot bind " + cfg_.bind.to_string() + ": " + uv_strerror(rc));
        uv_close(reinterpret_cast<uv_handle_t*>(&udp_), nullptr);
        uv_run(&loop_, UV_RUN_DEFAULT);
        uv_loop_close(&loop_);
        return 1;
    }

    std::vector<Address> seeds = cfg_.seeds;
    for (const auto& p : saved_.peers)
        if (std::find(seeds.begin(), seeds.end(), p) == seeds.end()) seeds.push_back(p);
    Address self{cfg_.advertise, cfg_.bind.port};
    NodeConfig nc;
    nc.name = cfg_.name;
    nc.addr = self;
    nc.seeds = seeds;
    nc.timing = cfg_.timing;
    nc.accept_protocol_1 = cfg_.accept_protocol_1;
    const Identity& id = identity_->identity;
    AdmissionPolicy admission{
        cfg_.admission, cfg_.cas, {}, static_cast<std::uint64_t>(::time(nullptr))};
    node_ = std::make_unique<SubnetNode>(
        SubnetNodeConfig{nc, cfg_.network, cfg_.grace, SHOAL_VERSION_STRING, admission,
                         cfg_.certificate, address6_},
        id, cfg_.keyring, Rng::from_os(), monotonic_now(), saved_.node);
    log_(LogLevel::Info, "member " + cfg_.name + " (" + id.id().short_hex() + ", " +
                             self.to_string() + ") starting on " + cfg_.iface + ", network " +
                             cfg_.network.describe());
    address_ = cfg_.advertise;
    start_loop_handles();

    control_ = std::make_unique<Control>(
        &loop_, [this](const std::string& line) { return handle_command(line); });
    if (auto listening = control_->listen(cfg_.socket); !listening) {
        log_(LogLevel::Error, listening.error());
        shutdown(1);
    }
    apply_revocations(cfg_.revocations, "");
    pump();
    if (phase_ == Phase::Starting) {
        // Serving: sockets bound and our routes already in the kernel adopted (kept, none
        // removed). Peers are not waited for; they may all be down.
        phase_ = Phase::Serving;
        follow_carrier();
        apply_routes();
        uv_timer_init(&loop_, &ops_);
        ops_.data = this;
        uv_timer_start(
            &ops_,
            [](uv_timer_t* t) {
                auto* self = static_cast<Agent*>(t->data);
                if (self->phase_ == Phase::Serving) {
                    self->follow_carrier();  // also without a kernel event (none was readable)
                    // Certificate expiry follows the wall clock, which NTP may set only now.
                    self->node_->set_wall_clock(monotonic_now(),
                                                static_cast<std::uint64_t>(::time(nullptr)));
                    self->pump();
                }
                self->publish();
            },
            1000, 1000);
        publish();
        notify_.ready(status_line());
        if (cfg_.metrics)
            log_(LogLevel::Info,
                 "serving /metrics, /healthz, /readyz on http://" + cfg_.metrics->to_string());
        if (auto every = Notifier::watchdog_interval()) {
            uv_timer_init(&loop_, &watchdog_);
            watchdog_.data = this;
            auto ms = static_cast<std::uint64_t>(every->count());
            uv_timer_start(
                &watchdog_, [](uv_timer_t* t) { static_cast<Agent*>(t->data)->notify_.watchdog(); },
                ms, ms);
        }
    }
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_walk(
        &loop_,
        [](uv_handle_t* h, void*) {
            if (!uv_is_closing(h)) uv_close(h, nullptr);
        },
        nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
    return exit_code_;
}

// The socket's receive callback, the core's wake-up timer, the once-a-second route repair, the
// signals and the kernel's route/link/address events.
void Agent::start_loop_handles() {
    uv_udp_recv_start(
        &udp_,
        [](uv_handle_t*, size_t, uv_buf_t* buf) {
            static char storage[kMaxDatagramIn + 1];
            buf->base = storage;
            buf->len = sizeof(storage);
        },
        [](uv_udp_t* h, ssize_t n, const uv_buf_t* buf, const sockaddr* from, unsigned) {
            auto* self = static_cast<Agent*>(h->data);
            if (n <= 0 || !from || from->sa_family != AF_INET) return;
            auto* in = reinterpret_cast<const sockaddr_in*>(from);
            Address a{ntohl(in->sin_addr.s_addr), ntohs(in->sin_port)};
            self->node_->handle_datagram(
                monotonic_now(), a,
                {reinterpret_cast<const std::uint8_t*>(buf->base), static_cast<std::size_t>(n)});
            self->pump();
        });

    uv_check_init(&loop_, &flush_);
    flush_.data = this;
    uv_check_start(&flush_, [](uv_check_t* c) { static_cast<Agent*>(c->data)->flush_outputs(); });

    uv_timer_init(&loop_, &wake_);
    wake_.data = this;
    uv_timer_init(&loop_, &repair_);
    repair_.data = this;
    // Repairs routes and the masquerade table deleted by someone else and notices interface
    // changes within a second.
    uv_timer_start(
        &repair_,
        [](uv_timer_t* t) {
            auto* agent = static_cast<Agent*>(t->data);
            agent->apply_routes();
            agent->ensure_masquerade();
            agent->ensure_forwarding();
        },
        1000, 1000);

    for (auto [sig, num] : {std::pair{&sigint_, SIGINT}, std::pair{&sigterm_, SIGTERM},
                            std::pair{&sighup_, SIGHUP}}) {
        uv_signal_init(&loop_, sig);
        sig->data = this;
        uv_signal_start(
            sig,
            [](uv_signal_t* s, int signum) { static_cast<Agent*>(s->data)->on_signal(signum); },
            num);
    }

    start_host_check();

    // Route, link and address changes: repair at once, and follow a new address on iface.
    if (auto opened = kernel_.open(routes6_.has_value()); !opened) {
        log_(LogLevel::Warn, opened.error() + "; relying on the once-a-second check");
    } else {
        uv_poll_init(&loop_, &kernel_poll_, kernel_.fd());
        kernel_poll_.data = this;
        uv_poll_start(&kernel_poll_, UV_READABLE, [](uv_poll_t* p, int, int) {
            static_cast<Agent*>(p->data)->on_kernel_event();
        });
    }
}

void Agent::flush_outputs() {
    if (!outputs_due_ || phase_ == Phase::Stopped) return;
    outputs_due_ = false;
    bool changed = std::exchange(membership_changed_, false);
    if (changed) apply_routes();
    // The VXLAN filter follows the members at once, not at the next second.
    if (changed && cfg_.vxlan) ensure_masquerade();
    save_state(changed);
    if (changed) publish();
}

// A peer answered our ping: tell the kernel its neighbour entry is good (a zero-length send with
// MSG_CONFIRM | MSG_PROBE sends nothing). UDP gives the kernel no such hint by itself, so without
// it every peer's entry would be re-resolved by ARP every 15-45 s, which at 32 hosts was a third
// of the agent's idle packets.
void Agent::confirm_neighbour(const Address& peer) {
    uv_os_fd_t fd;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(&udp_), &fd) != 0) return;
    sockaddr_in to = to_sockaddr(peer);
    constexpr int kMsgProbe = 0x10;  // the kernel's MSG_PROBE, which glibc does not define
    ::sendto(fd, nullptr, 0, MSG_CONFIRM | kMsgProbe, reinterpret_cast<const sockaddr*>(&to),
             sizeof(to));
}

void Agent::pump() {
    while (auto t = node_->poll_transmit()) {
        sockaddr_in to = to_sockaddr(t->to);
        uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(t->bytes.data()),
                                   static_cast<unsigned>(t->bytes.size()));
        // Datagrams are fire and forget: a full socket buffer is loss, which the protocol handles.
        uv_udp_try_send(&udp_, &buf, 1, reinterpret_cast<const sockaddr*>(&to));
    }
    while (auto a = node_->poll_reachable()) {
        confirm_neighbour(*a);
        // vxlan: an off-segment member's forwarding entry only points at an address that
        // answered us.
        if (cfg_.vxlan && answered_.insert(a->ip).second) membership_changed_ = true;
    }
    bool membership_changed = false;
    while (auto l = node_->poll_log()) log_(*l);
    while (auto e = node_->poll_event()) {
        membership_changed = true;
        if (e->kind == MemberEvent::Kind::LeaveComplete) {
            // Out of the cluster for good: our routes to its members go too.
            auto res = routes_.reconcile({}, std::nullopt);
            route_counters_.withdrawn += static_cast<std::uint64_t>(res.deleted);
            for (const auto& msg : res.messages) log_(LogLevel::Info, msg);
            if (routes6_) {
                auto res6 = routes6_->reconcile({}, std::nullopt);
                route_counters_.withdrawn += static_cast<std::uint64_t>(res6.deleted);
                for (const auto& msg : res6.messages) log_(LogLevel::Info, msg);
            }
            if (cfg_.vxlan && netlink::VxlanDevice::index(cfg_.vxlan_device)) {
                if (auto removed = vxlan_.remove(cfg_.vxlan_device); !removed)
                    log_(LogLevel::Warn, removed.error());
                else
                    log_(LogLevel::Info,
                         "removed VXLAN device " + cfg_.vxlan_device + " (left the cluster)");
            }
            remove_masquerade();
            remove_forwarding();
            shutdown(exit_code_);
        }
    }
    while (auto s = node_->poll_subnet_event()) {
        membership_changed = true;
        on_subnet_event(*s);
    }
    if (node_->node().cloned() && phase_ != Phase::Stopped) {
        // The core logged why. Routes, files and state stay as they are: the other copy may be
        // the one that serves the pods, and nothing here can tell which host should keep them.
        log_(LogLevel::Error,
             "stopping with exit status 3 (the packaged unit does not restart it); see "
             "docs/OPERATIONS.md, 'A cloned node key'");
        shutdown(3);
    }
    if (phase_ == Phase::Stopped) return;
    outputs_due_ = true;
    membership_changed_ = membership_changed_ || membership_changed;
    if (auto when = node_->poll_timeout())
        start_timer_at(&wake_, *when, [](uv_timer_t* t) {
            auto* self = static_cast<Agent*>(t->data);
            self->node_->handle_timeout(monotonic_now());
            self->pump();
        });
}

void start_timer_at(uv_timer_t* timer, Time when, uv_timer_cb fire) {
    auto delay =
        std::chrono::duration_cast<std::chrono::milliseconds>(when - monotonic_now()).count();
    // +1 ms: the delay is rounded down to whole milliseconds, and a timer that fires early
    // finds nothing due.
    uv_timer_start(timer, fire, static_cast<std::uint64_t>(std::max<long long>(delay, 0)) + 1, 0);
}

int run_agent(const AgentConfig& cfg) {
    return Agent(cfg).run();
}

}  // namespace shoal::agent
