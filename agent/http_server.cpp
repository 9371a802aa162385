#include "agent/http_server.hpp"

#include <civetweb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <thread>

namespace shoal::agent {

namespace {

int reply(mg_connection* conn, int code, const char* type, const std::string& body) {
    const char* reason = code == 200 ? "OK" : code == 503 ? "Service Unavailable" : "Error";
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: "
              "no-store\r\nConnection: close\r\n\r\n",
              code, reason, type, body.size());
    mg_write(conn, body.data(), body.size());
    return code;
}

constexpr const char* kText = "text/plain; charset=utf-8";
// The Prometheus text exposition format.
constexpr const char* kPrometheus = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace

std::int64_t monotonic_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

HttpServer::HttpServer(Key, std::chrono::milliseconds stall_after) : stall_after_(stall_after) {
    snap_.metrics = std::make_shared<const std::string>();
    snap_.not_ready = std::make_shared<const std::string>("starting");
    heartbeat();
}

HttpServer::~HttpServer() {
    if (!ctx_) return;
    // mg_stop joins civetweb's threads, but its listener polls with a 2 s timeout before it looks
    // at the stop flag; a connection wakes it at once, so shutdown does not wait for that.
    std::atomic<bool> stopped{false};
    std::thread stopper([this, &stopped] {
        mg_stop(ctx_);
        stopped = true;
    });
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(addr_.port);
    to.sin_addr.s_addr = htonl(addr_.ip ? addr_.ip : INADDR_LOOPBACK);
    while (!stopped) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0) {
            (void)::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to));
            ::close(fd);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stopper.join();
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const Address& addr,
                                                      std::chrono::milliseconds stall_after) {
    static const bool initialised = (mg_init_library(0), true);
    (void)initialised;
    auto s = std::make_unique<HttpServer>(Key{}, stall_after);
    s->addr_ = addr;
    std::string port = addr.to_string();
    // civetweb gives each connection a worker until its request is in, so a client that sends
    // half a header holds one for request_timeout_ms (civetweb 1.15 counts it from the first
    // read, however slowly the bytes come). With one worker, 8 such clients made /healthz time
    // out for half a minute. Now a probe waits behind them only once all kWorkers are held, and
    // then for at most kRequestTimeout: real scrapes and probes send their few header bytes in
    // one packet. No document root, so nothing else is served.
    const std::string workers = std::to_string(kWorkers),
                      timeout = std::to_string(kRequestTimeout.count());
    const char* options[] = {"listening_ports",
                             port.c_str(),
                             "num_threads",
                             workers.c_str(),
                             "request_timeout_ms",
                             timeout.c_str(),
                             "enable_keep_alive",
                             "no",
                             nullptr};
    mg_callbacks callbacks{};
    // Its own error log would go to stderr unasked; a bind failure comes back from mg_start2.
    callbacks.log_message = [](const mg_connection*, const char*) { return 1; };
    mg_init_data init{&callbacks, s.get(), options};
    char text[256] = {};
    unsigned code = 0;
    mg_error_data error{&code, text, sizeof(text)};
    s->ctx_ = mg_start2(&init, &error);
    if (!s->ctx_)
        return Error{"metrics: cannot serve on " + port + ": " +
                     (text[0] ? text : "civetweb failed")};
    mg_set_request_handler(s->ctx_, "/metrics$", &HttpServer::on_metrics, s.get());
    mg_set_request_handler(s->ctx_, "/healthz$", &HttpServer::on_healthz, s.get());
    mg_set_request_handler(s->ctx_, "/readyz$", &HttpServer::on_readyz, s.get());
    return s;
}

void HttpServer::heartbeat() {
    heartbeat_ms_.store(monotonic_ms(), std::memory_order_relaxed);
}

void HttpServer::publish(std::string metrics, std::string not_ready) {
    auto m = std::make_shared<const std::string>(std::move(metrics));
    auto r = std::make_shared<const std::string>(std::move(not_ready));
    std::lock_guard lock(mutex_);
    snap_.metrics = std::move(m);
    snap_.not_ready = std::move(r);
}

HttpServer::Snapshot HttpServer::snapshot() const {
    std::lock_guard lock(mutex_);
    return snap_;
}

int HttpServer::on_metrics(mg_connection* conn, void* self) {
    return reply(conn, 200, kPrometheus, *static_cast<HttpServer*>(self)->snapshot().metrics);
}

int HttpServer::on_healthz(mg_connection* conn, void* self) {
    auto* server = static_cast<HttpServer*>(self);
    auto age = monotonic_ms() - server->heartbeat_ms_.load(std::memory_order_relaxed);
    if (age > server->stall_after_.count())
        return reply(conn, 503, kText,
                     "stalled: the event loop has not run for " + std::to_string(age) + " ms\n");
    return reply(conn, 200, kText, "ok\n");
}

int HttpServer::on_readyz(mg_connection* conn, void* self) {
    auto why = static_cast<HttpServer*>(self)->snapshot().not_ready;
    if (!why->empty()) return reply(conn, 503, kText, "not ready: " + *why + "\n");
    return reply(conn, 200, kText, "ready\n");
}

}  // namespace shoal::agent
