// Prints what identities and ownership cost: sign and verify per announcement, the ownership
// update after one change at 4096 members, and memory per member. Figures, not pass/fail.
//   build/ownership_bench [members]
#include <sodium.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "gossip/ownership/subnet_node.hpp"
#include "gossip/wire/wire.hpp"

using namespace shoal;
using Clock = std::chrono::steady_clock;

namespace {
double us_since(Clock::time_point t0, double n) {
    return std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / n;
}
long rss_kib() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
    return 0;
}
}  // namespace

int main(int argc, char** argv) {
    if (sodium_init() < 0) return 1;
    const std::size_t members = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 4096;
    Rng rng = Rng::from_u64(1);
    auto network = *NetworkConfig::make({"10.0.0.0/8", 24});
    std::vector<Identity> ids;
    for (std::size_t i = 0; i < members; ++i) ids.push_back(Identity::generate(rng));

    // 1. Sign and verify.
    std::vector<Alive> alives;
    auto t0 = Clock::now();
    for (std::size_t i = 0; i < members; ++i) {
        Announcement a{ids[i].public_key(),
                       "node-" + std::to_string(i),
                       Address{0x0a000001u + static_cast<std::uint32_t>(i), 7946},
                       1,
                       Claim{static_cast<std::uint32_t>(i), i + 1},
                       network.digest(),
                       "bench"};
        alives.push_back(seal_announcement(a, ids[i], kProtocolVersion));
    }
    std::printf("sign announcement:            %8.1f us\n", us_since(t0, members));
    t0 = Clock::now();
    for (const auto& a : alives) (void)open_announcement(a, network.digest(), network.slots());
    std::printf("verify announcement:          %8.1f us\n", us_since(t0, members));
    VerifyCache cache;
    for (const auto& a : alives) cache.get_or_verify(a, network);
    t0 = Clock::now();
    for (const auto& a : alives) cache.get_or_verify(a, network);
    std::printf("cached verification (relay):  %8.2f us\n", us_since(t0, members));
    std::printf("announcement size:            %8zu bytes (signed part %zu)\n",
                alives[0].meta.size() + alives[0].name.size() + 30, alives[0].meta.size());

    // 1b. The same with node certificates (admission): one more signature to check.
    Identity ca = Identity::generate(rng);
    std::vector<Alive> certified;
    for (std::size_t i = 0; i < members; ++i) {
        std::string name = "node-" + std::to_string(i);
        Announcement a{ids[i].public_key(),
                       name,
                       Address{0x0a000001u + static_cast<std::uint32_t>(i), 7946},
                       1,
                       Claim{static_cast<std::uint32_t>(i), i + 1},
                       network.digest(),
                       "bench"};
        a.certificate =
            *issue_certificate(Certificate{ca.public_key(), ids[i].public_key(), name,
                                           network.subnet(static_cast<std::uint32_t>(i)), 0},
                               ca);
        certified.push_back(seal_announcement(a, ids[i], kProtocolVersion));
    }
    t0 = Clock::now();
    for (const auto& a : certified) (void)open_announcement(a, network.digest(), network.slots());
    std::printf("verify certified announcement:%8.1f us\n", us_since(t0, members));
    std::printf("certified announcement size:  %8zu bytes (certificate %zu)\n",
                certified[0].meta.size() + certified[0].name.size() + 30,
                certified[0].meta.size() - alives[0].meta.size());

    // 2. Ownership after one change.
    ClaimTable table;
    std::vector<ClaimInput> inputs;
    for (std::size_t i = 0; i < members; ++i) {
        Claim c{static_cast<std::uint32_t>(i), i + 1};
        table.set(ids[i].id(), c, false);
        inputs.push_back(ClaimInput{ids[i].id(), c, false});
    }
    const int rounds = 10000;
    t0 = Clock::now();
    for (int r = 0; r < rounds; ++r) {
        std::size_t i = static_cast<std::size_t>(r) % members;
        table.set(ids[i].id(), Claim{static_cast<std::uint32_t>((i + r) % members), members + r},
                  r % 2);
        (void)table.owner(static_cast<std::uint32_t>(i));
    }
    std::printf("ownership update, one change: %8.2f us (incremental, %zu members)\n",
                us_since(t0, rounds), members);
    t0 = Clock::now();
    for (int r = 0; r < 20; ++r) (void)compute_ownership(inputs);
    std::printf("ownership from scratch:       %8.1f us (%zu members)\n", us_since(t0, 20),
                members);

    // 3. Memory per member: one real node learning `members` signed announcements, without and
    // with certificates (admission = enforce, the CA above trusted).
    Keyring ring({ClusterKey{}});
    NodeConfig nc{NodeId{}, "bench", Address{0x0a0000ff, 7946}, {}, {}, timing_for(Profile::Lan)};
    auto learn = [&](const std::vector<Alive>& news, AdmissionPolicy admission, const char* what) {
        Identity self = Identity::generate(rng);
        long before = rss_kib();
        auto node =
            std::make_unique<SubnetNode>(SubnetNodeConfig{nc, network, 24h, "bench", admission},
                                         self, ring, rng.fork(), Time{}, PersistedState{});
        auto t = Clock::now();
        for (std::size_t i = 0; i < news.size();) {
            DatagramBuilder b(kMaxDatagramIn);
            while (i < news.size() && b.add(Message{news[i]})) ++i;
            node->handle_datagram(Time{} + 1ms, Address{1, 1}, b.seal(ring, rng));
            while (node->poll_transmit()) {
            }
            while (node->poll_event()) {
            }
            while (node->poll_log()) {
            }
        }
        double us = us_since(t, static_cast<double>(news.size()));
        long after = rss_kib();
        std::printf(
            "%s %zu members known (claims %zu), learning one %.1f us, memory per member "
            "%.0f bytes (RSS growth / members)\n",
            what, node->node().members().size(), node->claims().size(), us,
            (after - before) * 1024.0 / static_cast<double>(node->node().members().size()));
        return node;  // kept until both are measured: freed memory would be reused
    };
    auto open_node = learn(alives, {}, "open mode:   ");
    auto enforced =
        learn(certified, AdmissionPolicy{AdmissionMode::Enforce, {ca.public_key()}, {}, 0},
              "enforce mode:");
    return 0;
}
