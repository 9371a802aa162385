#pragma once
// Records by a key they carry (a member's id, its address): an open-addressing table of
// (hash, pointer) slots. A lookup reads one slot line and then the record it finds; a node-based
// hash set read three or four scattered allocations, and the simulator looks a member up once
// per received announcement (N^2 log N times in a mass join) in a heap of gigabytes, where every
// one of those reads missed the cache.
#include <cstdint>
#include <vector>

#include "common/mix64.hpp"

namespace shoal {

// `KeyOf` has `static const Key& key(const T&)` and `static std::uint64_t hash(const Key&)`.
template <typename T, typename KeyOf>
class PointerIndex {
  public:
    template <typename Key>
    T* find(const Key& key) const {
        if (slots_.empty()) return nullptr;
        const std::uint64_t h = KeyOf::hash(key);
        for (std::size_t i = h & mask();; i = (i + 1) & mask()) {
            const Slot& s = slots_[i];
            if (!s.item) return nullptr;
            if (s.hash == h && KeyOf::key(*s.item) == key) return s.item;
        }
    }
    // Indexes `item` under its key, in place of whatever held that key.
    void assign(T* item) {
        const std::uint64_t h = KeyOf::hash(KeyOf::key(*item));
        if (!slots_.empty()) {
            for (std::size_t i = h & mask(); slots_[i].item; i = (i + 1) & mask()) {
                if (slots_[i].hash == h && KeyOf::key(*slots_[i].item) == KeyOf::key(*item)) {
                    slots_[i].item = item;
                    return;
                }
            }
        }
        if ((used_ + 1) * 4 > slots_.size() * 3) grow();
        place(Slot{h, item});
        ++used_;
    }
    // Removes `item` if it is indexed (under its current key).
    void erase(const T* item) {
        if (slots_.empty()) return;
        std::size_t i = KeyOf::hash(KeyOf::key(*item)) & mask();
        for (; slots_[i].item != item; i = (i + 1) & mask())
            if (!slots_[i].item) return;
        // Backward-shift deletion: later slots of the run move up unless they already sit at or
        // after their home, so every lookup still finds its item before the first empty slot.
        for (std::size_t j = (i + 1) & mask(); slots_[j].item; j = (j + 1) & mask()) {
            std::size_t home = slots_[j].hash & mask();
            if (((j - home) & mask()) >= ((j - i) & mask())) {
                slots_[i] = slots_[j];
                i = j;
            }
        }
        slots_[i] = Slot{};
        --used_;
    }
    std::size_t size() const { return used_; }

  private:
    struct Slot {
        std::uint64_t hash = 0;
        T* item = nullptr;
    };
    std::size_t mask() const { return slots_.size() - 1; }
    void place(const Slot& s) {
        std::size_t i = s.hash & mask();
        while (slots_[i].item) i = (i + 1) & mask();
        slots_[i] = s;
    }
    void grow() {
        std::vector<Slot> old = std::move(slots_);
        slots_.assign(old.empty() ? 16 : old.size() * 2, Slot{});
        for (const Slot& s : old)
            if (s.item) place(s);
    }

    std::vector<Slot> slots_;  // a power of two long, at most three quarters full
    std::size_t used_ = 0;
};

}  // namespace shoal
