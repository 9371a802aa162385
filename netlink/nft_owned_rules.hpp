#pragma once
// Rules of shoal's own in a chain it does not own: the host's filter FORWARD chain (iptables-nft)
// or Docker's DOCKER-USER. A drop in any base chain is final in nftables, so no table of our own
// can let pod traffic through a FORWARD policy of drop; flannel adds accept rules there too.
// Each of ours carries `comment "<tag>"`: found, replaced and removed by it, never another rule.
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "netlink/nft_session.hpp"
#include "netlink/nft_table.hpp"

namespace shoal::netlink {

struct NftChain {
    std::string family, table, name;
    std::string to_string() const { return family + " " + table + " " + name; }
    bool operator==(const NftChain&) const = default;
};

class NftOwnedRules {
  public:
    explicit NftOwnedRules(std::string tag) : tag_(std::move(tag)) {}

    struct ForwardChain {
        NftChain chain;
        bool drops = false;  // FORWARD's policy is drop: pod traffic needs our rules
    };
    // Where forwarded traffic of `family` ("ip", "ip6") meets iptables-nft's filtering:
    // DOCKER-USER when Docker made it (Docker's FORWARD jumps there first), otherwise filter
    // FORWARD; nullopt when the host has no filter table of that family (nothing there drops pod
    // traffic); an error when nft could not look.
    [[nodiscard]] Result<std::optional<ForwardChain>> forward_chain(const std::string& family);
    // Our rules in `chain` made exactly `rules` (each without its comment), inserted at the top,
    // in one transaction; cheap when they already are.
    [[nodiscard]] Result<NftTable::Outcome> ensure(const NftChain& chain,
                                                   const std::vector<std::string>& rules);
    // Our rules removed from `chain`; a missing chain is no error.
    [[nodiscard]] Status remove(const NftChain& chain);

  private:
    struct Ours {
        std::vector<std::string> handles, texts;
    };
    Result<Ours> ours_in(const NftChain& chain);

    std::string tag_;
    NftSession nft_;
    std::optional<NftChain> written_chain_;
    std::vector<std::string> written_rules_, written_texts_;
};

}  // namespace shoal::netlink
