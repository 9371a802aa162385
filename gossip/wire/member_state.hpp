#pragma once
#include <cstdint>
#include <string_view>

namespace shoal {

// Restarting: the member announced (signed) a planned restart and is held, with its subnet and
// routes, until it returns or its announced hold runs out.
enum class MemberState : std::uint8_t {
    Alive = 0,
    Suspect = 1,
    Dead = 2,
    Left = 3,
    Restarting = 4
};
inline constexpr std::uint8_t kMaxMemberState = 4;

constexpr std::string_view to_string(MemberState s) {
    switch (s) {
        case MemberState::Alive: return "alive";
        case MemberState::Suspect: return "suspect";
        case MemberState::Dead: return "dead";
        case MemberState::Left: return "left";
        case MemberState::Restarting: return "restarting";
    }
    return "?";
}

// Reachable: probed, gossiped to, asked to relay.
constexpr bool is_live(MemberState s) {
    return s == MemberState::Alive || s == MemberState::Suspect;
}

// Present: live, or away for a restart it announced (signed) and is held for. Still one of the
// cluster, whether or not it answers now: only death or a leave ends that.
constexpr bool is_present(MemberState s) {
    return is_live(s) || s == MemberState::Restarting;
}

}  // namespace shoal
