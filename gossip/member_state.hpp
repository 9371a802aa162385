#pragma once
#include <cstdint>
#include <string_view>

namespace shoal {

enum class MemberState : std::uint8_t { Alive = 0, Suspect = 1, Dead = 2, Left = 3 };
inline constexpr std::uint8_t kMaxMemberState = 3;

constexpr std::string_view to_string(MemberState s) {
    switch (s) {
        case MemberState::Alive: return "alive";
        case MemberState::Suspect: return "suspect";
        case MemberState::Dead: return "dead";
        case MemberState::Left: return "left";
    }
    return "?";
}

constexpr bool is_live(MemberState s) {
    return s == MemberState::Alive || s == MemberState::Suspect;
}

}  // namespace shoal
