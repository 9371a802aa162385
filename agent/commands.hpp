#pragma once
// Each subcommand registers its options on the CLI and returns the function that runs it.
#include <CLI/CLI.hpp>

#include <functional>

namespace shoal::cli {

using Run = std::function<int()>;

Run add_simulate(CLI::App& app);

}  // namespace shoal::cli
