#pragma once
// The static entries on shoal's VXLAN device that make a peer reachable through it, as flannel's
// vxlan backend writes them: a permanent neighbour entry (the peer's VTEP address -> its VTEP
// MAC), so the kernel never asks for it, and a forwarding-database entry (that MAC -> the peer's
// underlay address), so the encapsulated frame goes to that host alone. The device is ours:
// every permanent entry on it that is not desired is removed (those the kernel learns or is
// resolving are its own business).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/ip_net.hpp"
#include "common/result.hpp"
#include "netlink/vxlan_device.hpp"

namespace shoal::netlink {

struct VxlanPeer {
    std::uint32_t vtep = 0;      // its VTEP address: its subnet's network address (host order)
    Mac mac{};                   // its VTEP MAC, derived from its node id
    std::uint32_t underlay = 0;  // where its VXLAN packets go (host order)
    // Dual stack: its IPv6 subnet's network address, the next hop of its IPv6 route through the
    // device (one more neighbour entry, to the same MAC; the tunnel stays IPv4).
    std::optional<Ipv6Addr> vtep6;
    bool operator==(const VxlanPeer&) const = default;
};

struct VxlanPeersResult {
    int added = 0, removed = 0, errors = 0;
    std::vector<std::string> messages;  // one line per change or failure, for the log
};

// Brings the neighbour and forwarding entries of device `ifindex` to exactly `peers`;
// `remove_stale` false only adds (after a restart, until the agent knows the cluster).
VxlanPeersResult reconcile_vxlan_peers(int ifindex, const std::vector<VxlanPeer>& peers,
                                       bool remove_stale = true);
// The underlay addresses the forwarding entries of device `ifindex` send to (what the last run
// of the agent wrote, after those addresses answered it).
std::vector<std::uint32_t> vxlan_peer_underlays(int ifindex);

}  // namespace shoal::netlink
