#pragma once
// A fast, non-cryptographic 64-bit mixer (splitmix64's finalizer): every input bit affects every
// output bit. For hash-table slots and the simulator's trace; it is not keyed, so it is no
// defence against inputs chosen to collide.
#include <cstdint>

namespace shoal {

inline std::uint64_t mix64(std::uint64_t h) {
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

}  // namespace shoal
