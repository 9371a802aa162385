#include "agent/http_server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace shoal;
using namespace std::chrono_literals;

namespace {

// A loopback port nobody listens on right now.
std::uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

// A plain HTTP/1.0 GET; the whole response (status line, headers, body).
std::string get(std::uint16_t port, const std::string& path) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
        ::close(fd);
        return "connect failed";
    }
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
    (void)!::write(fd, req.data(), req.size());
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) out.append(buf, n);
    ::close(fd);
    return out;
}

std::string status_line(const std::string& response) {
    return response.substr(0, response.find("\r\n"));
}

}  // namespace

TEST(HttpServer, ServesTheSnapshotTheLoopPublished) {
    auto port = free_port();
    auto started = agent::HttpServer::start(Address{0x7f000001, port});
    ASSERT_TRUE(started) << started.error();
    auto& server = *started;
    EXPECT_EQ(status_line(get(port, "/readyz")), "HTTP/1.1 503 Service Unavailable");
    server->publish("shoal_up 1\n", "no subnet owned yet");
    auto r = get(port, "/readyz");
    EXPECT_EQ(status_line(r), "HTTP/1.1 503 Service Unavailable");
    EXPECT_NE(r.find("not ready: no subnet owned yet"), std::string::npos);
    server->publish("shoal_up 2\n", "");
    EXPECT_EQ(status_line(get(port, "/readyz")), "HTTP/1.1 200 OK");
    auto m = get(port, "/metrics");
    EXPECT_EQ(status_line(m), "HTTP/1.1 200 OK");
    EXPECT_NE(m.find("\r\n\r\nshoal_up 2\n"), std::string::npos);
    EXPECT_EQ(status_line(get(port, "/")).substr(9, 3), "404");
}

TEST(HttpServer, HealthFailsWhenTheLoopStopsBeating) {
    auto port = free_port();
    auto started = agent::HttpServer::start(Address{0x7f000001, port}, 300ms);
    ASSERT_TRUE(started) << started.error();
    auto& server = *started;
    server->heartbeat();
    EXPECT_EQ(status_line(get(port, "/healthz")), "HTTP/1.1 200 OK");
    std::this_thread::sleep_for(500ms);
    auto r = get(port, "/healthz");
    EXPECT_EQ(status_line(r), "HTTP/1.1 503 Service Unavailable");
    EXPECT_NE(r.find("stalled"), std::string::npos);
    server->heartbeat();
    EXPECT_EQ(status_line(get(port, "/healthz")), "HTTP/1.1 200 OK");
}

TEST(HttpServer, APortInUseIsAnErrorNamingTheSetting) {
    auto port = free_port();
    auto first = agent::HttpServer::start(Address{0x7f000001, port});
    ASSERT_TRUE(first) << first.error();
    auto second = agent::HttpServer::start(Address{0x7f000001, port});
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().rfind("metrics: cannot serve on 127.0.0.1:", 0), 0u) << second.error();
}

namespace {

// A client that connects and sends half a request header, then nothing: each holds a civetweb
// worker until the request timeout. The descriptor, to close at the end.
int slow_client(std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    const std::string half = "GET /healthz HTTP/1.1\r\nHost: loc";
    EXPECT_EQ(::write(fd, half.data(), half.size()), static_cast<ssize_t>(half.size()));
    return fd;
}

struct SlowClients {
    std::vector<int> fds;
    SlowClients(std::uint16_t port, int n) {
        for (int i = 0; i < n; ++i) fds.push_back(slow_client(port));
        // Let the server take them all before the probe comes.
        std::this_thread::sleep_for(200ms);
    }
    ~SlowClients() {
        for (int fd : fds) ::close(fd);
    }
};

// /healthz as a probe sees it: the status line, and how long the answer took (a probe that got
// nothing in 10 s gives up, with an empty status line).
std::pair<std::string, std::chrono::milliseconds> timed_health(std::uint16_t port) {
    auto start = std::chrono::steady_clock::now();
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval limit{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string out;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
        std::string req = "GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n";
        (void)!::write(fd, req.data(), req.size());
        char buf[4096];
        for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) out.append(buf, n);
    }
    ::close(fd);
    return {status_line(out), std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::steady_clock::now() - start)};
}

}  // namespace

// With one worker and a 5 s request timeout, 8 clients that never finished their headers kept
// every /healthz waiting for half a minute: the kubelet restarted a healthy agent.
TEST(HttpServerAdversary, SlowClientsDoNotStopHealthChecks) {
    auto port = free_port();
    auto started = agent::HttpServer::start(Address{0x7f000001, port});
    ASSERT_TRUE(started) << started.error();
    SlowClients slow(port, 8);
    (*started)->heartbeat();
    auto [status, took] = timed_health(port);
    EXPECT_EQ(status, "HTTP/1.1 200 OK");
    EXPECT_LT(took, 1000ms) << took.count() << " ms";
}

// More of them than there are workers: a probe waits for one request timeout at most, not for
// the slow clients one after the other.
TEST(HttpServerAdversary, MoreSlowClientsThanWorkersDelayAProbeByOneTimeoutAtMost) {
    auto port = free_port();
    auto started = agent::HttpServer::start(Address{0x7f000001, port});
    ASSERT_TRUE(started) << started.error();
    SlowClients slow(port, agent::HttpServer::kWorkers + 8);
    (*started)->heartbeat();
    auto [status, took] = timed_health(port);
    EXPECT_EQ(status, "HTTP/1.1 200 OK");
    EXPECT_LT(took, agent::HttpServer::kRequestTimeout + 1500ms) << took.count() << " ms";
}
