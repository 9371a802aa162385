#pragma once
// What the agent asks of the VXLAN device (issue 16), as pure functions: the VTEP MAC of a
// member, derived from its node id (never taken from an announcement, so no member can choose
// another's).
#include <cstdint>
#include <set>
#include <vector>

#include "gossip/ownership/subnet_node.hpp"
#include "gossip/wire/node_id.hpp"
#include "netlink/route_plan.hpp"
#include "netlink/vxlan_peers.hpp"

namespace shoal::agent {

// The first six bytes of the node id with the locally administered bit set and the multicast
// bit clear: unique per member as its id is, and never a vendor's address.
netlink::Mac vtep_mac(const NodeId& id);

// VXLAN's overhead over an IPv4 underlay: outer IPv4 (20), UDP (8), VXLAN (8) and the inner
// Ethernet header (14). With vxlan on, pods and the device get iface's MTU less this, whether or
// not a member is off the segment yet: a pod made before the first one appears must not be too
// large for the tunnel later (a static rule, as flannel's).
inline constexpr int kVxlanOverhead = 50;

// With vxlan on, every IPv4 route the agent wants: members whose address is on one of iface's
// networks (`segment`) keep their host-gw route via that address on `iface_index`; the others
// are routed through the VXLAN device (`vxlan_index`; 0 while it is not made): their subnet via
// its VTEP address (the subnet's network address) onlink, with that address's neighbour entry
// (-> the VTEP MAC of the member's id) and forwarding entry (-> the member's address). Only a
// member whose address answered this agent's own probes (`answered`) gets them: nobody's word
// sends a subnet's traffic to an address that never answered us.
// Dual stack (`ipv6-network` set): `routes6` likewise, the same members through the same tunnel
// (IPv4 underneath): a member on the segment via the IPv6 address it announced on `iface_index`,
// one off it via its IPv6 subnet's network address onlink, with that address's neighbour entry.
struct VxlanPlan {
    std::vector<netlink::Route> routes;
    std::vector<netlink::Route6> routes6;
    std::vector<netlink::VxlanPeer> peers;
    std::size_t off_segment = 0;  // members off the segment: the device is needed when > 0
};
VxlanPlan vxlan_plan(const SubnetNode& node, int iface_index, const std::vector<Ipv4Net>& segment,
                     int vxlan_index, const std::set<std::uint32_t>& answered,
                     const std::set<NodeId>& kept = {});

}  // namespace shoal::agent
