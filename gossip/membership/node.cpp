// The membership core's plumbing: construction, timers and the clock, datagrams in (opened and
// dispatched to node_probe.cpp, node_merge.cpp and node_sync.cpp) and out (sending, the
// broadcast queue, gossip ticks), events and log lines; and this node's own announcement and
// leave.
#include "gossip/membership/node.hpp"

#include <algorithm>
#include <cmath>

namespace shoal {

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
      table_(cfg_.id),
      tombstones_(cfg_.timing.max_tombstones) {
    for (const auto& t : cfg_.tombstones) tombstones_.remember(t.id, t.inc);
    cfg_.tombstones.clear();
    // Our own tombstone (a state file from a later life than our incarnation says, restored
    // from a backup): start above what we once signed.
    if (auto own = tombstones_.find(cfg_.id); own && *own >= incarnation && *own < UINT32_MAX)
        incarnation = *own + 1;
    tombstones_.forget(cfg_.id);
    if (cfg_.payload.size() > kMaxPayload) {
        log(LogLine::Level::Error, payload_error(cfg_.payload.size()) + "; announcing none");
        cfg_.payload.clear();
    }
    auto self = sign_self(incarnation);
    table_.insert(self.alive, std::move(self.announcement), MemberState::Alive, now);
    now_ = now;
    serve_refill_ = now;
    const Timing& t = cfg_.timing;
    schedule(now + Duration(static_cast<Duration::rep>(rng_.below(t.probe_interval.count() + 1))),
             TimerKind::Probe);
    schedule(now + jitter(t.sync_interval), TimerKind::AntiEntropy);
    schedule(now + jitter(t.reconnect_interval), TimerKind::Reconnect);
    std::erase(cfg_.seeds, cfg_.addr);
    if (cfg_.seeds.empty()) {
        join_phase_ = JoinPhase::Synced;  // the first member of a new cluster
    } else {
        announced_ = !cfg_.announce_after_sync;
        join_backoff_ = t.join_retry_min;
        join_started_ = now;
        send_join(now);
        schedule(now + join_backoff_, TimerKind::Join);
    }
}

SignedAnnouncement Node::sign_self(std::uint32_t inc) const {
    if (creds_)
        return creds_->announce({inc, cfg_.addr, cfg_.payload, restart_hold_ms_, cfg_.boot});
    return {Alive{cfg_.id, inc, cfg_.name, cfg_.addr, kProtocolVersion, cfg_.payload}, nullptr};
}

Alive Node::announce_self(std::uint32_t inc) {
    auto signed_self = sign_self(inc);
    table_.set_info(*table_.find(cfg_.id), signed_self.alive, std::move(signed_self.announcement));
    announced_ = true;
    broadcast(cfg_.id, signed_self.alive);
    return std::move(signed_self.alive);
}

std::string Node::payload_error(std::size_t size) {
    return "an announcement payload of " + std::to_string(size) + " bytes; the limit is " +
           std::to_string(kMaxPayload);
}

void Node::reject(Time now, Rejection r, const Address& from, const NodeId& about) {
    ++stats_.rejected[static_cast<int>(r)];
    // Stale copies are normal gossip, and an accusation can overtake the announcement it refers
    // to: count these, do not log them.
    if (r == Rejection::Replayed || r == Rejection::Unannounced) return;
    if (log_budget_.take(now, from)) {
        std::string why = r == Rejection::ForeignNetwork
                              ? " (it was signed for another pod network: that is another "
                                "cluster; changing the network means building a new one)"
                              : "";
        log(LogLine::Level::Warn, "rejected news about " + about.short_hex() + " relayed by " +
                                      from.to_string() + ": " + to_string(r) + why);
    }
}

// ---- plumbing -----------------------------------------------------------------------------------

void Node::schedule(Time when, TimerKind kind, std::uint64_t seq, const NodeId& id,
                    std::uint64_t epoch) {
    timers_.push(Timer{when, timer_order_++, kind, seq, id, epoch});
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
    if (stopped() || timers_.empty()) return std::nullopt;
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

std::uint8_t Node::version_for(const Address& to) const {
    if (!cfg_.accept_protocol_1) return kProtocolVersion;
    if (in_from_ && *in_from_ == to) return in_version_;
    const Member* m = table_.find_by_addr(to);
    return m && m->info.proto >= kProtocolVersion ? kProtocolVersion : kProtocolVersion1;
}

std::uint64_t Node::fresh_number() {
    // While protocol-1 members may be around, 32 bits: a probe's number also reaches the relays
    // its indirect probes go through, which may speak 1 when the target does not.
    std::uint64_t n = rng_.next_u64();
    return cfg_.accept_protocol_1 ? n & UINT32_MAX : n;
}

void Node::send(const Address& to, const std::vector<Message>& msgs, bool piggyback,
                std::optional<std::uint8_t> version) {
    DatagramBuilder b(cfg_.timing.max_datagram);
    for (const auto& m : msgs) {
        if (!b.add(m))
            log(LogLine::Level::Error, "message does not fit into max-datagram; dropped");
    }
    if (piggyback && known_source(to)) queue_.fill(b, retransmit_limit());
    if (b.empty()) return;
    auto bytes = b.seal(ring_, rng_, version ? *version : version_for(to));
    ++stats_.datagrams_out;
    stats_.bytes_out += bytes.size();
    out_.push_back(Transmit{to, std::move(bytes)});
}

void Node::broadcast(const NodeId& about, const Message& m) {
    std::vector<std::uint8_t> enc;
    encode_message(m, enc);
    queue_.push(about, cfg_.update_pool
                           ? cfg_.update_pool->intern(std::move(enc))
                           : std::make_shared<const std::vector<std::uint8_t>>(std::move(enc)));
    // Our own news goes out now, not at the next gossip tick, which other news (the members a
    // join has just learned) may have pushed a gossip interval away: a restarted member's routes
    // and a refutation wait for it.
    if (!gossip_scheduled_ || (about == cfg_.id && gossip_due_ > now_)) {
        gossip_scheduled_ = true;
        gossip_due_ = now_;
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
    if (targets.empty() && !leaving()) queue_.clear();  // nobody to tell: a lone member
    if (leaving() && !queue_.contains(cfg_.id)) {
        finish_leave(now_);
        return;
    }
    if (!queue_.empty()) {
        gossip_scheduled_ = true;
        gossip_due_ = now_ + cfg_.timing.gossip_interval;
        schedule(gossip_due_, TimerKind::Gossip);
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
    while (!stopped() && !timers_.empty() && timers_.top().when <= now) {
        Timer t = timers_.top();
        timers_.pop();
        switch (t.kind) {
            case TimerKind::Probe: on_probe_tick(now); break;
            case TimerKind::ProbeDirect: on_probe_direct_timeout(now, t.seq); break;
            case TimerKind::ProbeFinal: on_probe_final(now, t.seq); break;
            case TimerKind::Relay: on_relay_timer(now, t.seq); break;
            case TimerKind::Suspicion: on_suspicion_timeout(now, t.id, t.epoch); break;
            case TimerKind::Gossip:
                if (t.when == gossip_due_) gossip_now();  // else moved earlier: already done
                break;
            case TimerKind::AntiEntropy: on_anti_entropy_tick(now); break;
            case TimerKind::JoinCheck: on_join_check(now); break;
            case TimerKind::Reconnect: on_reconnect_tick(now); break;
            case TimerKind::Join: on_join_timer(now); break;
            case TimerKind::SyncRetry: on_sync_retry(now, t.seq); break;
            case TimerKind::Leave: finish_leave(now); break;
            case TimerKind::RestartHold: on_restart_hold_timeout(now, t.id, t.epoch); break;
        }
    }
}

void Node::handle_timeout(Time now) {
    if (!stopped()) advance(now);
}

void Node::handle_datagram(Time now, const Address& from, std::span<const std::uint8_t> bytes) {
    if (stopped()) return;
    advance(now);
    if (stopped()) return;
    ++stats_.datagrams_in;
    stats_.bytes_in += bytes.size();
    datagram_in_bytes_ = bytes.size();
    auto opened =
        open_datagram(bytes, ring_, cfg_.accept_protocol_1 ? kProtocolVersion1 : kProtocolVersion);
    if (auto* reason = std::get_if<DropReason>(&opened)) {
        ++stats_.dropped[static_cast<int>(*reason)];
        ++drops_since_log_;
        // One line per sender per 10 s at most: a flood of bad datagrams is not a flood of logs.
        if (log_budget_.take(now, from)) {
            log(LogLine::Level::Warn,
                "dropped a datagram from " + from.to_string() + ": " + to_string(*reason) + " (" +
                    std::to_string(drops_since_log_) + " dropped since the last report)");
            drops_since_log_ = 0;
        }
        return;
    }
    auto& datagram = std::get<Datagram>(opened);
    in_from_ = from;
    in_version_ = datagram.version;
    for (auto& m : datagram.messages) {
        handle_message(now, from, m);
        if (stopped()) break;
    }
    in_from_.reset();
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
                on_nack(from, m);
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
            else if constexpr (std::is_same_v<T, Revoked>)
                on_revoked(now, from, m);
        },
        msg);
}

// ---- our own announcement and leave -------------------------------------------------------------

void Node::reannounce(Time now, std::optional<Address> addr) {
    if (leaving()) return;
    advance(now);
    if (addr) cfg_.addr = *addr;
    if (incarnation() == UINT32_MAX) {
        log(LogLine::Level::Error, "cannot announce again: the incarnation is at its maximum");
        return;
    }
    announce_self(incarnation() + 1);
}

void Node::set_link_up(Time now, bool up) {
    if (up == link_up_) return;
    advance(now);
    link_up_ = up;
    if (!up) {
        log(LogLine::Level::Warn,
            "no carrier on this host's link: accusing no member until it "
            "returns and " +
                std::to_string(to_seconds(cfg_.timing.reconnect_interval)) + " s after");
        return;
    }
    quiet_until_ = now + cfg_.timing.reconnect_interval;
    log(LogLine::Level::Info, "this host's link is back: accusing no member for another " +
                                  std::to_string(to_seconds(cfg_.timing.reconnect_interval)) +
                                  " s");
}

Status Node::set_payload(Time now, std::vector<std::uint8_t> payload) {
    if (payload.size() > kMaxPayload) return Error{payload_error(payload.size())};
    cfg_.payload = std::move(payload);
    reannounce(now);
    return {};
}

void Node::set_restart_hold(Time now, Duration hold) {
    // Saturates instead of wrapping (2^32 ms is 49.7 days); peers cap it far lower anyway.
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(hold).count();
    restart_hold_ms_ = static_cast<std::uint32_t>(std::clamp<std::int64_t>(ms, 0, UINT32_MAX));
    reannounce(now);
}

void Node::announce_to_all(Time now) {
    if (stopped()) return;
    advance(now);
    const Alive me = self().alive();
    for (const auto& [id, m] : table_.all())
        if (id != cfg_.id && is_live(m.state)) send(m.info.addr, {me}, false);
}

void Node::leave(Time now) {
    if (leaving()) return;
    advance(now);
    if (stopped()) return;
    leave_phase_ = LeavePhase::Leaving;
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
    if (stopped()) return;
    leave_phase_ = LeavePhase::Stopped;
    probes_.clear();
    relays_.clear();
    emit(MemberEvent::Kind::LeaveComplete, self());
    log(LogLine::Level::Info, "left the cluster");
}

}  // namespace shoal
