#pragma once
// What the agent asks of the VXLAN device (issue 16), as pure functions: the VTEP MAC of a
// member, derived from its node id (never taken from an announcement, so no member can choose
// another's).
#include "gossip/wire/node_id.hpp"
#include "netlink/vxlan_device.hpp"

namespace shoal::agent {

// The first six bytes of the node id with the locally administered bit set and the multicast
// bit clear: unique per member as its id is, and never a vendor's address.
netlink::Mac vtep_mac(const NodeId& id);

}  // namespace shoal::agent
