#pragma once
// A CNI conflist for the node's subnet, for hosts whose container runtime reads plugin
// configurations rather than flannel's subnet.env: the standard bridge plugin (the node's subnet
// on cni0, which is the pods' gateway) with host-local IPAM over the subnet (and the IPv6 subnet
// when dual-stack). ipMasq is on, as flannel's CNI plugin sets it when FLANNEL_IPMASQ is false:
// shoal does no masquerading of its own yet.
#include <cstdint>
#include <string>

#include "gossip/network_config.hpp"

namespace shoal::agent {

std::string render_cni_conflist(const NetworkConfig& net, std::uint32_t slot, int mtu);

}  // namespace shoal::agent
