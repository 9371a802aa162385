#pragma once
// Everything that tunes the membership core. Profiles give consistent defaults; every timer can
// also be set on its own (`apply_setting`), with the same names in the agent's config file.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/address.hpp"
#include "common/result.hpp"
#include "gossip/membership/update_pool.hpp"
#include "gossip/wire/messages.hpp"
#include "gossip/wire/node_id.hpp"
#include "gossip/wire/time.hpp"

namespace shoal {

struct Timing {
    Duration probe_interval = 500ms;   // one probe per interval, scaled by local health
    Duration probe_timeout = 150ms;    // wait for a direct ack before asking others
    int indirect_checks = 3;           // members asked to probe on our behalf
    Duration gossip_interval = 100ms;  // send queued updates this often (only when there are any)
    int gossip_fanout = 4;
    int retransmit_mult = 4;           // each update is sent mult * ceil(log10(N+1)) times
    double suspicion_mult = 0.6;       // min suspicion = mult * max(1, log10 N) * probe_interval
    double suspicion_max_mult = 6.0;   // unconfirmed suspicion lasts max_mult times the minimum
    int suspicion_confirmations = 3;   // independent suspicions that shrink the timeout to min
    double confirm_probes = 6.0;       // expected members that re-probe a fresh suspect
    int max_local_health = 8;          // Lifeguard: probe interval/timeout scale by (1 + score)
    Duration sync_interval = 20s;      // anti-entropy digest exchange with one random member
    Duration reconnect_interval = 5s;  // re-probe one dead member or unreached seed
    Duration sync_retry = 400ms;       // re-ask for missing state chunks after this
    int sync_max_chunks = 16;          // chunks sent per state request
    Duration join_retry_min = 400ms;   // seed retry backoff starts here ...
    Duration join_retry_max = 30s;     // ... and doubles up to here
    Duration leave_timeout = 2s;       // a leave completes once disseminated or after this
    Duration dead_retention = 24h;     // dead and left members are forgotten after this
    std::size_t max_datagram = 1400;   // UDP payload bytes, headers excluded
    // A member's planned-restart hold is its own word: capped here, whatever it asks for.
    Duration restart_hold_max = 10min;
    // New identities are refused beyond this many members (dead and left ones included): the
    // table's memory is bounded whatever a key holder invents.
    std::size_t max_members = 4096;
    // Forgotten members remembered by id and highest signed incarnation (oldest evicted first).
    std::size_t max_tombstones = 65536;
};

enum class Profile { Lan, Fast };
std::optional<Profile> parse_profile(std::string_view name);
const char* to_string(Profile p);
Timing timing_for(Profile p);

// Sets one named timer ("probe-interval", "suspicion-mult", ...). Durations take a unit
// (ms, s, m, h). The error names the setting.
[[nodiscard]] Status apply_setting(Timing& t, std::string_view name, std::string_view value);
std::vector<std::string> setting_names();
// Cross-field checks.
[[nodiscard]] Status validate(const Timing& t);

std::optional<Duration> parse_duration(std::string_view text);

struct NodeConfig {
    NodeId id;
    std::string name;
    Address addr;  // where the others reach this node
    std::vector<Address> seeds;
    // The application's bytes in our announcement, opaque to the core and at most
    // Node::kMaxPayload of them (Node::set_payload replaces them): unsigned, the alive's meta;
    // with credentials, signed inside the announcement (SubnetNode: its subnet claim).
    std::vector<std::uint8_t> payload;
    Timing timing;
    // Announce ourselves only after the first full state transfer: a member that picks its
    // subnet from the table it learns then announces once, with its claim, instead of twice.
    bool announce_after_sync = false;
    // A rolling upgrade from protocol 1: accept its datagrams and its unsigned accusations, speak
    // it to members that announced it. Off, both are refused: keeping it on is a downgrade path.
    bool accept_protocol_1 = false;
    // Random for each start (clone detection), and the one of the start before, if known: an
    // announcement of ours under that nonce is our own past, not a clone.
    std::uint64_t boot = 0;
    std::uint64_t previous_boot = 0;
    // Tombstones kept from before a restart (the agent's state file).
    std::vector<Tombstone> tombstones = {};
    // Shared by the nodes of one process (the simulator); null: the node keeps its own bytes.
    std::shared_ptr<UpdatePool> update_pool = nullptr;
};

}  // namespace shoal
