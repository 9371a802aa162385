#pragma once
// flannel's /run/flannel/subnet.env, which flannel's CNI plugin (and anything written for it)
// reads: the cluster network, this node's subnet as gateway-address/len, the MTU, whether the
// network masquerades, and with ipv6-network the IPv6 pair under flannel's names
// (FLANNEL_IPV6_NETWORK, FLANNEL_IPV6_SUBNET).
#include <cstdint>
#include <string>

#include "gossip/ownership/network_config.hpp"

namespace shoal::agent {

// FLANNEL_IPMASQ says whether shoal masquerades (ip-masq): flannel's CNI plugin then turns the
// bridge plugin's own ipMasq off, which would also masquerade pod-to-pod traffic between hosts.
std::string render_subnet_env(const NetworkConfig& net, std::uint32_t slot, int mtu,
                              bool shoal_masquerades);

}  // namespace shoal::agent
