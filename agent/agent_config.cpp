#include "agent/agent_config.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "agent/credential_files.hpp"
#include "gossip/wire/member_name.hpp"
#include "netlink/interfaces.hpp"

namespace shoal::agent {

struct AgentOptions::Raw {
    std::string name, bind = "0.0.0.0:7946", advertise, advertise6, iface;
    NetworkSettings network;
    std::vector<std::string> seeds;
    std::string cluster_key_file,
        restart_hold = "60s", state_dir = "/var/lib/shoal", socket = "/run/shoal/shoal.sock",
        subnet_file = "/run/flannel/subnet.env", cni_conf, profile = "lan", route_table = "main",
        log_level = "info", grace_period = "24h", route_hold, metrics;
    bool leave_on_terminate = false;
    bool ip_masq = true;
    bool forward_rules = true;
    bool vxlan = true;
    std::uint32_t vxlan_vni = 1;
    std::uint16_t vxlan_port = 8472;
    std::string vxlan_device;
    bool accept_protocol_1 = false;
    std::string admission = "off", ca_file, node_cert, revocations_file;
    std::map<std::string, std::string> timers;  // setting name -> value, only those given
    std::string config;
    CLI::App* cmd = nullptr;
};

Result<std::optional<LogLevel>> read_log_level(const std::string& config_file) {
    try {
        for (const auto& item : CLI::ConfigTOML().from_file(config_file)) {
            if (!item.parents.empty() || item.name != "log-level" || item.inputs.empty()) continue;
            auto level = parse_log_level(item.inputs.front());
            if (!level)
                return Error{"log-level: '" + item.inputs.front() +
                             "' is not debug, info, warn or error"};
            return level;
        }
        return std::optional<LogLevel>{};
    } catch (const CLI::Error& e) {
        return Error{config_file + ": " + e.what()};
    }
}

Result<Keyring> read_keyring(const std::string& path, std::vector<int>* lines) {
    std::ifstream in(path);
    if (!in) return Error{"cluster-key-file: cannot read " + path};
    std::stringstream text;
    text << in.rdbuf();
    auto ring = Keyring::parse(text.str(), lines);
    if (!ring) return Error{"cluster-key-file: " + path + ": " + ring.error()};
    return ring;
}

Status check_keyring_permissions(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return Error{"cluster-key-file: cannot stat " + path + ": " + std::strerror(errno)};
    if ((st.st_mode & 077) == 0) return {};
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Error{"cluster-key-file: " + path +
                 " is readable or writable by group or others (mode " + mode +
                 "); anyone who can read it can join the cluster: run chmod 600 " + path};
}

namespace {
// Control and non-ASCII bytes as \xNN: the name is refused precisely because it may not be safe to
// print as it is.
std::string printable(std::string_view text) {
    std::string out;
    for (unsigned char c : text) {
        constexpr char kHex[] = "0123456789abcdef";
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 0xf];
        }
    }
    return out;
}
}  // namespace

Status check_member_name(const std::string& name, bool from_hostname) {
    if (valid_member_name(name)) return {};
    const std::string rule =
        "is not a valid host name (RFC 1123: letters, digits, hyphens and dots, labels of 1-63 "
        "characters, " +
        std::to_string(kMaxMemberName) + " in all)";
    if (from_hostname)
        return Error{"name: not set, and the hostname '" + printable(name) + "' " + rule +
                     "; set --name (or name in the config file)"};
    return Error{"name: '" + printable(name) + "' " + rule};
}

AgentOptions::AgentOptions(CLI::App* cmd) : raw_(std::make_shared<Raw>()) {
    Raw& r = *raw_;
    r.cmd = cmd;
    // Read by finish(), not by CLI11: its config handling does not reach subcommand options.
    cmd->add_option("--config", r.config,
                    "TOML file with any of these settings, same names; flags win");
    cmd->add_option("--name", r.name, "Member name (default: the hostname)");
    cmd->add_option("--bind", r.bind, "Gossip UDP address, IP:PORT")->capture_default_str();
    cmd->add_option("--advertise", r.advertise,
                    "Address the others reach us at (default: iface's IPv4)");
    cmd->add_option("--iface", r.iface,
                    "Interface of the L2 segment (default: the default route's)");
    cmd->add_option("--network", r.network.network, "Pod network CIDR, e.g. 10.244.0.0/16");
    cmd->add_option("--subnet-len", r.network.subnet_len, "Per-node subnet length (default 24)");
    cmd->add_option("--subnet-min", r.network.subnet_min, "First subnet to hand out");
    cmd->add_option("--subnet-max", r.network.subnet_max, "Last subnet to hand out");
    cmd->add_option("--ipv6-network", r.network.ipv6_network, "IPv6 pod network (dual-stack)");
    cmd->add_option("--ipv6-subnet-len", r.network.ipv6_subnet_len,
                    "IPv6 per-node subnet length (default 64)");
    cmd->add_option("--advertise6", r.advertise6,
                    "IPv6 address the others route our IPv6 subnet to (default: iface's global "
                    "IPv6 address; with ipv6-network)");
    cmd->add_option("--seed", r.seeds, "Seed peer HOST:PORT (repeatable)");
    cmd->add_option("--cluster-key-file", r.cluster_key_file,
                    "Keyring: one key per line, the first sends");
    cmd->add_option("--restart-hold", r.restart_hold, "How long peers wait for a planned restart")
        ->capture_default_str();
    cmd->add_option("--state-dir", r.state_dir, "Node key and state")->capture_default_str();
    cmd->add_option("--socket", r.socket, "Control socket")->capture_default_str();
    cmd->add_option("--subnet-file", r.subnet_file, "flannel subnet.env to write")
        ->capture_default_str();
    cmd->add_option("--cni-conf", r.cni_conf, "CNI conflist to write (optional)");
    cmd->add_option("--profile", r.profile, "Timing profile: lan or fast")->capture_default_str();
    cmd->add_option("--route-table", r.route_table, "Routing table: main or a number")
        ->capture_default_str();
    cmd->add_flag("--leave-on-terminate", r.leave_on_terminate,
                  "SIGTERM leaves instead of a planned restart");
    cmd->add_flag("--ip-masq,!--no-ip-masq", r.ip_masq,
                  "Masquerade pods' traffic to outside the pod network (nftables table inet "
                  "shoal; on unless --no-ip-masq); pod-to-pod traffic keeps its addresses");
    cmd->add_flag("--vxlan,!--no-vxlan", r.vxlan,
                  "Reach members off iface's network through a VXLAN device (default on)");
    cmd->add_option("--vxlan-vni", r.vxlan_vni, "VXLAN network identifier")->capture_default_str();
    cmd->add_option("--vxlan-port", r.vxlan_port, "VXLAN UDP port")->capture_default_str();
    cmd->add_option("--vxlan-device", r.vxlan_device,
                    "Name of shoal's VXLAN device (default shoal.<vni>)");
    cmd->add_flag("--forward-rules,!--no-forward-rules", r.forward_rules,
                  "Accept the pod network's traffic in the host's FORWARD chain (iptables-nft's "
                  "filter FORWARD, or DOCKER-USER), ahead of a drop policy; on unless "
                  "--no-forward-rules");
    cmd->add_flag("--accept-protocol-1", r.accept_protocol_1,
                  "During a rolling upgrade from protocol 1 (shoal 0.1): accept its datagrams and "
                  "unsigned accusations; turn off once every host runs protocol 2")
        ->envname("SHOAL_ACCEPT_PROTOCOL_1");
    cmd->add_option("--admission", r.admission,
                    "Node certificates: off, permissive (admit all, count the uncertified) or "
                    "enforce (admit only members certified by a CA in ca-file)")
        ->capture_default_str();
    cmd->add_option("--ca-file", r.ca_file,
                    "Trusted CA public keys, one 'shoal-ca-pub' line each (admission on)");
    cmd->add_option("--node-cert", r.node_cert,
                    "This node's certificate (default: STATE_DIR/node.crt)");
    cmd->add_option("--revocations-file", r.revocations_file,
                    "CA-signed revocations (shoal ca revoke), read at start and on SIGHUP and "
                    "gossiped to every member");
    cmd->add_option("--log-level", r.log_level, "debug, info, warn or error")
        ->capture_default_str();
    cmd->add_option("--grace-period", r.grace_period,
                    "How long a dead node's subnet stays reserved")
        ->capture_default_str();
    cmd->add_option("--route-hold", r.route_hold,
                    "How long a dead member's route stays while its host answers this agent's "
                    "ICMP echoes (0: withdrawn when it is declared dead; default: 10m, or "
                    "grace-period if shorter)");
    cmd->add_option("--metrics", r.metrics,
                    "Serve /metrics, /healthz and /readyz over HTTP at IP:PORT, e.g. "
                    "127.0.0.1:9477 (default: off)");
    for (const auto& name : setting_names()) {
        cmd->add_option_function<std::string>(
            "--" + name, [&r, name](const std::string& v) { r.timers[name] = v; },
            "Timer (overrides the profile)");
    }
}

namespace {
// admission, ca-file, node-cert: the trust settings and this node's own certificate.
struct AdmissionSettings {
    const std::string &admission, &ca_file, &node_cert, &state_dir, &revocations_file;
};
Status finish_admission(const AdmissionSettings& r, AgentConfig& c) {
    if (r.admission == "off")
        c.admission = AdmissionMode::Off;
    else if (r.admission == "permissive")
        c.admission = AdmissionMode::Permissive;
    else if (r.admission == "enforce")
        c.admission = AdmissionMode::Enforce;
    else
        return Error{"admission: '" + r.admission + "' is not off, permissive or enforce"};
    c.ca_file = r.ca_file;
    c.node_cert = r.node_cert.empty() ? r.state_dir + "/node.crt" : r.node_cert;
    c.revocations_file = r.revocations_file;
    if (c.admission == AdmissionMode::Off) {
        if (!c.revocations_file.empty())
            return Error{
                "revocations-file: set, but admission is off, which checks no "
                "certificate; set admission (and ca-file) too"};
        return {};
    }
    if (!c.revocations_file.empty()) {
        auto revs = read_revocations(c.revocations_file);
        if (!revs) return Error{"revocations-file: " + revs.error()};
        c.revocations = std::move(*revs);
    }
    if (c.ca_file.empty())
        return Error{"ca-file: not set; admission = " + r.admission +
                     " needs the CA public keys to trust (the ca.pub that `shoal ca init` made)"};
    auto cas = read_ca_pubs(c.ca_file);
    if (!cas) return Error{"ca-file: " + cas.error()};
    c.cas = *cas;
    const std::string how =
        "; make one: run `shoal identity show` on this host, then on the CA's host `shoal ca "
        "sign --ca-key ca.key --name NAME --node-pub FILE --out node.crt`, and copy node.crt "
        "to " +
        c.node_cert;
    struct stat st {};
    bool present = ::stat(c.node_cert.c_str(), &st) == 0;
    if (!present) {
        // Permissive runs without one (the agent says so); enforce does not start.
        if (c.admission == AdmissionMode::Permissive) return {};
        return Error{"node-cert: " + c.node_cert +
                     " does not exist, and admission = enforce admits no node without a "
                     "certificate" +
                     how};
    }
    auto file = read_certificate(c.node_cert);
    if (!file) return Error{"node-cert: " + file.error()};
    if (std::find(c.cas.begin(), c.cas.end(), file->cert.ca) == c.cas.end())
        return Error{"node-cert: " + c.node_cert + " is signed by a CA that is not in ca-file " +
                     c.ca_file + how};
    if (file->cert.subnet && !c.network.slot_of(*file->cert.subnet))
        return Error{"node-cert: " + c.node_cert + " names subnet " +
                     file->cert.subnet->to_string() + ", which is not one of network " +
                     c.network.describe() + "'s subnets"};
    auto now = static_cast<std::uint64_t>(::time(nullptr));
    if (file->cert.not_after != 0 && now >= kPlausibleUnixTime && now > file->cert.not_after)
        return Error{"node-cert: " + c.node_cert + " expired" + how};
    c.certificate = std::move(file->bytes);
    c.cert = std::move(file->cert);
    return {};
}

// Feeds each `name = value` of the TOML file to the option of that name, unless a flag set it.
std::string apply_config_file(CLI::App* cmd, const std::string& path) {
    std::vector<CLI::ConfigItem> items;
    try {
        items = CLI::ConfigTOML().from_file(path);
    } catch (const CLI::Error& e) {
        return "config: " + path + ": " + e.what();
    }
    for (const auto& item : items) {
        if (!item.parents.empty() || item.name == "config") {
            return "config: " + path + ": unknown setting '" + item.fullname() + "'";
        }
        CLI::Option* opt = cmd->get_option_no_throw("--" + item.name);
        if (!opt) return "config: " + path + ": unknown setting '" + item.name + "'";
        if (opt->count() > 0) continue;  // given as a flag: the flag wins
        try {
            opt->add_result(item.inputs);
            opt->run_callback();
        } catch (const CLI::Error& e) {
            return item.name + ": " + e.what() + " (in " + path + ")";
        }
    }
    return {};
}
}  // namespace

Result<AgentConfig> AgentOptions::finish() const {
    Raw& r = *raw_;
    AgentConfig c;
    if (!r.config.empty()) {
        if (auto err = apply_config_file(r.cmd, r.config); !err.empty()) return Error{err};
    }

    auto profile = parse_profile(r.profile);
    if (!profile) return Error{"profile: '" + r.profile + "' is not lan or fast"};
    c.profile = *profile;
    c.timing = timing_for(*profile);
    for (const auto& [name, value] : r.timers)
        if (auto set = apply_setting(c.timing, name, value); !set) return Error{set.error()};
    if (auto valid = validate(c.timing); !valid) return Error{valid.error()};

    auto net = NetworkConfig::make(r.network);
    if (!net) return Error{net.error()};
    c.network = *net;

    if (r.cluster_key_file.empty())
        return Error{std::string("cluster-key-file: not set (make a key with `shoal keygen`)")};
    auto ring = read_keyring(r.cluster_key_file, &c.keyring_lines);
    if (!ring) return Error{ring.error()};
    if (auto secret = check_keyring_permissions(r.cluster_key_file); !secret)
        return Error{secret.error()};
    c.cluster_key_file = r.cluster_key_file;
    c.keyring = *ring;

    auto bind = Address::parse(r.bind);
    if (!bind) return Error{"bind: '" + r.bind + "' is not IPv4:PORT"};
    c.bind = *bind;
    if (!r.metrics.empty()) {
        auto m = Address::parse(r.metrics);
        if (!m || m->port == 0)
            return Error{"metrics: '" + r.metrics + "' is not IPv4:PORT (e.g. 127.0.0.1:9477)"};
        c.metrics = *m;
    }
    for (const auto& s : r.seeds) {
        auto a = Address::parse(s);
        if (!a) return Error{"seed: '" + s + "' is not IPv4:PORT"};
        c.seeds.push_back(*a);
    }
    for (auto [name, text, field] : {std::tuple{"restart-hold", &r.restart_hold, &c.restart_hold},
                                     std::tuple{"grace-period", &r.grace_period, &c.grace},
                                     std::tuple{"route-hold", &r.route_hold, &c.route_hold}}) {
        if (text->empty()) continue;  // route-hold not set: its default, below
        auto d = parse_duration(*text);
        if (!d)
            return Error{std::string(name) + ": '" + *text + "' is not a duration (e.g. 60s, 24h)"};
        *field = *d;
    }
    // A kept route serves a subnet reserved for its dead owner: past the reservation it would
    // point at a host that no longer owns it. Unset, it follows a shorter grace-period.
    if (r.route_hold.empty()) c.route_hold = std::min<Duration>(c.route_hold, c.grace);
    if (c.route_hold > c.grace)
        return Error{"route-hold: " + r.route_hold + " is longer than grace-period (" +
                     r.grace_period + "), how long a dead member's subnet stays reserved"};
    // Peers honour a hold only up to their restart-hold-max: asking for more would silently
    // turn a planned restart into a failure halfway through.
    if (c.restart_hold > c.timing.restart_hold_max)
        return Error{"restart-hold: " + r.restart_hold +
                     " is longer than restart-hold-max, which caps the hold every peer honours; "
                     "lower restart-hold, or raise restart-hold-max on every host"};
    auto level = parse_log_level(r.log_level);
    if (!level) return Error{"log-level: '" + r.log_level + "' is not debug, info, warn or error"};
    c.log_level = *level;
    if (r.route_table == "main") {
        c.route_table = 254;
    } else {
        char* end = nullptr;
        long t = std::strtol(r.route_table.c_str(), &end, 10);
        if (r.route_table.empty() || *end || t < 1 || t > 0xfffffffe || t == 255)
            return Error{"route-table: '" + r.route_table +
                         "' is not main or a table number (1..2^32-2, not 255)"};
        c.route_table = static_cast<int>(t);
    }

    c.iface = r.iface;
    if (c.iface.empty()) {
        auto def = netlink::default_route_interface();
        if (!def)
            return Error{
                std::string("iface: not set and there is no IPv4 default route to take it from")};
        c.iface = *def;
    }
    if (!netlink::interface_index(c.iface))
        return Error{"iface: no interface named '" + c.iface + "'"};
    if (r.advertise.empty()) {
        auto a = netlink::primary_ipv4(c.iface);
        if (!a) return Error{"advertise: not set and " + c.iface + " has no IPv4 address"};
        c.advertise = a->first;
        c.advertise_follows_iface = true;
    } else {
        auto a = parse_ipv4(r.advertise);
        if (!a) return Error{"advertise: '" + r.advertise + "' is not an IPv4 address"};
        c.advertise = *a;
    }
    if (!r.advertise6.empty()) {
        if (!c.network.network6())
            return Error{"advertise6: set, but ipv6-network is not (dual stack needs both)"};
        auto a = parse_ipv6(r.advertise6);
        if (!a || !is_unicast_global(*a))
            return Error{"advertise6: '" + r.advertise6 +
                         "' is not a global unicast IPv6 address (link-local, multicast and "
                         "loopback addresses cannot be routed to)"};
        c.advertise6 = *a;
    } else if (c.network.network6()) {
        // Taken from iface and followed; a host without one yet announces none until it has.
        c.advertise6 = netlink::global_ipv6(c.iface);
        c.advertise6_follows_iface = true;
    }
    if (auto admitted = finish_admission(
            {r.admission, r.ca_file, r.node_cert, r.state_dir, r.revocations_file}, c);
        !admitted)
        return Error{admitted.error()};
    c.name = r.name;
    if (c.cert) {
        if (!r.name.empty() && r.name != c.cert->name)
            return Error{"name: '" + r.name + "' differs from the name in node-cert " +
                         c.node_cert + " ('" + c.cert->name +
                         "'); under admission the certificate names the node: remove the name "
                         "setting or issue a certificate for this name"};
        c.name = c.cert->name;
    }
    if (c.name.empty()) {
        char host[256] = {};
        if (gethostname(host, sizeof(host) - 1) != 0 || !host[0])
            return Error{std::string("name: not set and no hostname")};
        c.name = host;
    }
    if (auto named = check_member_name(c.name, r.name.empty()); !named) return Error{named.error()};
    c.state_dir = r.state_dir;
    c.socket = r.socket;
    c.subnet_file = r.subnet_file;
    c.cni_conf = r.cni_conf;
    c.leave_on_terminate = r.leave_on_terminate;
    c.ip_masq = r.ip_masq;
    c.forward_rules = r.forward_rules;
    c.vxlan = r.vxlan;
    if (r.vxlan_vni < 1 || r.vxlan_vni > 0xffffff)
        return Error{"vxlan-vni: " + std::to_string(r.vxlan_vni) + " is not 1..16777215"};
    if (r.vxlan_port == 0) return Error{"vxlan-port: 0 is not a port"};
    c.vxlan_vni = r.vxlan_vni;
    c.vxlan_port = r.vxlan_port;
    c.vxlan_device =
        r.vxlan_device.empty() ? "shoal." + std::to_string(r.vxlan_vni) : r.vxlan_device;
    // An interface name: at most 15 bytes, no '/', no white space, not "." or "..".
    if (c.vxlan_device.size() > 15 || c.vxlan_device == "." || c.vxlan_device == ".." ||
        c.vxlan_device.find_first_of("/ \t\n:") != std::string::npos)
        return Error{"vxlan-device: '" + c.vxlan_device +
                     "' is not an interface name (at most 15 characters, no '/', ':' or space)"};
    c.accept_protocol_1 = r.accept_protocol_1;
    c.config_file = r.config;
    return c;
}

}  // namespace shoal::agent
