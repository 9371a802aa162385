#include "agent/subnet_env.hpp"

namespace shoal::agent {

std::string render_subnet_env(const NetworkConfig& net, std::uint32_t slot, int mtu) {
    Ipv4Net sub = net.subnet(slot);
    std::string out;
    out += "FLANNEL_NETWORK=" + net.network().to_string() + "\n";
    out += "FLANNEL_SUBNET=" + ipv4_to_string(sub.addr + 1) + "/" + std::to_string(sub.len) + "\n";
    out += "FLANNEL_MTU=" + std::to_string(mtu) + "\n";
    out += "FLANNEL_IPMASQ=false\n";
    if (auto sub6 = net.subnet6(slot)) {
        Ipv6Net gw = *sub6;
        gw.addr[15] |= 1;  // the subnet's first address: the bridge gateway
        out += "FLANNEL_IPV6_NETWORK=" + net.network6()->to_string() + "\n";
        out += "FLANNEL_IPV6_SUBNET=" + gw.to_string() + "\n";
    }
    return out;
}

}  // namespace shoal::agent
