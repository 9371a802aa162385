#include "agent/pod_forwarding.hpp"

#include <utility>

namespace shoal::agent {

PodForwarding::PodForwarding(std::string family, std::string pods)
    : family_(std::move(family)), pods_(std::move(pods)), owned_(kForwardRuleTag) {}

std::vector<std::string> PodForwarding::rules() const {
    return {family_ + " saddr " + pods_ + " accept", family_ + " daddr " + pods_ + " accept"};
}

std::string PodForwarding::fix() const {
    const std::string tool = family_ == "ip6" ? "ip6tables" : "iptables";
    return tool + " -I FORWARD -s " + pods_ + " -j ACCEPT && " + tool + " -I FORWARD -d " + pods_ +
           " -j ACCEPT";
}

std::string PodForwarding::describe(bool enabled) const {
    if (!blocked_.empty()) return "blocked: " + blocked_;
    if (chain_) return "accepted in " + chain_->to_string();
    if (!warned_.empty()) return "unknown: " + warned_;
    return enabled ? "no " + std::string(family_ == "ip6" ? "ip6tables" : "iptables") +
                         " filter table (nothing to open)"
                   : "forward-rules off";
}

std::vector<LogLine> PodForwarding::ensure(bool enabled) {
    std::vector<LogLine> out;
    std::string blocked;
    auto found = owned_.forward_chain(family_);
    if (!found) {
        // Could not look (not the same as a chain that drops): said once, shown in status, and
        // not a reason to report the node unready on a host where nothing may be wrong.
        if (found.error() != warned_)
            out.push_back({LogLevel::Warn, "cannot read the host's " + family_ +
                                               " FORWARD chain: " + found.error()});
        warned_ = found.error();
        chain_.reset();
    } else if (!*found) {
        warned_.clear();
        chain_.reset();  // no filter table of this family: nothing drops pod traffic there
    } else if (!enabled) {
        warned_.clear();
        // Off means not ours to manage: what an earlier run added goes.
        if (chain_ || !checked_) (void)owned_.remove((*found)->chain);
        chain_.reset();
        if ((*found)->drops)
            blocked = "pod traffic between hosts is dropped: the " + (*found)->chain.to_string() +
                      " chain's policy is drop and forward-rules is off; fix: " + fix();
    } else {
        const auto& chain = (*found)->chain;
        if (chain_ && *chain_ != chain) (void)owned_.remove(*chain_);
        auto done = owned_.ensure(chain, rules());
        if (!done) {
            blocked = "cannot add accept rules for " + pods_ + " to " + chain.to_string() + " (" +
                      done.error() + ")" +
                      ((*found)->drops ? ", whose policy drops pod traffic" : "") +
                      "; fix: " + fix();
            // Its policy accepts: nothing is blocked yet, but say it (once per change).
            if (!(*found)->drops) {
                if (blocked != warned_) out.push_back({LogLevel::Warn, blocked});
                warned_ = std::exchange(blocked, {});
            }
        } else {
            warned_.clear();
            chain_ = chain;
            if (*done == netlink::NftTable::Outcome::Written)
                out.push_back(
                    {LogLevel::Info, "accepting the pod network's traffic in " + chain.to_string() +
                                         ((*found)->drops ? " (its policy is drop)" : "")});
            else if (*done == netlink::NftTable::Outcome::Restored)
                out.push_back({LogLevel::Warn, "shoal's accept rules in " + chain.to_string() +
                                                   " were deleted or changed by someone else; "
                                                   "put back"});
        }
    }
    checked_ = true;
    if (blocked != blocked_ && !blocked.empty()) out.push_back({LogLevel::Error, blocked});
    if (blocked != blocked_ && blocked.empty() && !blocked_.empty())
        out.push_back({LogLevel::Info, pods_ + ": pod traffic is forwarded again"});
    blocked_ = std::move(blocked);
    return out;
}

std::vector<LogLine> PodForwarding::remove() {
    std::vector<LogLine> out;
    if (!chain_) return out;
    if (auto removed = owned_.remove(*chain_); !removed)
        out.push_back({LogLevel::Warn, "cannot remove shoal's accept rules from " +
                                           chain_->to_string() + ": " + removed.error()});
    else
        out.push_back({LogLevel::Info, "removed shoal's accept rules from " + chain_->to_string() +
                                           " (left the cluster)"});
    chain_.reset();
    return out;
}

}  // namespace shoal::agent
