#pragma once
// Member names are RFC 1123 host names: they end up in log lines, terminals, metrics labels and
// file contents, so a name is checked where it is made (the agent's own) and where it arrives
// (everyone else's) instead of being escaped at every place it is shown.
#include <cstddef>
#include <string_view>

namespace shoal {

// Dot-separated labels of 1-63 letters, digits and inner hyphens; 1-253 characters in all.
inline constexpr std::size_t kMaxMemberName = 253;
bool valid_member_name(std::string_view name);

}  // namespace shoal
