#include "agent/cni_conf.hpp"

namespace shoal::agent {

std::string render_cni_conflist(const NetworkConfig& net, std::uint32_t slot, int mtu) {
    Ipv4Net sub = net.subnet(slot);
    std::string ranges = "[[{\"subnet\": \"" + sub.to_string() + "\", \"gateway\": \"" +
                         ipv4_to_string(sub.addr + 1) + "\"}]";
    std::string routes = "[{\"dst\": \"0.0.0.0/0\"}";
    if (auto sub6 = net.subnet6(slot)) {
        Ipv6Net gw = *sub6;
        gw.addr[15] |= 1;
        std::string gw_text = gw.to_string();
        gw_text = gw_text.substr(0, gw_text.find('/'));
        ranges +=
            ", [{\"subnet\": \"" + sub6->to_string() + "\", \"gateway\": \"" + gw_text + "\"}]";
        routes += ", {\"dst\": \"::/0\"}";
    }
    ranges += "]";
    routes += "]";
    return "{\n"
           "  \"cniVersion\": \"0.4.0\",\n"
           "  \"name\": \"shoal\",\n"
           "  \"plugins\": [\n"
           "    {\n"
           "      \"type\": \"bridge\",\n"
           "      \"bridge\": \"cni0\",\n"
           "      \"isGateway\": true,\n"
           "      \"ipMasq\": true,\n"
           "      \"mtu\": " +
           std::to_string(mtu) +
           ",\n"
           "      \"ipam\": {\n"
           "        \"type\": \"host-local\",\n"
           "        \"ranges\": " +
           ranges +
           ",\n"
           "        \"routes\": " +
           routes +
           "\n"
           "      }\n"
           "    }\n"
           "  ]\n"
           "}\n";
}

}  // namespace shoal::agent
