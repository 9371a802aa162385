#include "gossip/membership/update_pool.hpp"

#include <iterator>
#include <string_view>

namespace shoal {

SharedBytes UpdatePool::intern(std::vector<std::uint8_t> bytes) {
    const std::uint64_t key = std::hash<std::string_view>{}(
        std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    std::lock_guard lock(mutex_);
    auto [first, last] = entries_.equal_range(key);
    for (auto it = first; it != last; ++it)
        if (SharedBytes held = it->second.lock(); held && *held == bytes) return held;
    if (entries_.size() >= sweep_at_) {
        for (auto it = entries_.begin(); it != entries_.end();)
            it = it->second.expired() ? entries_.erase(it) : std::next(it);
        sweep_at_ = std::max<std::size_t>(1024, 2 * entries_.size());
    }
    SharedBytes made = std::make_shared<const std::vector<std::uint8_t>>(std::move(bytes));
    entries_.emplace(key, made);
    return made;
}

}  // namespace shoal
