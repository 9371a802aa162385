#include "agent/masquerade.hpp"

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

}  // namespace shoal::agent
