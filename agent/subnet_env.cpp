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
    return out;
}

}  // namespace shoal::agent
