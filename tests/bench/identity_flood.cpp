// A key holder's flood of new identities at one agent: each datagram a fresh Ed25519 identity's
// signed `alive`, as a compromised member could make them. Measures the victim's defences (member
// cap, per-source identity rate), not a pass/fail test; bench/identity_flood.sh drives it.
//   identity_flood --key FILE --network CIDR --to IP:PORT [--count N] [--rate PER_S]
//                  [--ports K] [--from IP,IP,...]
// Every identity announces the address of the socket that sends it, so the victim's probes of it
// come back to this host (and go unanswered once the tool exits).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/sockaddr.hpp"
#include "gossip/ownership/network_config.hpp"
#include "gossip/wire/announcement.hpp"
#include "gossip/wire/wire.hpp"

using namespace shoal;

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::string key_file, network, to;
    std::vector<std::string> from;  // source IPs; empty: whatever the route picks
    long count = 20000;
    double rate = 2000;
    long ports = 1;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "identity_flood: %s\nusage: identity_flood --key FILE --network CIDR --to "
                 "IP:PORT [--count N] [--rate PER_S] [--ports K] [--from IP,IP,...]\n",
                 why);
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (i + 1 >= argc) usage(("missing value after " + arg).c_str());
        std::string v = argv[++i];
        if (arg == "--key") {
            o.key_file = v;
        } else if (arg == "--network") {
            o.network = v;
        } else if (arg == "--to") {
            o.to = v;
        } else if (arg == "--count") {
            o.count = std::atol(v.c_str());
        } else if (arg == "--rate") {
            o.rate = std::atof(v.c_str());
        } else if (arg == "--ports") {
            o.ports = std::atol(v.c_str());
        } else if (arg == "--from") {
            std::stringstream s(v);
            for (std::string ip; std::getline(s, ip, ',');) o.from.push_back(ip);
        } else {
            usage(("unknown option " + arg).c_str());
        }
    }
    if (o.key_file.empty() || o.network.empty() || o.to.empty())
        usage("--key, --network and --to are required");
    if (o.count < 1 || o.rate <= 0 || o.ports < 1) usage("--count, --rate, --ports must be > 0");
    return o;
}

// A socket connected to the victim, so that getsockname gives the source the victim will see.
int open_source(const std::string& from_ip, const Address& victim, Address& local) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return -1;
    if (!from_ip.empty()) {
        auto ip = parse_ipv4(from_ip);
        sockaddr_in s = to_sockaddr(Address{ip.value_or(0), 0});
        if (!ip || bind(fd, reinterpret_cast<sockaddr*>(&s), sizeof(s)) != 0) return -1;
    }
    sockaddr_in dst = to_sockaddr(victim);
    sockaddr_in self{};
    socklen_t len = sizeof(self);
    if (connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&self), &len) != 0)
        return -1;
    local = Address{ntohl(self.sin_addr.s_addr), ntohs(self.sin_port)};
    return fd;
}

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
    if (sodium_init() < 0) return 1;
    Options o = parse(argc, argv);
    std::ifstream in(o.key_file);
    std::stringstream text;
    text << in.rdbuf();
    auto ring = Keyring::parse(text.str());
    if (!in || !ring) usage(("cannot read keyring " + o.key_file).c_str());
    auto net = NetworkConfig::make({o.network});
    if (!net) usage(net.error().c_str());
    auto victim = Address::parse(o.to);
    if (!victim) usage("--to must be IP:PORT");

    struct Source {
        int fd;
        Address addr;
    };
    std::vector<Source> sources;
    if (o.from.empty()) o.from.push_back("");
    for (const auto& ip : o.from) {
        for (long p = 0; p < o.ports; ++p) {
            Address local;
            int fd = open_source(ip, *victim, local);
            if (fd < 0) {
                std::fprintf(stderr, "identity_flood: socket from '%s': %s\n", ip.c_str(),
                             std::strerror(errno));
                return 1;
            }
            sources.push_back({fd, local});
        }
    }

    // Sealed beforehand: key generation and signing would otherwise set the pace, not --rate.
    Rng rng = Rng::from_os();
    std::vector<std::vector<std::uint8_t>> datagrams;
    datagrams.reserve(static_cast<std::size_t>(o.count));
    auto t0 = Clock::now();
    for (long i = 0; i < o.count; ++i) {
        const Source& src = sources[static_cast<std::size_t>(i) % sources.size()];
        Identity id = Identity::generate(rng);
        Announcement a;
        a.key = id.public_key();
        // Appended, not `"f" + ...`: GCC 12 at -O3 raises a false -Wrestrict on the latter.
        a.name = "f";
        a.name += std::to_string(i);
        a.addr = src.addr;
        a.inc = 1;
        a.network = net->digest();
        a.version = "flood";
        DatagramBuilder b(1400);
        if (!b.add(Message{seal_announcement(a, id, kProtocolVersion)})) {
            std::fprintf(stderr, "identity_flood: announcement does not fit a datagram\n");
            return 1;
        }
        datagrams.push_back(b.seal(*ring, rng));
    }
    std::printf("sealed %ld identities in %.2f s for %zu sockets\n", o.count, seconds_since(t0),
                sources.size());

    // Absolute deadlines: the rate holds however long each send takes.
    timespec next{};
    clock_gettime(CLOCK_MONOTONIC, &next);
    const long step_ns = static_cast<long>(1e9 / o.rate);
    long errors = 0;
    std::size_t bytes = 0;
    t0 = Clock::now();
    for (std::size_t i = 0; i < datagrams.size(); ++i) {
        const auto& d = datagrams[i];
        if (send(sources[i % sources.size()].fd, d.data(), d.size(), 0) < 0) ++errors;
        bytes += d.size();
        next.tv_nsec += step_ns;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            ++next.tv_sec;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr);
    }
    double took = seconds_since(t0);
    std::printf("sent %zu datagrams (%zu bytes of UDP payload) in %.2f s, %.0f/s, %ld errors\n",
                datagrams.size(), bytes, took, static_cast<double>(datagrams.size()) / took,
                errors);
    for (const auto& s : sources) close(s.fd);
    return errors == 0 ? 0 : 1;
}
