#include "agent/vxlan_policy.hpp"

#include "agent/route_policy.hpp"

namespace shoal::agent {

netlink::Mac vtep_mac(const NodeId& id) {
    netlink::Mac mac{};
    for (std::size_t i = 0; i < mac.size(); ++i) mac[i] = id.bytes[i];
    mac[0] = static_cast<std::uint8_t>((mac[0] & 0xfe) | 0x02);
    return mac;
}

VxlanPlan vxlan_plan(const SubnetNode& node, int iface_index, const std::vector<Ipv4Net>& segment,
                     int vxlan_index, const std::set<std::uint32_t>& answered,
                     const std::set<NodeId>& kept) {
    VxlanPlan plan;
    for_each_routed_owner(node, kept, [&](std::uint32_t slot, const Member& m) {
        const std::uint32_t addr = m.info.addr.ip;
        const Ipv4Net subnet = node.network().subnet(slot);
        const std::optional<Ipv6Net> subnet6 = node.network().subnet6(slot);
        if (on_segment(segment, addr)) {
            plan.routes.push_back(netlink::Route{subnet, addr, iface_index});
            auto ann = node.announcement_of(m);
            if (subnet6 && ann && ann->addr6)
                plan.routes6.push_back(netlink::Route6{*subnet6, *ann->addr6, iface_index});
            return;
        }
        ++plan.off_segment;
        if (vxlan_index <= 0 || !answered.count(addr)) return;
        plan.routes.push_back(netlink::Route{subnet, subnet.addr, vxlan_index, true});
        netlink::VxlanPeer peer{subnet.addr, vtep_mac(m.id()), addr, std::nullopt};
        if (subnet6) {
            peer.vtep6 = subnet6->addr;
            plan.routes6.push_back(netlink::Route6{*subnet6, subnet6->addr, vxlan_index, true});
        }
        plan.peers.push_back(peer);
    });
    return plan;
}

}  // namespace shoal::agent
