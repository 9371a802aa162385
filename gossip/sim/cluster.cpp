#include "gossip/sim/cluster.hpp"

#include "gossip/sim/helper_thread.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>
#include <span>
#include <stdexcept>

namespace shoal::sim {

namespace {
bool later_wake(const std::pair<Time, std::size_t>& a, const std::pair<Time, std::size_t>& b) {
    return a > b;
}
constexpr std::uint16_t kGossipPort = 7946;
}  // namespace

namespace {
NetworkConfig network_or_die(const NetworkSettings& s) {
    auto made = NetworkConfig::make(s);
    if (!made) throw std::invalid_argument(made.error());
    return *made;
}
}  // namespace

Cluster::Cluster(ClusterOptions opts)
    : opts_(opts),
      network_(network_or_die(opts.network)),
      rng_(Rng::from_u64(opts.seed)),
      net_(opts.link, rng_.fork()) {
    ClusterKey key;
    rng_.fill(key);
    default_ring_ = Keyring({key});
}

Cluster::~Cluster() = default;
Cluster::Cluster(Cluster&&) noexcept = default;
Cluster& Cluster::operator=(Cluster&&) noexcept = default;

std::size_t Cluster::add_node(const std::vector<std::size_t>& seed_nodes,
                              const std::optional<Keyring>& ring,
                              const std::optional<NetworkConfig>& network) {
    std::size_t i = nodes_.size();
    SimNode n;
    n.identity = Identity::generate(rng_);
    n.id = n.identity->id();
    n.name = "node-" + std::to_string(i);
    // 10.0.0.0/8 addresses that exist only inside this process.
    n.addr = Address{0x0a000001u + static_cast<std::uint32_t>(i), kGossipPort};
    for (auto s : seed_nodes) n.seeds.push_back(nodes_[s].addr);
    n.network = network;
    if (opts_.admission != AdmissionMode::Off) {
        if (!ca_) ca_ = Identity::generate(rng_);
        Certificate c{ca_->public_key(), n.identity->public_key(), n.name, std::nullopt, 0};
        if (opts_.certified_subnets) c.subnet = network_.subnet(static_cast<std::uint32_t>(i));
        if (auto issued = issue_certificate(c, *ca_)) n.certificate = std::move(*issued);
    }
    nodes_.push_back(std::move(n));
    rings_.push_back(ring ? *ring : default_ring_);
    start(i);
    return i;
}

std::size_t Cluster::add_clone(std::size_t of, const std::vector<std::size_t>& seed_nodes) {
    std::size_t i = nodes_.size();
    SimNode n;
    n.identity = nodes_[of].identity;
    n.id = nodes_[of].id;
    n.disk = nodes_[of].disk;
    n.name = nodes_[of].name;
    n.addr = Address{0x0a000001u + static_cast<std::uint32_t>(i), kGossipPort};
    for (auto s : seed_nodes) n.seeds.push_back(nodes_[s].addr);
    n.network = nodes_[of].network;
    n.certificate = nodes_[of].certificate;
    nodes_.push_back(std::move(n));
    rings_.push_back(rings_[of]);
    start(i);
    return i;
}

void Cluster::start(std::size_t i) {
    SimNode& n = nodes_[i];
    NodeConfig nc;
    nc.id = n.id;
    nc.name = n.name;
    nc.addr = n.addr;
    nc.seeds = n.seeds;
    nc.timing = opts_.timing;
    nc.update_pool = update_pool_;
    SubnetNodeConfig cfg{nc, n.network ? *n.network : network_, opts_.grace, "sim"};
    if (ca_) {
        // A wall clock that is plausible and moves with the simulation.
        auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(now_.time_since_epoch());
        cfg.admission =
            AdmissionPolicy{opts_.admission,
                            {ca_->public_key()},
                            {},
                            kPlausibleUnixTime + static_cast<std::uint64_t>(elapsed.count())};
        cfg.certificate = n.certificate;
    }
    n.node = std::make_unique<SubnetNode>(std::move(cfg), *n.identity, rings_[i], rng_.fork(), now_,
                                          n.disk, cache_);
    n.status = NodeStatus::Running;
    drain(i);
}

std::size_t Cluster::index_of(const Address& a) const {
    if (a.port != kGossipPort || a.ip < 0x0a000001u) return SIZE_MAX;
    std::size_t i = a.ip - 0x0a000001u;
    return i < nodes_.size() ? i : SIZE_MAX;
}

void Cluster::collect(std::size_t i, Step& s) {
    SimNode& n = nodes_[i];
    if (!n.node) return;
    while (auto t = n.node->poll_transmit()) {
        n.bytes_sent += t->bytes.size() + kIpUdpHeaderBytes;
        ++n.datagrams_sent;
        s.sends.push_back(std::move(*t));
    }
    while (auto e = n.node->poll_event())
        if (on_event) s.events.push_back(std::move(*e));
    while (auto l = n.node->poll_log())
        if (on_log) s.logs.push_back(std::move(*l));
    while (auto a = n.node->poll_reachable())
        if (on_reachable) s.reachable.push_back(*a);
    while (auto e = n.node->poll_subnet_event())
        if (on_subnet) s.subnets.push_back(std::move(*e));
    // As the agent writes its state file on every change; revocations only grow, so their count
    // says when to copy them.
    std::vector<Revocation> revocations = std::move(n.disk.revocations);
    n.disk = n.node->persisted();
    if (n.node->node().revocation_count() != revocations.size())
        revocations = n.node->revocations();
    n.disk.revocations = std::move(revocations);
    if (n.node->node().stopped()) n.status = NodeStatus::Stopped;
    // A wake-up already queued stays valid while the node still asks for it: queueing it again
    // after every delivery kept the heap hundreds of thousands of entries deep.
    const std::optional<Time> queued = n.wake;
    n.wake = n.status == NodeStatus::Running ? n.node->poll_timeout() : std::nullopt;
    s.requeue = n.wake && n.wake != queued;
}

void Cluster::apply(Step& s) {
    const SimNode& n = nodes_[s.node];
    for (auto& t : s.sends) {
        std::size_t to = index_of(t.to);
        if (to == SIZE_MAX) continue;
        net_.send(now_, n.group, nodes_[to].group, to, n.addr, std::move(t.bytes));
    }
    for (const auto& e : s.events) on_event(now_, s.node, e);
    for (const auto& l : s.logs) on_log(now_, s.node, l);
    for (const auto& a : s.reachable) on_reachable(now_, s.node, a);
    for (const auto& e : s.subnets) on_subnet(now_, s.node, e);
}

void Cluster::queue_wake(std::size_t i) {
    wakeups_.emplace_back(*nodes_[i].wake, i);
    std::push_heap(wakeups_.begin(), wakeups_.end(), later_wake);
}

void Cluster::drain(std::size_t i) {
    Step s;
    s.node = i;
    collect(i, s);
    apply(s);
    if (s.requeue) queue_wake(i);
}

void Cluster::delivery_words(const InFlight& f, std::vector<std::uint64_t>& out) {
    // Every delivery goes into the trace: two runs with one seed must produce the same hash. Of
    // a sealed datagram its header, nonce and tag are enough, as the tag authenticates every
    // byte; hashing all of it cost as much as opening it.
    out.push_back(static_cast<std::uint64_t>(f.at.time_since_epoch().count()));
    out.push_back(f.to);
    out.push_back(f.bytes.size());
    auto words = [&](std::span<const std::uint8_t> bytes) {
        for (std::size_t at = 0; at < bytes.size(); at += 8) {
            std::uint64_t word = 0;
            std::memcpy(&word, bytes.data() + at, std::min<std::size_t>(8, bytes.size() - at));
            out.push_back(word);
        }
    };
    const std::span<const std::uint8_t> bytes(f.bytes);
    constexpr std::size_t kHead = 1 + kNonceBytes;
    if (bytes.size() < kHead + 2 * kTagBytes) {
        words(bytes);
    } else {
        words(bytes.first(kHead));
        words(bytes.last(kTagBytes));
    }
}

void Cluster::receive(InFlight& f, Time now, Step& s) {
    SimNode& n = nodes_[f.to];
    switch (n.status) {
        case NodeStatus::Running:
            n.node->handle_datagram(now, f.from, f.bytes);
            collect(f.to, s);
            break;
        case NodeStatus::Paused:
            if (n.buffered.size() < opts_.socket_buffer) n.buffered.push_back(std::move(f));
            break;
        case NodeStatus::Crashed:
        case NodeStatus::Stopped: break;
    }
}

void Cluster::deliver(InFlight f) {
    Step s;
    s.node = f.to;
    delivery_words(f, s.trace);
    for (auto w : s.trace) trace_fold(w);
    receive(f, now_, s);
    apply(s);
    if (s.requeue) queue_wake(f.to);
}

void Cluster::inject(std::size_t to, const Address& from, std::vector<std::uint8_t> bytes) {
    deliver(InFlight{now_, 0, to, from, std::move(bytes)});
}

void Cluster::wake(std::size_t i) {
    SimNode& n = nodes_[i];
    if (n.status != NodeStatus::Running) return;
    n.node->handle_timeout(now_);
    drain(i);
}

std::pair<Time, Time> Cluster::next_times() {
    while (!wakeups_.empty()) {
        auto [w, i] = wakeups_.front();
        if (nodes_[i].status == NodeStatus::Running && nodes_[i].wake == w) break;
        // A paused node's wake-up is dropped: it is queued again when the node resumes.
        if (nodes_[i].wake == w) nodes_[i].wake.reset();
        std::pop_heap(wakeups_.begin(), wakeups_.end(), later_wake);
        wakeups_.pop_back();
    }
    return {net_.empty() ? Time::max() : net_.next_time(),
            wakeups_.empty() ? Time::max() : wakeups_.front().first};
}

void Cluster::run_until(Time t) {
    if (opts_.threads > 1 && net_.link().latency >= Duration(1)) {
        run_windows(t);
        return;
    }
    for (;;) {
        auto [next_net, next_wake] = next_times();
        Time next = std::min(next_net, next_wake);
        if (next > t) break;
        now_ = std::max(now_, next);
        if (next_net <= next_wake) {
            deliver(net_.pop());
        } else {
            std::size_t i = wakeups_.front().second;
            std::pop_heap(wakeups_.begin(), wakeups_.end(), later_wake);
            wakeups_.pop_back();
            nodes_[i].wake.reset();
            wake(i);
        }
    }
    now_ = std::max(now_, t);
}

// Parallel stepping. Nodes touch each other only through datagrams, and none arrives sooner than
// one link latency after it was sent: so every event due within a latency of the earliest one
// can be stepped node by node, each node's in its own order, on either thread. What reaches
// beyond a node (its sends, which draw the network's numbers; observers; the trace) is kept per
// event and applied afterwards in the order of the one-thread loop above: by time, deliveries
// before wake-ups, then by sequence number or node index. A wake-up a node asks for during the
// window is stepped in the window too, right after the event that asked for it, as above.
void Cluster::run_windows(Time t) {
    constexpr std::size_t kParallelMin = 2;  // fewer nodes than this in a window: one thread
    if (arrivals_.size() < nodes_.size()) {
        arrivals_.resize(nodes_.size());
        is_active_.resize(nodes_.size(), 0);
    }
    for (;;) {
        auto [next_net, next_wake] = next_times();
        Time next = std::min(next_net, next_wake);
        if (next > t) break;
        const Time limit = std::min(t, std::max(now_, next) + net_.link().latency - Duration(1));
        auto activate = [&](std::size_t i) {
            if (is_active_[i]) return;
            is_active_[i] = 1;
            active_.push_back(i);
        };
        while (!net_.empty() && net_.next_time() <= limit) {
            InFlight f = net_.pop();
            std::size_t to = f.to;
            arrivals_[to].push_back(std::move(f));
            activate(to);
        }
        while (!wakeups_.empty() && wakeups_.front().first <= limit) {
            auto [w, i] = wakeups_.front();
            std::pop_heap(wakeups_.begin(), wakeups_.end(), later_wake);
            wakeups_.pop_back();
            if (nodes_[i].status == NodeStatus::Running && nodes_[i].wake == w)
                activate(i);
            else if (nodes_[i].wake == w)
                nodes_[i].wake.reset();
        }
        // Which wake-up each node had queued, to queue only what changed afterwards.
        std::vector<std::optional<Time>> had;
        had.reserve(active_.size());
        for (auto i : active_) had.push_back(nodes_[i].wake);
        if (steps_.size() < active_.size()) steps_.resize(active_.size());
        const Time start = now_;
        // Each thread takes the next node not yet taken, so neither waits long for the other
        // (a node's work varies a hundredfold: one serving a state transfer seals dozens of
        // pages). Which thread steps a node changes nothing but the wall time: each node's
        // steps land in its own slot, merged below in one order.
        std::atomic<std::size_t> taken{0};
        auto step_some = [&] {
            for (std::size_t k;
                 (k = taken.fetch_add(1, std::memory_order_relaxed)) < active_.size();)
                step_node(active_[k], limit, start, steps_[k]);
        };
        if (active_.size() >= kParallelMin) {
            if (!helper_) helper_ = std::make_unique<Helper>();
            ++parallel_windows_;
            helper_->post(step_some);
            // The helper's work refers to this frame: it must end before an exception leaves.
            std::exception_ptr failed;
            try {
                step_some();
            } catch (...) {
                failed = std::current_exception();
                taken.store(active_.size());  // the helper takes no more
            }
            helper_->wait();
            if (failed) std::rethrow_exception(failed);
        } else {
            step_some();
        }
        // Merge: the next event of the one-thread order is the least of the nodes' next ones.
        std::vector<std::size_t> pos(active_.size(), 0);
        auto after = [&](std::size_t a, std::size_t b) {  // heap order: b's next event goes first
            const Step& x = steps_[a][pos[a]];
            const Step& y = steps_[b][pos[b]];
            return std::tie(x.at, x.wake, x.tie) > std::tie(y.at, y.wake, y.tie);
        };
        std::vector<std::size_t> heads;
        for (std::size_t k = 0; k < active_.size(); ++k)
            if (!steps_[k].empty()) heads.push_back(k);
        std::make_heap(heads.begin(), heads.end(), after);
        while (!heads.empty()) {
            std::pop_heap(heads.begin(), heads.end(), after);
            std::size_t k = heads.back();
            Step& s = steps_[k][pos[k]];
            now_ = std::max(now_, s.now);
            for (auto w : s.trace) trace_fold(w);
            apply(s);
            if (++pos[k] < steps_[k].size())
                std::push_heap(heads.begin(), heads.end(), after);
            else
                heads.pop_back();
        }
        for (std::size_t k = 0; k < active_.size(); ++k) {
            std::size_t i = active_[k];
            is_active_[i] = 0;
            steps_[k].clear();
            const auto& w = nodes_[i].wake;
            if (w && (w != had[k] || *had[k] <= limit)) queue_wake(i);
        }
        active_.clear();
    }
    now_ = std::max(now_, t);
}

void Cluster::step_node(std::size_t i, Time limit, Time start, std::vector<Step>& out) {
    SimNode& n = nodes_[i];
    std::vector<InFlight>& in = arrivals_[i];
    Time node_now = start;
    std::size_t next = 0;
    for (;;) {
        const bool delivery = next < in.size();
        const bool wake = n.status == NodeStatus::Running && n.wake && *n.wake <= limit;
        if (!delivery && !wake) break;
        Step& s = out.emplace_back();
        s.node = i;
        if (delivery && (!wake || in[next].at <= *n.wake)) {
            InFlight& f = in[next++];
            s.at = f.at;
            s.tie = f.order;
            node_now = std::max(node_now, f.at);
            s.now = node_now;
            delivery_words(f, s.trace);
            receive(f, node_now, s);
        } else {
            s.at = *n.wake;
            s.wake = true;
            s.tie = i;
            n.wake.reset();
            node_now = std::max(node_now, s.at);
            s.now = node_now;
            n.node->handle_timeout(node_now);
            collect(i, s);
        }
    }
    in.clear();
}

bool Cluster::run_until(const std::function<bool()>& done, Duration limit, Duration step) {
    Time end = now_ + limit;
    while (!done()) {
        if (now_ >= end) return false;
        run_until(std::min(end, now_ + step));
    }
    return true;
}

void Cluster::crash(std::size_t i) {
    SimNode& n = nodes_[i];
    n.node.reset();
    n.status = NodeStatus::Crashed;
    n.buffered.clear();
    n.wake.reset();
}

void Cluster::pause(std::size_t i) {
    if (nodes_[i].status == NodeStatus::Running) nodes_[i].status = NodeStatus::Paused;
}

void Cluster::resume(std::size_t i) {
    SimNode& n = nodes_[i];
    if (n.status != NodeStatus::Paused) return;
    n.status = NodeStatus::Running;
    // As libuv does after SIGCONT: due timers first, then whatever waited in the socket buffer.
    n.node->handle_timeout(now_);
    auto buffered = std::move(n.buffered);
    n.buffered.clear();
    for (auto& f : buffered) {
        if (n.status != NodeStatus::Running) break;
        n.node->handle_datagram(now_, f.from, f.bytes);
    }
    drain(i);
}

void Cluster::restart(std::size_t i, const std::vector<std::size_t>& seed_nodes, bool wipe) {
    crash(i);
    if (wipe) nodes_[i].disk = PersistedState{};
    nodes_[i].seeds.clear();
    for (auto s : seed_nodes) nodes_[i].seeds.push_back(nodes_[s].addr);
    start(i);
}

void Cluster::leave(std::size_t i) {
    if (nodes_[i].status != NodeStatus::Running) return;
    nodes_[i].node->leave(now_);
    drain(i);
}

void Cluster::heal() {
    for (auto& n : nodes_) n.group = 0;
}

void Cluster::set_keyring(std::size_t i, Keyring ring) {
    rings_[i] = ring;
    if (nodes_[i].node) nodes_[i].node->set_keyring(std::move(ring));
}

std::optional<MemberState> Cluster::view(std::size_t i, std::size_t j) const {
    const SimNode& n = nodes_[i];
    if (!n.node) return std::nullopt;
    const Member* m = n.node->node().members().find(nodes_[j].id);
    if (!m) return std::nullopt;
    return m->state;
}

bool Cluster::all_see_alive(const std::vector<std::size_t>& members) const {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (!is_up(i)) continue;
        for (auto j : members)
            if (j != i && view(i, j) != MemberState::Alive) return false;
    }
    return true;
}

bool Cluster::all_see_live(const std::vector<std::size_t>& members) const {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (!is_up(i)) continue;
        // Cheap necessary condition first: this runs every few simulated milliseconds.
        if (nodes_[i].node->node().members().live_count() < members.size()) return false;
        for (auto j : members) {
            auto v = view(i, j);
            if (j != i && (!v || !is_live(*v))) return false;
        }
    }
    return true;
}

bool Cluster::quiet() const {
    for (std::size_t i = 0; i < nodes_.size(); ++i)
        if (is_up(i) && nodes_[i].node->node().pending_broadcasts() > 0) return false;
    return true;
}

bool Cluster::tables_agree() const {
    const Digest* first = nullptr;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (!is_up(i)) continue;
        const Digest& d = nodes_[i].node->node().members().digest();
        if (!first)
            first = &d;
        else if (d != *first)
            return false;
    }
    return true;
}

bool Cluster::owners_agree() const {
    std::optional<std::map<std::uint32_t, NodeId>> first;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (!is_up(i)) continue;
        auto owners = nodes_[i].node->claims().owners();
        if (!first)
            first = std::move(owners);
        else if (owners != *first)
            return false;
    }
    return true;
}

std::vector<std::size_t> Cluster::running() const {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < nodes_.size(); ++i)
        if (is_up(i)) out.push_back(i);
    return out;
}

std::uint64_t Cluster::trace_hash() const {
    return trace_;
}

std::uint64_t Cluster::total_bytes_sent() const {
    std::uint64_t b = 0;
    for (const auto& n : nodes_) b += n.bytes_sent;
    return b;
}

}  // namespace shoal::sim
