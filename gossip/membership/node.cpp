#include "gossip/membership/node.hpp"

#include <algorithm>
#include <cmath>

namespace shoal {

const char* to_string(MemberEvent::Kind k) {
    switch (k) {
        case MemberEvent::Kind::Joined: return "joined";
        case MemberEvent::Kind::Updated: return "updated";
        case MemberEvent::Kind::Suspect: return "suspect";
        case MemberEvent::Kind::Recovered: return "recovered";
        case MemberEvent::Kind::Dead: return "dead";
        case MemberEvent::Kind::Left: return "left";
        case MemberEvent::Kind::LeaveComplete: return "leave-complete";
        case MemberEvent::Kind::Learned: return "learned";
        case MemberEvent::Kind::Restarting: return "restarting";
    }
    return "?";
}

namespace {
// A timer this late means the process was frozen (SIGSTOP, VM pause, swap storm, CPU
// starvation): acks may be sitting unread in the socket buffer, so nothing measured across the gap
// says anything about the others.
Duration stall_threshold(const Timing& t) {
    return std::max<Duration>(100ms, t.probe_timeout);
}
}  // namespace

Duration Node::jitter(Duration d) {
    // 0.75..1.25 of d, so that members started together do not stay in lock step.
    return std::chrono::duration_cast<Duration>(d * (0.75 + 0.5 * rng_.unit()));
}

Node::Node(NodeConfig cfg, Keyring ring, Rng rng, Time now, std::uint32_t incarnation,
           std::shared_ptr<Credentials> creds)
    : cfg_(std::move(cfg)),
      creds_(std::move(creds)),
      ring_(std::move(ring)),
      rng_(std::move(rng)),
      table_(cfg_.id) {
    table_.insert(make_self_alive(incarnation), MemberState::Alive, now);
    now_ = now;
    serve_refill_ = now;
    const Timing& t = cfg_.timing;
    schedule(now + Duration(static_cast<Duration::rep>(rng_.below(t.probe_interval.count() + 1))),
             TimerKind::Probe);
    schedule(now + jitter(t.sync_interval), TimerKind::AntiEntropy);
    schedule(now + jitter(t.reconnect_interval), TimerKind::Reconnect);
    std::erase(cfg_.seeds, cfg_.addr);
    if (cfg_.seeds.empty()) {
        joined_ = synced_ = true;  // the first member of a new cluster
    } else {
        announced_ = !cfg_.announce_after_sync;
        join_backoff_ = t.join_retry_min;
        send_join(now);
        schedule(now + join_backoff_, TimerKind::Join);
    }
}

Alive Node::make_self_alive(std::uint32_t inc) const {
    if (creds_) return creds_->announce(inc, cfg_.addr);
    return Alive{cfg_.id, inc, cfg_.name, cfg_.addr, kProtocolVersion, cfg_.meta};
}

void Node::reject(Time now, Rejection r, const Address& from, const NodeId& about) {
    ++stats_.rejected[static_cast<int>(r)];
    if (r == Rejection::Replayed) return;  // stale copies are normal gossip; count, do not log
    if (last_reject_log_ == Time{} || now - last_reject_log_ >= 10s) {
        last_reject_log_ = now;
        std::string why = r == Rejection::ForeignNetwork
                              ? " (it was signed for another pod network: that is another "
                                "cluster; changing the network means building a new one)"
                              : "";
        log(LogLine::Level::Warn, "rejected an announcement about " + about.short_hex() +
                                      " relayed by " + from.to_string() + ": " + to_string(r) +
                                      why);
    }
}

// ---- plumbing ----------------------------------------------------------------------------------

void Node::schedule(Time when, TimerKind kind, std::uint32_t seq, const NodeId& id,
                    std::uint64_t gen) {
    timers_.push(Timer{when, timer_order_++, kind, seq, id, gen});
}

std::optional<Transmit> Node::poll_transmit() {
    return take_front(out_);
}

std::optional<MemberEvent> Node::poll_event() {
    return take_front(events_);
}

std::optional<LogLine> Node::poll_log() {
    return take_front(logs_);
}

std::optional<Address> Node::poll_reachable() {
    return take_front(reachable_);
}

std::optional<Time> Node::poll_timeout() const {
    if (stopped_ || timers_.empty()) return std::nullopt;
    return timers_.top().when;
}

void Node::log(LogLine::Level level, std::string text) {
    logs_.push_back(LogLine{level, std::move(text)});
}

std::string Node::describe(const NodeId& id, const Address& addr) const {
    const Member* m = table_.find(id);
    std::string name = m ? m->info.name : std::string("?");
    return name + " (" + id.short_hex() + ", " + addr.to_string() + ")";
}

std::string Node::describe(const Member& m) const {
    return describe(m.id(), m.info.addr);
}

void Node::emit(MemberEvent::Kind kind, const Member& m) {
    events_.push_back(MemberEvent{kind, m.id(), m.info.name, m.info.addr, m.inc()});
}

int Node::retransmit_limit() const {
    // memberlist's mult * ceil(log10(n + 1)) sends an update only 4 times per member in a
    // cluster of 9, and then some member misses it about one time in seven; the floor of 3 keeps
    // small clusters as reliable as large ones. Idle clusters send no updates, so it costs nothing.
    double n = static_cast<double>(table_.live_count());
    return cfg_.timing.retransmit_mult *
           std::max(3, static_cast<int>(std::ceil(std::log10(n + 1))));
}

void Node::adjust_health(int delta) {
    health_ = std::clamp(health_ + delta, 0, cfg_.timing.max_local_health);
}

void Node::send(const Address& to, const std::vector<Message>& msgs, bool piggyback) {
    DatagramBuilder b(cfg_.timing.max_datagram);
    for (const auto& m : msgs) {
        if (!b.add(m))
            log(LogLine::Level::Error, "message does not fit into max-datagram; dropped");
    }
    if (piggyback) queue_.fill(b, retransmit_limit());
    if (b.empty()) return;
    auto bytes = b.seal(ring_, rng_);
    ++stats_.datagrams_out;
    stats_.bytes_out += bytes.size();
    out_.push_back(Transmit{to, std::move(bytes)});
}

void Node::broadcast(const NodeId& about, const Message& m) {
    std::vector<std::uint8_t> enc;
    encode_message(m, enc);
    queue_.push(about, std::move(enc));
    if (!gossip_scheduled_) {
        gossip_scheduled_ = true;
        schedule(now_, TimerKind::Gossip);
    }
}

void Node::gossip_now() {
    gossip_scheduled_ = false;
    if (queue_.empty()) return;
    auto targets = table_.pick(rng_, static_cast<std::size_t>(cfg_.timing.gossip_fanout), cfg_.id,
                               [](const Member& m) { return is_live(m.state); });
    // A long queue (a mass join, a whole site rebooting) gets up to four datagrams per target,
    // so dissemination keeps up instead of queueing for tens of seconds.
    std::size_t per_target = std::clamp<std::size_t>(queue_.size() / 16, 1, 4);
    for (const Member* t : targets)
        for (std::size_t i = 0; i < per_target && !queue_.empty(); ++i) send(t->info.addr, {});
    if (targets.empty() && !leaving_) queue_.clear();  // nobody to tell: a lone member
    if (leaving_ && !queue_.contains(cfg_.id)) {
        finish_leave(now_);
        return;
    }
    if (!queue_.empty()) {
        gossip_scheduled_ = true;
        schedule(now_ + cfg_.timing.gossip_interval, TimerKind::Gossip);
    }
}

void Node::detect_stall(Time now) {
    if (timers_.empty() || now - timers_.top().when <= stall_threshold(cfg_.timing)) return;
    auto late = now - timers_.top().when;
    ++stats_.stalls;
    // Our own failed probes and expired suspicions across the gap prove nothing about others.
    probes_.clear();
    relays_.clear();
    for (auto& [id, m] : table_.all()) {
        if (m.state == MemberState::Suspect && m.suspicion) {
            m.suspicion->restart(now);
            reschedule_suspicion(m);
        }
    }
    if (sync_) sync_->last_progress = now;
    adjust_health(2);
    log(LogLine::Level::Warn, "this process was stalled for " + std::to_string(to_seconds(late)) +
                                  " s; restarting probes and suspicion timers");
}

void Node::advance(Time now) {
    if (now < now_) now = now_;  // a clock that steps back is treated as standing still
    detect_stall(now);
    now_ = now;
    while (!stopped_ && !timers_.empty() && timers_.top().when <= now) {
        Timer t = timers_.top();
        timers_.pop();
        switch (t.kind) {
            case TimerKind::Probe: on_probe_tick(now); break;
            case TimerKind::ProbeDirect: on_probe_direct_timeout(now, t.seq); break;
            case TimerKind::ProbeFinal: on_probe_final(now, t.seq); break;
            case TimerKind::Relay: on_relay_timer(now, t.seq); break;
            case TimerKind::Suspicion: on_suspicion_timeout(now, t.id, t.gen); break;
            case TimerKind::Gossip: gossip_now(); break;
            case TimerKind::AntiEntropy: on_anti_entropy_tick(now); break;
            case TimerKind::Reconnect: on_reconnect_tick(now); break;
            case TimerKind::Join: on_join_timer(now); break;
            case TimerKind::SyncRetry: on_sync_retry(now, t.seq); break;
            case TimerKind::Leave: finish_leave(now); break;
            case TimerKind::RestartHold: on_restart_hold_timeout(now, t.id, t.gen); break;
        }
    }
}

void Node::handle_timeout(Time now) {
    if (!stopped_) advance(now);
}

void Node::handle_datagram(Time now, const Address& from, std::span<const std::uint8_t> bytes) {
    if (stopped_) return;
    advance(now);
    if (stopped_) return;
    ++stats_.datagrams_in;
    stats_.bytes_in += bytes.size();
    auto opened = open_datagram(bytes, ring_);
    if (auto* reason = std::get_if<DropReason>(&opened)) {
        ++stats_.dropped[static_cast<int>(*reason)];
        ++drops_since_log_;
        // One line per 10 s at most: a flood of bad datagrams must not become a flood of logs.
        if (last_drop_log_ == Time{} || now - last_drop_log_ >= 10s) {
            log(LogLine::Level::Warn,
                "dropped a datagram from " + from.to_string() + ": " + to_string(*reason) + " (" +
                    std::to_string(drops_since_log_) + " dropped since the last report)");
            last_drop_log_ = now;
            drops_since_log_ = 0;
        }
        return;
    }
    for (auto& m : std::get<Datagram>(opened).messages) {
        handle_message(now, from, m);
        if (stopped_) return;
    }
}

void Node::handle_message(Time now, const Address& from, Message& msg) {
    std::visit(
        [&](auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, Ping>)
                on_ping(now, from, m);
            else if constexpr (std::is_same_v<T, PingReq>)
                on_ping_req(now, from, m);
            else if constexpr (std::is_same_v<T, Ack>)
                on_ack(now, from, m);
            else if constexpr (std::is_same_v<T, Nack>)
                on_nack(m);
            else if constexpr (std::is_same_v<T, Alive>)
                on_alive(now, from, m);
            else if constexpr (std::is_same_v<T, Suspect>)
                on_suspect(now, from, m);
            else if constexpr (std::is_same_v<T, Dead>)
                on_dead(now, from, m);
            else if constexpr (std::is_same_v<T, Left>)
                on_left(now, from, m);
            else if constexpr (std::is_same_v<T, SyncDigest>)
                on_sync_digest(now, from, m);
            else if constexpr (std::is_same_v<T, SyncPull>)
                on_sync_pull(now, from, m);
            else if constexpr (std::is_same_v<T, SyncChunk>)
                on_sync_chunk(now, from, m);
        },
        msg);
}

// ---- probing -----------------------------------------------------------------------------------

void Node::on_probe_tick(Time now) {
    schedule(now + scaled(cfg_.timing.probe_interval), TimerKind::Probe);
    if (leaving_) return;
    if (const Member* t = table_.next_probe_target(rng_)) start_probe(now, *t, ProbeKind::Regular);
}

bool Node::start_probe(Time now, const Member& target, ProbeKind kind) {
    for (const auto& [seq, p] : probes_)
        if (p.target == target.id()) return false;  // one probe per member at a time
    std::uint32_t seq = next_seq_++;
    probes_[seq] = Probe{target.id(), target.info.addr, target.inc(), 0, 0, kind};
    ++(kind == ProbeKind::Regular ? stats_.probes_sent : stats_.confirm_probes);
    std::vector<Message> msgs{Ping{seq, target.id(), incarnation()}};
    // Lifeguard's buddy system: a suspect hears of its suspicion from every prober.
    if (target.state == MemberState::Suspect) msgs.push_back(record_message(target));
    send(target.info.addr, msgs);
    schedule(now + scaled(cfg_.timing.probe_timeout), TimerKind::ProbeDirect, seq);
    // Relays answer within about two probe timeouts; waiting longer only delays detection.
    Duration window =
        std::min<Duration>(cfg_.timing.probe_interval * 9 / 10, cfg_.timing.probe_timeout * 5 / 2);
    schedule(now + scaled(window), TimerKind::ProbeFinal, seq);
    return true;
}

void Node::on_probe_direct_timeout(Time, std::uint32_t seq) {
    auto it = probes_.find(seq);
    if (it == probes_.end()) return;
    Probe& p = it->second;
    // A second direct ping is the cheapest extra chance on a lossy link; the indirect probes
    // tell a dead member from a broken path between us and it.
    send(p.addr, {Ping{seq, p.target, incarnation()}});
    auto relays = table_.pick(rng_, static_cast<std::size_t>(cfg_.timing.indirect_checks), p.target,
                              [](const Member& m) { return m.state == MemberState::Alive; });
    for (const Member* r : relays) {
        send(r->info.addr, {PingReq{seq, p.target, p.addr}});
        ++p.expected_nacks;
        ++stats_.indirect_probes;
    }
}

void Node::on_probe_final(Time now, std::uint32_t seq) {
    auto it = probes_.find(seq);
    if (it == probes_.end()) return;
    Probe p = it->second;
    probes_.erase(it);
    ++stats_.probes_failed;
    // Lifeguard: relays that could not even send us a nack point at our own network or CPU.
    adjust_health(p.expected_nacks > 0 ? std::max(0, p.expected_nacks - p.nacks) : 1);
    Member* m = table_.find(p.target);
    if (!m || !is_live(m->state) || m->inc() > p.target_inc) return;
    log(LogLine::Level::Debug, "probe of " + describe(*m) + " failed (" + std::to_string(p.nacks) +
                                   "/" + std::to_string(p.expected_nacks) + " relays answered)");
    if (p.kind == ProbeKind::LastChance) {
        if (m->state == MemberState::Suspect) declare_dead(now, *m);
        return;
    }
    suspect_member(now, *m, cfg_.id);
}

void Node::tell_member_its_state(Time now, const Member& m, std::vector<Message>& out) {
    Member* mm = table_.find(m.id());
    if (mm->last_told != Time{} && now - mm->last_told < cfg_.timing.probe_interval) return;
    mm->last_told = now;
    out.push_back(record_message(*mm));
}

void Node::on_ping(Time now, const Address& from, const Ping& p) {
    if (p.target != cfg_.id) {
        ++stats_.misdirected_pings;  // an old address of someone else now used by us
        return;
    }
    std::vector<Message> reply{Ack{p.seq}};
    // A member we hold as failed is probing us: tell it, so it refutes at once instead of
    // waiting for anti-entropy (this is what lets a partition heal quickly).
    if (const Member* s = table_.find_by_addr(from);
        s && s->id() != cfg_.id && s->state != MemberState::Alive && p.sender_inc <= s->inc())
        tell_member_its_state(now, *s, reply);
    send(from, reply);
}

void Node::on_ping_req(Time now, const Address& from, const PingReq& p) {
    if (p.target == cfg_.id) {
        send(from, {Ack{p.seq}});
        return;
    }
    std::uint32_t seq = next_seq_++;
    relays_[seq] = Relay{from, p.seq, false};
    send(p.target_addr, {Ping{seq, p.target, incarnation()}});
    schedule(now + scaled(cfg_.timing.probe_timeout), TimerKind::Relay, seq);
}

void Node::on_relay_timer(Time now, std::uint32_t seq) {
    auto it = relays_.find(seq);
    if (it == relays_.end()) return;
    if (!it->second.nacked) {
        // Lifeguard's nack: "I could not reach it either", so the requester knows its own link
        // works. Keep waiting a little for a late ack.
        send(it->second.requester, {Nack{it->second.requester_seq}});
        it->second.nacked = true;
        schedule(now + scaled(cfg_.timing.probe_interval), TimerKind::Relay, seq);
    } else {
        relays_.erase(it);
    }
}

void Node::on_ack(Time now, const Address& from, const Ack& a) {
    if (auto it = probes_.find(a.seq); it != probes_.end()) {
        Probe p = it->second;
        probes_.erase(it);
        if (p.kind == ProbeKind::Regular) adjust_health(-1);
        Member* m = table_.find(p.target);
        // Only the target's own answer proves our path to it; a relayed ack does not. Bounded:
        // a driver that never drains the queue only loses old confirmations.
        if (m && m->info.addr == from) {
            if (reachable_.size() >= 64) reachable_.pop_front();
            reachable_.push_back(from);
        }
        // It answers, so it is not dead: give its refutation (which our ping asked for) time.
        if (p.kind == ProbeKind::LastChance && m && m->state == MemberState::Suspect &&
            m->suspicion) {
            m->suspicion->restart(now);
            reschedule_suspicion(*m);
        }
        return;
    }
    if (auto it = relays_.find(a.seq); it != relays_.end()) {
        send(it->second.requester, {Ack{it->second.requester_seq}});
        relays_.erase(it);
    }
}

void Node::on_nack(const Nack& n) {
    if (auto it = probes_.find(n.seq); it != probes_.end()) ++it->second.nacks;
}

// ---- merging what others say -------------------------------------------------------------------

Message Node::record_message(const Member& m) const {
    switch (m.state) {
        case MemberState::Alive: return m.info;
        case MemberState::Suspect: return Suspect{m.id(), m.inc(), cfg_.id};
        case MemberState::Dead: return Dead{m.id(), m.inc(), cfg_.id};
        case MemberState::Left: return Left{m.id(), m.inc(), m.left_sig};
        case MemberState::Restarting: return m.info;
    }
    return m.info;
}

void Node::refute(const Address& from, std::uint32_t accused_inc) {
    Member& me = *table_.find(cfg_.id);
    Alive a = make_self_alive(std::max(me.inc(), accused_inc) + 1);
    table_.set_info(me, a);
    announced_ = true;
    broadcast(cfg_.id, a);
    if (!from.is_unset() && from != cfg_.addr) send(from, {a});
    ++stats_.suspicions_refuted;
    adjust_health(1);
    log(LogLine::Level::Info, "refuted a suspicion about this node reported by " +
                                  from.to_string() + "; incarnation now " + std::to_string(a.inc));
}

void Node::answer_stale_accusation(Time now, const Address& from, std::uint32_t accused_inc) {
    if (leaving_ || from.is_unset() || accused_inc >= incarnation()) return;
    // Bounded: after a refutation, stale copies of the accusation arrive from many relays.
    if (now - stale_reply_window_ >= cfg_.timing.probe_interval) {
        stale_reply_window_ = now;
        stale_replies_ = 0;
    }
    if (++stale_replies_ > 8 || !announced_) return;
    send(from, {self_alive()});
}

void Node::on_alive(Time now, const Address& from, const Alive& a) {
    // Relayed copies of what we already hold are the common case: settle them before paying for
    // a signature check. Older ones are replays; identical ones were verified when first stored.
    if (const Member* known = table_.find(a.id); known && a.id != cfg_.id) {
        if (a.inc < known->info.inc) {
            reject(now, Rejection::Replayed, from, a.id);
            return;
        }
        if (a.inc == known->info.inc && a.meta == known->info.meta && a.addr == known->info.addr &&
            a.name == known->info.name)
            return;
    }
    if (creds_) {
        if (auto r = creds_->check(a)) {
            reject(now, *r, from, a.id);
            return;
        }
    }
    if (a.id == cfg_.id) {
        const Member& me = self();
        if (leaving_) return;
        bool differs = a.addr != me.info.addr || a.name != me.info.name || a.meta != me.info.meta;
        // Someone holds a newer or different announcement of us, e.g. from before a restart.
        if (a.inc > me.inc() || (a.inc == me.inc() && differs)) refute(from, a.inc);
        return;
    }
    Member* m = table_.find(a.id);
    if (!m) {
        Member& n = table_.insert(a, MemberState::Alive, now);
        broadcast(a.id, a);
        emit(MemberEvent::Kind::Joined, n);
        log(LogLine::Level::Info, "member joined: " + describe(n));
        apply_restart_hold(now, n);
        return;
    }
    if (a.inc <= m->inc()) return;
    MemberState prev = m->state;
    bool changed = a.addr != m->info.addr || a.name != m->info.name || a.meta != m->info.meta;
    table_.set_info(*m, a);
    m->suspicion.reset();
    ++m->suspicion_gen;
    if (prev != MemberState::Alive) table_.set_state(*m, MemberState::Alive, now);
    broadcast(a.id, a);
    if (prev == MemberState::Dead || prev == MemberState::Left) {
        emit(MemberEvent::Kind::Joined, *m);
        log(LogLine::Level::Info, "member rejoined: " + describe(*m));
    } else if (prev == MemberState::Restarting) {
        emit(MemberEvent::Kind::Recovered, *m);
        log(LogLine::Level::Info, "member is back from its restart: " + describe(*m));
    } else {
        if (prev == MemberState::Suspect) {
            emit(MemberEvent::Kind::Recovered, *m);
            log(LogLine::Level::Info, "member refuted its suspicion: " + describe(*m));
        }
        if (changed) {
            emit(MemberEvent::Kind::Updated, *m);
            log(LogLine::Level::Info, "member updated its announcement: " + describe(*m));
        }
    }
    apply_restart_hold(now, *m);
}

void Node::apply_restart_hold(Time now, Member& m) {
    Duration hold = creds_ ? creds_->restart_hold(m.info) : Duration{};
    if (hold <= Duration{}) return;
    m.suspicion.reset();
    table_.set_state(m, MemberState::Restarting, now);
    schedule(now + hold, TimerKind::RestartHold, 0, m.id(), ++m.suspicion_gen);
    emit(MemberEvent::Kind::Restarting, m);
    log(LogLine::Level::Info, "member is restarting, held for " + std::to_string(to_seconds(hold)) +
                                  " s: " + describe(m));
}

void Node::on_restart_hold_timeout(Time now, const NodeId& id, std::uint64_t gen) {
    Member* m = table_.find(id);
    if (!m || m->state != MemberState::Restarting || gen != m->suspicion_gen) return;
    table_.set_state(*m, MemberState::Dead, now);
    ++m->suspicion_gen;
    ++stats_.deaths_declared;
    broadcast(id, Dead{id, m->inc(), cfg_.id});
    emit(MemberEvent::Kind::Dead, *m);
    log(LogLine::Level::Warn,
        "member declared dead: " + describe(*m) + " did not come back within its restart hold");
}

void Node::announce_to_all(Time now) {
    if (stopped_) return;
    advance(now);
    const Alive& me = self().info;
    for (const auto& [id, m] : table_.all())
        if (id != cfg_.id && is_live(m.state)) send(m.info.addr, {me}, false);
}

void Node::reschedule_suspicion(Member& m) {
    schedule(m.suspicion->deadline(), TimerKind::Suspicion, 0, m.id(), ++m.suspicion_gen);
}

void Node::suspect_member(Time now, Member& m, const NodeId& from) {
    if (m.state == MemberState::Suspect && m.suspicion) {
        if (m.suspicion->confirm(from)) {
            reschedule_suspicion(m);
            broadcast(m.id(), Suspect{m.id(), m.inc(), from});
        }
        return;
    }
    const Timing& t = cfg_.timing;
    Duration min = suspicion_min(t, table_.live_count());
    Duration max = std::chrono::duration_cast<Duration>(min * t.suspicion_max_mult);
    // Confirmations can only come from members other than the suspect and the first suspector.
    int needed = std::min(t.suspicion_confirmations, static_cast<int>(table_.live_count()) - 3);
    table_.set_state(m, MemberState::Suspect, now);
    m.suspicion.emplace(from, needed, min, max, now);
    reschedule_suspicion(m);
    Suspect s{m.id(), m.inc(), from};
    broadcast(m.id(), s);
    if (from == cfg_.id) {
        ++stats_.suspicions_raised;
        send(m.info.addr, {s});  // buddy system: tell the suspect directly
    }
    emit(MemberEvent::Kind::Suspect, m);
    log(LogLine::Level::Info, "member suspected: " + describe(m) + " by " + from.short_hex());
}

void Node::on_suspect(Time now, const Address& from, const Suspect& s) {
    if (s.id == cfg_.id) {
        if (!leaving_ && s.inc >= incarnation())
            refute(from, s.inc);
        else
            answer_stale_accusation(now, from, s.inc);
        return;
    }
    Member* m = table_.find(s.id);
    if (!m || s.inc < m->inc() || !is_live(m->state)) return;
    bool fresh = !(m->state == MemberState::Suspect && s.inc == m->inc());
    if (s.inc > m->inc()) {
        table_.set_incarnation(*m, s.inc);
        m->suspicion.reset();
        if (m->state == MemberState::Suspect) table_.set_state(*m, MemberState::Alive, now);
    }
    suspect_member(now, *m, s.from);
    // A fresh suspicion raised by someone else: a few members re-probe the suspect themselves,
    // so a member that is really gone collects independent confirmations within one probe.
    if (fresh && s.from != cfg_.id && !leaving_) {
        double others = std::max<double>(1, static_cast<double>(table_.live_count()) - 2);
        if (rng_.chance(std::min(1.0, cfg_.timing.confirm_probes / others)))
            start_probe(now, *m, ProbeKind::Confirm);
    }
}

void Node::on_suspicion_timeout(Time now, const NodeId& id, std::uint64_t gen) {
    Member* m = table_.find(id);
    if (!m || m->state != MemberState::Suspect || !m->suspicion || gen != m->suspicion_gen) return;
    if (!m->suspicion->fully_confirmed() || m->suspicion->confirmations() == 0) {
        // Nobody else could confirm it: before declaring it dead, check it ourselves once more.
        // A live member answers, and the suspicion our ping carries makes it refute to us.
        if (!start_probe(now, *m, ProbeKind::LastChance))
            schedule(now + cfg_.timing.probe_interval, TimerKind::Suspicion, 0, id,
                     m->suspicion_gen);
        return;
    }
    declare_dead(now, *m);
}

void Node::declare_dead(Time now, Member& m) {
    auto held = now - m.suspicion->start();
    int confirmations = m.suspicion->confirmations();
    table_.set_state(m, MemberState::Dead, now);
    m.suspicion.reset();
    ++m.suspicion_gen;
    ++stats_.deaths_declared;
    broadcast(m.id(), Dead{m.id(), m.inc(), cfg_.id});
    emit(MemberEvent::Kind::Dead, m);
    log(LogLine::Level::Warn, "member declared dead: " + describe(m) + " after " +
                                  std::to_string(to_seconds(held)) + " s of suspicion, " +
                                  std::to_string(confirmations) + " confirmations");
}

void Node::on_dead(Time now, const Address& from, const Dead& d) {
    if (d.id == cfg_.id) {
        if (!leaving_ && d.inc >= incarnation())
            refute(from, d.inc);
        else
            answer_stale_accusation(now, from, d.inc);
        return;
    }
    Member* m = table_.find(d.id);
    if (!m || d.inc < m->inc() || !is_live(m->state)) return;
    if (d.inc > m->inc()) table_.set_incarnation(*m, d.inc);
    table_.set_state(*m, MemberState::Dead, now);
    m->suspicion.reset();
    ++m->suspicion_gen;
    broadcast(d.id, d);
    emit(MemberEvent::Kind::Dead, *m);
    log(LogLine::Level::Warn,
        "member dead: " + describe(*m) + ", reported by " + d.from.short_hex());
}

void Node::on_left(Time now, const Address& from, const Left& l) {
    if (l.id == cfg_.id) {
        if (!leaving_ && l.inc >= incarnation()) refute(from, l.inc);
        return;
    }
    Member* m = table_.find(l.id);
    if (!m || l.inc < m->inc() || m->state == MemberState::Left) return;
    // Only the member leaves itself; an unsigned leave is a force-leave, for the dead only.
    bool self_signed = !creds_ || (!l.sig.empty() && creds_->check_leave(m->info, l));
    if (!self_signed && m->state != MemberState::Dead) {
        reject(now, Rejection::UnsignedLeave, from, l.id);
        return;
    }
    if (l.inc > m->inc()) table_.set_incarnation(*m, l.inc);
    m->left_sig = self_signed ? l.sig : std::vector<std::uint8_t>{};
    table_.set_state(*m, MemberState::Left, now);
    m->suspicion.reset();
    ++m->suspicion_gen;
    broadcast(l.id, l);
    emit(MemberEvent::Kind::Left, *m);
    log(LogLine::Level::Info, "member left: " + describe(*m));
}

// ---- our own announcement ----------------------------------------------------------------------

void Node::reannounce(Time now, std::optional<Address> addr) {
    if (stopped_ || leaving_) return;
    advance(now);
    if (addr) cfg_.addr = *addr;
    Member& me = *table_.find(cfg_.id);
    Alive a = make_self_alive(me.inc() + 1);
    table_.set_info(me, a);
    announced_ = true;
    broadcast(cfg_.id, a);
}

std::string Node::force_leave(Time now, const NodeId& id) {
    if (stopped_) return "this node has left the cluster";
    advance(now);
    Member* m = table_.find(id);
    if (!m || id == cfg_.id) return "no such member";
    if (m->state != MemberState::Dead)
        return describe(*m) + " is " + std::string(to_string(m->state)) +
               ": force-leave only removes members that are dead";
    Left l{id, m->inc(), {}};
    m->left_sig.clear();
    table_.set_state(*m, MemberState::Left, now);
    broadcast(id, l);
    emit(MemberEvent::Kind::Left, *m);
    log(LogLine::Level::Info, "forced out dead member " + describe(*m));
    return {};
}

void Node::leave(Time now) {
    if (leaving_ || stopped_) return;
    advance(now);
    if (stopped_) return;
    leaving_ = true;
    Member& me = *table_.find(cfg_.id);
    table_.set_state(me, MemberState::Left, now);
    Left l{cfg_.id, me.inc(), creds_ ? creds_->sign_leave(me.inc()) : std::vector<std::uint8_t>{}};
    broadcast(cfg_.id, l);
    // Tell a few members at once; gossip carries it from there.
    auto targets = table_.pick(rng_, 2 * static_cast<std::size_t>(cfg_.timing.gossip_fanout),
                               cfg_.id, [](const Member& m) { return is_live(m.state); });
    for (const Member* t : targets) send(t->info.addr, {l}, false);
    log(LogLine::Level::Info, "leaving the cluster");
    if (targets.empty()) {
        finish_leave(now);
        return;
    }
    schedule(now + cfg_.timing.leave_timeout, TimerKind::Leave);
}

void Node::finish_leave(Time) {
    if (stopped_) return;
    stopped_ = true;
    probes_.clear();
    relays_.clear();
    emit(MemberEvent::Kind::LeaveComplete, self());
    log(LogLine::Level::Info, "left the cluster");
}

}  // namespace shoal
