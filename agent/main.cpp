// `shoal`: one binary, one subcommand per job.
#include <sodium.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "agent/commands.hpp"
#include "gossip/keyring.hpp"

#ifndef SHOAL_VERSION
#define SHOAL_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
    if (sodium_init() < 0) {
        std::fprintf(stderr, "shoal: libsodium failed to initialise\n");
        return 1;
    }
    CLI::App app{"shoal: host-gw pod routing for small clusters, without etcd"};
    app.require_subcommand(1);

    auto* version = app.add_subcommand("version", "Print the version");
    version->callback([] { std::printf("shoal %s\n", SHOAL_VERSION); });

    auto* keygen = app.add_subcommand("keygen", "Print a new cluster key (one line of base64)");
    keygen->callback([] {
        shoal::ClusterKey key;
        randombytes_buf(key.data(), key.size());
        std::printf("%s\n", shoal::Keyring::encode_key(key).c_str());
    });

    int rc = 0;
    auto run_simulate = shoal::cli::add_simulate(app);
    auto run_agent = shoal::cli::add_agent(app);
    auto clients = shoal::cli::add_clients(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        // Every usage error exits 2, whatever CLI11's own code for it.
        app.exit(e);
        return 2;
    }
    if (app.got_subcommand("simulate")) rc = run_simulate();
    if (app.got_subcommand("agent")) rc = run_agent();
    for (auto& [name, run] : clients)
        if (app.got_subcommand(name)) rc = run();
    return rc;
}
