#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/address.hpp"
#include "gossip/wire/announcement.hpp"
#include "gossip/wire/node_id.hpp"
#include "gossip/wire/wire.hpp"

namespace shoal {

// Pops the oldest item of an output queue (the poll_* functions of the sans-IO cores).
template <typename Queue>
[[nodiscard]] std::optional<typename Queue::value_type> take_front(Queue& q) {
    if (q.empty()) return std::nullopt;
    auto v = std::move(q.front());
    q.pop_front();
    return v;
}

struct MemberEvent {
    enum class Kind {
        Joined,         // first seen alive, or alive again after dead/left
        Updated,        // a new announcement changed its address, name or metadata
        Suspect,        // suspected; not yet dead
        Recovered,      // refuted a suspicion
        Dead,           // declared failed
        Left,           // left gracefully
        LeaveComplete,  // our own leave has been disseminated; the node is now inert
        Learned,        // first heard of as already dead or left, from a state transfer
        Restarting,     // announced a planned restart; held with its subnet until it returns
    };
    Kind kind;
    NodeId id;
    std::string name;
    Address addr;
    std::uint32_t inc = 0;
};
const char* to_string(MemberEvent::Kind k);

// One level type for the core's log lines and the agent's threshold, with one table of names.
enum class LogLevel { Debug, Info, Warn, Error };
const char* to_string(LogLevel l);
std::optional<LogLevel> parse_log_level(std::string_view s);  // "debug", "info", "warn", "error"

struct LogLine {
    using Level = LogLevel;
    Level level;
    std::string text;
};

struct Transmit {
    Address to;
    std::vector<std::uint8_t> bytes;
};

struct Stats {
    std::uint64_t datagrams_out = 0, bytes_out = 0, datagrams_in = 0, bytes_in = 0;
    std::uint64_t dropped[static_cast<int>(DropReason::Count)] = {};
    std::uint64_t rejected[static_cast<int>(Rejection::Count)] = {};
    std::uint64_t misdirected_pings = 0;
    std::uint64_t relays_refused = 0;  // ping-reqs for an unknown member or address
    std::uint64_t probes_sent = 0, probes_failed = 0, indirect_probes = 0, confirm_probes = 0;
    std::uint64_t suspicions_raised = 0, suspicions_refuted = 0, deaths_declared = 0;
    std::uint64_t syncs_started = 0, syncs_completed = 0, syncs_abandoned = 0;
    std::uint64_t sync_chunks_served = 0, sync_requests_throttled = 0;
    std::uint64_t stalls = 0;
};

}  // namespace shoal
