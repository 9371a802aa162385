#pragma once
// flannel's /run/flannel/subnet.env, which flannel's CNI plugin (and anything written for it)
// reads: the cluster network, this node's subnet as gateway-address/len, the MTU, whether the
// network masquerades, and the IPv6 pair when dual-stack.
#include <cstdint>
#include <string>

#include "gossip/network_config.hpp"

namespace shoal::agent {

// FLANNEL_IPMASQ is false: shoal does no masquerading itself, so the CNI bridge plugin's ipMasq
// (which flannel's plugin sets to the opposite of this) does it.
std::string render_subnet_env(const NetworkConfig& net, std::uint32_t slot, int mtu);

}  // namespace shoal::agent
