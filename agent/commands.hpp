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
// members, routes, status, leave, force-leave: each returns its name and how to run it.
std::vector<std::pair<std::string, Run>> add_clients(CLI::App& app);

}  // namespace shoal::cli
