#pragma once
// What shoal masquerades (ip-masq): pods reaching anything outside the pod network leave
// with their host's address; pod-to-pod traffic, between hosts too, keeps the pod's own address,
// and so does multicast. The rules live in shoal's own nftables table (netlink/nft_table.hpp), for
// both families when the IPv6 pod network is set.
#include <string>
#include <vector>

#include "gossip/ownership/network_config.hpp"

namespace shoal::agent {

inline constexpr const char* kNftFamily = "inet";
inline constexpr const char* kNftTable = "shoal";

// The body of `table inet shoal { ... }`.
std::string masquerade_rules(const NetworkConfig& net);

}  // namespace shoal::agent
