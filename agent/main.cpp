// `shoal`: one binary, one subcommand per job.
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "agent/commands.hpp"
#include "gossip/wire/keyring.hpp"

#ifndef SHOAL_VERSION
#define SHOAL_VERSION "0.0.0"
#endif

namespace {

// `shoal keygen [--out FILE]`: without FILE the key line goes to stdout; with it, to FILE, which
// must not exist yet and is created with mode 0600 whatever the umask. On any error FILE is not
// left behind half-written.
int run_keygen(const std::string& out) {
    shoal::ClusterKey key;
    randombytes_buf(key.data(), key.size());
    std::string line = shoal::Keyring::encode_key(key) + "\n";
    sodium_memzero(key.data(), key.size());
    if (out.empty()) {
        std::fputs(line.c_str(), stdout);
        sodium_memzero(line.data(), line.size());
        if (std::fflush(stdout) == 0) return 0;
        std::fprintf(stderr, "shoal keygen: writing the key to stdout failed: %s\n",
                     std::strerror(errno));
        return 1;
    }
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            std::fprintf(stderr,
                         "shoal keygen: %s exists; not overwriting it (remove it first to make a "
                         "new key)\n",
                         out.c_str());
        else
            std::fprintf(stderr, "shoal keygen: cannot create %s: %s\n", out.c_str(),
                         std::strerror(errno));
        return 1;
    }
    const char* failed = nullptr;  // the step that failed, for the message
    int err = 0;
    auto fail = [&](const char* step) {
        if (failed) return;
        failed = step;
        err = errno;
    };
    if (::fchmod(fd, 0600) != 0) fail("setting the mode of");
    for (std::size_t done = 0; !failed && done < line.size();) {
        ssize_t n = ::write(fd, line.data() + done, line.size() - done);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
        } else if (n == 0 || errno != EINTR) {
            if (n == 0) errno = EIO;
            fail("writing");
        }
    }
    if (!failed && ::fsync(fd) != 0) fail("syncing");
    if (::close(fd) != 0) fail("closing");
    sodium_memzero(line.data(), line.size());
    if (!failed) return 0;
    ::unlink(out.c_str());
    std::fprintf(stderr, "shoal keygen: %s %s failed: %s; removed the partial file\n", failed,
                 out.c_str(), std::strerror(err));
    return 1;
}

// `shoal simulate` keeps every simulated node's tables in one heap of gigabytes and reads it at
// random: with 4 KiB pages nearly every read misses the TLB as well as the cache. glibc backs its
// heap with transparent huge pages only when told so at startup, so simulate runs itself again,
// once, with that tunable. If that fails the simulation still runs, only slower.
void exec_simulate_with_huge_pages(int argc, char** argv) {
    if (argc < 2 || std::strcmp(argv[1], "simulate") != 0) return;
    const char* set = std::getenv("GLIBC_TUNABLES");
    std::string tunables = set ? set : "";
    if (tunables.find("glibc.malloc.hugetlb") != std::string::npos) return;
    tunables += std::string(tunables.empty() ? "" : ":") + "glibc.malloc.hugetlb=1";
    if (::setenv("GLIBC_TUNABLES", tunables.c_str(), 1) != 0) return;
    ::execv("/proc/self/exe", argv);
}

}  // namespace

int main(int argc, char** argv) {
    exec_simulate_with_huge_pages(argc, argv);
    if (sodium_init() < 0) {
        std::fprintf(stderr, "shoal: libsodium failed to initialise\n");
        return 1;
    }
    CLI::App app{"shoal: host-gw pod routing for small clusters, without etcd"};
    app.require_subcommand(1);

    auto* version = app.add_subcommand("version", "Print the version");
    version->callback([] { std::printf("shoal %s\n", SHOAL_VERSION); });

    auto* keygen = app.add_subcommand(
        "keygen",
        "Make a new cluster key (one line of base64): printed on stdout, or with --out written "
        "to a new file of mode 0600");
    std::string keygen_out;
    keygen
        ->add_option("--out", keygen_out,
                     "Write the key to FILE (created with mode 0600) instead of stdout; an "
                     "existing FILE is never overwritten (exit 1)")
        ->type_name("FILE");

    int rc = 0;
    auto run_simulate = shoal::cli::add_simulate(app);
    auto run_agent = shoal::cli::add_agent(app);
    auto run_ca = shoal::cli::add_ca(app);
    auto run_identity = shoal::cli::add_identity(app);
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
    if (app.got_subcommand("keygen")) rc = run_keygen(keygen_out);
    if (app.got_subcommand("simulate")) rc = run_simulate();
    if (app.got_subcommand("agent")) rc = run_agent();
    if (app.got_subcommand("ca")) rc = run_ca();
    if (app.got_subcommand("identity")) rc = run_identity();
    for (auto& [name, run] : clients)
        if (app.got_subcommand(name)) rc = run();
    return rc;
}
