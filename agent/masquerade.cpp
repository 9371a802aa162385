#include "agent/masquerade.hpp"

namespace shoal::agent {

std::string masquerade_rules(const NetworkConfig& net) {
    const std::string pods = net.network().to_string();
    // srcnat priority, as iptables' nat POSTROUTING: after filtering and routing, so the
    // address is rewritten only for traffic that really leaves. fully-random: ports are not
    // predictable from outside, as flannel does.
    std::string out =
        "  chain postrouting {\n"
        "    type nat hook postrouting priority srcnat; policy accept;\n"
        "    ip saddr " +
        pods + " ip daddr " + pods +
        " return comment \"pod to pod keeps its address\"\n"
        "    ip saddr " +
        pods +
        " ip daddr 224.0.0.0/4 return comment \"multicast\"\n"
        "    ip saddr " +
        pods + " masquerade fully-random comment \"pods to the outside\"\n";
    if (const auto& six = net.network6()) {
        const std::string pods6 = six->to_string();
        out += "    ip6 saddr " + pods6 + " ip6 daddr " + pods6 +
               " return comment \"pod to pod keeps its address\"\n"
               "    ip6 saddr " +
               pods6 +
               " ip6 daddr ff00::/8 return comment \"multicast\"\n"
               "    ip6 saddr " +
               pods6 + " masquerade fully-random comment \"pods to the outside\"\n";
    }
    out += "  }\n";
    return out;
}

std::vector<std::string> forward_rules(const NetworkConfig& net) {
    const std::string pods = net.network().to_string();
    return {"ip saddr " + pods + " accept", "ip daddr " + pods + " accept"};
}

std::string forward_fix(const NetworkConfig& net) {
    const std::string pods = net.network().to_string();
    return "iptables -I FORWARD -s " + pods + " -j ACCEPT && iptables -I FORWARD -d " + pods +
           " -j ACCEPT";
}

}  // namespace shoal::agent
