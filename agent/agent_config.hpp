#pragma once
// `shoal agent` settings: from flags and from a TOML file (--config), under the same names.
// Validation happens before anything is touched: a wrong setting exits 2 with a message that
// names it, and nothing is half-applied.
#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/result.hpp"
#include "gossip/membership/config.hpp"
#include "gossip/membership/events.hpp"
#include "gossip/ownership/admission.hpp"
#include "gossip/ownership/network_config.hpp"
#include "gossip/wire/keyring.hpp"

namespace shoal::agent {

struct AgentConfig {
    std::string name;
    Address bind;
    std::uint32_t advertise = 0;           // IPv4, host byte order
    bool advertise_follows_iface = false;  // not set: follow iface's address when it changes
    // With ipv6-network: the address peers route our IPv6 subnet to (none: iface has no global
    // IPv6 address yet), followed like `advertise` when not set.
    std::optional<Ipv6Addr> advertise6;
    bool advertise6_follows_iface = false;
    std::string iface;
    NetworkConfig network;
    std::vector<Address> seeds;
    std::string cluster_key_file;
    Keyring keyring;
    std::vector<int> keyring_lines;  // the line of the file each key is on
    Duration restart_hold = 60s;
    std::string state_dir;
    std::string socket;
    std::string subnet_file;
    std::string cni_conf;
    Profile profile = Profile::Lan;
    Timing timing;
    int route_table = 254;
    bool leave_on_terminate = false;
    bool ip_masq = true;        // shoal's nftables table masquerades pods' traffic to the outside
    bool forward_rules = true;  // accept rules for the pod network in the host's FORWARD chain
    bool vxlan = true;          // members off iface's network reached through a VXLAN device
    std::uint32_t vxlan_vni = 1;
    std::uint16_t vxlan_port = 8472;
    std::string vxlan_device;        // default "shoal.<vni>"
    bool accept_protocol_1 = false;  // a rolling upgrade from protocol 1 (NodeConfig)
    LogLevel log_level = LogLevel::Info;
    std::string config_file;  // --config, re-read for log-level on SIGHUP
    Duration grace = 24h;
    // A dead member's route stays while its host answers our echoes, this long at most
    // (agent/host_check.hpp); 0 turns the host check off.
    Duration route_hold = std::chrono::minutes(10);
    std::optional<Address> metrics;  // where /metrics, /healthz, /readyz are served (off: nullopt)
    AdmissionMode admission = AdmissionMode::Off;
    std::string ca_file;
    std::vector<PublicKey> cas;           // trusted CA keys, from ca-file
    std::string node_cert;                // its path
    std::string revocations_file;         // read at start and on SIGHUP (empty: none)
    std::vector<Revocation> revocations;  // what it held at start
    // This node's certificate (admission on and the file present): its name is our name.
    std::vector<std::uint8_t> certificate;
    std::optional<Certificate> cert;
};

// Registers every setting on `cmd` (the `agent` subcommand).
class AgentOptions {
  public:
    explicit AgentOptions(CLI::App* cmd);
    // Validates, fills in defaults from the system (hostname, default-route interface, its
    // address), reads the keyring. On failure: a message starting with the setting's name.
    Result<AgentConfig> finish() const;

  private:
    struct Raw;
    std::shared_ptr<Raw> raw_;
};

// `lines`, when given, receives the line number of each key in the file.
Result<Keyring> read_keyring(const std::string& path, std::vector<int>* lines = nullptr);
// An error when the keyring at `path` is readable or writable by group or others (mode & 077),
// naming its mode and the fix (`chmod 600 PATH`): anyone who can read it can join the cluster,
// and anyone who can write it can choose the keys. Checked at start and at every SIGHUP.
Status check_keyring_permissions(const std::string& path);
// The agent's own member name must be an RFC 1123 host name: it is shown in logs, metrics labels
// and every peer's files. `from_hostname`: it was not set, so the error says to set it.
Status check_member_name(const std::string& name, bool from_hostname);
// The log-level a config file sets (nullopt if it sets none).
Result<std::optional<LogLevel>> read_log_level(const std::string& config_file);

}  // namespace shoal::agent
