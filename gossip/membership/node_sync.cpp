// Join, anti-entropy and full state transfer.
//
// A full state transfer is a pull over UDP, paged by member id: "send me the members with
// id >= cursor" is answered with up to sync-max-chunks datagrams, each self-contained and
// covering an id range [start, next). The responder keeps no state per request; the requester
// keeps the ranges it has and asks again from the first gap, so lost chunks are simply
// requested again. Every record is merged as it arrives, by the same rules as gossip.
#include <algorithm>

#include "gossip/membership/node.hpp"

namespace shoal {

namespace {
// What a chunk spends besides its records: type, session, two ids, flags, array headers.
constexpr std::size_t kChunkOverhead = 64;
// A member serves at most this many chunks per second (and this many in a burst), so a
// misbehaving peer cannot turn it into a traffic amplifier.
constexpr double kServeRate = 5000;
constexpr double kServeBurst = 1000;
constexpr int kMaxSyncRetries = 5;
// Reconnect candidates one node asks per tick, at most.
constexpr std::size_t kMaxReconnects = 8;

}  // namespace

void Node::SyncSession::cover(const SyncInterval& page) {
    beyond_gap.emplace(page.start, page);
    while (!beyond_gap.empty() && beyond_gap.begin()->first <= covered_to) {
        const SyncInterval& iv = beyond_gap.begin()->second;
        if (iv.to_end) covered_all = true;
        covered_to = std::max(covered_to, iv.next);
        beyond_gap.erase(beyond_gap.begin());
    }
}

SyncDigest Node::digest_message(bool reply, std::size_t ranges) const {
    // Always marked ranged: a peer of this version then answers with its range digests and
    // waits for ours, so that both sides pull only the ranges that differ (docs/PROTOCOL.md).
    SyncDigest d{table_.digest(), static_cast<std::uint32_t>(table_.size()), reply, true};
    if (ranges > 1) d.ranges = table_.range_digests(ranges);
    return d;
}

std::size_t Node::digest_split() const {
    // One range per 16 members, up to 64: a few differing members then cost a few ranges, not
    // the table. Within one datagram at our max-datagram, beside the digest's other fields.
    std::size_t k = 2;
    while (k < kMaxDigestRanges && 16 * 2 * k <= table_.size()) k *= 2;
    const std::size_t room = DatagramBuilder(cfg_.timing.max_datagram).room();
    while (k > 2 && 8 * k + 64 > room) k /= 2;
    return k;
}

SyncPull Node::pull_message(const NodeId& cursor, std::optional<NodeId> until) const {
    SyncPull pull{sync_->id, cursor, static_cast<std::uint8_t>(cfg_.timing.sync_max_chunks), 0,
                  until};
    if (!announced_ || sync_->pad) {
        std::vector<std::uint8_t> enc;
        encode_message(pull, enc);
        // Room for the bin header and the datagram's message array header.
        std::size_t room = DatagramBuilder(cfg_.timing.max_datagram).room();
        if (room > enc.size() + 8) pull.padding = static_cast<std::uint16_t>(room - enc.size() - 8);
    }
    return pull;
}

// ---- join --------------------------------------------------------------------------------------

void Node::send_join(Time now) {
    // While accepting protocol 1, every other attempt speaks it: seeds may be of either kind.
    std::uint8_t version =
        cfg_.accept_protocol_1 && joins_sent_++ % 2 == 1 ? kProtocolVersion1 : kProtocolVersion;
    sync_.emplace(fresh_number(), std::nullopt, now, true);
    ++stats_.syncs_started;
    SyncPull pull = pull_message(NodeId{});
    for (const Address& seed : cfg_.seeds) {
        if (announced_)
            send(seed, {self_alive(), pull}, true, version);
        else
            send(seed, {pull}, true, version);
    }
    schedule(now + cfg_.timing.sync_retry, TimerKind::SyncRetry, sync_->id);
}

void Node::join_through(Time now, const Address& member) {
    // A join that no seed has answered for a few probe intervals goes through a member that
    // reached us (it probed us, or a live member's digest came): every seed may have died since
    // it was configured, while the members still hold us. Not at once: at a cold start the one
    // probing us may be a joiner too, with half a table. The join timer goes on asking the seeds.
    if (!sync_ || !sync_->join || sync_->peer || joined() || leaving()) return;
    if (now - join_started_ < 4 * cfg_.timing.probe_interval) return;
    sync_.emplace(fresh_number(), member, now, true);
    ++stats_.syncs_started;
    log(LogLine::Level::Info, "no seed has answered; joining through " + member.to_string() +
                                  ", a member that reached this node");
    request_missing(now);
    schedule(now + cfg_.timing.sync_retry, TimerKind::SyncRetry, sync_->id);
}

void Node::on_join_timer(Time now) {
    if (joined() || leaving()) return;
    log(LogLine::Level::Warn, "no seed has answered yet; retrying in " +
                                  std::to_string(to_seconds(join_backoff_)) + " s");
    send_join(now);
    schedule(now + jitter(join_backoff_), TimerKind::Join);
    join_backoff_ = std::min(join_backoff_ * 2, cfg_.timing.join_retry_max);
}

// ---- anti-entropy and healing ------------------------------------------------------------------

void Node::on_anti_entropy_tick(Time now) {
    schedule(now + jitter(cfg_.timing.sync_interval), TimerKind::AntiEntropy);
    if (!leaving()) exchange_digest(now);
}

void Node::on_join_check(Time now) {
    if (!leaving()) exchange_digest(now);
}

void Node::exchange_digest(Time now) {
    auto peer = table_.pick(rng_, 1, cfg_.id, [](const Member& m) { return is_live(m.state); });
    if (peer.empty()) return;
    // A join whose transfer was cut short (its peer died or was cut off) pulls a whole one: once
    // gossip has filled our table, the digests would be equal and never start it.
    if (!synced()) {
        start_sync(now, peer.front()->info.addr, true);
        return;
    }
    send(peer.front()->info.addr, {digest_message(true)});
}

void Node::on_reconnect_tick(Time now) {
    schedule(now + jitter(cfg_.timing.reconnect_interval), TimerKind::Reconnect);
    reap(now);
    if (leaving()) return;
    // Members we declared dead and seeds we cannot see: either may be the other half of a
    // partition, which then merges back without an operator.
    std::vector<Address> candidates;
    if (table_.count(MemberState::Dead) != 0)
        for (const auto& [id, m] : table_.all())
            if (m.state == MemberState::Dead) candidates.push_back(m.info.addr);
    for (const Address& seed : cfg_.seeds) {
        const Member* m = table_.find_by_addr(seed);
        if (!m || !is_live(m->state)) candidates.push_back(seed);
    }
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    // Each candidate once before any twice: drawn with replacement, the one live address among
    // six dead ones was missed for 45 s in the swarm test (seed 37).
    std::erase_if(reconnect_tried_, [&](const Address& a) {
        return !std::binary_search(candidates.begin(), candidates.end(), a);
    });
    std::vector<Address> untried;
    for (const Address& a : candidates)
        if (!reconnect_tried_.count(a)) untried.push_back(a);
    // Each tick the live members between them ask about every candidate once (as Serf
    // scales its reconnects): a member asks candidates / live ones, at least one, at most
    // kMaxReconnects. A node cut off from everyone (live count 1) asks kMaxReconnects at once.
    const std::size_t live = std::max<std::size_t>(1, table_.live_count());
    const std::size_t batch =
        std::clamp<std::size_t>((candidates.size() + live - 1) / live, 1, kMaxReconnects);
    // When the untried run out within a batch, a new cycle begins with the candidates this batch
    // has not asked yet: a batch that could cover everyone does (a node cut off from all asks
    // every candidate at once, not only the few left over from its last, partial, batch).
    std::vector<Address> asked;
    for (std::size_t i = 0; i < batch && asked.size() < candidates.size(); ++i) {
        if (untried.empty()) {
            reconnect_tried_.clear();
            for (const Address& a : candidates)
                if (std::find(asked.begin(), asked.end(), a) == asked.end()) untried.push_back(a);
        }
        std::size_t k = rng_.below(untried.size());
        const Address to = untried[k];
        untried.erase(untried.begin() + static_cast<std::ptrdiff_t>(k));
        reconnect_tried_.insert(to);
        asked.push_back(to);
        if (announced_)
            send(to, {self_alive(), digest_message(true)});
        else
            send(to, {digest_message(true)});
    }
}

void Node::reap(Time now) {
    if (table_.count(MemberState::Dead) + table_.count(MemberState::Left) == 0) return;
    std::vector<NodeId> gone;
    for (const auto& [id, m] : table_.all()) {
        if (id != cfg_.id && !is_live(m.state) && now - m.state_since > cfg_.timing.dead_retention)
            gone.push_back(id);
    }
    for (const auto& id : gone) {
        tombstones_.remember(id, table_.find(id)->inc());
        table_.erase(id);
    }
}

void Node::on_sync_digest(Time now, const Address& from, const SyncDigest& d) {
    if (d.digest == table_.digest()) return;
    // Only a member or a seed may point our own state transfer at itself: a flood of digests
    // would otherwise keep us pulling from whoever sent the last one.
    const bool may_pull = known_source(from) || is_seed(from);
    // Pulling by range (this version on both sides), in four steps: A sends its digest marked
    // ranged; B answers with its range digests and "send me yours"; A pulls the ranges that
    // differ and answers with its own at B's split; B pulls the ranges that differ.
    // (A marked digest that asks for nothing is an answer from the whole-table path below.)
    if (d.ranged && may_pull && (d.reply || !d.ranges.empty())) {
        auto may_answer = [&] {
            if (range_digests_per_destination_.take(now, from)) return true;
            ++stats_.sync_requests_throttled;
            return false;
        };
        if (d.ranges.empty()) {
            if (may_answer()) send(from, {digest_message(true, digest_split())});
            return;
        }
        if (d.reply && may_answer()) send(from, {digest_message(false, d.ranges.size())});
        start_sync(now, from, false, &d.ranges);
        return;
    }
    // Our digest is the size of theirs: a stranger (a joiner not yet announced) gets it too, and
    // then pulls from us. Marked as theirs was, so an older peer sees what it always did.
    if (d.reply) {
        SyncDigest ours = digest_message(false);
        ours.ranged = d.ranged;
        send(from, {ours});
    }
    if (may_pull) start_sync(now, from, false);
}

// ---- the requesting side -----------------------------------------------------------------------

void Node::start_sync(Time now, const Address& peer, bool join,
                      const std::vector<std::uint64_t>* ranges) {
    if (leaving()) return;
    if (sync_) {
        if (const Member* m = table_.find_by_addr(peer); m && is_live(m->state))
            join_through(now, peer);
        return;
    }
    if (last_sync_started_ != Time{} && now - last_sync_started_ < cfg_.timing.probe_interval)
        return;
    sync_.emplace(fresh_number(), peer, now, join);
    if (ranges) {
        // The ranges whose digests agree count as received, but for the last: revocations
        // travel with the table's last page. When none differs (two tables whose range digests
        // collide), the whole table is pulled.
        const std::size_t k = ranges->size();
        const auto ours = table_.range_digests(k);
        if (ours != *ranges)
            for (std::size_t b = 0; b + 1 < k; ++b)
                if (ours[b] == (*ranges)[b])
                    sync_->cover(SyncInterval{digest_range_start(b, k),
                                              digest_range_start(b + 1, k), false});
    }
    last_sync_started_ = now;
    ++stats_.syncs_started;
    request_missing(now);
    schedule(now + cfg_.timing.sync_retry, TimerKind::SyncRetry, sync_->id);
}

void Node::request_missing(Time) {
    auto gap = sync_->first_gap();
    if (!gap) return;
    SyncPull pull = pull_message(*gap, sync_->gap_end());
    if (sync_->peer) {
        send(*sync_->peer, {pull});
    } else {
        for (const Address& seed : cfg_.seeds) send(seed, {pull});
    }
}

void Node::on_sync_chunk(Time now, const Address& from, const SyncChunk& c) {
    // Only pages of the transfer we asked for, from the peer we asked (while joining: any of our
    // seeds) are merged: an unsolicited page could carry anything, at any age.
    bool ours = sync_ && c.session == sync_->id;
    bool from_peer = ours && (sync_->peer ? *sync_->peer == from : is_seed(from));
    if (!from_peer) {
        // Every seed answers a join; the first to answer serves the rest. The others' pages are
        // expected, dropped without a word.
        if (ours && sync_->join && is_seed(from)) return;
        reject(now, Rejection::Unsolicited, from, c.start);
        return;
    }
    merging_own_transfer_ = true;
    for (const auto& rec : c.records) {
        merge_record(now, from, rec);
        if (stopped()) break;
    }
    merging_own_transfer_ = false;
    // The page covers our id and has no record of us: the peer never heard of us (it joined or
    // lost its state while we were away, and nobody gossips a member that changed nothing).
    // Pings carry no announcement, so we tell it ourselves.
    const bool covers_us = c.start <= cfg_.id && (c.done || cfg_.id < c.next);
    if (covers_us && announced_ && !stopped() &&
        std::none_of(c.records.begin(), c.records.end(),
                     [&](const MemberRecord& r) { return r.alive.id == cfg_.id; }))
        send(from, {self_alive()});
    if (!stopped()) merge_tombstones(now, from, c.tombstones);
    if (stopped() || !sync_) return;
    if (!sync_->peer) sync_->peer = from;  // the first seed to answer serves the rest
    if (sync_->join && !joined()) {
        join_phase_ = JoinPhase::Syncing;
        log(LogLine::Level::Info, "joined the cluster through " + from.to_string());
    }
    sync_->cover(SyncInterval{c.start, c.next, c.done});
    sync_->last_progress = now;
    sync_->retries = 0;
    if (!sync_->first_gap()) {
        ++stats_.syncs_completed;
        if (join_phase_ != JoinPhase::Synced)
            schedule(now + 4 * cfg_.timing.probe_interval, TimerKind::JoinCheck);
        join_phase_ = JoinPhase::Synced;
        sync_.reset();
        return;
    }
    if (c.last_in_batch) request_missing(now);
}

void Node::merge_tombstones(Time now, const Address& from, const std::vector<Tombstone>& ts) {
    for (const auto& t : ts) {
        // A tombstone is the transfer peer's word, unsigned: one near 2^32 would lift us to where
        // we could refute no more, or shut a member out for good. Honest incarnations grow by
        // one per refutation and never come near 2^31.
        if (t.inc >= kMaxLearnedTombstoneInc) {
            reject(now, Rejection::Unannounced, from, t.id);
            continue;
        }
        if (t.id == cfg_.id) {
            // Our own, from a life our state file does not know of (it was lost): go above it.
            if (t.inc >= incarnation() && !leaving()) {
                if (announced_) {
                    announce_self(t.inc + 1);
                } else {
                    auto above = sign_self(t.inc + 1);
                    table_.set_info(*table_.find(cfg_.id), above.alive,
                                    std::move(above.announcement));
                }
            }
            continue;
        }
        if (!table_.find(t.id)) tombstones_.remember(t.id, t.inc);
    }
}

void Node::on_sync_retry(Time now, std::uint64_t session) {
    if (!sync_ || sync_->id != session) return;
    const Duration retry = cfg_.timing.sync_retry;
    if (now - sync_->last_progress < retry) {
        schedule(sync_->last_progress + retry, TimerKind::SyncRetry, session);
        return;
    }
    if (sync_->join && !joined()) {
        // The join timer resends to every seed; this timer stays, for the pages that follow the
        // first answer (without it, a transfer cut after its first page waited for good).
        schedule(now + retry, TimerKind::SyncRetry, session);
        return;
    }
    if (++sync_->retries > kMaxSyncRetries) {
        ++stats_.syncs_abandoned;
        log(LogLine::Level::Warn,
            "state transfer from " +
                (sync_->peer ? sync_->peer->to_string() : std::string("seeds")) +
                " abandoned after " + std::to_string(kMaxSyncRetries) +
                " retries; anti-entropy will try again");
        sync_.reset();
        return;
    }
    sync_->last_progress = now;
    sync_->pad = true;
    request_missing(now);
    schedule(now + retry, TimerKind::SyncRetry, session);
}

void Node::merge_record(Time now, const Address& from, const MemberRecord& r) {
    const Alive& a = r.alive;
    if (a.id == cfg_.id) {
        // Before we announce: our key alive at another address under another boot nonce. The
        // incarnation says nothing here: a disk image copied from a running node carries its
        // state file, so the copy starts one above the original and names its boot nonce as
        // its own previous one. At our own address it is our own past (a crash and restart,
        // with or without the state file, before the others noticed), refuted as below; a
        // planned restart is held as restarting.
        if (!announced_ && r.state != MemberState::Restarting && is_live(r.state) &&
            a.addr != cfg_.addr) {
            if (auto v = verify(now, from, a); v && *v && other_boot(**v)) {
                clone_detected(from, a);
                return;
            }
        }
        // Our own announcement first: after a lost state file it may be a higher one of ours,
        // which we refute; then the verdict, which is at most that incarnation.
        on_alive(now, from, a);
        if (!is_live(r.state)) on_accused(now, from, r.state_inc, StaleAccusation::Ignore);
        return;
    }
    if (is_present(r.state)) {
        std::optional<Duration> hold_left;
        if (r.state == MemberState::Restarting && r.hold_left_ms)
            hold_left = std::chrono::milliseconds(*r.hold_left_ms);
        on_alive(now, from, a, hold_left);
        return;
    }
    Member* m = table_.find(a.id);
    Duration age = std::chrono::milliseconds(r.age_ms);
    if (!m) {
        // Learn the dead and departed too: their subnets may be reserved, and their records age
        // out by the same clock-free rule everywhere because the age travels with them. Only the
        // member's own signature may put a verdict above its announcement, and only a leave
        // it signed tells of a departure we did not see (an unsigned one is a force-leave,
        // which is only for members the receiver itself holds dead).
        if (age >= cfg_.timing.dead_retention) return;
        if (auto t = tombstones_.find(a.id); t && r.state_inc <= *t) return;
        bool signed_leave = r.state == MemberState::Left && !r.left_sig.empty();
        if (r.state == MemberState::Left && !signed_leave && creds_) {
            reject(now, Rejection::UnsignedLeave, from, a.id);
            return;
        }
        if (r.state_inc > a.inc && !signed_leave) {
            reject(now, Rejection::Unannounced, from, a.id);
            return;
        }
        if (!admit_new(now, from, a)) return;
        auto verified = verify(now, from, a);
        if (!verified) return;
        VerifiedAnnouncement ann = std::move(*verified);
        if (creds_ && signed_leave &&
            (!ann || !creds_->check_leave(*ann, Left{a.id, r.state_inc, r.left_sig}))) {
            reject(now, Rejection::UnsignedLeave, from, a.id);
            return;
        }
        tombstones_.forget(a.id);
        Member& n = table_.insert(a, std::move(ann), r.state, now - age);
        table_.set_incarnation(n, r.state_inc);
        n.set_left_sig(r.left_sig);
        emit(MemberEvent::Kind::Learned, n);
        return;
    }
    if (r.state_inc < m->inc()) return;
    if (r.state == MemberState::Left) {
        on_left(now, from, Left{a.id, r.state_inc, r.left_sig});
    } else if (r.state == MemberState::Dead && !is_live(m->state) && a.inc > m->info.inc) {
        learn_later_death(now, from, *m, r);
    } else if (is_live(m->state)) {
        // Someone else's verdict, not our observation: suspect it and let it refute. It is the
        // word of the peer we asked for this transfer: one accuser, itself.
        const Member* sender = table_.find_by_addr(from);
        if (sender && within_signed(now, from, *m, r.state_inc))
            apply_suspect(now, Suspect{a.id, r.state_inc, sender->id(), {}});
    }
}

void Node::learn_later_death(Time now, const Address& from, Member& m, const MemberRecord& r) {
    // The member came back and died again while we did not see it (we were partitioned away or
    // paused): its later announcement, dead, so that its subnet is reserved here as everywhere
    // else. Only its own signature raises what we hold; the verdict stays within it.
    Duration age = std::chrono::milliseconds(r.age_ms);
    if (age >= cfg_.timing.dead_retention) return;
    if (r.state_inc > r.alive.inc) {
        reject(now, Rejection::Unannounced, from, m.id());
        return;
    }
    auto verified = verify(now, from, r.alive);
    if (!verified) return;
    table_.set_info(m, r.alive, std::move(*verified));
    table_.set_incarnation(m, r.state_inc);
    m.set_left_sig({});
    m.suspicion.reset();
    ++m.timer_epoch;
    table_.set_state(m, MemberState::Dead, now - age);
    emit(MemberEvent::Kind::Learned, m);
}

// ---- the serving side --------------------------------------------------------------------------

void Node::on_sync_pull(Time now, const Address& from, const SyncPull& p) {
    if (leaving()) return;
    serve_tokens_ =
        std::min(kServeBurst, serve_tokens_ + to_seconds(now - serve_refill_) * kServeRate);
    serve_refill_ = now;
    int chunks = std::min({static_cast<int>(p.max_chunks), cfg_.timing.sync_max_chunks,
                           static_cast<int>(serve_tokens_)});
    std::size_t budget = DatagramBuilder(cfg_.timing.max_datagram).room() - kChunkOverhead;
    const bool verified = known_source(from);
    if (!verified) {
        // A source we cannot tell from a spoofed one gets one page no larger than its request
        // (a joiner pads its pulls to a full datagram): never an amplifier.
        chunks = std::min(chunks, 1);
        std::size_t allowed = datagram_in_bytes_ > kDatagramOverhead + kChunkOverhead
                                  ? datagram_in_bytes_ - kDatagramOverhead - kChunkOverhead
                                  : 0;
        budget = std::min(budget, allowed);
    }
    if (chunks <= 0 || budget == 0) {
        ++stats_.sync_requests_throttled;
        return;
    }
    if (p.until && *p.until <= p.cursor) return;  // an empty range: nothing to send
    const auto& all = table_.all();
    const auto& tombs = tombstones_.all();
    auto it = all.lower_bound(p.cursor);
    auto tomb = tombs.lower_bound(p.cursor);
    auto tomb_first = [&] {
        return it == all.end() || (tomb != tombs.end() && tomb->first < it->first);
    };
    // Past the requested range: what is next is at or beyond `until`.
    auto at_until = [&] {
        if (!p.until) return false;
        const NodeId& next = tomb_first() ? tomb->first : it->first;
        return !(next < *p.until);
    };
    NodeId start = p.cursor;
    std::vector<std::uint8_t> enc;
    for (int i = 0; i < chunks; ++i) {
        SyncChunk c{p.session, start, NodeId{}, false, false, {}, {}};
        std::size_t used = 0;
        // Members and tombstones in id order, so that a page covers both in its range.
        while ((it != all.end() || tomb != tombs.end()) && !at_until()) {
            if (tomb_first()) {
                if (used + kTombstoneBytes > budget) break;
                used += kTombstoneBytes;
                c.tombstones.push_back(Tombstone{tomb->first, tomb->second.inc});
                ++tomb;
                continue;
            }
            const Member& m = it->second;
            MemberRecord rec{m.alive(), m.state, 0, m.left_sig(), m.inc(), std::nullopt};
            if (m.state == MemberState::Dead || m.state == MemberState::Left) {
                auto age =
                    std::chrono::duration_cast<std::chrono::milliseconds>(now - m.state_since);
                rec.age_ms =
                    static_cast<std::uint32_t>(std::min<std::int64_t>(age.count(), UINT32_MAX));
            }
            if (rec.state == MemberState::Suspect) rec.state = MemberState::Alive;
            if (rec.state == MemberState::Restarting) {
                auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::max(Duration{}, m.hold_until - now));
                rec.hold_left_ms =
                    static_cast<std::uint32_t>(std::min<std::int64_t>(left.count(), UINT32_MAX));
            }
            enc.clear();
            encode_record(rec, enc);
            if (used + enc.size() > budget &&
                (!c.records.empty() || !c.tombstones.empty() || !verified))
                break;
            used += enc.size();
            c.records.push_back(std::move(rec));
            ++it;
        }
        c.done = it == all.end() && tomb == tombs.end();
        // Whether the page ended at the range's end or filled up just before it.
        const bool reached_until = !c.done && at_until();
        if (reached_until)
            c.next = *p.until;  // the page covers the rest of the range, which may hold nothing
        else if (!c.done)
            c.next = tomb_first() ? tomb->first : it->first;
        if (c.records.empty() && c.tombstones.empty() && !c.done && !reached_until) {
            // Not even one record fits what an unknown source may be sent: an unpadded pull.
            ++stats_.sync_requests_throttled;
            return;
        }
        // Per source as well as in all: pages toward one address (a spoofed member's, say) are
        // bounded by what that source may take, whoever asks. (Cut short, the batch has no
        // last page: the requester asks again after sync-retry, which is the backing off.)
        if (!pages_per_source_.take(now, from)) {
            if (i == 0) ++stats_.sync_requests_throttled;
            return;
        }
        c.last_in_batch = c.done || reached_until || i + 1 == chunks;
        send(from, {c}, false);
        ++stats_.sync_chunks_served;
        serve_tokens_ -= 1;
        if (c.done) {
            // Revocations travel with the table's last page, to members only: a stranger gets
            // no more bytes than it sent.
            if (verified && creds_) send_revocations(now, from);
            break;
        }
        if (reached_until) break;
        start = c.next;
    }
}

void Node::send_revocations(Time now, const Address& to) {
    if (creds_->revocation_count() == 0) return;
    // Eight to a datagram (135 bytes each).
    std::vector<Message> batch;
    auto flush = [&] {
        if (batch.empty()) return true;
        if (!revocations_per_destination_.take(now, to)) return false;
        send(to, batch, false);
        batch.clear();
        return true;
    };
    for (const auto& r : creds_->revocations()) {
        batch.push_back(Revoked{r});
        if (batch.size() == 8 && !flush()) return;
    }
    flush();
}

}  // namespace shoal
