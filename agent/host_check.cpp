#include "agent/host_check.hpp"

#include <algorithm>

namespace shoal::agent {

namespace {
std::string who(const std::string& name, std::uint32_t addr) {
    return name + " (" + ipv4_to_string(addr) + ")";
}
std::string seconds_text(Duration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}
}  // namespace

HostCheck::HostCheck(HostCheckSettings settings, Rng rng)
    : settings_(settings),
      rng_(std::move(rng)),
      next_seq_(static_cast<std::uint16_t>(rng_.next_u64())) {}

bool HostCheck::eligible(const Host& h, Time now, bool gateway) const {
    const auto& answered = gateway ? h.gateway_answered : h.addr_answered;
    return answered && now - *answered <= 3 * settings_.baseline_interval;
}

void HostCheck::follow(Time now, const std::vector<HostSubject>& subjects) {
    if (!enabled()) return;
    std::map<NodeId, const HostSubject*> present;
    std::map<std::uint32_t, const HostSubject*> live_at;  // addresses of members not dead
    for (const auto& s : subjects) {
        present[s.id] = &s;
        if (s.state != MemberState::Dead && s.state != MemberState::Left) live_at[s.addr] = &s;
    }
    for (auto it = hosts_.begin(); it != hosts_.end();) {
        if (present.count(it->first)) {
            ++it;
            continue;
        }
        changed_ = changed_ || keeps_route(it->first);
        it = hosts_.erase(it);
    }
    for (const auto& [id, s] : present) {
        auto [it, fresh] = hosts_.try_emplace(id);
        Host& h = it->second;
        if (fresh || h.addr != s->addr || h.gateway != s->gateway) {
            // A new member, or one that moved: what answered before is not evidence about it.
            h.addr_answered.reset();
            h.gateway_answered.reset();
            h.next_baseline = now + Duration(static_cast<Duration::rep>(rng_.below(200'000)));
        }
        h.name = s->name;
        h.addr = s->addr;
        h.gateway = s->gateway;
        MemberState was = std::exchange(h.state, s->state);
        if (fresh) was = MemberState::Alive;
        bool failing = s->state == MemberState::Suspect || s->state == MemberState::Dead;
        if (!failing) {
            if (h.checking) changed_ = changed_ || keeps_route(id);
            bool baseline_due = h.checking || h.released;
            h.checking = false;
            h.released = false;
            h.dead_since.reset();
            if (baseline_due) h.next_baseline = now;
        } else if (!h.checking && !h.released && was != MemberState::Suspect &&
                   was != MemberState::Dead) {
            start_checking(h, now);
        }
        if (s->state == MemberState::Dead && !h.dead_since) {
            h.dead_since = now;
            changed_ = changed_ || h.checking;  // kept (for now) where it would have gone
        }
        // A host reinstalled under a new identity answers for the new member, not the old one.
        if (auto other = live_at.find(h.addr);
            h.checking && s->state == MemberState::Dead && other != live_at.end())
            release(h, "its address now belongs to " + other->second->name);
        step(id, h, now);
    }
}

void HostCheck::start_checking(Host& h, Time now) {
    if (!enabled()) return;
    h.check_addr = eligible(h, now, false);
    h.check_gateway = h.gateway != 0 && eligible(h, now, true);
    if (!h.check_addr && !h.check_gateway) return;  // never answered: the plain behaviour
    h.checking = true;
    h.round_start = now;
    h.round_echoes = 0;
    h.round_answered = false;
    h.rounds_done = 0;
    h.failed_in_a_row = 0;
    h.answered = false;
    h.kept_logged = false;
}

void HostCheck::send(const NodeId& id, Host& h, Time now, bool baseline) {
    auto one = [&](std::uint32_t to, bool gateway) {
        std::uint16_t seq = next_seq_++;
        std::uint64_t token = rng_.next_u64();
        outstanding_[seq] = Outstanding{id, to, token, now, baseline, gateway, h.rounds_done};
        echoes_.push_back(Echo{to, seq, token});
        ++echoes_sent_;
    };
    if (baseline || h.check_addr) one(h.addr, false);
    if (h.gateway != 0 && (baseline || h.check_gateway)) one(h.gateway, true);
}

// A round's echoes get their reply window even when they went out late: an agent whose timer
// fires late (starved, or frozen for a while) must not count its own lateness as a host that
// does not answer.
Time HostCheck::round_close(const Host& h) const {
    return std::max(h.round_start + settings_.echo_gap * (settings_.echoes_per_round - 1),
                    h.last_echo) +
           settings_.reply_window;
}

void HostCheck::close_round(Host& h, Time now) {
    ++h.rounds_done;
    if (h.round_answered) {
        h.failed_in_a_row = 0;
        h.answered = true;
    } else if (link_up_) {
        ++h.failed_in_a_row;
    }
    h.round_answered = false;
    h.round_echoes = 0;
    h.round_start += settings_.round_interval;
    if (h.round_start < now) h.round_start = now;
}

void HostCheck::release(Host& h, const std::string& why) {
    h.released = true;
    h.checking = false;
    changed_ = true;
    log_.push_back(LogLine{LogLevel::Info,
                           "dead member " + who(h.name, h.addr) + ": " + why + "; its route goes"});
}

void HostCheck::step(const NodeId& id, Host& h, Time now) {
    if (!h.checking) {
        if (h.state == MemberState::Alive && now >= h.next_baseline) {
            send(id, h, now, true);
            auto jitter = Duration(static_cast<Duration::rep>(rng_.below(
                static_cast<std::uint64_t>(settings_.baseline_interval.count() / 5) + 1)));
            h.next_baseline =
                now + settings_.baseline_interval - settings_.baseline_interval / 10 + jitter;
        }
        return;
    }
    for (;;) {
        if (h.round_echoes < settings_.echoes_per_round &&
            now >= h.round_start + settings_.echo_gap * h.round_echoes) {
            ++h.round_echoes;
            h.last_echo = now;
            send(id, h, now, false);
        } else if (h.round_echoes == settings_.echoes_per_round && now >= round_close(h)) {
            close_round(h, now);
        } else {
            break;
        }
    }
    if (h.state != MemberState::Dead) return;
    if (!h.answered) {
        if (h.rounds_done > 0) release(h, "its host did not answer since the suspicion began");
        return;
    }
    if (h.failed_in_a_row >= settings_.failed_rounds_to_withdraw) {
        release(h, "its host stopped answering (" + std::to_string(h.failed_in_a_row) +
                       " rounds of echoes in a row)");
    } else if (now - *h.dead_since >= settings_.route_hold) {
        release(h, "route-hold (" + seconds_text(settings_.route_hold) + ") ended");
    } else if (!h.kept_logged) {
        h.kept_logged = true;
        changed_ = true;
        log_.push_back(
            LogLine{LogLevel::Warn, "dead member " + who(h.name, h.addr) +
                                        ": its host answers, route kept (for route-hold " +
                                        seconds_text(settings_.route_hold) +
                                        " at most, while it answers)"});
    }
}

void HostCheck::on_reply(Time now, std::uint32_t from, std::uint16_t seq, std::uint64_t token) {
    auto o = outstanding_.find(seq);
    if (o == outstanding_.end() || o->second.to != from || o->second.token != token) return;
    Outstanding out = o->second;
    outstanding_.erase(o);
    ++replies_;
    auto it = hosts_.find(out.id);
    if (it == hosts_.end()) return;
    Host& h = it->second;
    if (out.baseline) {
        if (h.state == MemberState::Alive && (out.gateway ? h.gateway : h.addr) == from)
            (out.gateway ? h.gateway_answered : h.addr_answered) = now;
        return;
    }
    // The agent reads replies before it closes a round, so one that came in time counts even
    // when the loop runs late.
    if (h.checking && out.round == h.rounds_done) h.round_answered = true;
}

void HostCheck::handle_timeout(Time now) {
    // An echo unanswered for a second is lost; its sequence number may come round again.
    for (auto it = outstanding_.begin(); it != outstanding_.end();) {
        if (now - it->second.sent > std::chrono::seconds(1))
            it = outstanding_.erase(it);
        else
            ++it;
    }
    for (auto& [id, h] : hosts_) step(id, h, now);
}

std::optional<Time> HostCheck::poll_timeout() const {
    std::optional<Time> next;
    auto at = [&](Time t) {
        if (!next || t < *next) next = t;
    };
    for (const auto& [id, h] : hosts_) {
        if (h.checking) {
            if (h.round_echoes < settings_.echoes_per_round)
                at(h.round_start + settings_.echo_gap * h.round_echoes);
            else
                at(round_close(h));
            if (h.dead_since && h.answered) at(*h.dead_since + settings_.route_hold);
        } else if (h.state == MemberState::Alive) {
            at(h.next_baseline);
        }
    }
    return next;
}

bool HostCheck::keeps_route(const NodeId& id) const {
    auto it = hosts_.find(id);
    return it != hosts_.end() && it->second.state == MemberState::Dead && it->second.checking;
}

bool HostCheck::host_answers(const NodeId& id) const {
    auto it = hosts_.find(id);
    return keeps_route(id) && it->second.answered;
}

std::set<NodeId> HostCheck::kept(bool answering) const {
    std::set<NodeId> ids;
    for (const auto& [id, h] : hosts_)
        if (answering ? host_answers(id) : keeps_route(id)) ids.insert(id);
    return ids;
}

}  // namespace shoal::agent
