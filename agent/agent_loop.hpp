#pragma once
// The agent's one object: it owns the loop's handles and drives the core. Split over two files:
// agent.cpp (start-up, the loop, what the core sends and asks for) and agent_events.cpp (what
// comes out of the core for the host: routes, subnet files, saved state; and the operator's
// input: signals, reload, control commands). Only those two include this header.
#include <netinet/in.h>
#include <uv.h>

#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/agent.hpp"
#include "agent/control.hpp"
#include "agent/host_check.hpp"
#include "agent/http_server.hpp"
#include "agent/icmp_echo.hpp"
#include "agent/logger.hpp"
#include "agent/masquerade.hpp"
#include "agent/metrics.hpp"
#include "agent/notify.hpp"
#include "agent/pod_forwarding.hpp"
#include "agent/readiness.hpp"
#include "agent/route_policy.hpp"
#include "agent/state_dir.hpp"
#include "agent/subnet_files.hpp"
#include "agent/vxlan_policy.hpp"
#include "netlink/kernel_events.hpp"
#include "netlink/nft_owned_rules.hpp"
#include "netlink/nft_table.hpp"
#include "netlink/route_reconciler.hpp"

namespace shoal::agent {

Time monotonic_now();
// Arms a one-shot timer for a sans-IO core's deadline (its poll_timeout()).
void start_timer_at(uv_timer_t* timer, Time when, uv_timer_cb fire);

class Agent {
  public:
    explicit Agent(const AgentConfig& cfg)
        : cfg_(cfg),
          log_(cfg.log_level),
          files_(cfg.subnet_file, cfg.cni_conf, cfg.ip_masq),
          routes_(cfg.network.network(), cfg.route_table),
          address6_(cfg.advertise6),
          host_check_(HostCheckSettings{.route_hold = cfg.route_hold}, Rng::from_os()) {
        forwarding_.emplace_back("ip", cfg.network.network().to_string());
        if (auto net6 = cfg.network.network6()) {
            routes6_.emplace(*net6, cfg.route_table);
            forwarding_.emplace_back("ip6", net6->to_string());
        }
    }
    int run();

  private:
    // Start-up before the loop runs; a non-zero exit code on failure.
    int prepare();
    void start_loop_handles();
    // Sends what the core has to send and takes its events; what they change on the host
    // (routes, the state file, the published status) waits for flush_outputs().
    void pump();
    // Once per loop iteration (a uv_check handle), after every datagram that arrived in it was
    // handled: a burst of news costs one route reconcile and one state-file write, not one per
    // datagram (a flood of 20,000 identities once cost a route dump each).
    void flush_outputs();
    void confirm_neighbour(const Address& peer);
    void apply_routes();
    // One family's pass of apply_routes: reconciles, counts and logs.
    template <class Net>
    void reconcile_family(netlink::BasicRouteReconciler<Net>& routes, BasicRouteReportLog<Net>& log,
                          std::vector<netlink::BasicRoute<Net>> desired, const Net& network,
                          bool armed, const std::set<NodeId>& kept);
    // vxlan: the routes of both families, host-gw on the segment and through the VXLAN device
    // off it; the device made when first needed and its peers' entries brought to the plan.
    VxlanPlan routes_with_vxlan(int ifindex, const std::vector<Ipv4Net>& segment,
                                const std::set<NodeId>& kept, bool armed);
    void ensure_vxlan_device(int ifindex);
    // The MTU pods get: iface's, less VXLAN's overhead with vxlan on.
    int pod_mtu() const;
    // Our IPv6 address on iface changed (advertise6 not set): announce the new one.
    void follow_address6();
    // ip-masq: shoal's nftables table written, or put back if someone changed it.
    void ensure_masquerade();
    void remove_masquerade();
    // forward-rules: accept rules for the pod network in the host's FORWARD chain, or the
    // reason pod traffic is not forwarded (status, /readyz).
    void ensure_forwarding();
    void remove_forwarding();
    // The host check's socket and timer (route-hold on); without a socket it stays off.
    void start_host_check();
    // Sends its echoes, logs its lines, re-arms its timer; reconciles when a decision changed.
    void drive_host_check(bool reconcile);
    void read_echo_replies();
    // Dead members whose routes the host check keeps because their hosts answered, as (member
    // name, subnet): `routes` and /metrics show them.
    std::vector<std::pair<std::string, std::string>> answered_routes() const;
    void follow_carrier();
    void on_subnet_event(const SubnetEvent& e);
    // Writes the state file when the incarnation, the claim or (after a membership change) the
    // remembered peers differ from what is on disk.
    void save_state(bool membership_changed);
    void on_signal(int signum);
    void reload();
    // Applies what is new among revocations read from revocations-file (at start, on SIGHUP).
    void apply_revocations(const std::vector<Revocation>& revs, const std::string& when);
    void on_kernel_event();
    Control::Reply handle_command(const std::string& line);
    // Once a second and after membership changes: the HTTP snapshot and the systemd status.
    void publish();
    std::string not_ready() const;
    std::string status_line() const;
    std::string metrics_text() const;
    std::optional<std::string> own_subnet() const;
    // Stopping has begun (leave or restart): never "ready" again.
    void begin_stopping();
    // The loop ends.
    void shutdown(int code);

    const AgentConfig& cfg_;
    Logger log_;
    uv_loop_t loop_{};
    uv_udp_t udp_{};
    uv_timer_t wake_{};
    uv_timer_t repair_{};
    uv_signal_t sigint_{}, sigterm_{}, sighup_{};
    uv_poll_t kernel_poll_{};
    uv_timer_t ops_{};
    uv_timer_t watchdog_{};
    uv_check_t flush_{};
    bool outputs_due_ = false;         // the core produced something since the last flush
    bool membership_changed_ = false;  // ... and it changed the membership or the subnets
    Notifier notify_;
    std::unique_ptr<HttpServer> http_;
    RouteCounters route_counters_;
    std::vector<int> key_lines_;
    SubnetFiles files_;
    netlink::KernelEvents kernel_;
    std::uint32_t address_ = 0;
    bool carrier_ = true;  // iface is up with a carrier (follow_carrier)
    std::unique_ptr<Control> control_;
    std::optional<LoadedIdentity> identity_;
    std::unique_ptr<SubnetNode> node_;
    netlink::RouteReconciler routes_;
    std::optional<netlink::Route6Reconciler> routes6_;  // with ipv6-network
    std::optional<Ipv6Addr> address6_;                  // announced (dual stack)
    bool masq_written_ = false;                         // the first write was logged
    std::optional<netlink::NftTable> masq_;             // with ip-masq
    std::string masq_error_;                            // the failure last logged (once per change)
    // forward-rules, per family: IPv4's, and IPv6's with ipv6-network.
    std::deque<PodForwarding> forwarding_;
    std::string forwarding_blocked_;  // status and /readyz; empty when fine
    std::optional<RouteArming> arming_;
    HostCheck host_check_;
    std::optional<IcmpEcho> icmp_;
    uv_poll_t icmp_poll_{};
    uv_timer_t host_timer_{};
    RouteReportLog route_log_;
    netlink::VxlanDevice vxlan_;
    std::optional<int> vxlan_index_;    // the device, once made (vxlan)
    std::set<std::uint32_t> answered_;  // member addresses that answered our own probes
    bool vxlan_adopted_ = false;        // the last run's forwarding entries were read
    std::string vxlan_error_;           // the device failure last logged (once per change)
    int files_mtu_ = 0;                 // the MTU subnet.env and the conflist were written with
    RouteReportLog6 route_log6_;
    SavedState saved_;  // what the state file holds, but its tombstones
    std::uint64_t saved_tombstone_changes_ = UINT64_MAX;
    std::size_t saved_revocations_ = SIZE_MAX;
    Time started_{};
    Phase phase_ = Phase::Starting;
    int exit_code_ = 0;
    // The last subnet this node lost to an older claim, for `status` and /readyz.
    struct LostSubnet {
        std::string subnet;
        std::string winner;  // name (id, address)
        Time when;
    };
    std::optional<LostSubnet> lost_;
};

}  // namespace shoal::agent
