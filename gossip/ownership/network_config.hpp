#pragma once
// The cluster's pod network: the CIDR, how it is cut into per-node subnets, and the optional IPv6
// network beside it. Validated as flannel validates its own (so configurations carry over), and
// reduced to a digest that every announcement carries: agents with different networks refuse
// each other, because changing the network is making a new cluster.
//
// Subnets are numbered by "slot": slot 0 is subnet-min, the last slot is subnet-max. With IPv6,
// the IPv6 subnet of a slot has the same index inside the IPv6 network as the IPv4 subnet has
// inside the IPv4 network (10.244.5.0/24 goes with fd00:0:0:5::/64).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/ip_net.hpp"
#include "gossip/wire/messages.hpp"

namespace shoal {

// The operator's settings, as written; zero or empty means "the default".
struct NetworkSettings {
    std::string network = {};
    int subnet_len = 0;
    std::string subnet_min = {};
    std::string subnet_max = {};
    std::string ipv6_network = {};
    int ipv6_subnet_len = 0;
};

class NetworkConfig {
  public:
    // Validates and fills in defaults; on failure the message starts with the setting's name.
    static Result<NetworkConfig> make(const NetworkSettings& s);

    std::uint32_t slots() const { return slots_; }
    Ipv4Net subnet(std::uint32_t slot) const;
    std::optional<Ipv6Net> subnet6(std::uint32_t slot) const;
    std::optional<std::uint32_t> slot_of(const Ipv4Net& subnet) const;
    const Ipv4Net& network() const { return network_; }
    const std::optional<Ipv6Net>& network6() const { return network6_; }
    int subnet_len() const { return subnet_len_; }
    const Digest& digest() const { return digest_; }
    std::string describe() const;

  private:
    Ipv4Net network_;
    int subnet_len_ = 0;
    std::uint32_t min_ = 0, max_ = 0, slots_ = 0;
    std::optional<Ipv6Net> network6_;
    int subnet6_len_ = 0;
    Digest digest_{};
};

}  // namespace shoal
