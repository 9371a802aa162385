#pragma once
// What shoal's own nftables table holds. What shoal masquerades (ip-masq): pods reaching anything
// outside the pod network leave with their host's address; pod-to-pod traffic, between hosts too,
// keeps the pod's own address, and so does multicast. The rules live in shoal's own nftables table
// (netlink/nft_table.hpp), for both families when the IPv6 pod network is set.
#include <cstdint>
#include <string>
#include <vector>

#include "gossip/ownership/network_config.hpp"

namespace shoal::agent {

inline constexpr const char* kNftFamily = "inet";
inline constexpr const char* kNftTable = "shoal";

// The body of `table inet shoal { ... }`: the masquerade chain (ip-masq) ...
std::string masquerade_rules(const NetworkConfig& net);
// ... and, with vxlan, the input chain that drops VXLAN (UDP `port`) from anything but the
// members' addresses (IPv4, host order): VXLAN is neither encrypted nor authenticated, and an
// accepted packet lands in the pod network.
std::string vxlan_filter_rules(std::uint16_t port, std::vector<std::uint32_t> members);

}  // namespace shoal::agent
