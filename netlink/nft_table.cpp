#include "netlink/nft_table.hpp"

namespace shoal::netlink {

NftTable::NftTable(std::string family, std::string name)
    : family_(std::move(family)), name_(std::move(name)) {}

Result<std::string> NftTable::listing() {
    return nft_.run("list table " + family_ + " " + name_ + "\n");
}

Result<bool> NftTable::exists() {
    auto all = nft_.run("list tables " + family_ + "\n");
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
    auto written = nft_.run(head + " {}\ndelete " + head + "\n" + head + " {\n" + body + "}\n");
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
    auto done = nft_.run("delete table " + family_ + " " + name_ + "\n");
    if (!done) return Error{done.error()};
    return {};
}

}  // namespace shoal::netlink
