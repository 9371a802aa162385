#include "netlink/nft_table.hpp"

#include <nftables/libnftables.h>

namespace shoal::netlink {

void NftTable::CtxFree::operator()(nft_ctx* ctx) const {
    nft_ctx_free(ctx);
}

NftTable::NftTable(std::string family, std::string name)
    : family_(std::move(family)), name_(std::move(name)) {}
NftTable::~NftTable() = default;
NftTable::NftTable(NftTable&&) noexcept = default;
NftTable& NftTable::operator=(NftTable&&) noexcept = default;

Result<std::string> NftTable::run(const std::string& commands) {
    if (!ctx_) {
        ctx_.reset(nft_ctx_new(NFT_CTX_DEFAULT));
        if (!ctx_) return Error{"nftables: cannot create a libnftables context"};
        if (nft_ctx_buffer_output(ctx_.get()) != 0 || nft_ctx_buffer_error(ctx_.get()) != 0) {
            ctx_.reset();
            return Error{"nftables: cannot buffer libnftables output"};
        }
    }
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

Result<std::string> NftTable::listing() {
    return run("list table " + family_ + " " + name_ + "\n");
}

Result<bool> NftTable::exists() {
    auto all = run("list tables " + family_ + "\n");
    if (!all) return Error{all.error()};
    return all->find("table " + family_ + " " + name_ + "\n") != std::string::npos;
}

Result<NftTable::Outcome> NftTable::ensure(const std::string& body) {
    bool ours_before = !written_listing_.empty();
    if (ours_before && body == written_body_) {
        if (auto now = listing(); now && *now == written_listing_) return Outcome::Unchanged;
    }
    // Create-then-delete makes the delete valid whether or not the table exists; the three
    // commands are one transaction, so the old rules hold until the new ones do.
    const std::string head = "table " + family_ + " " + name_;
    auto written = run(head + " {}\ndelete " + head + "\n" + head + " {\n" + body + "}\n");
    if (!written) return Error{written.error()};
    auto now = listing();
    if (!now) return Error{now.error()};
    const bool restored = ours_before && body == written_body_;
    written_body_ = body;
    written_listing_ = std::move(*now);
    return restored ? Outcome::Restored : Outcome::Written;
}

Status NftTable::remove() {
    written_body_.clear();
    written_listing_.clear();
    auto there = exists();
    if (!there) return Error{there.error()};
    if (!*there) return {};
    auto done = run("delete table " + family_ + " " + name_ + "\n");
    if (!done) return Error{done.error()};
    return {};
}

}  // namespace shoal::netlink
