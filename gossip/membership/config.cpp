#include "gossip/membership/config.hpp"

#include <charconv>
#include <cmath>
#include <functional>
#include <map>

namespace shoal {

std::optional<Profile> parse_profile(std::string_view name) {
    if (name == "lan") return Profile::Lan;
    if (name == "fast") return Profile::Fast;
    return std::nullopt;
}

const char* to_string(Profile p) {
    return p == Profile::Fast ? "fast" : "lan";
}

Timing timing_for(Profile p) {
    Timing t;
    if (p == Profile::Fast) {
        t.probe_interval = 200ms;
        t.probe_timeout = 60ms;
        t.gossip_interval = 50ms;
        t.sync_retry = 200ms;
        t.reconnect_interval = 2s;
        t.join_retry_min = 200ms;
    }
    return t;
}

std::optional<Duration> parse_duration(std::string_view text) {
    if (text == "0") return Duration::zero();  // zero needs no unit
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || !std::isfinite(value) || value < 0) return std::nullopt;
    std::string_view unit(end, text.data() + text.size() - end);
    double scale = 0;
    if (unit == "ms")
        scale = 1e-3;
    else if (unit == "s")
        scale = 1;
    else if (unit == "m")
        scale = 60;
    else if (unit == "h")
        scale = 3600;
    else
        return std::nullopt;
    double seconds = value * scale;
    if (seconds > 1e7) return std::nullopt;
    return from_seconds(seconds);
}

namespace {

using Setter = std::function<std::string(Timing&, std::string_view)>;

Setter duration(Duration Timing::*field) {
    return [field](Timing& t, std::string_view v) -> std::string {
        auto d = parse_duration(v);
        if (!d) return "expected a duration with a unit (e.g. 500ms, 2s, 24h)";
        t.*field = *d;
        return {};
    };
}

template <typename T>
Setter number(T Timing::*field, double min, double max) {
    return [=](Timing& t, std::string_view v) -> std::string {
        double value = 0;
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
        if (ec != std::errc{} || end != v.data() + v.size() || !(value >= min && value <= max))
            return "expected a number from " + std::to_string(min) + " to " + std::to_string(max);
        if constexpr (std::is_integral_v<T>) {
            if (value != std::floor(value)) return "expected a whole number";
        }
        t.*field = static_cast<T>(value);
        return {};
    };
}

const std::map<std::string, Setter, std::less<>>& setters() {
    static const std::map<std::string, Setter, std::less<>> table = {
        {"probe-interval", duration(&Timing::probe_interval)},
        {"probe-timeout", duration(&Timing::probe_timeout)},
        {"indirect-checks", number(&Timing::indirect_checks, 0, 16)},
        {"gossip-interval", duration(&Timing::gossip_interval)},
        {"gossip-fanout", number(&Timing::gossip_fanout, 1, 32)},
        {"retransmit-mult", number(&Timing::retransmit_mult, 1, 32)},
        {"suspicion-mult", number(&Timing::suspicion_mult, 0.1, 100)},
        {"suspicion-max-mult", number(&Timing::suspicion_max_mult, 1, 100)},
        {"suspicion-confirmations", number(&Timing::suspicion_confirmations, 1, 32)},
        {"confirm-probes", number(&Timing::confirm_probes, 0, 64)},
        {"max-local-health", number(&Timing::max_local_health, 0, 32)},
        {"sync-interval", duration(&Timing::sync_interval)},
        {"reconnect-interval", duration(&Timing::reconnect_interval)},
        {"sync-retry", duration(&Timing::sync_retry)},
        {"sync-max-chunks", number(&Timing::sync_max_chunks, 1, 64)},
        {"join-retry-min", duration(&Timing::join_retry_min)},
        {"join-retry-max", duration(&Timing::join_retry_max)},
        {"leave-timeout", duration(&Timing::leave_timeout)},
        {"dead-retention", duration(&Timing::dead_retention)},
        {"max-datagram", number(&Timing::max_datagram, 576, 9000)},
        {"restart-hold-max", duration(&Timing::restart_hold_max)},
        {"max-members", number(&Timing::max_members, 2, 1000000)},
        {"max-tombstones", number(&Timing::max_tombstones, 0, 1000000)},
    };
    return table;
}

}  // namespace

Status apply_setting(Timing& t, std::string_view name, std::string_view value) {
    auto it = setters().find(name);
    if (it == setters().end()) return Error{"unknown timing setting '" + std::string(name) + "'"};
    auto err = it->second(t, value);
    if (!err.empty()) return Error{std::string(name) + " = '" + std::string(value) + "': " + err};
    return {};
}

std::vector<std::string> setting_names() {
    std::vector<std::string> names;
    for (const auto& [name, _] : setters()) names.push_back(name);
    return names;
}

Status validate(const Timing& t) {
    if (t.probe_interval < 10ms) return Error{"probe-interval must be at least 10ms"};
    if (t.probe_timeout <= 0us || t.probe_timeout * 2 > t.probe_interval)
        return Error{"probe-timeout must be positive and at most half of probe-interval"};
    if (t.gossip_interval < 1ms) return Error{"gossip-interval must be at least 1ms"};
    if (t.sync_interval < t.probe_interval)
        return Error{"sync-interval must be at least probe-interval"};
    if (t.reconnect_interval < t.probe_interval)
        return Error{"reconnect-interval must be at least probe-interval"};
    if (t.sync_retry < 1ms) return Error{"sync-retry must be at least 1ms"};
    if (t.join_retry_min < 1ms || t.join_retry_max < t.join_retry_min)
        return Error{"join-retry-min must be at least 1ms and at most join-retry-max"};
    if (t.leave_timeout < t.gossip_interval)
        return Error{"leave-timeout must be at least gossip-interval"};
    if (t.restart_hold_max > 24h) return Error{"restart-hold-max must be at most 24h"};
    return {};
}

}  // namespace shoal
