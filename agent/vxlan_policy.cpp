#include "agent/vxlan_policy.hpp"

namespace shoal::agent {

netlink::Mac vtep_mac(const NodeId& id) {
    netlink::Mac mac{};
    for (std::size_t i = 0; i < mac.size(); ++i) mac[i] = id.bytes[i];
    mac[0] = static_cast<std::uint8_t>((mac[0] & 0xfe) | 0x02);
    return mac;
}

}  // namespace shoal::agent
