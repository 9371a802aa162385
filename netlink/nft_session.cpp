#include "netlink/nft_session.hpp"

#include <nftables/libnftables.h>

namespace shoal::netlink {

void NftSession::CtxFree::operator()(nft_ctx* ctx) const {
    nft_ctx_free(ctx);
}

NftSession::NftSession() = default;
NftSession::~NftSession() = default;
NftSession::NftSession(NftSession&&) noexcept = default;
NftSession& NftSession::operator=(NftSession&&) noexcept = default;

Result<std::string> NftSession::run(const std::string& commands, bool handles) {
    if (!ctx_) {
        ctx_.reset(nft_ctx_new(NFT_CTX_DEFAULT));
        if (!ctx_) return Error{"nftables: cannot create a libnftables context"};
        if (nft_ctx_buffer_output(ctx_.get()) != 0 || nft_ctx_buffer_error(ctx_.get()) != 0) {
            ctx_.reset();
            return Error{"nftables: cannot buffer libnftables output"};
        }
    }
    nft_ctx_output_set_flags(ctx_.get(), handles ? NFT_CTX_OUTPUT_HANDLE : 0);
    int rc = nft_run_cmd_from_buffer(ctx_.get(), commands.c_str());
    std::string out = nft_ctx_get_output_buffer(ctx_.get());
    std::string err = nft_ctx_get_error_buffer(ctx_.get());
    if (rc != 0) {
        while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
        if (auto nl = err.find('\n'); nl != std::string::npos) err.resize(nl);  // nft's first line
        return Error{"nftables: " + (err.empty() ? std::string("command failed") : err)};
    }
    return out;
}

}  // namespace shoal::netlink
