// Failure detection (SWIM with Lifeguard's refinements): the round-robin probe, its indirect
// probes through relays, the relay's side of them, and what a failed probe leads to. Suspicions
// and deaths themselves are merged like any other news (node_merge.cpp).
#include <algorithm>

#include "gossip/membership/node.hpp"

namespace shoal {

void Node::on_probe_tick(Time now) {
    schedule(now + scaled(cfg_.timing.probe_interval), TimerKind::Probe);
    if (leaving()) return;
    if (const Member* t = table_.next_probe_target(rng_)) start_probe(now, *t, ProbeKind::Regular);
}

bool Node::start_probe(Time now, const Member& target, ProbeKind kind) {
    for (const auto& [seq, p] : probes_)
        if (p.target == target.id()) return false;  // one probe per member at a time
    std::uint64_t seq = fresh_number();
    if (probes_.count(seq)) return false;  // 2^-64 (or 2^-32): the next tick probes
    probes_[seq] = Probe{target.id(), target.info.addr, target.inc(), 0, 0, kind, {}};
    ++(kind == ProbeKind::Regular ? stats_.probes_sent : stats_.confirm_probes);
    std::vector<Message> msgs{ping(seq, target.id(), target.info.addr)};
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

void Node::on_probe_direct_timeout(Time, std::uint64_t seq) {
    auto it = probes_.find(seq);
    if (it == probes_.end()) return;
    Probe& p = it->second;
    // A second direct ping is the cheapest extra chance on a lossy link; the indirect probes
    // tell a dead member from a broken path between us and it.
    send(p.addr, {ping(seq, p.target, p.addr)});
    auto relays = table_.pick(rng_, static_cast<std::size_t>(cfg_.timing.indirect_checks), p.target,
                              [](const Member& m) { return m.state == MemberState::Alive; });
    for (const Member* r : relays) {
        send(r->info.addr, {PingReq{seq, p.target, p.addr}});
        p.relays.push_back(r->info.addr);
        ++p.expected_nacks;
        ++stats_.indirect_probes;
    }
}

void Node::on_probe_final(Time now, std::uint64_t seq) {
    auto it = probes_.find(seq);
    if (it == probes_.end()) return;
    Probe p = it->second;
    probes_.erase(it);
    ++stats_.probes_failed;
    // Lifeguard: relays that could not even send us a nack point at our own network or CPU.
    adjust_health(p.expected_nacks > 0 ? std::max(0, p.expected_nacks - p.nacks) : 1);
    Member* m = table_.find(p.target);
    if (!m || !is_live(m->state) || m->inc() > p.target_inc) return;
    if (!accusing(now)) return;  // our own link is down or just back: proves nothing about it
    log(LogLine::Level::Debug, "probe of " + describe(*m) + " failed (" + std::to_string(p.nacks) +
                                   "/" + std::to_string(p.expected_nacks) + " relays answered)");
    if (p.kind == ProbeKind::LastChance) {
        if (m->state == MemberState::Suspect) declare_dead(now, *m);
        return;
    }
    suspect_member(now, *m, our_suspect(*m));
}

void Node::tell_member_its_state(Time now, const Member& m, std::vector<Message>& out) {
    Member* mm = table_.find(m.id());
    if (mm->last_told != Time{} && now - mm->last_told < cfg_.timing.probe_interval) return;
    mm->last_told = now;
    out.push_back(record_message(*mm));
}

Ping Node::ping(std::uint64_t seq, const NodeId& target, const Address& to) const {
    return Ping{seq, target, incarnation(), version_for(to) >= kProtocolVersion};
}

void Node::on_ping(Time now, const Address& from, const Ping& p) {
    bool for_us = p.short_target ? (p.target.prefix64() >> 32) == (cfg_.id.prefix64() >> 32)
                                 : p.target == cfg_.id;
    if (!for_us) {
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
    // The sender holds us as a member: a join that no seed answers may go through it.
    join_through(now, from);
}

void Node::on_ping_req(Time now, const Address& from, const PingReq& p) {
    if (p.target == cfg_.id) {
        send(from, {Ack{p.seq}});
        return;
    }
    // Probe only a member we know, at the address we know it by: otherwise anyone could make us
    // send datagrams to any address and port.
    const Member* target = table_.find(p.target);
    if (!target || target->info.addr != p.target_addr) {
        ++stats_.relays_refused;
        return;
    }
    std::uint64_t seq = fresh_number();
    if (relays_.count(seq)) return;
    relays_[seq] = Relay{from, p.seq, false, p.target_addr, in_version_};
    send(p.target_addr, {ping(seq, p.target, p.target_addr)});
    schedule(now + scaled(cfg_.timing.probe_timeout), TimerKind::Relay, seq);
}

void Node::on_relay_timer(Time now, std::uint64_t seq) {
    auto it = relays_.find(seq);
    if (it == relays_.end()) return;
    if (!it->second.nacked) {
        // Lifeguard's nack: "I could not reach it either", so the requester knows its own link
        // works. Keep waiting a little for a late ack.
        send(it->second.requester, {Nack{it->second.requester_seq}}, true, it->second.version);
        it->second.nacked = true;
        schedule(now + scaled(cfg_.timing.probe_interval), TimerKind::Relay, seq);
    } else {
        relays_.erase(it);
    }
}

void Node::on_ack(Time now, const Address& from, const Ack& a) {
    // An ack counts only from where the answer can come: the probed address, or a relay we asked.
    if (auto it = probes_.find(a.seq); it != probes_.end()) {
        const auto& relays = it->second.relays;
        if (from != it->second.addr &&
            std::find(relays.begin(), relays.end(), from) == relays.end())
            return;
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
    if (auto it = relays_.find(a.seq); it != relays_.end() && it->second.target == from) {
        send(it->second.requester, {Ack{it->second.requester_seq}}, true, it->second.version);
        relays_.erase(it);
    }
}

void Node::on_nack(const Address& from, const Nack& n) {
    auto it = probes_.find(n.seq);
    if (it == probes_.end()) return;
    const auto& relays = it->second.relays;
    if (std::find(relays.begin(), relays.end(), from) != relays.end()) ++it->second.nacks;
}

}  // namespace shoal
