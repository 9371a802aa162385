#include "agent/cni_conf.hpp"

namespace shoal::agent {

std::string render_cni_conflist(const NetworkConfig& net, std::uint32_t slot, int mtu,
                                bool shoal_masquerades) {
    Ipv4Net sub = net.subnet(slot);
    std::string ranges = "[[{\"subnet\": \"" + sub.to_string() + "\", \"gateway\": \"" +
                         ipv4_to_string(sub.addr + 1) + "\"}]";
    std::string routes = "[{\"dst\": \"0.0.0.0/0\"}";
    if (auto sub6 = net.subnet6(slot)) {
        ranges += ", [{\"subnet\": \"" + sub6->to_string() + "\", \"gateway\": \"" +
                  ipv6_to_string(first_address(*sub6)) + "\"}]";
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
           "      \"ipMasq\": " +
           std::string(shoal_masquerades ? "false" : "true") +
           ",\n"
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

std::string render_cni_conflist_without_subnet(const std::string& reason) {
    // Valid JSON under the same name, so the runtime keeps choosing this file over any other in
    // the directory, but its only plugin does not exist: every new pod fails with an error that
    // names the plugin, and with it shoal.
    std::string escaped;
    for (char c : reason) {
        if (c == '"' || c == '\\') escaped += '\\';
        if (static_cast<unsigned char>(c) >= 0x20) escaped += c;
    }
    return "{\n"
           "  \"cniVersion\": \"0.4.0\",\n"
           "  \"name\": \"shoal\",\n"
           "  \"plugins\": [\n"
           "    {\n"
           "      \"type\": \"" +
           std::string(kNoSubnetPlugin) +
           "\",\n"
           "      \"shoal\": \"" +
           escaped +
           "\"\n"
           "    }\n"
           "  ]\n"
           "}\n";
}

}  // namespace shoal::agent
