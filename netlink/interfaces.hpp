#pragma once
// Facts about this host's interfaces, read over rtnetlink each time they are needed: an
// interface index is never cached for good (flannel lost its routes for good after a cable
// unplug, flannel#1434, because it did).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/ip_net.hpp"

namespace shoal::netlink {

// The interface of the IPv4 default route in the main table.
std::optional<std::string> default_route_interface();
// The first IPv4 address on `ifname` (host byte order) and its prefix length.
std::optional<std::pair<std::uint32_t, int>> primary_ipv4(const std::string& ifname);
// Every IPv4 network on `ifname` (the addresses with their host bits cleared): the segment.
std::vector<Ipv4Net> ipv4_networks(const std::string& ifname);
// The first global IPv6 address on `ifname` that is neither temporary, deprecated nor tentative.
std::optional<Ipv6Addr> global_ipv6(const std::string& ifname);
std::optional<int> interface_mtu(const std::string& ifname);
std::optional<int> interface_index(const std::string& ifname);
// Up with a carrier; nullopt when there is no such interface.
std::optional<bool> interface_has_carrier(const std::string& ifname);

}  // namespace shoal::netlink
