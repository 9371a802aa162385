#pragma once
// forward-rules for one address family: shoal's tagged accept rules for the pod network in the
// host's FORWARD chain of that family (iptables-nft's `ip filter FORWARD`, `ip6 filter FORWARD`
// for IPv6, or Docker's DOCKER-USER of the family when present), or why pod traffic is not
// forwarded (shown by `status` and /readyz with the command that fixes it). Checked every second.
#include <optional>
#include <string>
#include <vector>

#include "gossip/membership/events.hpp"
#include "netlink/nft_owned_rules.hpp"

namespace shoal::agent {

// The comment on each of our rules: how they are found, replaced and removed.
inline constexpr const char* kForwardRuleTag = "shoal: pod network";

class PodForwarding {
  public:
    // `family`: nft's "ip" or "ip6"; `pods`: the pod network of that family.
    PodForwarding(std::string family, std::string pods);

    // Our rules in place (`enabled`: forward-rules), or taken out (off); the lines to log, once
    // per change.
    std::vector<LogLine> ensure(bool enabled);
    // Our rules taken out (graceful leave).
    std::vector<LogLine> remove();

    // Why pod traffic of this family is dropped; empty when it is not.
    const std::string& blocked() const { return blocked_; }
    // What `status` says: where it is accepted, or why not, or that nothing needs it.
    std::string describe(bool enabled) const;
    // The commands an operator runs when shoal cannot accept the pod network itself.
    std::string fix() const;
    // The rules shoal keeps in the chain, each without its comment.
    std::vector<std::string> rules() const;

  private:
    std::string family_, pods_;
    netlink::NftOwnedRules owned_;
    std::optional<netlink::NftChain> chain_;  // where our accept rules are
    std::string blocked_;                     // status and /readyz; empty when fine
    bool checked_ = false;                    // ensure has run once
    // A failure that blocks nothing yet (the FORWARD chain unreadable, or accepting and our
    // rules refused): said once per change, shown in status.
    std::string warned_;
};

}  // namespace shoal::agent
