#include "agent/masquerade.hpp"

#include <algorithm>

#include "common/address.hpp"

namespace shoal::agent {

namespace {
// One family's rules: `ip` is nft's payload keyword ("ip", "ip6").
std::string family_rules(const std::string& ip, const std::string& pods,
                         const std::string& multicast) {
    const std::string from = "    " + ip + " saddr " + pods;
    return from + " " + ip + " daddr " + pods +
           " return comment \"pod to pod keeps its address\"\n" + from + " " + ip + " daddr " +
           multicast + " return comment \"multicast\"\n" + from +
           " masquerade fully-random comment \"pods to the outside\"\n";
}
}  // namespace

std::string masquerade_rules(const NetworkConfig& net) {
    // srcnat priority, as iptables' nat POSTROUTING: after filtering and routing, so the
    // address is rewritten only for traffic that really leaves. fully-random: ports are not
    // predictable from outside, as flannel does.
    std::string out =
        "  chain postrouting {\n"
        "    type nat hook postrouting priority srcnat; policy accept;\n" +
        family_rules("ip", net.network().to_string(), "224.0.0.0/4");
    if (const auto& six = net.network6()) out += family_rules("ip6", six->to_string(), "ff00::/8");
    return out + "  }\n";
}

std::string vxlan_filter_rules(std::uint16_t port, std::vector<std::uint32_t> members) {
    std::sort(members.begin(), members.end());
    members.erase(std::unique(members.begin(), members.end()), members.end());
    std::string from;
    for (auto a : members) from += (from.empty() ? "" : ", ") + ipv4_to_string(a);
    // Input, filter priority: VXLAN packets are dropped before the kernel decapsulates them.
    const std::string match = "    udp dport " + std::to_string(port) + " ";
    return "  chain vxlan-input {\n"
           "    type filter hook input priority filter; policy accept;\n" +
           (from.empty() ? match : match + "ip saddr != { " + from + " } ") +
           "drop comment \"VXLAN only from members\"\n"
           "  }\n";
}

}  // namespace shoal::agent
