#pragma once
// Each subcommand registers its options on the CLI and returns the function that runs it.
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace shoal::cli {

using Run = std::function<int()>;

Run add_simulate(CLI::App& app);
Run add_agent(CLI::App& app);
// `ca init|sign|revoke|show` and `identity show`: each returns the dispatcher of its subcommands.
Run add_ca(CLI::App& app);
Run add_identity(CLI::App& app);
// members, routes, status, leave, force-leave: each returns its name and how to run it.
std::vector<std::pair<std::string, Run>> add_clients(CLI::App& app);

}  // namespace shoal::cli
