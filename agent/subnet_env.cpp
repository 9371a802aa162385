#include "agent/subnet_env.hpp"

namespace shoal::agent {

std::string render_subnet_env(const NetworkConfig& net, std::uint32_t slot, int mtu,
                              bool shoal_masquerades) {
    Ipv4Net sub = net.subnet(slot);
    std::string out;
    out += "FLANNEL_NETWORK=" + net.network().to_string() + "\n";
    out += "FLANNEL_SUBNET=" + ipv4_to_string(sub.addr + 1) + "/" + std::to_string(sub.len) + "\n";
    out += "FLANNEL_MTU=" + std::to_string(mtu) + "\n";
    out += std::string("FLANNEL_IPMASQ=") + (shoal_masquerades ? "true" : "false") + "\n";
    if (auto sub6 = net.subnet6(slot)) {
        out += "FLANNEL_IPV6_NETWORK=" + net.network6()->to_string() + "\n";
        out += "FLANNEL_IPV6_SUBNET=" + ipv6_to_string(first_address(*sub6)) + "/" +
               std::to_string(sub6->len) + "\n";
    }
    return out;
}

}  // namespace shoal::agent
