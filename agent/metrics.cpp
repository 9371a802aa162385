#include "agent/metrics.hpp"

#include <cstdio>

#include "agent/json.hpp"

namespace shoal::agent {

namespace {

class Writer {
  public:
    // One HELP and TYPE header per metric family, then its samples.
    void family(const char* name, const char* type, const char* help) {
        out_ += std::string("# HELP shoal_") + name + " " + help + "\n# TYPE shoal_" + name + " " +
                type + "\n";
    }
    void sample(const char* name, const std::string& labels, double value) {
        char num[32];
        std::snprintf(num, sizeof(num), "%.17g", value);
        out_ += std::string("shoal_") + name + (labels.empty() ? "" : "{" + labels + "}") + " " +
                num + "\n";
    }
    void counter(const char* name, const char* help, std::uint64_t v) {
        family(name, "counter", help);
        sample(name, "", static_cast<double>(v));
    }
    void gauge(const char* name, const char* help, double v) {
        family(name, "gauge", help);
        sample(name, "", v);
    }
    std::string take() { return std::move(out_); }

  private:
    std::string out_;
};

// A label value: the same escaping as a JSON string (backslash, quote; newlines do not occur).
std::string label(const char* key, std::string_view value) {
    return std::string(key) + "=" + json_string(value);
}

}  // namespace

std::string render_metrics(const MetricsInput& in) {
    const Node& n = in.node;
    const Stats& s = n.stats();
    Writer w;
    w.family("build_info", "gauge", "The running shoal's version and timing profile.");
    w.sample("build_info", label("version", in.version) + "," + label("profile", in.profile), 1);
    w.gauge("uptime_seconds", "Seconds since the agent started.", in.uptime_seconds);

    w.family("members", "gauge", "Members known to this agent, by state.");
    for (int st = 0; st <= kMaxMemberState; ++st) {
        auto state = static_cast<MemberState>(st);
        w.sample("members", label("state", to_string(state)),
                 static_cast<double>(n.members().count(state)));
    }
    w.gauge("local_health", "Lifeguard local health multiplier (0 is healthy).", n.local_health());
    w.gauge("keyring_keys", "Keys in the cluster keyring.",
            static_cast<double>(n.keyring().size()));
    w.family("subnet_owned", "gauge", "1 for the pod subnet this node owns.");
    if (in.subnet) w.sample("subnet_owned", label("subnet", *in.subnet), 1);
    if (in.subnet6) w.sample("subnet_owned", label("subnet", *in.subnet6), 1);
    w.gauge("synced", "1 once the first full state exchange is done.", n.synced() ? 1 : 0);

    w.counter("probes_sent_total", "Regular failure-detector probes sent.", s.probes_sent);
    w.counter("probes_failed_total", "Probes that got no ack, direct or indirect.",
              s.probes_failed);
    w.counter("suspicions_raised_total", "Members this node started suspecting.",
              s.suspicions_raised);
    w.counter("suspicions_refuted_total", "Suspicions of this node that it refuted.",
              s.suspicions_refuted);
    w.counter("deaths_declared_total", "Members declared dead here.", s.deaths_declared);

    w.family("routes", "gauge", "Wanted routes by address family and state.");
    for (const auto& r : in.route_states)
        w.sample("routes", label("family", r.family) + "," + label("state", r.state),
                 static_cast<double>(r.count));
    w.counter("routes_installed_total", "Routes added or replaced in the kernel.",
              in.routes.installed);
    w.counter("routes_withdrawn_total", "Routes deleted from the kernel.", in.routes.withdrawn);
    w.counter("routes_restored_total",
              "Installed routes put back after someone else deleted or changed them.",
              in.routes.restored);
    w.counter("routes_refused_total",
              "Routes refused because they lie outside the pod network (counted once each).",
              in.routes.refused);
    w.counter("reconcile_errors_total", "Route changes the kernel refused.",
              in.routes.reconcile_errors);

    w.gauge("routes_kept", "Routes kept to members declared dead whose hosts answer ICMP echoes.",
            static_cast<double>(in.host_check.kept.size()));
    w.family("route_kept", "gauge",
             "1 for each dead member whose route is kept: its host answers (route-hold).");
    for (const auto& [member, subnet] : in.host_check.kept)
        w.sample("route_kept", label("member", member) + "," + label("subnet", subnet), 1);
    w.counter("host_echoes_sent_total", "ICMP echoes the host check sent.",
              in.host_check.echoes_sent);
    w.counter("host_echo_replies_total", "ICMP echo replies to the host check's echoes.",
              in.host_check.replies);

    w.family("datagrams_rejected_total", "counter",
             "Datagrams dropped before decoding, by reason.");
    for (int r = 0; r < static_cast<int>(DropReason::Count); ++r)
        w.sample("datagrams_rejected_total", label("reason", to_string(static_cast<DropReason>(r))),
                 static_cast<double>(s.dropped[r]));
    w.family("announcements_rejected_total", "counter",
             "Announcements, accusations and state-transfer pages refused, by reason.");
    for (int r = 0; r < static_cast<int>(Rejection::Count); ++r)
        w.sample("announcements_rejected_total",
                 label("reason", to_string(static_cast<Rejection>(r))),
                 static_cast<double>(s.rejected[r]));

    w.gauge("members_uncertified",
            "Present members without a valid certificate (admitted only under admission = "
            "permissive; zero when admission is off, which checks none).",
            static_cast<double>(in.uncertified_members));
    w.counter("relays_refused_total",
              "Indirect-probe requests refused: a target unknown here or not at its address.",
              s.relays_refused);
    w.gauge("tombstones", "Forgotten members remembered by id and highest signed incarnation.",
            static_cast<double>(n.tombstones().size()));
    w.counter("tombstones_evicted_total", "Tombstones dropped at max-tombstones, oldest first.",
              n.tombstones().evictions());
    w.counter("datagrams_in_total", "Gossip datagrams received.", s.datagrams_in);
    w.counter("datagrams_out_total", "Gossip datagrams sent.", s.datagrams_out);
    w.counter("bytes_in_total", "Gossip bytes received.", s.bytes_in);
    w.counter("bytes_out_total", "Gossip bytes sent.", s.bytes_out);
    return w.take();
}

}  // namespace shoal::agent
