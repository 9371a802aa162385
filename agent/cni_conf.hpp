#pragma once
// A CNI conflist for the node's subnet, for hosts whose container runtime reads plugin
// configurations rather than flannel's subnet.env: the standard bridge plugin (the node's subnet
// on cni0, which is the pods' gateway) with host-local IPAM over the subnet, and over the IPv6
// subnet too with ipv6-network (a range each: every pod gets one address of each). The bridge
// plugin masquerades (ipMasq) only when shoal does not (ip-masq off), as flannel's CNI plugin
// decides from FLANNEL_IPMASQ: the plugin's rules would also masquerade pod-to-pod traffic between
// hosts.
#include <cstdint>
#include <string>

#include "gossip/ownership/network_config.hpp"

namespace shoal::agent {

std::string render_cni_conflist(const NetworkConfig& net, std::uint32_t slot, int mtu,
                                bool shoal_masquerades);

// The plugin type of the conflist a node without a subnet writes: no such plugin exists.
inline constexpr const char* kNoSubnetPlugin = "shoal-node-owns-no-subnet-see-shoal-status";
// That conflist: it fails closed, so no pod gets an address in a subnet another node owns.
std::string render_cni_conflist_without_subnet(const std::string& reason);

}  // namespace shoal::agent
