// Prints how fast the reconciler programs routes: N routes into an empty table and out again,
// in a private network namespace of its own (needs root). Figures, not pass/fail.
//   build/route_bench [routes]
#include <net/if.h>
#include <sched.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "netlink/route_reconciler.hpp"

using namespace shoal;
using namespace shoal::netlink;

int main(int argc, char** argv) {
    const std::uint32_t n =
        argc > 1 ? static_cast<std::uint32_t>(std::strtoul(argv[1], nullptr, 10)) : 10000;
    if (n == 0 || n > 65536 || ::unshare(CLONE_NEWNET) != 0) {
        std::fprintf(stderr, "usage: route_bench [1..65536] (as root)\n");
        return 2;
    }
    if (std::system("ip link set lo up && ip link add eth0 type veth peer name peer0 && "
                    "ip addr add 192.168.50.1/24 dev eth0 && ip link set eth0 up && ip link set "
                    "peer0 up") != 0)
        return 1;
    RouteReconciler rec;
    if (auto err = rec.open(); !err.empty()) return 1;
    int eth0 = static_cast<int>(if_nametoindex("eth0"));
    std::vector<Route> routes;
    for (std::uint32_t i = 0; i < n; ++i)  // /28s inside 10.0.0.0/8
        routes.push_back(Route{Ipv4Net{(10u << 24) | (i << 4), 28},
                               (192u << 24) | (168u << 16) | (50u << 8) | 2u, eth0});
    using Clock = std::chrono::steady_clock;
    auto t0 = Clock::now();
    auto added = rec.reconcile(routes, std::nullopt);
    double add_s = std::chrono::duration<double>(Clock::now() - t0).count();
    t0 = Clock::now();
    auto removed = rec.reconcile({}, std::nullopt);
    double del_s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("add    %6u routes: %.3f s, %8.0f routes/s (%d errors)\n", n, add_s, n / add_s,
                added.errors);
    std::printf("delete %6u routes: %.3f s, %8.0f routes/s (%d errors)\n", n, del_s, n / del_s,
                removed.errors);
    return added.errors || removed.errors || added.added != static_cast<int>(n) ? 1 : 0;
}
