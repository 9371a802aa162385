#pragma once
// The scenario behind `shoal simulate`: build a cluster from one seed, let it settle, measure idle
// traffic, add one node, kill one member, make another leave, and report what every member saw.
#include <string>
#include <vector>

#include "gossip/membership/config.hpp"

namespace shoal::sim {

struct ScenarioOptions {
    std::size_t nodes = 16;
    Profile profile = Profile::Lan;
    Timing timing = timing_for(Profile::Lan);
    double loss = 0.0;
    Duration latency = 200us;
    Duration jitter = 50us;
    std::uint64_t seed = 1;
    double seconds = 60;      // simulated time after the cluster has settled
    bool verbose = false;     // print each node's log lines
    std::size_t threads = 1;  // ClusterOptions::threads: the same run whatever the count
};

struct Summary {
    double min = 0, median = 0, p99 = 0, max = 0;
    std::size_t count = 0;
};
Summary summarize(std::vector<double> values);

struct ScenarioResult {
    ScenarioOptions opts;
    bool settled = false;
    double settle_s = 0;          // every member sees every other
    double converged_s = 0;       // ... and all tables are identical and nothing is left to gossip
    double join_converge_s = -1;  // -1: never converged
    Summary detect;               // per survivor: kill -> marked dead
    std::vector<double> detect_samples;  // ... each survivor's, sorted (tails across seeds)
    std::size_t detect_missing = 0;      // survivors that never marked the victim dead
    std::size_t false_positives = 0;
    double leave_all_s = -1;
    double bytes_per_node_per_s = 0;
    double datagrams_per_node_per_s = 0;
    std::uint64_t suspicions = 0, refutations = 0, stalls = 0;
    std::uint64_t trace_hash = 0;
    double wall_s = 0;
    std::vector<std::string> narrative;  // human-readable milestones
};

// Progress lines go to `progress` as they happen (may be null).
ScenarioResult run_scenario(const ScenarioOptions& opts,
                            void (*progress)(const std::string&) = nullptr);
std::string to_json(const ScenarioResult& r);

}  // namespace shoal::sim
