#pragma once
// How the core signs its own announcements and checks everyone else's. The core knows nothing of
// keys or subnets; the application (SubnetNode) plugs this in. Without it, announcements are
// unsigned (the core's own unit tests).
#include <optional>
#include <vector>

#include "gossip/wire/announcement.hpp"
#include "gossip/wire/time.hpp"

namespace shoal {

class Credentials {
  public:
    virtual ~Credentials() = default;
    // This node's signed announcement for an incarnation and address.
    virtual Alive announce(std::uint32_t inc, const Address& addr) = 0;
    virtual std::vector<std::uint8_t> sign_leave(std::uint32_t inc) = 0;
    // nullopt when `a` is a valid announcement of its member for our network.
    virtual std::optional<Rejection> check(const Alive& a) = 0;
    // The planned-restart hold a verified announcement carries (zero: none).
    virtual Duration restart_hold(const Alive& a) = 0;
    // Whether `l` is signed by the member whose (verified) announcement is `a`.
    virtual bool check_leave(const Alive& a, const Left& l) = 0;
};

}  // namespace shoal
