// Prints how fast routes are programmed: N routes into an empty table and out again, in a private
// network namespace of its own (needs root), through shoal's reconciler or, for comparison,
// through `ip -batch` doing the same adds and deletes (same prefixes, gateway, device, protocol).
// Figures, not pass/fail; bench/route_programming.sh repeats it and compares.
//   build/route_bench [--ip-batch] [routes]
// One line per phase: "<tool> <add|delete> <n> routes: <seconds> s, <rate> routes/s (<errors>)".
#include <net/if.h>
#include <sched.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "netlink/route_reconciler.hpp"

extern char** environ;

using namespace shoal;
using namespace shoal::netlink;

namespace {

using Clock = std::chrono::steady_clock;

struct Phase {
    double seconds = 0;
    int errors = 0;
};

std::string dotted(std::uint32_t a) {
    return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
           std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

// Runs argv and waits; the exit status, or -1 if it could not be started.
int run(const char* const* argv) {
    pid_t pid = 0;
    if (::posix_spawnp(&pid, argv[0], nullptr, nullptr, const_cast<char* const*>(argv), environ) !=
        0)
        return -1;
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

// The batch file is written before the clock starts: what is timed is what a script calling
// `ip -batch` pays, the process start included.
Phase ip_batch(const std::vector<Route>& routes, const char* verb) {
    const char* dir = std::getenv("TMPDIR");
    std::string path = std::string(dir && *dir ? dir : "/tmp") + "/route_bench.XXXXXX";
    int fd = ::mkstemp(path.data());
    if (fd < 0) return {0, 1};
    std::FILE* f = ::fdopen(fd, "w");
    for (const auto& r : routes)
        std::fprintf(f, "route %s %s via %s dev eth0 proto %u\n", verb, r.dst.to_string().c_str(),
                     dotted(r.via).c_str(), static_cast<unsigned>(kRouteProtocol));
    std::fclose(f);
    const char* argv[] = {"ip", "-batch", path.c_str(), nullptr};
    auto t0 = Clock::now();
    int rc = run(argv);
    Phase p{std::chrono::duration<double>(Clock::now() - t0).count(), rc == 0 ? 0 : 1};
    ::unlink(path.c_str());
    return p;
}

Phase reconcile(RouteReconciler& rec, const std::vector<Route>& routes) {
    auto t0 = Clock::now();
    auto res = rec.reconcile(routes, std::nullopt);
    return {std::chrono::duration<double>(Clock::now() - t0).count(), res.errors};
}

void print(const char* tool, const char* phase, std::uint32_t n, const Phase& p) {
    std::printf("%-5s %-6s %6u routes: %.4f s, %8.0f routes/s (%d errors)\n", tool, phase, n,
                p.seconds, n / p.seconds, p.errors);
}

}  // namespace

int main(int argc, char** argv) {
    bool use_ip = argc > 1 && std::strcmp(argv[1], "--ip-batch") == 0;
    int arg = use_ip ? 2 : 1;
    const std::uint32_t n =
        argc > arg ? static_cast<std::uint32_t>(std::strtoul(argv[arg], nullptr, 10)) : 10000;
    if (n == 0 || n > 65536 || ::unshare(CLONE_NEWNET) != 0) {
        std::fprintf(stderr, "usage: route_bench [--ip-batch] [1..65536] (as root)\n");
        return 2;
    }
    if (std::system("ip link set lo up && ip link add eth0 type veth peer name peer0 && "
                    "ip addr add 192.168.50.1/24 dev eth0 && ip link set eth0 up && ip link set "
                    "peer0 up") != 0)
        return 1;
    // Also the checker for ip: it lists exactly the routes with shoal's protocol number.
    RouteReconciler rec{Ipv4Net{10u << 24, 8}};  // the routes are /28s inside 10.0.0.0/8
    if (auto s = rec.open(); !s) {
        std::fprintf(stderr, "route_bench: %s\n", s.error().c_str());
        return 1;
    }
    int eth0 = static_cast<int>(if_nametoindex("eth0"));
    std::vector<Route> routes;
    for (std::uint32_t i = 0; i < n; ++i)  // /28s inside 10.0.0.0/8
        routes.push_back(Route{Ipv4Net{(10u << 24) | (i << 4), 28},
                               (192u << 24) | (168u << 16) | (50u << 8) | 2u, eth0});
    const char* tool = use_ip ? "ip" : "shoal";
    Phase add = use_ip ? ip_batch(routes, "add") : reconcile(rec, routes);
    std::size_t installed = rec.own_routes().size();
    Phase del = use_ip ? ip_batch(routes, "del") : reconcile(rec, {});
    std::size_t left = rec.own_routes().size();
    print(tool, "add", n, add);
    print(tool, "delete", n, del);
    if (installed != n || left != 0) {
        std::fprintf(stderr, "route_bench: %zu of %u routes installed, %zu left after delete\n",
                     installed, n, left);
        return 1;
    }
    return add.errors || del.errors ? 1 : 0;
}
