#pragma once
// A libnftables context: commands in, as `nft -f` takes them, one transaction per call; their
// listing out, or nft's error. Shared by shoal's own table and its rules in others' chains.
#include <memory>
#include <string>

#include "common/result.hpp"

struct nft_ctx;

namespace shoal::netlink {

class NftSession {
  public:
    NftSession();
    ~NftSession();
    NftSession(NftSession&&) noexcept;
    NftSession& operator=(NftSession&&) noexcept;

    // `handles`: listings carry each rule's handle (`# handle N`).
    [[nodiscard]] Result<std::string> run(const std::string& commands, bool handles = false);

  private:
    struct CtxFree {
        void operator()(nft_ctx* ctx) const;
    };
    std::unique_ptr<nft_ctx, CtxFree> ctx_;
};

}  // namespace shoal::netlink
