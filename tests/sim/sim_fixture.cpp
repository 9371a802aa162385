#include "sim_fixture.hpp"

#include <gtest/gtest.h>

namespace shoal::test {

sim::ClusterOptions options(std::uint64_t seed, Profile profile, double loss) {
    sim::ClusterOptions o;
    o.timing = timing_for(profile);
    o.link.loss = loss;
    o.seed = seed;
    return o;
}

SimCluster::SimCluster(std::size_t n, std::uint64_t seed, Profile profile, double loss)
    : SimCluster(n, options(seed, profile, loss)) {}

SimCluster::SimCluster(std::size_t n, sim::ClusterOptions opts) : cluster_(std::move(opts)) {
    cluster_.on_event = [this](Time at, std::size_t observer, const MemberEvent& e) {
        auto it = index_.find(e.id);
        if (it != index_.end()) seen_.push_back(Seen{at, observer, it->second, e.kind, e.inc});
    };
    add();
    for (std::size_t i = 1; i < n; ++i) {
        cluster_.run_for(10ms);
        add();
    }
    auto everyone = all();
    EXPECT_TRUE(cluster_.run_until([&] { return cluster_.all_see_live(everyone); }, 120s, 50ms))
        << "cluster of " << n << " did not converge";
    cluster_.run_until([&] { return cluster_.quiet(); }, 60s, 50ms);
}

std::size_t SimCluster::add(const std::optional<Keyring>& ring) {
    std::size_t i = cluster_.add_node(
        cluster_.size() ? std::vector<std::size_t>{0} : std::vector<std::size_t>{}, ring);
    index_[cluster_.at(i).id] = i;
    return i;
}

std::size_t SimCluster::false_deaths(const std::set<std::size_t>& except) const {
    std::set<std::size_t> victims;
    for (const auto& s : seen_)
        if (s.kind == MemberEvent::Kind::Dead && !except.count(s.subject))
            victims.insert(s.subject);
    return victims.size();
}

std::vector<Seen> SimCluster::events(std::size_t subject, MemberEvent::Kind kind) const {
    std::vector<Seen> out;
    for (const auto& s : seen_)
        if (s.subject == subject && s.kind == kind) out.push_back(s);
    return out;
}

bool SimCluster::all_others_see(std::size_t subject, MemberState st) const {
    for (auto i : cluster_.running())
        if (i != subject && cluster_.view(i, subject) != st) return false;
    return true;
}

std::vector<std::size_t> SimCluster::all() const {
    std::vector<std::size_t> v(cluster_.size());
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = i;
    return v;
}

}  // namespace shoal::test
