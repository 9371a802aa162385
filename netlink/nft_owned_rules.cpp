#include "netlink/nft_owned_rules.hpp"

#include <sstream>

namespace shoal::netlink {

namespace {
// What nft says of a table or chain that does not exist, as against a failure to look.
bool absent(const std::string& error) {
    return error.find("No such file or directory") != std::string::npos;
}
}  // namespace

Result<std::optional<NftOwnedRules::ForwardChain>> NftOwnedRules::forward_chain(
    const std::string& family) {
    auto forward = nft_.run("list chain " + family + " filter FORWARD\n");
    if (!forward && !absent(forward.error())) return Error{forward.error()};
    if (!forward) return std::optional<ForwardChain>{};  // no filter table or chain
    const bool drops = forward->find("policy drop;") != std::string::npos;
    if (nft_.run("list chain " + family + " filter DOCKER-USER\n"))
        return std::optional<ForwardChain>{ForwardChain{{family, "filter", "DOCKER-USER"}, drops}};
    return std::optional<ForwardChain>{ForwardChain{{family, "filter", "FORWARD"}, drops}};
}

Result<NftOwnedRules::Ours> NftOwnedRules::ours_in(const NftChain& chain) {
    auto listed = nft_.run("list chain " + chain.to_string() + "\n", true);
    if (!listed) return Error{listed.error()};
    Ours ours;
    const std::string mark = "comment \"" + tag_ + "\"";
    const std::string handle = " # handle ";
    std::istringstream lines(*listed);
    for (std::string line; std::getline(lines, line);) {
        auto h = line.rfind(handle);
        if (line.find(mark) == std::string::npos || h == std::string::npos) continue;
        auto text = line.substr(0, h);
        text.erase(0, text.find_first_not_of(" \t"));
        ours.handles.push_back(line.substr(h + handle.size()));
        ours.texts.push_back(text);
    }
    return ours;
}

Result<NftTable::Outcome> NftOwnedRules::ensure(const NftChain& chain,
                                                const std::vector<std::string>& rules) {
    auto ours = ours_in(chain);
    if (!ours) return Error{ours.error()};
    const bool same_request = written_chain_ == chain && written_rules_ == rules;
    if (same_request && ours->texts == written_texts_) return NftTable::Outcome::Unchanged;
    std::string tx;
    for (const auto& h : ours->handles)
        tx += "delete rule " + chain.to_string() + " handle " + h + "\n";
    // Inserted last rule first: each goes to the top, so they end in the order given.
    for (auto r = rules.rbegin(); r != rules.rend(); ++r)
        tx += "insert rule " + chain.to_string() + " " + *r + " comment \"" + tag_ + "\"\n";
    if (auto done = nft_.run(tx); !done) return Error{done.error()};
    auto now = ours_in(chain);
    if (!now) return Error{now.error()};
    written_chain_ = chain;
    written_rules_ = rules;
    written_texts_ = std::move(now->texts);
    return same_request ? NftTable::Outcome::Restored : NftTable::Outcome::Written;
}

Status NftOwnedRules::remove(const NftChain& chain) {
    if (written_chain_ == chain) {
        written_chain_.reset();
        written_rules_.clear();
        written_texts_.clear();
    }
    auto ours = ours_in(chain);
    if (!ours || ours->handles.empty()) return {};  // no such chain, or nothing of ours in it
    std::string tx;
    for (const auto& h : ours->handles)
        tx += "delete rule " + chain.to_string() + " handle " + h + "\n";
    if (auto done = nft_.run(tx); !done) return Error{done.error()};
    return {};
}

}  // namespace shoal::netlink
