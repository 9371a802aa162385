#include "gossip/ownership/subnet_node.hpp"

#include <sodium.h>

namespace shoal {

// ---- verification cache ------------------------------------------------------------------------

Verification VerifyCache::get_or_verify(const Alive& a, const NetworkConfig& network) {
    std::array<std::uint8_t, 32> key;
    crypto_generichash_state st;
    crypto_generichash_init(&st, nullptr, 0, key.size());
    auto add = [&](const void* p, std::size_t n) {
        crypto_generichash_update(&st, static_cast<const unsigned char*>(p), n);
    };
    add(a.id.bytes.data(), a.id.bytes.size());
    add(&a.inc, sizeof(a.inc));
    std::uint64_t name_len = a.name.size();
    add(&name_len, sizeof(name_len));
    add(a.name.data(), a.name.size());
    add(&a.addr.ip, sizeof(a.addr.ip));
    add(&a.addr.port, sizeof(a.addr.port));
    add(network.digest().data(), network.digest().size());
    add(a.meta.data(), a.meta.size());
    crypto_generichash_final(&st, key.data(), key.size());
    {
        std::lock_guard lock(mutex_);
        if (auto it = entries_.find(key); it != entries_.end()) {
            ++hits_;
            return it->second;
        }
    }
    // Verified outside the lock: two threads verifying one announcement get equal results.
    auto opened = open_announcement(a, network.digest(), network.slots());
    Verification v;
    if (auto* rejected = std::get_if<Rejection>(&opened))
        v = *rejected;
    else
        v = std::make_shared<const Announcement>(std::get<Announcement>(std::move(opened)));
    std::lock_guard lock(mutex_);
    if (entries_.size() >= kMaxEntries) entries_.clear();
    auto [it, fresh] = entries_.try_emplace(key, std::move(v));
    ++(fresh ? misses_ : hits_);
    return it->second;
}

std::uint64_t VerifyCache::verifications() const {
    std::lock_guard lock(mutex_);
    return misses_;
}

std::uint64_t VerifyCache::hits() const {
    std::lock_guard lock(mutex_);
    return hits_;
}

// ---- the credentials the core uses -------------------------------------------------------------

namespace {

// Signs with this node's identity for its network; the core supplies everything that changes
// (incarnation, address, restart hold, and the claim as its payload). Its only state is
// admission's: the revocations learned (shared with SubnetNode through the policy).
class Signer final : public Credentials {
  public:
    Signer(const Identity& identity, const SubnetNodeConfig& cfg,
           const std::optional<Certificate>& cert, std::shared_ptr<AdmissionPolicy> admission,
           std::shared_ptr<VerifyCache> cache)
        : identity_(identity),
          name_(cfg.node.name),
          network_(cfg.network),
          version_(cfg.version),
          certificate_(cfg.certificate),
          cert_(cert),
          cert_fingerprint_(fingerprint_of(cfg.certificate)),
          admission_(std::move(admission)),
          cache_(std::move(cache)) {}

    SignedAnnouncement announce(const SelfAnnouncement& self) const override {
        Placement placed;
        // The payload is always SubnetNode's encode_placement(); anything else signs neither.
        if (!decode_placement(self.payload, placed)) placed = {};
        Announcement mine{identity_.public_key(),
                          name_,
                          self.addr,
                          self.inc,
                          placed.claim,
                          network_.digest(),
                          version_,
                          self.restart_hold_ms,
                          self.boot,
                          certificate_,
                          placed.addr6};
        Alive alive = seal_announcement(mine, identity_, kProtocolVersion);
        mine.cert = cert_;
        mine.cert_fingerprint = cert_fingerprint_;
        mine.meta = alive.meta;
        return {std::move(alive), std::make_shared<const Announcement>(std::move(mine))};
    }
    std::vector<std::uint8_t> sign_leave(std::uint32_t inc) const override {
        return shoal::sign_leave(identity_, inc);
    }
    Verification verify(const Alive& a) override {
        Verification v = cache_->get_or_verify(a, network_);
        auto* ann = std::get_if<VerifiedAnnouncement>(&v);
        if (!ann || still_admitted(**ann)) return v;
        return *admission_->check(**ann, network_);
    }
    bool still_admitted(const Announcement& a) const override {
        if (!admission_->on()) return true;
        auto refused = admission_->check(a, network_);
        // Permissive admits the uncertified, but never a revoked certificate.
        return !refused || (admission_->mode == AdmissionMode::Permissive &&
                            *refused != Rejection::CertificateRevoked);
    }
    bool learn_revocation(const Revocation& r) override {
        const auto& cas = admission_->cas;
        if (!admission_->on() || std::find(cas.begin(), cas.end(), r.ca) == cas.end() ||
            admission_->revoked.count(r.cert) || revocations_.size() >= kMaxRevocations ||
            !check_revocation(r))
            return false;
        admission_->revoked.insert(r.cert);
        revocations_.push_back(r);
        return true;
    }
    std::vector<Revocation> revocations() const override { return revocations_; }
    std::size_t revocation_count() const override { return revocations_.size(); }
    bool force_leave_needs_ca() const override { return admission_->on(); }
    bool check_force_leave(const Left& l) const override {
        const auto& cas = admission_->cas;
        if (!l.ca || l.sig.size() != 64 || std::find(cas.begin(), cas.end(), *l.ca) == cas.end())
            return false;
        ForceLeave f{*l.ca, l.id, l.inc, {}};
        std::copy(l.sig.begin(), l.sig.end(), f.sig.begin());
        return shoal::check_force_leave(f);
    }
    bool check_leave(const Announcement& a, const Left& l) const override {
        return verify_leave(a.key, l.inc, l.sig);
    }
    std::vector<std::uint8_t> sign_accusation(Accusation kind, const NodeId& id,
                                              std::uint32_t inc) const override {
        return shoal::sign_accusation(identity_, kind, id, inc);
    }
    bool check_accusation(const Announcement& accuser, Accusation kind, const NodeId& id,
                          std::uint32_t inc, std::span<const std::uint8_t> sig) const override {
        return verify_accusation(accuser.key, kind, id, inc, sig);
    }

  private:
    const Identity identity_;
    const std::string name_;
    const NetworkConfig network_;
    const std::string version_;
    const std::vector<std::uint8_t> certificate_;
    const std::optional<Certificate> cert_;
    const Fingerprint cert_fingerprint_;
    const std::shared_ptr<AdmissionPolicy> admission_;
    const std::shared_ptr<VerifyCache> cache_;
    std::vector<Revocation> revocations_;
};

// ---- the node ----------------------------------------------------------------------------------

SubnetNodeConfig prepared(SubnetNodeConfig cfg, const Identity& identity,
                          const PersistedState& saved, Rng& rng) {
    cfg.node.id = identity.id();
    cfg.node.payload = encode_placement({saved.claim, cfg.addr6});
    // Learn the table first and announce once, with the claim in it (a saved one only if no
    // live member holds its subnet now).
    cfg.node.announce_after_sync = true;
    if (cfg.node.boot == 0) cfg.node.boot = rng.next_u64() | 1;
    cfg.node.previous_boot = saved.boot;
    cfg.node.tombstones = saved.tombstones;
    // The core must remember the dead at least as long as their subnets stay reserved.
    cfg.node.timing.dead_retention = std::max(cfg.node.timing.dead_retention, cfg.grace);
    return cfg;
}
std::optional<Certificate> own_certificate(const SubnetNodeConfig& cfg) {
    if (cfg.certificate.empty()) return std::nullopt;
    auto cert = open_certificate(cfg.certificate);
    if (!cert) return std::nullopt;
    return *cert;
}
std::optional<std::uint32_t> pin_of(const SubnetNodeConfig& cfg,
                                    const std::optional<Certificate>& cert) {
    if (!cfg.admission.on() || !cert || !cert->subnet) return std::nullopt;
    return cfg.network.slot_of(*cert->subnet);
}
std::uint32_t start_incarnation(const PersistedState& s) {
    // Above anything this identity announced before it stopped.
    return s.incarnation == 0 && !s.claim ? 0 : s.incarnation + 1;
}
}  // namespace

SubnetNode::SubnetNode(SubnetNodeConfig cfg, const Identity& identity, Keyring ring, Rng rng,
                       Time now, PersistedState saved, std::shared_ptr<VerifyCache> cache)
    : cfg_(prepared(std::move(cfg), identity, saved, rng)),
      admission_(std::make_shared<AdmissionPolicy>(cfg_.admission)),
      own_cert_(own_certificate(cfg_)),
      own_pin_(pin_of(cfg_, own_cert_)),
      claim_(saved.claim),
      addr6_(cfg_.addr6),
      node_(cfg_.node, std::move(ring), std::move(rng), now, start_incarnation(saved),
            std::make_shared<Signer>(identity, cfg_, own_cert_, admission_,
                                     cache ? std::move(cache) : std::make_shared<VerifyCache>())) {
    if (saved.claim && own_pin_ && saved.claim->slot != *own_pin_) {
        say(LogLine::Level::Info, "dropping the saved claim on subnet " +
                                      cfg_.network.subnet(saved.claim->slot).to_string() +
                                      ": our certificate names " +
                                      cfg_.network.subnet(*own_pin_).to_string());
        claim_.reset();
        saved.claim.reset();
        (void)node_.set_payload(now, encode_placement({std::nullopt, addr6_}));
    }
    for (const auto& r : saved.revocations) (void)node_.add_revocation(now, r);
    if (saved.claim) {
        saved_claim_checked_ = false;
        claims_.set(cfg_.node.id, *saved.claim, false, {}, own_pin_ == saved.claim->slot);
        subnet_events_.push_back(
            SubnetEvent{SubnetEvent::Kind::Acquired, saved.claim->slot, {}, {}});
        say(LogLine::Level::Info, "keeping the saved claim on subnet " +
                                      cfg_.network.subnet(saved.claim->slot).to_string() +
                                      " unless the cluster has given it to a live member");
    }
    after(now);
}

void SubnetNode::say(LogLine::Level level, std::string text) {
    logs_.push_back(LogLine{level, std::move(text)});
}

void SubnetNode::handle_datagram(Time now, const Address& from,
                                 std::span<const std::uint8_t> bytes) {
    node_.handle_datagram(now, from, bytes);
    after(now);
}

void SubnetNode::handle_timeout(Time now) {
    node_.handle_timeout(now);
    after(now);
}

void SubnetNode::leave(Time now) {
    node_.leave(now);
    after(now);
}

void SubnetNode::prepare_restart(Time now, Duration hold) {
    node_.set_restart_hold(now, hold);
    node_.announce_to_all(now);
    after(now);
}

void SubnetNode::set_link_up(Time now, bool up) {
    node_.set_link_up(now, up);
    after(now);
}

void SubnetNode::set_address(Time now, const Address& addr) {
    node_.reannounce(now, addr);
    after(now);
}

Status SubnetNode::force_leave(Time now, std::string_view who,
                               const std::optional<ForceLeave>& order) {
    std::optional<NodeId> found;
    for (const auto& [id, m] : node_.members().all()) {
        bool match = m.info.name == who || (who.size() >= 4 && id.hex().rfind(who, 0) == 0);
        if (!match) continue;
        if (found) {
            // Appended, not "'" + std::string(who): g++ 12 at -O3 warns falsely (-Wrestrict).
            std::string err = "'";
            err.append(who).append("' matches more than one member; use the id");
            return Error{err};
        }
        found = id;
    }
    if (!found) return Error{"no member named '" + std::string(who) + "'"};
    auto err = node_.force_leave(now, *found, order);
    after(now);
    return err;
}

std::optional<MemberEvent> SubnetNode::poll_event() {
    return take_front(events_);
}

std::optional<SubnetEvent> SubnetNode::poll_subnet_event() {
    return take_front(subnet_events_);
}

std::optional<LogLine> SubnetNode::poll_log() {
    return take_front(logs_);
}

std::optional<std::uint32_t> SubnetNode::slot() const {
    if (!claim_ || pending_ || claims_.owner(claim_->slot) != cfg_.node.id) return std::nullopt;
    return claim_->slot;
}

std::optional<Time> SubnetNode::poll_timeout() const {
    auto t = node_.poll_timeout();
    if (pending_ && (!t || pending_->due < *t)) return pending_->due;
    return t;
}

void SubnetNode::report(Time now, SubnetEvent e) {
    if (pending_) {
        // Lost inside the window: nothing was reported, so this is still the first claim.
        ++unsettled_losses_;
        e.kind = pending_->event.kind;
        e.previous = pending_->event.previous;
        e.lost_to = pending_->event.lost_to;
        pending_.reset();
    }
    if (e.kind == SubnetEvent::Kind::Acquired && !own_pin_) {
        pending_ = PendingReport{e, now + cfg_.node.timing.probe_interval * kSettleProbes};
        return;
    }
    subnet_events_.push_back(std::move(e));
}

PersistedState SubnetNode::persisted() const {
    return PersistedState{node_.incarnation(), claim_, node_.config().boot};
}

void SubnetNode::set_wall_clock(Time now, std::uint64_t unix_now) {
    admission_->unix_now = unix_now;
    if (!admission_->on()) return;
    node_.expel_unadmitted(now);
    after(now);
}

bool SubnetNode::add_revocation(Time now, const Revocation& r) {
    bool added = node_.add_revocation(now, r);
    after(now);
    return added;
}

void SubnetNode::after(Time now) {
    while (auto l = node_.poll_log()) logs_.push_back(std::move(*l));
    bool changed = false;
    while (auto e = node_.poll_event()) {
        if (e->id != cfg_.node.id) {
            refresh(e->id);
            changed = true;
        }
        events_.push_back(std::move(*e));
    }
    if (now - last_expiry_ >= 1s) {
        last_expiry_ = now;
        for (const auto& id : claims_.expire(now, cfg_.grace)) {
            say(LogLine::Level::Info, "the reservation of dead member " + id.short_hex() +
                                          "'s subnet has ended; the subnet is free");
            changed = true;
        }
    }
    // Ownership can only change with the claims; without a claim (or with a saved one not yet
    // checked) we wait for the first sync.
    if (changed || !claim_ || !saved_claim_checked_) reconcile(now);
    // Leaving or stopped: a subnet first reported now would only be withdrawn again (and a
    // report due in the past would make poll_timeout spin).
    if (node_.leaving() || node_.stopped()) pending_.reset();
    if (pending_ && now >= pending_->due && claim_ && claims_.owner(claim_->slot) == cfg_.node.id) {
        subnet_events_.push_back(pending_->event);
        pending_.reset();
    } else if (pending_ && now >= pending_->due) {
        // Not ours at the moment it fell due: look again a probe interval on, never spin.
        pending_->due = now + cfg_.node.timing.probe_interval;
    }
}

void SubnetNode::refresh(const NodeId& id) {
    const Member* m = node_.members().find(id);
    if (!m || m->state == MemberState::Left) {
        claims_.erase(id);
        return;
    }
    auto ann = announcement_of(*m);
    if (!ann || !ann->claim) {
        claims_.erase(id);
        return;
    }
    bool pinned = admission_->pinned_slot(*ann, cfg_.network) == ann->claim->slot;
    claims_.set(id, *ann->claim, !holds_subnet(m->state), m->state_since, pinned);
}

std::size_t SubnetNode::uncertified_members() const {
    std::size_t n = 0;
    for (const auto& [id, m] : node_.members().all()) {
        if (id == cfg_.node.id || !is_present(m.state)) continue;
        if (auto ann = announcement_of(m); !ann || admission_->check(*ann, cfg_.network)) ++n;
    }
    return n;
}

std::optional<std::uint32_t> SubnetNode::pick_slot() const {
    // Ours by certificate: it beats any dynamic claim on it.
    if (own_pin_) return own_pin_;
    const std::uint32_t n = cfg_.network.slots();
    // The preferred slot follows from the id (itself a hash), so nodes spread over the range and
    // a node that lost its state still tends to land where it was.
    const std::uint32_t preferred = static_cast<std::uint32_t>(cfg_.node.id.prefix64() % n);
    for (std::uint32_t i = 0; i < n; ++i) {
        std::uint32_t s = (preferred + i) % n;
        if (claims_.is_free(s)) return s;
    }
    return std::nullopt;
}

void SubnetNode::claim(Time now, std::optional<std::uint32_t> previous,
                       std::optional<NodeId> lost_to) {
    last_attempt_ = now;
    // Our announcement still carries the claim we lose: withdrawn below if nothing else is free
    // (a loss inside the settle window changes what is reported, not what was announced).
    const bool announced_claim = previous.has_value();
    auto s = pick_slot();
    if (!s && pending_) {
        // Lost inside the settle window and nothing else is free: nothing was reported.
        ++unsettled_losses_;
        previous = pending_->event.previous;
        lost_to = pending_->event.lost_to;
        pending_.reset();
    }
    if (!s) {
        if (!exhausted_) {
            say(LogLine::Level::Error,
                "no free subnet in " + cfg_.network.describe() + " (" +
                    std::to_string(cfg_.network.slots()) +
                    " subnets, all owned or reserved): staying a member without a subnet");
            subnet_events_.push_back(
                SubnetEvent{SubnetEvent::Kind::Exhausted, {}, previous, lost_to});
        }
        exhausted_ = true;
        // Withdraw a lost claim, or announce ourselves without one: we are still a member.
        if (announced_claim || !node_.announced()) announce_claim(now);
        return;
    }
    exhausted_ = false;
    Claim c{*s, std::min(claims_.max_clock() + 1, kMaxClaimClock)};
    claim_ = c;
    claims_.set(cfg_.node.id, c, false, {}, own_pin_.has_value());
    announce_claim(now);
    report(now, SubnetEvent{previous ? SubnetEvent::Kind::Moved : SubnetEvent::Kind::Acquired, *s,
                            previous, lost_to});
    say(previous ? LogLine::Level::Warn : LogLine::Level::Info,
        "claimed subnet " + cfg_.network.subnet(*s).to_string() + " (claim clock " +
            std::to_string(c.clock) + ")");
}

void SubnetNode::announce_claim(Time now) {
    // A placement is at most 33 bytes: far below the core's bound, so this cannot fail.
    if (auto set = node_.set_payload(now, encode_placement({claim_, addr6_})); !set)
        say(LogLine::Level::Error, "cannot announce our claim: " + set.error());
}

void SubnetNode::set_address6(Time now, const std::optional<Ipv6Addr>& addr6) {
    if (addr6 == addr6_) return;
    addr6_ = addr6;
    // Before our first announcement only kept: we announce when the claim is decided.
    if (!node_.announced()) return;
    announce_claim(now);
    after(now);
}

const Member* SubnetNode::live_claimant(std::uint32_t slot) const {
    for (const auto& [id, m] : node_.members().all()) {
        if (id == cfg_.node.id || !holds_subnet(m.state)) continue;
        if (auto ann = announcement_of(m); ann && ann->claim && ann->claim->slot == slot) return &m;
    }
    return nullptr;
}

void SubnetNode::reconcile(Time now) {
    if (node_.leaving() || node_.stopped()) return;
    // A saved claim is checked against live claimants once the first transfer is in. Until
    // then an older claim our table already shows still beats it below: a transfer cut short
    // (a partition) must not leave us reporting a subnet our own view gives away.
    if (auto mine = claim_; mine && !saved_claim_checked_ && node_.synced()) {
        saved_claim_checked_ = true;
        if (const Member* other = live_claimant(mine->slot)) {
            say(LogLine::Level::Warn,
                "the saved claim on subnet " + cfg_.network.subnet(mine->slot).to_string() +
                    " is held by live member " + other->info.name + " (" + other->id().short_hex() +
                    ", " + other->info.addr.to_string() +
                    "): this state directory is older than the cluster; claiming another");
            claims_.erase(cfg_.node.id);
            claim_.reset();
            claim(now, mine->slot, other->id());
            return;
        }
        if (!node_.announced()) announce_claim(now);
    }
    if (auto mine = claim_) {
        auto owner = claims_.owner(mine->slot);
        if (!owner || *owner == cfg_.node.id) return;
        if (own_pin_) {
            // Only another certificate naming the same subnet beats ours: the CA issued it twice.
            // Moving would claim outside our certificate, which everyone refuses.
            if (!double_pin_reported_)
                say(LogLine::Level::Error,
                    "subnet " + cfg_.network.subnet(mine->slot).to_string() +
                        " is named by our certificate and by member " + owner->short_hex() +
                        "'s, whose claim is older: the CA issued it twice; revoke one of the two "
                        "certificates (shoal ca revoke)");
            double_pin_reported_ = true;
            return;
        }
        auto theirs = claims_.claim_of(*owner);
        const Member* m = node_.members().find(*owner);
        say(LogLine::Level::Error,
            "subnet " + cfg_.network.subnet(mine->slot).to_string() + " is also claimed by " +
                (m ? m->info.name + " (" + owner->short_hex() + ", " + m->info.addr.to_string() +
                         ")"
                   : owner->short_hex()) +
                " with an older claim (clock " + std::to_string(theirs ? theirs->clock : 0) +
                " against our " + std::to_string(mine->clock) +
                "); giving it up and moving to a free subnet");
        claims_.erase(cfg_.node.id);
        claim_.reset();
        claim(now, mine->slot, *owner);
        return;
    }
    if (!node_.synced()) return;
    if (exhausted_ && now - last_attempt_ < 1s) return;
    claim(now);
}

}  // namespace shoal
