#include "agent/agent.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <set>

#include "agent/cni_conf.hpp"
#include "agent/control.hpp"
#include "agent/http_server.hpp"
#include "agent/json.hpp"
#include "agent/metrics.hpp"
#include "agent/notify.hpp"
#include "agent/state_dir.hpp"
#include "agent/subnet_env.hpp"
#include "netlink/interfaces.hpp"
#include "netlink/kernel_events.hpp"
#include "netlink/route_reconciler.hpp"

namespace shoal::agent {

namespace {

Time monotonic_now() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return Time{} + std::chrono::seconds(ts.tv_sec) +
           std::chrono::duration_cast<Duration>(std::chrono::nanoseconds(ts.tv_nsec));
}

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

const char* level_name(LogLine::Level l) {
    switch (l) {
        case LogLine::Level::Debug: return "debug";
        case LogLine::Level::Info: return "info";
        case LogLine::Level::Warn: return "warn";
        case LogLine::Level::Error: return "error";
    }
    return "?";
}

class Agent {
  public:
    explicit Agent(const AgentConfig& cfg)
        : cfg_(cfg), routes_(cfg.network.network(), cfg.route_table), log_level_(cfg.log_level) {}
    int run();

  private:
    void log(LogLine::Level level, const std::string& text);
    void pump();
    void confirm_neighbour(const Address& peer);
    void apply_routes();
    void write_subnet_env(std::uint32_t slot);
    // This node owns no subnet (lost, or none free): no file may offer pods an address.
    void withdraw_subnet_files(const std::string& why);
    void on_subnet_event(const SubnetEvent& e);
    // Writes the state file when the incarnation, the claim or (after a membership change) the
    // remembered peers differ from what is on disk.
    void save_state(bool membership_changed);
    void on_signal(int signum);
    void on_kernel_event();
    void shutdown(int code);
    Control::Reply handle_command(const std::string& line);
    Control::Reply status_command(bool json);
    Control::Reply keys_command(bool json);
    std::optional<std::string> own_subnet() const;
    // Once a second and after membership changes: the HTTP snapshot and the systemd status.
    void publish();
    std::string not_ready() const;
    std::string status_line() const;
    std::string metrics_text() const;
    void begin_stopping();

    const AgentConfig& cfg_;
    uv_loop_t loop_{};
    uv_udp_t udp_{};
    uv_timer_t wake_{};
    uv_timer_t repair_{};
    uv_signal_t sigint_{}, sigterm_{}, sighup_{};
    uv_poll_t kernel_poll_{};
    uv_timer_t ops_{};
    uv_timer_t watchdog_{};
    Notifier notify_;
    std::unique_ptr<HttpServer> http_;
    RouteCounters route_counters_;
    std::vector<int> key_lines_;
    bool subnet_env_written_ = false;
    netlink::KernelEvents kernel_;
    std::uint32_t address_ = 0;
    std::unique_ptr<Control> control_;
    std::unique_ptr<SubnetNode> node_;
    netlink::RouteReconciler routes_;
    std::vector<netlink::RouteReport> route_reports_;
    std::set<std::string>
        reported_;  // routes whose conflict, unroutable peer or refusal was logged
    // The last subnet this node lost to an older claim, for `status` and /readyz.
    struct LostSubnet {
        std::string subnet;
        std::string winner;  // name (id, address)
        Time when;
    };
    std::optional<LostSubnet> lost_;
    SavedState saved_;
    Time started_{};
    bool routes_armed_ = false;
    LogLevel log_level_;
    int exit_code_ = 0;
    bool stopping_ = false;
};

std::optional<std::string> Agent::own_subnet() const {
    auto slot = node_->slot();
    if (!slot) return std::nullopt;
    return cfg_.network.subnet(*slot).to_string();
}

std::string Agent::not_ready() const {
    if (stopping_) return "stopping";
    if (!node_->node().synced()) return "first full state exchange not done yet";
    if (!node_->slot() && lost_)
        return "lost subnet " + lost_->subnet + " to " + lost_->winner + "; no free subnet";
    if (!node_->slot()) return "no subnet owned yet";
    if (!subnet_env_written_) return cfg_.subnet_file + " not written yet";
    return {};
}

std::string Agent::status_line() const {
    auto sub = own_subnet();
    return std::to_string(node_->node().members().count(MemberState::Alive)) +
           " members alive, subnet " + sub.value_or("none yet");
}

std::string Agent::metrics_text() const {
    return render_metrics({node_->node(), own_subnet(), route_counters_, SHOAL_VERSION_STRING,
                           to_string(cfg_.profile), to_seconds(monotonic_now() - started_)});
}

void Agent::publish() {
    if (http_) {
        http_->heartbeat();
        http_->publish(metrics_text(), not_ready());
    }
    notify_.status(status_line());
}

void Agent::begin_stopping() {
    notify_.stopping();
    if (http_) http_->publish(metrics_text(), "stopping");
}

void Agent::log(LogLine::Level level, const std::string& text) {
    static const LogLine::Level threshold[] = {LogLine::Level::Debug, LogLine::Level::Info,
                                               LogLine::Level::Warn, LogLine::Level::Error};
    if (level < threshold[static_cast<int>(log_level_)]) return;
    std::fprintf(stderr, "%s: %s\n", level_name(level), text.c_str());
}

int Agent::run() {
    // A client that gives up before its reply (a health check with a deadline) closes its end;
    // writing to it must be an EPIPE for that connection, not the end of the agent.
    std::signal(SIGPIPE, SIG_IGN);
    if (!has_net_admin()) {
        std::fprintf(stderr,
                     "error: shoal agent needs CAP_NET_ADMIN to manage routes; run it as root or "
                     "grant the capability\n");
        return 1;
    }
    if (auto err = routes_.open(); !err.empty()) {
        log(LogLine::Level::Error, err);
        return 1;
    }
    auto loaded = load_or_create_identity(cfg_.state_dir);
    if (auto* err = std::get_if<std::string>(&loaded)) {
        log(LogLine::Level::Error, *err);
        return 1;
    }
    auto& id = std::get<LoadedIdentity>(loaded);
    if (id.created)
        log(LogLine::Level::Info,
            "created a new node identity " + id.identity.id().hex() + " in " + cfg_.state_dir);
    auto state = load_state(cfg_.state_dir, cfg_.network);
    if (auto* err = std::get_if<std::string>(&state)) {
        log(LogLine::Level::Error, *err);
        return 1;
    }
    saved_ = std::get<SavedState>(state);
    key_lines_ = cfg_.keyring_lines;
    if (auto warning = keyring_permission_warning(cfg_.cluster_key_file))
        log(LogLine::Level::Warn, *warning);
    if (cfg_.metrics) {
        auto server = HttpServer::start(*cfg_.metrics);
        if (auto* err = std::get_if<std::string>(&server)) {
            log(LogLine::Level::Error, *err);
            return 1;
        }
        http_ = std::move(std::get<std::unique_ptr<HttpServer>>(server));
    }
    if (cfg_.network.network6())
        log(LogLine::Level::Warn,
            "ipv6-network is set, but shoal installs no IPv6 routes yet: subnet.env and the CNI "
            "conflist carry IPv4 only, so pods get no IPv6 address other hosts cannot reach");
    std::string ferr;
    if (auto changed = netlink::ensure_ipv4_forwarding(ferr); !changed)
        log(LogLine::Level::Warn, ferr);
    else if (*changed)
        log(LogLine::Level::Info, "turned on IPv4 forwarding");

    uv_loop_init(&loop_);
    loop_.data = this;
    started_ = monotonic_now();

    sockaddr_in addr{};
    uv_ip4_addr(ipv4_to_string(cfg_.bind.ip).c_str(), cfg_.bind.port, &addr);
    uv_udp_init(&loop_, &udp_);
    udp_.data = this;
    if (int rc = uv_udp_bind(&udp_, reinterpret_cast<const sockaddr*>(&addr), 0); rc < 0) {
        log(LogLine::Level::Error, "cannot bind " + cfg_.bind.to_string() + ": " + uv_strerror(rc));
        uv_close(reinterpret_cast<uv_handle_t*>(&udp_), nullptr);
        uv_run(&loop_, UV_RUN_DEFAULT);
        uv_loop_close(&loop_);
        return 1;
    }

    std::vector<Address> seeds = cfg_.seeds;
    for (const auto& p : saved_.peers)
        if (std::find(seeds.begin(), seeds.end(), p) == seeds.end()) seeds.push_back(p);
    Address self{cfg_.advertise, cfg_.bind.port};
    NodeConfig nc{NodeId{}, cfg_.name, self, seeds, {}, cfg_.timing};
    node_ = std::make_unique<SubnetNode>(
        SubnetNodeConfig{nc, cfg_.network, cfg_.grace, SHOAL_VERSION_STRING}, id.identity,
        cfg_.keyring, Rng::from_os(), monotonic_now(), saved_.node);
    log(LogLine::Level::Info, "member " + cfg_.name + " (" + id.identity.id().short_hex() + ", " +
                                  self.to_string() + ") starting on " + cfg_.iface + ", network " +
                                  cfg_.network.describe());

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

    uv_timer_init(&loop_, &wake_);
    wake_.data = this;
    uv_timer_init(&loop_, &repair_);
    repair_.data = this;
    // Repairs routes deleted by someone else and notices interface changes within a second.
    uv_timer_start(
        &repair_, [](uv_timer_t* t) { static_cast<Agent*>(t->data)->apply_routes(); }, 1000, 1000);

    for (auto [sig, num] : {std::pair{&sigint_, SIGINT}, std::pair{&sigterm_, SIGTERM},
                            std::pair{&sighup_, SIGHUP}}) {
        uv_signal_init(&loop_, sig);
        sig->data = this;
        uv_signal_start(
            sig,
            [](uv_signal_t* s, int signum) { static_cast<Agent*>(s->data)->on_signal(signum); },
            num);
    }

    // Route, link and address changes: repair at once, and follow a new address on iface.
    address_ = cfg_.advertise;
    if (auto err = kernel_.open(); !err.empty()) {
        log(LogLine::Level::Warn, err + "; relying on the once-a-second check");
    } else {
        uv_poll_init(&loop_, &kernel_poll_, kernel_.fd());
        kernel_poll_.data = this;
        uv_poll_start(&kernel_poll_, UV_READABLE, [](uv_poll_t* p, int, int) {
            static_cast<Agent*>(p->data)->on_kernel_event();
        });
    }

    control_ = std::make_unique<Control>(
        &loop_, [this](const std::string& line) { return handle_command(line); });
    if (auto err = control_->listen(cfg_.socket); !err.empty()) {
        log(LogLine::Level::Error, err);
        shutdown(1);
    }
    pump();
    if (!stopping_) {
        // Serving: sockets bound and our routes already in the kernel adopted (kept, none
        // removed). Peers are not waited for; they may all be down.
        apply_routes();
        uv_timer_init(&loop_, &ops_);
        ops_.data = this;
        uv_timer_start(
            &ops_, [](uv_timer_t* t) { static_cast<Agent*>(t->data)->publish(); }, 1000, 1000);
        publish();
        notify_.ready(status_line());
        if (cfg_.metrics)
            log(LogLine::Level::Info,
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

// A peer answered our ping: tell the kernel its neighbour entry is good (a zero-length send with
// MSG_CONFIRM | MSG_PROBE sends nothing). UDP gives the kernel no such hint by itself, so without
// it every peer's entry would be re-resolved by ARP every 15-45 s, which at 32 hosts was a third
// of the agent's idle packets.
void Agent::confirm_neighbour(const Address& peer) {
    uv_os_fd_t fd;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(&udp_), &fd) != 0) return;
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(peer.ip);
    to.sin_port = htons(peer.port);
    constexpr int kMsgProbe = 0x10;  // the kernel's MSG_PROBE, which glibc does not define
    ::sendto(fd, nullptr, 0, MSG_CONFIRM | kMsgProbe, reinterpret_cast<const sockaddr*>(&to),
             sizeof(to));
}

void Agent::pump() {
    while (auto t = node_->poll_transmit()) {
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_addr.s_addr = htonl(t->to.ip);
        to.sin_port = htons(t->to.port);
        uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(t->bytes.data()),
                                   static_cast<unsigned>(t->bytes.size()));
        // Datagrams are fire and forget: a full socket buffer is loss, which the protocol handles.
        uv_udp_try_send(&udp_, &buf, 1, reinterpret_cast<const sockaddr*>(&to));
    }
    while (auto a = node_->poll_reachable()) confirm_neighbour(*a);
    bool membership_changed = false;
    while (auto l = node_->poll_log()) log(l->level, l->text);
    while (auto e = node_->poll_event()) {
        membership_changed = true;
        if (e->kind == MemberEvent::Kind::LeaveComplete) {
            // Out of the cluster for good: our routes to its members go too.
            auto res = routes_.reconcile({}, std::nullopt);
            route_counters_.withdrawn += static_cast<std::uint64_t>(res.deleted);
            for (const auto& msg : res.messages) log(LogLine::Level::Info, msg);
            shutdown(exit_code_);
        }
    }
    while (auto s = node_->poll_subnet_event()) {
        membership_changed = true;
        on_subnet_event(*s);
    }
    if (membership_changed) apply_routes();
    save_state(membership_changed);
    if (membership_changed && !stopping_) publish();
    if (stopping_) return;
    if (auto when = node_->poll_timeout()) {
        auto delay =
            std::chrono::duration_cast<std::chrono::milliseconds>(*when - monotonic_now()).count();
        uv_timer_start(
            &wake_,
            [](uv_timer_t* t) {
                auto* self = static_cast<Agent*>(t->data);
                self->node_->handle_timeout(monotonic_now());
                self->pump();
            },
            static_cast<std::uint64_t>(std::max<long long>(delay, 0)) + 1, 0);
    }
}

void Agent::apply_routes() {
    if (!node_ || stopping_) return;
    Time now = monotonic_now();
    // Hitless restart: adopt the routes already there and remove none until this node has the
    // cluster's view (its first full state transfer, and 2 s to hear the first gossip) or 30 s
    // have passed. Missing routes are added at once.
    if (!routes_armed_ &&
        ((node_->node().synced() && now - started_ >= 2s) || now - started_ >= 30s))
        routes_armed_ = true;
    auto ifindex = netlink::interface_index(cfg_.iface);
    if (!ifindex) {
        log(LogLine::Level::Warn, "interface " + cfg_.iface + " is gone; routes wait for it");
        return;
    }
    std::vector<netlink::Route> desired;
    for (const auto& [slot, owner] : node_->claims().owners()) {
        if (owner == node_->node().id()) continue;
        const Member* m = node_->node().members().find(owner);
        if (!m || !holds_subnet(m->state)) continue;  // reserved for a dead node: no route
        desired.push_back(netlink::Route{cfg_.network.subnet(slot), m->info.addr.ip, *ifindex});
    }
    if (!routes_armed_) {
        for (const auto& own : routes_.own_routes()) {
            bool wanted = std::any_of(desired.begin(), desired.end(),
                                      [&](const netlink::Route& d) { return d.dst == own.dst; });
            if (!wanted) desired.push_back(own);
        }
    }
    auto res = routes_.reconcile(desired, cfg_.network.network());
    route_counters_.installed += static_cast<std::uint64_t>(res.added + res.replaced);
    route_counters_.withdrawn += static_cast<std::uint64_t>(res.deleted);
    route_counters_.reconcile_errors += static_cast<std::uint64_t>(res.errors);
    for (const auto& r : res.reports) {
        if (!r.changed) continue;
        // Installed by the last pass as it is wanted now: someone else removed or changed it.
        bool was_installed =
            std::any_of(route_reports_.begin(), route_reports_.end(), [&](const auto& old) {
                return old.state == netlink::RouteState::Installed && old.route == r.route;
            });
        route_counters_.restored += was_installed;
    }
    for (const auto& msg : res.messages)
        log(res.errors ? LogLine::Level::Warn : LogLine::Level::Info, msg);
    // A route that cannot be installed is logged once, not on every pass, until it changes.
    std::set<std::string> now_reported;
    for (const auto& r : res.reports) {
        if (r.state != netlink::RouteState::Conflict &&
            r.state != netlink::RouteState::NotRoutable && r.state != netlink::RouteState::Refused)
            continue;
        std::string key = r.route.dst.to_string() + " via " + ipv4_to_string(r.route.via);
        if (!reported_.count(key)) {
            log(r.state == netlink::RouteState::Refused ? LogLine::Level::Error
                                                        : LogLine::Level::Warn,
                "route " + key + " is " + netlink::to_string(r.state) + ": " + r.reason);
            route_counters_.refused += r.state == netlink::RouteState::Refused;
        }
        now_reported.insert(key);
    }
    reported_ = std::move(now_reported);
    route_reports_ = std::move(res.reports);
}

void Agent::write_subnet_env(std::uint32_t slot) {
    int mtu = netlink::interface_mtu(cfg_.iface).value_or(1500);
    auto write = [&](const std::string& path, const std::string& text) {
        auto dir = path.substr(0, path.find_last_of('/'));
        if (!dir.empty()) ::mkdir(dir.c_str(), 0755);
        if (auto err = write_file_atomically(path, text, 0644); !err.empty()) {
            log(LogLine::Level::Error, err);
            return false;
        }
        log(LogLine::Level::Info,
            "wrote " + path + " for subnet " + cfg_.network.subnet(slot).to_string());
        return true;
    };
    subnet_env_written_ = write(cfg_.subnet_file, render_subnet_env(cfg_.network, slot, mtu));
    if (!cfg_.cni_conf.empty()) write(cfg_.cni_conf, render_cni_conflist(cfg_.network, slot, mtu));
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
    if (e.slot) {
        write_subnet_env(*e.slot);
    } else {
        withdraw_subnet_files(lost_ && e.previous ? "lost subnet " + lost_->subnet + " to " +
                                                        lost_->winner + " and no subnet is free"
                                                  : "no free subnet in " + cfg_.network.describe());
    }
    if (e.previous)
        log(LogLine::Level::Error,
            "lost subnet " + lost_->subnet + " to " + lost_->winner + " (an older claim); " +
                (e.slot ? "now serving " + cfg_.network.subnet(*e.slot).to_string() + " in "
                        : "removed ") +
                cfg_.subnet_file + (cfg_.cni_conf.empty() ? "" : " and " + cfg_.cni_conf) +
                ". Pods holding addresses in " + lost_->subnet +
                " are routed to the winner by every other host: recreate them "
                "(docs/OWNERSHIP.md, 'Losing a subnet')");
}

void Agent::withdraw_subnet_files(const std::string& why) {
    subnet_env_written_ = false;
    // Without subnet.env, flannel's CNI plugin refuses new pods with an error naming the file.
    if (::unlink(cfg_.subnet_file.c_str()) != 0 && errno != ENOENT)
        log(LogLine::Level::Error,
            "cannot remove " + cfg_.subnet_file + ": " + std::strerror(errno));
    if (cfg_.cni_conf.empty()) return;
    if (auto err = write_file_atomically(cfg_.cni_conf,
                                         render_cni_conflist_without_subnet("shoal: " + why), 0644);
        !err.empty())
        log(LogLine::Level::Error, err);
}

void Agent::save_state(bool membership_changed) {
    SavedState now{node_->persisted(), saved_.peers};
    if (membership_changed) {
        now.peers.clear();
        for (const auto& [id, m] : node_->node().members().all()) {
            if (now.peers.size() == 16) break;
            if (id != node_->node().id() && is_live(m.state)) now.peers.push_back(m.info.addr);
        }
    }
    if (now == saved_) return;
    if (auto err = shoal::agent::save_state(cfg_.state_dir, now); !err.empty())
        log(LogLine::Level::Error, err);
    saved_ = now;
}

void Agent::on_kernel_event() {
    if (!kernel_.drain() || stopping_) return;
    if (cfg_.advertise_follows_iface) {
        auto now_addr = netlink::primary_ipv4(cfg_.iface);
        if (now_addr && now_addr->first != address_) {
            log(LogLine::Level::Info, "the address of " + cfg_.iface + " changed from " +
                                          ipv4_to_string(address_) + " to " +
                                          ipv4_to_string(now_addr->first) + "; announcing it");
            address_ = now_addr->first;
            node_->set_address(monotonic_now(), Address{address_, cfg_.bind.port});
        }
    }
    apply_routes();
    pump();
}

void Agent::on_signal(int signum) {
    if (signum == SIGHUP) {
        notify_.reloading();
        std::vector<int> lines;
        auto ring = read_keyring(cfg_.cluster_key_file, &lines);
        if (auto* err = std::get_if<std::string>(&ring)) {
            log(LogLine::Level::Error, "SIGHUP: keyring not reloaded: " + *err);
        } else {
            if (auto warning = keyring_permission_warning(cfg_.cluster_key_file))
                log(LogLine::Level::Warn, *warning);
            node_->set_keyring(std::get<Keyring>(ring));
            key_lines_ = std::move(lines);
            std::string fps;
            for (const auto& k : std::get<Keyring>(ring).keys())
                fps += (fps.empty() ? "" : ", ") + Keyring::fingerprint(k);
            log(LogLine::Level::Info, "SIGHUP: reloaded the keyring (" +
                                          std::to_string(std::get<Keyring>(ring).size()) +
                                          " keys: " + fps + "; the first sends)");
        }
        if (!cfg_.config_file.empty()) {
            auto level = read_log_level(cfg_.config_file);
            if (auto* err = std::get_if<std::string>(&level)) {
                log(LogLine::Level::Error, "SIGHUP: log level not reloaded: " + *err);
            } else if (auto l = std::get<std::optional<LogLevel>>(level)) {
                log_level_ = *l;
                static const char* names[] = {"debug", "info", "warn", "error"};
                std::fprintf(stderr, "info: SIGHUP: log level now %s\n",
                             names[static_cast<int>(*l)]);
            }
        }
        publish();
        notify_.reloaded();
        return;
    }
    begin_stopping();
    if (signum == SIGINT || (signum == SIGTERM && cfg_.leave_on_terminate)) {
        log(LogLine::Level::Info, "leaving the cluster");
        node_->leave(monotonic_now());
        pump();
        return;
    }
    // SIGTERM: a planned restart. Routes stay as they are here, and the peers, told (signed)
    // that we will be back within restart-hold, keep theirs too.
    log(LogLine::Level::Info, "SIGTERM: stopping for a restart; peers hold our routes for " +
                                  std::to_string(to_seconds(cfg_.restart_hold)) + " s");
    node_->prepare_restart(monotonic_now(), cfg_.restart_hold);
    pump();
    shutdown(0);
}

Control::Reply Agent::handle_command(const std::string& line) {
    auto sp = line.find(' ');
    std::string cmd = line.substr(0, sp), arg = sp == std::string::npos ? "" : line.substr(sp + 1);
    bool json = arg == "json";
    const Node& n = node_->node();
    auto subnet_of = [&](const NodeId& id) -> std::optional<std::string> {
        auto claim = node_->claims().claim_of(id);
        if (!claim || node_->claims().owner(claim->slot) != id) return std::nullopt;
        return cfg_.network.subnet(claim->slot).to_string();
    };
    if (cmd == "members") {
        std::map<std::string, const netlink::RouteReport*> by_subnet;
        for (const auto& r : route_reports_) by_subnet[r.route.dst.to_string()] = &r;
        std::string out = json ? "[" : "";
        for (const auto& [id, m] : n.members().all()) {
            auto sub = subnet_of(id);
            bool self = id == n.id();
            std::optional<std::string> reason;
            if (!self && sub && by_subnet.count(*sub) &&
                by_subnet[*sub]->state != netlink::RouteState::Installed)
                reason = by_subnet[*sub]->reason.empty() ? to_string(by_subnet[*sub]->state)
                                                         : by_subnet[*sub]->reason;
            if (!self && holds_subnet(m.state) && !sub) reason = "owns no subnet";
            if (json) {
                if (out.size() > 1) out += ",";
                out += "{\"name\":" + json_string(m.info.name) +
                       ",\"id\":" + json_string(id.hex()) +
                       ",\"addr\":" + json_string(ipv4_to_string(m.info.addr.ip)) +
                       ",\"port\":" + std::to_string(m.info.addr.port) +
                       ",\"state\":" + json_string(to_string(m.state)) +
                       ",\"subnet\":" + (sub ? json_string(*sub) : "null") +
                       ",\"incarnation\":" + std::to_string(m.inc()) +
                       ",\"routable\":" + (reason || !holds_subnet(m.state) ? "false" : "true") +
                       ",\"reason\":" + (reason ? json_string(*reason) : "null") + "}";
            } else {
                char row[512];
                std::snprintf(row, sizeof(row), "%-20s %-16s %-21s %-8s %-18s %s\n",
                              m.info.name.c_str(), id.short_hex().c_str(),
                              m.info.addr.to_string().c_str(),
                              std::string(to_string(m.state)).c_str(), sub ? sub->c_str() : "-",
                              reason ? reason->c_str() : "");
                out += row;
            }
        }
        return {true, json ? out + "]\n" : out};
    }
    if (cmd == "routes") {
        std::string out = json ? "[" : "";
        for (const auto& r : route_reports_) {
            if (json) {
                if (out.size() > 1) out += ",";
                out += "{\"subnet\":" + json_string(r.route.dst.to_string()) +
                       ",\"via\":" + json_string(ipv4_to_string(r.route.via)) +
                       ",\"dev\":" + json_string(cfg_.iface) +
                       ",\"state\":" + json_string(netlink::to_string(r.state)) + "}";
            } else {
                out += r.route.dst.to_string() + " via " + ipv4_to_string(r.route.via) + " dev " +
                       cfg_.iface + " " + netlink::to_string(r.state) +
                       (r.reason.empty() ? "" : ": " + r.reason) + "\n";
            }
        }
        return {true, json ? out + "]\n" : out};
    }
    if (cmd == "status") return status_command(json);
    if (cmd == "keys") return keys_command(json);
    if (cmd == "leave") {
        log(LogLine::Level::Info, "leave requested over the control socket");
        begin_stopping();
        node_->leave(monotonic_now());
        pump();
        return {true, "leaving\n"};
    }
    if (cmd == "force-leave") {
        auto err = node_->force_leave(monotonic_now(), arg);
        pump();
        if (!err.empty()) return {false, err + "\n"};
        return {true, "forced out " + arg + "\n"};
    }
    return {false, "unknown command '" + cmd + "'\n"};
}

Control::Reply Agent::keys_command(bool json) {
    const auto& keys = node_->node().keyring().keys();
    std::string out = json ? "{\"file\":" + json_string(cfg_.cluster_key_file) + ",\"keys\":[" : "";
    for (std::size_t i = 0; i < keys.size(); ++i) {
        std::string fp = Keyring::fingerprint(keys[i]);
        std::string source = cfg_.cluster_key_file +
                             (i < key_lines_.size() ? ":" + std::to_string(key_lines_[i]) : "");
        if (json) {
            out += std::string(i ? "," : "") + "{\"fingerprint\":" + json_string(fp) +
                   ",\"primary\":" + (i == 0 ? "true" : "false") +
                   ",\"source\":" + json_string(source) + "}";
        } else {
            out += fp + (i == 0 ? " primary   " : " secondary ") + source + "\n";
        }
    }
    return {true, json ? out + "]}\n" : out};
}

Control::Reply Agent::status_command(bool json) {
    const Node& n = node_->node();
    int installed = 0;
    for (const auto& r : route_reports_) installed += r.state == netlink::RouteState::Installed;
    auto sub = own_subnet();
    const auto& t = n.members();
    const Stats& st = n.stats();
    auto uptime = static_cast<long long>(to_seconds(monotonic_now() - started_));
    std::vector<std::string> fps;
    for (const auto& k : n.keyring().keys()) fps.push_back(Keyring::fingerprint(k));
    auto lost_ago = [&] {
        return static_cast<long long>(to_seconds(monotonic_now() - lost_->when));
    };
    auto lost_json = [&]() -> std::string {
        if (!lost_) return "null";
        return "{\"subnet\":" + json_string(lost_->subnet) +
               ",\"to\":" + json_string(lost_->winner) +
               ",\"seconds_ago\":" + std::to_string(lost_ago()) + "}";
    };
    if (json) {
        std::string keys, drops, rejections;
        for (const auto& fp : fps) keys += (keys.empty() ? "" : ",") + json_string(fp);
        for (int r = 0; r < static_cast<int>(DropReason::Count); ++r)
            drops += (r ? "," : "") + json_string(to_string(static_cast<DropReason>(r))) + ":" +
                     std::to_string(st.dropped[r]);
        for (int r = 0; r < static_cast<int>(Rejection::Count); ++r)
            rejections += (r ? "," : "") + json_string(to_string(static_cast<Rejection>(r))) + ":" +
                          std::to_string(st.rejected[r]);
        return {true, "{\"name\":" + json_string(cfg_.name) +
                          ",\"id\":" + json_string(n.id().hex()) +
                          ",\"version\":" + json_string(SHOAL_VERSION_STRING) +
                          ",\"uptime_seconds\":" + std::to_string(uptime) +
                          ",\"profile\":" + json_string(to_string(cfg_.profile)) +
                          ",\"addr\":" + json_string(ipv4_to_string(address_)) + ",\"subnet\":" +
                          (sub ? json_string(*sub) : "null") + ",\"lost_subnet\":" + lost_json() +
                          ",\"network\":" + json_string(cfg_.network.network().to_string()) +
                          ",\"members\":{\"alive\":" + std::to_string(t.count(MemberState::Alive)) +
                          ",\"suspect\":" + std::to_string(t.count(MemberState::Suspect)) +
                          ",\"dead\":" + std::to_string(t.count(MemberState::Dead)) +
                          ",\"left\":" + std::to_string(t.count(MemberState::Left)) +
                          ",\"restarting\":" + std::to_string(t.count(MemberState::Restarting)) +
                          "},\"routes_installed\":" + std::to_string(installed) +
                          ",\"local_health\":" + std::to_string(n.local_health()) + ",\"keys\":[" +
                          keys + "]" + ",\"rejected\":{\"datagrams\":{" + drops +
                          "},\"announcements\":{" + rejections + "}}}\n"};
    }
    std::string keys, drops, rejections;
    for (std::size_t i = 0; i < fps.size(); ++i)
        keys += (i ? ", " : "") + fps[i] + (i == 0 ? " (primary)" : "");
    for (int r = 0; r < static_cast<int>(DropReason::Count); ++r)
        if (st.dropped[r])
            drops += std::string(drops.empty() ? "" : ", ") +
                     to_string(static_cast<DropReason>(r)) + " " + std::to_string(st.dropped[r]);
    for (int r = 0; r < static_cast<int>(Rejection::Count); ++r)
        if (st.rejected[r])
            rejections += std::string(rejections.empty() ? "" : ", ") +
                          to_string(static_cast<Rejection>(r)) + " " +
                          std::to_string(st.rejected[r]);
    return {true,
            "name " + cfg_.name + "\nid " + n.id().hex() + "\nversion " + SHOAL_VERSION_STRING +
                "\nuptime " + std::to_string(uptime) + " s\nprofile " + to_string(cfg_.profile) +
                "\naddr " + ipv4_to_string(address_) + "\nsubnet " + sub.value_or("none") +
                (lost_ ? "\nlost subnet " + lost_->subnet + " to " + lost_->winner + ", " +
                             std::to_string(lost_ago()) + " s ago"
                       : std::string()) +
                "\nnetwork " + cfg_.network.describe() + "\nmembers " +
                std::to_string(t.live_count()) + " live, " +
                std::to_string(t.count(MemberState::Dead)) + " dead, " +
                std::to_string(t.count(MemberState::Left)) + " left\nroutes installed " +
                std::to_string(installed) + "\nlocal health " + std::to_string(n.local_health()) +
                "\nkeys " + keys + "\nrejected datagrams " + (drops.empty() ? "none" : drops) +
                "\nrejected announcements " + (rejections.empty() ? "none" : rejections) + "\n"};
}

void Agent::shutdown(int code) {
    if (stopping_) return;
    notify_.stopping();
    stopping_ = true;
    exit_code_ = code;
    uv_stop(&loop_);
}

}  // namespace

int run_agent(const AgentConfig& cfg) {
    return Agent(cfg).run();
}

}  // namespace shoal::agent
