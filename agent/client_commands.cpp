// `shoal agent` and the commands that talk to a running agent over its control socket.
#include <cstdio>

#include "agent/agent.hpp"
#include "agent/commands.hpp"
#include "agent/control.hpp"

namespace shoal::cli {

Run add_agent(CLI::App& app) {
    auto* cmd = app.add_subcommand("agent", "Run the shoal agent on this host");
    auto opts = std::make_shared<agent::AgentOptions>(cmd);
    return [opts]() -> int {
        auto cfg = opts->finish();
        if (auto* err = std::get_if<std::string>(&cfg)) {
            std::fprintf(stderr, "shoal agent: %s\n", err->c_str());
            return 2;
        }
        return agent::run_agent(std::get<agent::AgentConfig>(cfg));
    };
}

std::vector<std::pair<std::string, Run>> add_clients(CLI::App& app) {
    struct Args {
        std::string socket = "/run/shoal/shoal.sock";
        bool json = false;
        std::string who;
    };
    std::vector<std::pair<std::string, Run>> out;
    auto client = [&](const char* name, const char* help, bool has_json, bool has_who) {
        auto args = std::make_shared<Args>();
        auto* cmd = app.add_subcommand(name, help);
        cmd->add_option("--socket", args->socket, "The agent's control socket")
            ->capture_default_str();
        if (has_json) cmd->add_flag("--json", args->json, "JSON output");
        if (has_who)
            cmd->add_option("member", args->who, "Name or id of a dead member")->required();
        std::string verb = name;
        out.emplace_back(verb, [args, verb, has_who]() -> int {
            std::string line = verb + " " + (has_who ? args->who : (args->json ? "json" : "text"));
            auto reply = agent::call_agent(args->socket, line);
            std::fputs(reply.body.c_str(), reply.ok ? stdout : stderr);
            return reply.ok ? 0 : 1;
        });
    };
    client("members", "List the members as this agent sees them", true, false);
    client("routes", "List this host's shoal routes", true, false);
    client("status", "Show this agent's state", true, false);
    client("leave", "Make the agent leave the cluster gracefully and exit", false, false);
    client("force-leave", "Free a dead member's subnet at once, cluster-wide", false, true);

    auto keys_args = std::make_shared<Args>();
    auto* keys = app.add_subcommand("keys", "Inspect the running agent's cluster keyring");
    keys->require_subcommand(1);
    auto* list = keys->add_subcommand(
        "list",
        "Show the fingerprints of the keys the agent uses (never the keys), the primary "
        "(sending) one first, and the file line each came from");
    list->add_option("--socket", keys_args->socket, "The agent's control socket")
        ->capture_default_str();
    list->add_flag("--json", keys_args->json, "JSON output");
    out.emplace_back("keys", [keys_args]() -> int {
        auto reply =
            agent::call_agent(keys_args->socket, keys_args->json ? "keys json" : "keys text");
        std::fputs(reply.body.c_str(), reply.ok ? stdout : stderr);
        return reply.ok ? 0 : 1;
    });
    return out;
}

}  // namespace shoal::cli
