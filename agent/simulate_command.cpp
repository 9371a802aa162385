// `shoal simulate`: the real membership core on a virtual network (see gossip/sim/scenario.hpp).
#include <cstdio>
#include <thread>

#include "agent/commands.hpp"
#include "gossip/sim/scenario.hpp"

namespace shoal::cli {

Run add_simulate(CLI::App& app) {
    struct Args {
        std::size_t nodes = 16;
        std::string profile = "lan";
        double loss = 0;
        double seconds = 60;
        std::uint64_t seed = 1;
        double latency_ms = 0.2;
        double jitter_ms = 0.05;
        bool json = false;
        bool verbose = false;
        std::size_t threads = std::thread::hardware_concurrency() >= 2 ? 2 : 1;
        std::vector<std::string> settings;
    };
    auto args = std::make_shared<Args>();
    auto* cmd =
        app.add_subcommand("simulate", "Run N membership cores on a virtual network and report");
    cmd->add_option("--nodes", args->nodes, "Cluster size")->check(CLI::Range(2, 65536));
    cmd->add_option("--profile", args->profile, "Timing profile: lan or fast")
        ->check(CLI::IsMember({"lan", "fast"}));
    cmd->add_option("--loss", args->loss, "Fraction of datagrams lost, 0 to 0.9")
        ->check(CLI::Range(0.0, 0.9));
    cmd->add_option("--seconds", args->seconds,
                    "Simulated seconds after the cluster settled (>= 20)")
        ->check(CLI::Range(20.0, 86400.0));
    cmd->add_option("--rng-seed", args->seed,
                    "Seed: the same seed gives the same run, bit for bit");
    cmd->add_option("--latency-ms", args->latency_ms, "One-way latency")
        ->check(CLI::Range(0.0, 10000.0));
    cmd->add_option("--jitter-ms", args->jitter_ms, "Extra random latency, uniform")
        ->check(CLI::Range(0.0, 10000.0));
    cmd->add_option("--set", args->settings,
                    "Override one timer, NAME=VALUE (e.g. probe-interval=1s)");
    cmd->add_option("--threads", args->threads,
                    "Threads stepping the nodes (1 or 2); the run is the same bit for bit")
        ->check(CLI::Range(1, 2))
        ->capture_default_str();
    cmd->add_flag("--json", args->json, "Print one JSON object instead of prose");
    cmd->add_flag("--verbose", args->verbose, "Print every member's log lines to stderr");

    return [args]() -> int {
        sim::ScenarioOptions o;
        o.nodes = args->nodes;
        o.profile = *parse_profile(args->profile);
        o.timing = timing_for(o.profile);
        for (const auto& s : args->settings) {
            auto eq = s.find('=');
            Status set = eq == std::string::npos
                             ? Status(Error{"--set " + s + ": expected NAME=VALUE"})
                             : apply_setting(o.timing, s.substr(0, eq), s.substr(eq + 1));
            if (!set) {
                std::fprintf(stderr, "shoal simulate: %s\n", set.error().c_str());
                return 2;
            }
        }
        if (auto valid = validate(o.timing); !valid) {
            std::fprintf(stderr, "shoal simulate: %s\n", valid.error().c_str());
            return 2;
        }
        o.loss = args->loss;
        o.seconds = args->seconds;
        o.seed = args->seed;
        o.latency = from_seconds(args->latency_ms / 1000);
        o.jitter = from_seconds(args->jitter_ms / 1000);
        o.verbose = args->verbose;
        o.threads = args->threads;
        auto print = [](const std::string& line) {
            std::printf("%s\n", line.c_str());
            std::fflush(stdout);
        };
        auto r = sim::run_scenario(o, args->json ? nullptr : +print);
        if (args->json)
            std::printf("%s\n", sim::to_json(r).c_str());
        else
            std::printf("wall time: %.2f s\n", r.wall_s);
        return r.settled ? 0 : 1;
    };
}

}  // namespace shoal::cli
