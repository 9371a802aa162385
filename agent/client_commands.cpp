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
        if (!cfg) {
            std::fprintf(stderr, "shoal agent: %s\n", cfg.error().c_str());
            return 2;
        }
        return agent::run_agent(*cfg);
    };
}

std::vector<std::pair<std::string, Run>> add_clients(CLI::App& app) {
    struct Args {
        std::string socket = "/run/shoal/shoal.sock";
        bool json = false;
        std::string who;
        std::string ca_signed;  // force-leave under admission
    };
    std::vector<std::pair<std::string, Run>> out;
    // `verb` is what the agent is asked and the top-level command main() checks; `parent` holds
    // the subcommand (`keys list` asks "keys").
    auto client = [&](CLI::App& parent, const char* name, const std::string& verb, const char* help,
                      bool has_json, bool has_who) {
        auto args = std::make_shared<Args>();
        auto* cmd = parent.add_subcommand(name, help);
        cmd->add_option("--socket", args->socket, "The agent's control socket")
            ->capture_default_str();
        if (has_json) cmd->add_flag("--json", args->json, "JSON output");
        if (has_who) {
            cmd->add_option("member", args->who, "Name or id of a dead member")->required();
            cmd->add_option("--ca-signed", args->ca_signed,
                            "Under admission: the line `shoal ca force-leave` printed")
                ->type_name("LINE");
        }
        out.emplace_back(verb, [args, verb, has_who]() -> int {
            std::string line = verb + " " + (has_who ? args->who : (args->json ? "json" : "text"));
            if (!args->ca_signed.empty()) line += " " + args->ca_signed;
            auto reply = agent::call_agent(args->socket, line);
            std::fputs(reply.body.c_str(), reply.ok ? stdout : stderr);
            return reply.ok ? 0 : 1;
        });
    };
    client(app, "members", "members", "List the members as this agent sees them", true, false);
    client(app, "routes", "routes", "List this host's shoal routes", true, false);
    client(app, "status", "status", "Show this agent's state", true, false);
    client(app, "leave", "leave", "Make the agent leave the cluster gracefully and exit", false,
           false);
    client(app, "force-leave", "force-leave", "Free a dead member's subnet at once, cluster-wide",
           false, true);

    auto* keys = app.add_subcommand("keys", "Inspect the running agent's cluster keyring");
    keys->require_subcommand(1);
    client(*keys, "list", "keys",
           "Show the fingerprints of the keys the agent uses (never the keys), the primary "
           "(sending) one first, and the file line each came from",
           true, false);
    return out;
}

}  // namespace shoal::cli
