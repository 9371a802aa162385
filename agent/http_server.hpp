#pragma once
// The metrics and health endpoints, served by civetweb (the lightest embedded HTTP server in
// Debian 12 that is maintained; figures in docs/OPERATIONS.md) from its own threads.
//
// Those threads never touch the agent's state: the loop publishes an immutable snapshot (the
// rendered /metrics text and the readiness verdict) and beats a heartbeat; the server only reads
// those, under a mutex. /healthz compares the heartbeat with the clock, so a stalled loop shows.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <variant>

#include "common/address.hpp"
#include "common/result.hpp"

struct mg_context;
struct mg_connection;

namespace shoal::agent {

class HttpServer {
  public:
    // The loop is called stalled when it has not beaten for this long (it beats every second).
    static constexpr std::chrono::milliseconds kStallAfter{5000};
    // Connections served at once, and how long each may take to send its request: together they
    // bound how long clients that never finish their headers can keep /healthz waiting.
    static constexpr int kWorkers = 16;
    static constexpr std::chrono::milliseconds kRequestTimeout{2000};

    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Listens on `addr`; an error message (starting with "metrics:") when it cannot.
    static Result<std::unique_ptr<HttpServer>> start(
        const Address& addr, std::chrono::milliseconds stall_after = kStallAfter);

    // From the loop: the loop is alive now.
    void heartbeat();
    // From the loop: what the next requests see. `not_ready` empty means ready.
    void publish(std::string metrics, std::string not_ready);

    // Only start() can make the key, so only start() constructs one.
    class Key {
        Key() = default;
        friend class HttpServer;
    };
    HttpServer(Key, std::chrono::milliseconds stall_after);

  private:
    struct Snapshot {
        std::shared_ptr<const std::string> metrics;
        std::shared_ptr<const std::string> not_ready;
    };
    Snapshot snapshot() const;
    static int on_metrics(mg_connection* conn, void* self);
    static int on_healthz(mg_connection* conn, void* self);
    static int on_readyz(mg_connection* conn, void* self);

    const std::chrono::milliseconds stall_after_;
    Address addr_;
    mg_context* ctx_ = nullptr;
    mutable std::mutex mutex_;
    Snapshot snap_;
    std::atomic<std::int64_t> heartbeat_ms_{0};
};

// Milliseconds of CLOCK_MONOTONIC (shared by the heartbeat and its check).
std::int64_t monotonic_ms();

}  // namespace shoal::agent
