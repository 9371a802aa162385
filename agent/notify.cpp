#include "agent/notify.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

namespace shoal::agent {

void Notifier::send(const std::string& state) {
    // unset_environment = 0: a failed send is not an error worth reporting (no systemd here).
    sd_notify(0, state.c_str());
}

void Notifier::ready(const std::string& status) {
    last_status_ = status;
    send("READY=1\nSTATUS=" + status);
}

void Notifier::status(const std::string& status) {
    if (status == last_status_ || stopping_) return;
    last_status_ = status;
    send("STATUS=" + status);
}

void Notifier::reloading() {
    // MONOTONIC_USEC lets systemd (Type=notify-reload) match this reload to its request.
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ull +
                static_cast<unsigned long long>(ts.tv_nsec) / 1000;
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void Notifier::reloaded() {
    send("READY=1");
}

void Notifier::stopping() {
    if (stopping_) return;
    stopping_ = true;
    send("STOPPING=1\nSTATUS=stopping");
}

void Notifier::watchdog() {
    send("WATCHDOG=1");
}

std::optional<std::chrono::milliseconds> Notifier::watchdog_interval() {
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
    return std::chrono::milliseconds(std::max<uint64_t>(usec / 2000, 1));
}

}  // namespace shoal::agent
