#pragma once
// shoal's VXLAN device, for peers off the segment (issue 16): flannel's vxlan backend's device
// with its defaults (VNI 1, UDP 8472, no learning: every peer's entry is static), made and kept
// by shoal. It is found by name and marked as ours by its alias: a device of that name without
// the mark (someone else's) is never changed or deleted.
//
// Peers are entries on it (vxlan_peers.hpp); routes to their subnets go through it, `onlink`.
#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "common/ip_net.hpp"
#include "common/result.hpp"

namespace shoal::netlink {

using Mac = std::array<std::uint8_t, 6>;
std::string mac_to_string(const Mac& mac);

// The alias that marks a device as shoal's.
inline constexpr const char* kVxlanAlias = "shoal: pod network VXLAN (off-segment peers)";

struct VxlanSpec {
    std::string name;  // e.g. "shoal.1"
    std::uint32_t vni = 1;
    std::uint16_t port = 8472;  // UDP, the kernel's and flannel's VXLAN default
    std::uint32_t local = 0;    // our underlay address (host byte order): peers send to it
    int underlay = 0;           // the underlay interface (iface)
    int mtu = 0;                // the underlay's MTU - 50
    Mac mac{};                  // derived from our node id, never learnt
    // Our VTEP address: our subnet's network address as a /32 (none while we own no subnet).
    std::optional<std::uint32_t> address;
    bool operator==(const VxlanSpec&) const = default;
};

class VxlanDevice {
  public:
    enum class Outcome { Unchanged, Created, Changed };
    // The device as `spec` says: made if missing, made again if its VXLAN settings differ (they
    // cannot change in place), its MTU, MAC, address and up state put right otherwise.
    [[nodiscard]] Result<Outcome> ensure(const VxlanSpec& spec);
    // Deleted if it is ours (graceful leave); a missing one is no error.
    [[nodiscard]] Status remove(const std::string& name);
    // Its interface index, if it exists.
    static std::optional<int> index(const std::string& name);
};

}  // namespace shoal::netlink
