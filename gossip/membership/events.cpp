#include "gossip/membership/events.hpp"

namespace shoal {

const char* to_string(MemberEvent::Kind k) {
    switch (k) {
        case MemberEvent::Kind::Joined: return "joined";
        case MemberEvent::Kind::Updated: return "updated";
        case MemberEvent::Kind::Suspect: return "suspect";
        case MemberEvent::Kind::Recovered: return "recovered";
        case MemberEvent::Kind::Dead: return "dead";
        case MemberEvent::Kind::Left: return "left";
        case MemberEvent::Kind::LeaveComplete: return "leave-complete";
        case MemberEvent::Kind::Learned: return "learned";
        case MemberEvent::Kind::Restarting: return "restarting";
    }
    return "?";
}

const char* to_string(LogLevel l) {
    switch (l) {
        case LogLevel::Debug: return "debug";
        case LogLevel::Info: return "info";
        case LogLevel::Warn: return "warn";
        case LogLevel::Error: return "error";
    }
    return "?";
}

std::optional<LogLevel> parse_log_level(std::string_view s) {
    for (auto l : {LogLevel::Debug, LogLevel::Info, LogLevel::Warn, LogLevel::Error})
        if (s == to_string(l)) return l;
    return std::nullopt;
}

}  // namespace shoal
