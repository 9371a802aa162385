// Merging what others say about members (alive, suspect, dead, left) by incarnation: suspicion
// timers, restart holds, refuting what is said about ourselves, and transition(), the one way a
// member becomes dead or left (also by force-leave).
#include <algorithm>

#include "gossip/membership/node.hpp"

namespace shoal {

Suspect Node::our_suspect(const Member& m) const {
    Suspect s{m.id(), m.inc(), cfg_.id, {}};
    if (creds_) s.sig = creds_->sign_accusation(Accusation::Suspect, s.id, s.inc);
    return s;
}

Dead Node::our_dead(const Member& m) const {
    Dead d{m.id(), m.inc(), cfg_.id, {}};
    if (creds_) d.sig = creds_->sign_accusation(Accusation::Dead, d.id, d.inc);
    return d;
}

Message Node::record_message(const Member& m) const {
    switch (m.state) {
        case MemberState::Alive: return m.alive();
        case MemberState::Suspect: return our_suspect(m);
        case MemberState::Dead: return our_dead(m);
        case MemberState::Left: return Left{m.id(), m.inc(), m.left_sig()};
        case MemberState::Restarting: return m.alive();
    }
    return m.alive();
}

void Node::refute(const Address& from, std::uint32_t accused_inc) {
    // Accusations above what we signed are dropped before this, so only our own signature can
    // bring us here at the maximum: a wrap to 0 would make every later refutation a replay.
    std::uint32_t base = std::max(incarnation(), accused_inc);
    if (base == UINT32_MAX) {
        log(LogLine::Level::Error, "cannot refute a suspicion reported by " + from.to_string() +
                                       ": the incarnation is at its maximum");
        return;
    }
    Alive a = announce_self(base + 1);
    if (!from.is_unset() && from != cfg_.addr && known_source(from)) send(from, {a});
    ++stats_.suspicions_refuted;
    adjust_health(1);
    log(LogLine::Level::Info, "refuted a suspicion about this node reported by " +
                                  from.to_string() + "; incarnation now " + std::to_string(a.inc));
}

void Node::on_accused(Time now, const Address& from, std::uint32_t accused_inc,
                      StaleAccusation stale) {
    if (accused_inc > incarnation()) {
        // Above anything we signed in this life: nobody honest holds it. (After a lost state
        // file, peers that hold a higher announcement of ours send it, and that one we refute.)
        reject(now, Rejection::Unannounced, from, cfg_.id);
        return;
    }
    if (!leaving() && accused_inc == incarnation()) {
        refute(from, accused_inc);
        return;
    }
    // Below our incarnation: a copy of an accusation we already refuted, still travelling.
    if (stale == StaleAccusation::Ignore || leaving() || !known_source(from)) return;
    // Bounded: after a refutation, stale copies of the accusation arrive from many relays.
    if (now - stale_reply_window_ >= cfg_.timing.probe_interval) {
        stale_reply_window_ = now;
        stale_replies_ = 0;
    }
    if (++stale_replies_ > 8 || !announced_) return;
    send(from, {self_alive()});
}

bool Node::within_signed(Time now, const Address& from, const Member& m, std::uint32_t inc) {
    if (inc <= m.info.inc) return true;
    // Raising a member's incarnation on someone else's word lets one key holder push it to
    // 2^32 - 1, where its refutation would wrap and be dropped as a replay forever.
    reject(now, Rejection::Unannounced, from, m.id());
    return false;
}

bool Node::admit_new(Time now, const Address& from, const Alive& a) {
    Rejection why;
    if (!valid_member_name(a.name))
        why = Rejection::MalformedName;
    else if (table_.size() >= cfg_.timing.max_members)
        why = Rejection::MemberCap;
    else if (!merging_own_transfer_ && !new_identities_.take(now, from))
        why = Rejection::IdentityRate;
    else
        return true;
    reject(now, why, from, a.id);
    return false;
}

std::optional<VerifiedAnnouncement> Node::verify(Time now, const Address& from, const Alive& a) {
    if (!creds_) return VerifiedAnnouncement{};
    auto verified = creds_->verify(a);
    if (auto* r = std::get_if<Rejection>(&verified)) {
        reject(now, *r, from, a.id);
        return std::nullopt;
    }
    return std::get<VerifiedAnnouncement>(std::move(verified));
}

void Node::on_alive(Time now, const Address& from, const Alive& a,
                    std::optional<Duration> hold_left) {
    // Relayed copies of what we already hold are the common case: settle them before paying for
    // a signature check. Older ones are replays; identical ones were verified when first stored.
    Member* m = table_.find(a.id);
    if (m && a.id != cfg_.id) {
        if (a.inc < m->info.inc) {
            reject(now, Rejection::Replayed, from, a.id);
            return;
        }
        if (a.inc == m->info.inc && a.meta == m->meta() && a.addr == m->info.addr &&
            a.name == m->info.name)
            return;
    }
    if (!m && a.id != cfg_.id) {
        // A forgotten member's past announcement: replayed, however long after.
        if (auto t = tombstones_.find(a.id); t && a.inc <= *t) {
            reject(now, Rejection::Replayed, from, a.id);
            return;
        }
    }
    // Checked before the signature, which is the expensive part of a flood of new identities.
    if (!m && !admit_new(now, from, a)) return;
    if (m && a.name != m->info.name && !valid_member_name(a.name)) {
        reject(now, Rejection::MalformedName, from, a.id);
        return;
    }
    auto verified = verify(now, from, a);
    if (!verified) return;
    VerifiedAnnouncement ann = std::move(*verified);
    if (a.id == cfg_.id) {
        const Member& me = self();
        if (leaving()) return;
        // Running: our key announced, as high as we are, at another address, by a start that
        // is neither this one nor the one our state file came from (whose announcements are all
        // below ours). At our own address it is our own past life, which a lost state file
        // left us unaware of and the far side of a partition still holds (found by the swarm
        // test): refuted below like any higher announcement of ours.
        if (announced_ && ann && a.inc >= me.inc() && a.addr != me.info.addr && other_boot(*ann) &&
            ann->boot != cfg_.previous_boot) {
            clone_detected(from, a);
            return;
        }
        bool differs = a.addr != me.info.addr || a.name != me.info.name || a.meta != me.meta();
        // Someone holds a newer or different announcement of us, e.g. from before a restart.
        if (a.inc > me.inc() || (a.inc == me.inc() && differs)) refute(from, a.inc);
        return;
    }
    if (!m) {
        tombstones_.forget(a.id);
        Member& n = table_.insert(a, std::move(ann), MemberState::Alive, now);
        broadcast(a.id, a);
        emit(MemberEvent::Kind::Joined, n);
        log(LogLine::Level::Info, "member joined: " + describe(n));
        // A joiner's transfer came without revocations (it was a stranger then): those it
        // announces itself to, a handful, tell it. Relayed copies do not, so this stays bounded.
        if (from == a.addr && creds_) send_revocations(now, a.addr);
        apply_restart_hold(now, n, hold_left);
        return;
    }
    if (a.inc <= m->inc()) return;
    MemberState prev = m->state;
    bool changed = a.addr != m->info.addr || a.name != m->info.name || a.meta != m->meta();
    table_.set_info(*m, a, std::move(ann));
    m->suspicion.reset();
    ++m->timer_epoch;
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
    apply_restart_hold(now, *m, hold_left);
}

bool Node::other_boot(const Announcement& a) const {
    // Zero: a protocol-1 announcement, which has none.
    return a.boot != 0 && a.boot != cfg_.boot;
}

void Node::clone_detected(const Address& from, const Alive& a) {
    cloned_ = true;
    leave_phase_ = LeavePhase::Stopped;
    probes_.clear();
    relays_.clear();
    log(LogLine::Level::Error,
        "this node's key is in use elsewhere: " + a.name + " at " + a.addr.to_string() +
            " (relayed by " + from.to_string() + ") announces it at incarnation " +
            std::to_string(a.inc) +
            " under another boot nonce; a copied disk image or state directory? Give one of "
            "the two hosts a new identity (remove its node.key) before starting it again");
}

void Node::apply_restart_hold(Time now, Member& m, std::optional<Duration> left) {
    Duration hold = m.announcement
                        ? Duration(std::chrono::milliseconds(m.announcement->restart_hold_ms))
                        : Duration{};
    hold = std::min(hold, cfg_.timing.restart_hold_max);
    if (left) hold = std::min(hold, *left);
    if (hold <= Duration{}) return;
    m.suspicion.reset();
    table_.set_state(m, MemberState::Restarting, now);
    m.hold_until = now + hold;
    schedule(m.hold_until, TimerKind::RestartHold, 0, m.id(), ++m.timer_epoch);
    emit(MemberEvent::Kind::Restarting, m);
    log(LogLine::Level::Info, "member is restarting, held for " + std::to_string(to_seconds(hold)) +
                                  " s: " + describe(m));
}

void Node::on_restart_hold_timeout(Time now, const NodeId& id, std::uint64_t epoch) {
    Member* m = table_.find(id);
    if (!m || m->state != MemberState::Restarting || epoch != m->timer_epoch) return;
    ++stats_.deaths_declared;
    transition(
        now, *m, MemberState::Dead, our_dead(*m), LogLine::Level::Warn,
        "member declared dead: " + describe(*m) + " did not come back within its restart hold");
}

void Node::reschedule_suspicion(Member& m) {
    // A confirmation can move the deadline into the past (the shorter timeout has already run
    // out): due now, not overdue, which would look like a stall of this process.
    schedule(std::max(m.suspicion->deadline(), now_), TimerKind::Suspicion, 0, m.id(),
             ++m.timer_epoch);
}

void Node::suspect_member(Time now, Member& m, const Suspect& s, bool relay) {
    const NodeId& from = s.from;
    if (m.state == MemberState::Suspect && m.suspicion) {
        if (m.suspicion->confirm(from)) {
            reschedule_suspicion(m);
            if (relay) broadcast(m.id(), s);
        }
        return;
    }
    const Timing& t = cfg_.timing;
    Duration min = suspicion_min(t, table_.live_count());
    Duration max = std::chrono::duration_cast<Duration>(min * t.suspicion_max_mult);
    // Confirmations can only come from members other than the suspect and the first suspector.
    int needed = std::min(t.suspicion_confirmations, static_cast<int>(table_.live_count()) - 3);
    table_.set_state(m, MemberState::Suspect, now);
    m.suspicion = std::make_unique<Suspicion>(from, needed, min, max, now);
    reschedule_suspicion(m);
    if (relay) broadcast(m.id(), s);
    if (from == cfg_.id) {
        ++stats_.suspicions_raised;
        send(m.info.addr, {s});  // buddy system: tell the suspect directly
    }
    emit(MemberEvent::Kind::Suspect, m);
    log(LogLine::Level::Info, "member suspected: " + describe(m) + " by " + from.short_hex());
}

bool Node::accuser_signed(Time now, const Address& from, Accusation kind, const NodeId& id,
                          std::uint32_t inc, const NodeId& accuser,
                          const std::vector<std::uint8_t>& sig) {
    if (!creds_ || (sig.empty() && cfg_.accept_protocol_1)) return true;
    const Member* a = table_.find(accuser);
    // A revoked member's word counts for nothing, signed or not.
    if (!sig.empty() && a && a->announcement && creds_->still_admitted(*a->announcement) &&
        creds_->check_accusation(*a->announcement, kind, id, inc, sig))
        return true;
    reject(now, Rejection::UnsignedAccusation, from, id);
    return false;
}

void Node::on_suspect(Time now, const Address& from, const Suspect& s) {
    if (s.id == cfg_.id) {
        on_accused(now, from, s.inc, StaleAccusation::Answer);
        return;
    }
    Member* m = table_.find(s.id);
    if (!m || s.inc < m->inc() || !is_live(m->state) || !within_signed(now, from, *m, s.inc))
        return;
    // A confirmation we already counted costs nothing more; any other is checked first.
    if (m->state == MemberState::Suspect && m->suspicion && !m->suspicion->would_count(s.from))
        return;
    if (!accuser_signed(now, from, Accusation::Suspect, s.id, s.inc, s.from, s.sig)) return;
    apply_suspect(now, s);
}

void Node::apply_suspect(Time now, const Suspect& s, bool relay) {
    Member* m = table_.find(s.id);
    if (!m || !is_live(m->state)) return;
    // Members hold no state above their signed incarnation, so s.inc is the one we hold.
    bool fresh = m->state != MemberState::Suspect;
    suspect_member(now, *m, s, relay);
    // A fresh suspicion raised by someone else: a few members re-probe the suspect themselves,
    // so a member that is really gone collects independent confirmations within one probe.
    if (fresh && s.from != cfg_.id && !leaving()) {
        double others = std::max<double>(1, static_cast<double>(table_.live_count()) - 2);
        if (rng_.chance(std::min(1.0, cfg_.timing.confirm_probes / others)))
            start_probe(now, *m, ProbeKind::Confirm);
    }
}

void Node::on_suspicion_timeout(Time now, const NodeId& id, std::uint64_t epoch) {
    Member* m = table_.find(id);
    if (!m || m->state != MemberState::Suspect || !m->suspicion || epoch != m->timer_epoch) return;
    if (!accusing(now)) {
        // Cut off ourselves: the suspicion waits until we can check it again.
        schedule(std::max(quiet_until_, now + cfg_.timing.probe_interval), TimerKind::Suspicion, 0,
                 id, m->timer_epoch);
        return;
    }
    if (!m->suspicion->fully_confirmed() || m->suspicion->confirmations() == 0) {
        // Nobody else could confirm it: before declaring it dead, check it ourselves once more.
        // A live member answers, and the suspicion our ping carries makes it refute to us.
        if (!start_probe(now, *m, ProbeKind::LastChance))
            schedule(now + cfg_.timing.probe_interval, TimerKind::Suspicion, 0, id, m->timer_epoch);
        return;
    }
    declare_dead(now, *m);
}

void Node::declare_dead(Time now, Member& m) {
    auto held = now - m.suspicion->start();
    int confirmations = m.suspicion->confirmations();
    ++stats_.deaths_declared;
    transition(now, m, MemberState::Dead, our_dead(m), LogLine::Level::Warn,
               "member declared dead: " + describe(m) + " after " +
                   std::to_string(to_seconds(held)) + " s of suspicion, " +
                   std::to_string(confirmations) + " confirmations");
}

void Node::on_dead(Time now, const Address& from, const Dead& d) {
    if (d.id == cfg_.id) {
        on_accused(now, from, d.inc, StaleAccusation::Answer);
        return;
    }
    Member* m = table_.find(d.id);
    if (!m || d.inc < m->inc() || !is_live(m->state) || !within_signed(now, from, *m, d.inc))
        return;
    if (m->state == MemberState::Suspect && m->suspicion && !m->suspicion->would_vote(d.from))
        return;
    if (!accuser_signed(now, from, Accusation::Dead, d.id, d.inc, d.from, d.sig)) return;
    // A verdict in our name about a member we hold live is not ours (we would hold it dead):
    // only an unsigned one, accepted from protocol-1 members, can say so.
    if (d.from == cfg_.id) return;
    take_dead_vote(now, *m, d);
}

void Node::take_dead_vote(Time now, Member& m, const Dead& d) {
    // One member's verdict is its suspicion and no more: a key holder may lie, and believing it
    // would withdraw a healthy member's route everywhere. We suspect the member (and, as every
    // suspector, check it ourselves before our timeout ends) and relay the signed verdict, which
    // is dead on our own timeout or on kDeadVotesNeeded distinct verdicts.
    if (m.state != MemberState::Suspect || !m.suspicion)
        apply_suspect(now, Suspect{d.id, d.inc, d.from, {}}, false);
    else if (m.suspicion->confirm(d.from))
        reschedule_suspicion(m);
    if (m.state != MemberState::Suspect || !m.suspicion || !m.suspicion->vote_dead(d.from)) return;
    // Only members other than us and the accused can vote.
    int possible = static_cast<int>(table_.live_count()) - 2;
    if (possible >= kDeadVotesNeeded && m.suspicion->dead_votes() >= kDeadVotesNeeded) {
        transition(now, m, MemberState::Dead, d, LogLine::Level::Warn,
                   "member dead: " + describe(m) + ", verdicts of " +
                       std::to_string(m.suspicion->dead_votes()) + " members, the last by " +
                       d.from.short_hex());
        return;
    }
    broadcast(m.id(), d);
}

void Node::on_left(Time now, const Address& from, const Left& l) {
    if (l.id == cfg_.id) {
        on_accused(now, from, l.inc, StaleAccusation::Ignore);
        return;
    }
    Member* m = table_.find(l.id);
    if (!m || l.inc < m->inc() || m->state == MemberState::Left) return;
    // Only the member leaves itself; an unsigned leave is a force-leave, for the dead only.
    bool self_signed = !creds_ || (!l.ca && !l.sig.empty() && m->announcement &&
                                   creds_->check_leave(*m->announcement, l));
    // A force-leave frees a member the operator saw dead, or ends a restart hold early; under
    // admission only the CA may order one, so no member can evict another.
    bool forced_by_ca = !self_signed && creds_ && l.ca && creds_->check_force_leave(l);
    if (!self_signed && ((m->state != MemberState::Dead && m->state != MemberState::Restarting) ||
                         (!forced_by_ca && creds_ && creds_->force_leave_needs_ca()))) {
        reject(now, Rejection::UnsignedLeave, from, l.id);
        return;
    }
    if (!self_signed && !within_signed(now, from, *m, l.inc)) return;
    // The member's own signature on a higher incarnation is its word: the one raise allowed.
    if (l.inc > m->inc()) table_.set_incarnation(*m, l.inc);
    m->set_left_sig(self_signed ? l.sig : std::vector<std::uint8_t>{});
    transition(now, *m, MemberState::Left, l, LogLine::Level::Info, "member left: " + describe(*m));
}

void Node::transition(Time now, Member& m, MemberState to, const Message& verdict,
                      LogLine::Level level, std::string text, bool new_epoch) {
    table_.set_state(m, to, now);
    m.suspicion.reset();
    if (new_epoch) ++m.timer_epoch;
    broadcast(m.id(), verdict);
    emit(to == MemberState::Dead ? MemberEvent::Kind::Dead : MemberEvent::Kind::Left, m);
    log(level, std::move(text));
}

void Node::on_revoked(Time now, const Address& from, const Revoked& r) {
    if (!creds_ || !creds_->learn_revocation(r.revocation)) return;
    log(LogLine::Level::Info, "learned the revocation of certificate " +
                                  to_hex(r.revocation.cert).substr(0, 16) + " from " +
                                  from.to_string());
    broadcast(revocation_key(r.revocation), r);
    expel_unadmitted(now);
}

bool Node::add_revocation(Time now, const Revocation& r) {
    advance(now);
    if (!creds_ || !creds_->learn_revocation(r)) return false;
    broadcast(revocation_key(r), Revoked{r});
    expel_unadmitted(now);
    return true;
}

NodeId Node::revocation_key(const Revocation& r) {
    // Its own entry in the broadcast queue, which a member's updates never replace.
    NodeId key;
    std::copy_n(r.cert.begin(), key.bytes.size(), key.bytes.begin());
    return key;
}

void Node::expel_unadmitted(Time now) {
    if (!creds_) return;
    for (auto& [id, m] : table_.all()) {
        if (id == cfg_.id) {
            bool admitted = !m.announcement || creds_->still_admitted(*m.announcement);
            if (!admitted && !self_unadmitted_)
                log(LogLine::Level::Error,
                    "this node's certificate has been revoked by its CA, or has expired: the other "
                    "members no longer admit it; issue a new one (shoal ca sign)");
            self_unadmitted_ = !admitted;
            continue;
        }
        if (m.state == MemberState::Left || !m.announcement ||
            creds_->still_admitted(*m.announcement))
            continue;
        table_.set_state(m, MemberState::Left, now);
        m.suspicion.reset();
        ++m.timer_epoch;
        emit(MemberEvent::Kind::Left, m);
        log(LogLine::Level::Warn, "member expelled, its certificate revoked or expired: " +
                                      describe(m) + "; its subnet is free and its route withdrawn");
    }
}

Status Node::force_leave(Time now, const NodeId& id, const std::optional<ForceLeave>& order) {
    if (stopped()) return Error{"this node has left the cluster"};
    advance(now);
    Member* m = table_.find(id);
    if (!m || id == cfg_.id) return Error{"no such member"};
    bool restarting = m->state == MemberState::Restarting;
    if (m->state != MemberState::Dead && !restarting)
        return Error{describe(*m) + " is " + std::string(to_string(m->state)) +
                     ": force-leave only removes members that are dead or restarting"};
    Left l{id, m->inc(), {}};
    if (creds_ && creds_->force_leave_needs_ca()) {
        const std::string how = "; run `shoal ca force-leave --ca-key ca.key --id " + id.hex() +
                                " --incarnation " + std::to_string(m->inc()) +
                                "` where the CA is and pass the line it prints to --ca-signed";
        if (!order) return Error{"admission is on: a force-leave must be signed by the CA" + how};
        if (order->id != id || order->inc != m->inc())
            return Error{"the CA's force-leave is for member " + order->id.short_hex() +
                         " at incarnation " + std::to_string(order->inc) + ", not " + describe(*m) +
                         " at " + std::to_string(m->inc()) + how};
        l.sig.assign(order->sig.begin(), order->sig.end());
        l.ca = order->ca;
        if (!creds_->check_force_leave(l))
            return Error{"the force-leave is not signed by a CA in ca-file"};
    }
    m->set_left_sig({});
    // A dead member has no suspicion and no timer left to invalidate: the epoch stays. A
    // restarting one has its hold timer pending, which must not fire on a left member.
    transition(now, *m, MemberState::Left, l, LogLine::Level::Info,
               std::string(restarting ? "ended the restart hold of " : "forced out dead member ") +
                   describe(*m),
               restarting);
    return {};
}

}  // namespace shoal
