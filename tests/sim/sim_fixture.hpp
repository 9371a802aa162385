#pragma once
// Builds simulated clusters for the tests and records what every member saw.
#include <map>
#include <set>
#include <vector>

#include "gossip/sim/cluster.hpp"

namespace shoal::test {

struct Seen {
    Time at;
    std::size_t observer;
    std::size_t subject;
    MemberEvent::Kind kind;
    std::uint32_t inc;
};

class SimCluster {
  public:
    SimCluster(std::size_t n, std::uint64_t seed, Profile profile = Profile::Lan, double loss = 0);
    SimCluster(std::size_t n, sim::ClusterOptions opts);

    sim::Cluster& c() { return cluster_; }
    std::size_t index_of(const NodeId& id) const { return index_.at(id); }
    // One more node, seeded by node 0.
    std::size_t add(const std::optional<Keyring>& ring = std::nullopt);
    // Deaths declared about any node in `except` are expected; all others are false.
    std::size_t false_deaths(const std::set<std::size_t>& except = {}) const;
    std::vector<Seen> events(std::size_t subject, MemberEvent::Kind kind) const;
    // Every running node other than `subject` holds it in state `s`.
    bool all_others_see(std::size_t subject, MemberState s) const;
    std::vector<std::size_t> all() const;

  private:
    sim::Cluster cluster_;
    std::map<NodeId, std::size_t> index_;
    std::vector<Seen> seen_;
};

sim::ClusterOptions options(std::uint64_t seed, Profile profile, double loss);

}  // namespace shoal::test
