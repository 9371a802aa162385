#pragma once
// systemd's notification protocol (sd_notify): READY, STATUS, RELOADING, STOPPING and watchdog
// pings. Without $NOTIFY_SOCKET (not started by systemd with Type=notify) every call does nothing.
#include <chrono>
#include <optional>
#include <string>

namespace shoal::agent {

class Notifier {
  public:
    // Serving: sockets bound, routes adopted. `status` is the human line `systemctl status` shows.
    void ready(const std::string& status);
    // Sends STATUS only when it differs from the last one sent.
    void status(const std::string& status);
    void reloading();
    void reloaded();
    void stopping();
    void watchdog();
    // How often to ping the watchdog (half its timeout), or nullopt when systemd wants no pings.
    static std::optional<std::chrono::milliseconds> watchdog_interval();

  private:
    void send(const std::string& state);
    std::string last_status_;
    bool stopping_ = false;
};

}  // namespace shoal::agent
