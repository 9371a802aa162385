#pragma once
// Encoded updates shared by the nodes of one process. A simulated cluster's nodes each queue the
// same relayed announcements, byte for byte, for as long as a mass join takes to spread: at 4096
// nodes one copy per node and member was gigabytes. With a pool, equal updates are one buffer.
// An agent runs one node and has no pool: its queue owns its own bytes.
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace shoal {

using SharedBytes = std::shared_ptr<const std::vector<std::uint8_t>>;

class UpdatePool {
  public:
    // A buffer equal to `bytes`: one already held by somebody, or a new one. Safe to call from
    // several threads (the simulator steps nodes in parallel).
    SharedBytes intern(std::vector<std::uint8_t> bytes);
    std::size_t size() const {
        std::lock_guard lock(mutex_);
        return entries_.size();
    }

  private:
    mutable std::mutex mutex_;
    std::unordered_multimap<std::uint64_t, std::weak_ptr<const std::vector<std::uint8_t>>> entries_;
    std::size_t sweep_at_ = 1024;  // forget released buffers when the pool doubles
};

}  // namespace shoal
