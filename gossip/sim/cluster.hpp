#pragma once
// Many membership cores on one virtual clock and network: the real `Node` code, with crashes,
// pauses (a frozen process whose socket buffer fills), restarts, leaves and partitions.
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "common/mix64.hpp"
#include "gossip/ownership/subnet_node.hpp"
#include "gossip/sim/network.hpp"

namespace shoal::sim {

struct ClusterOptions {
    Timing timing;
    // Large enough for thousands of nodes; tests of exhaustion use a smaller one.
    NetworkSettings network{"10.128.0.0/9", 24, "", "", "", 0};
    Duration grace = 24h;
    LinkModel link;
    std::uint64_t seed = 1;
    std::size_t socket_buffer = 256;  // datagrams a paused node keeps queued
    // Other than off: a CA drawn from the seed certifies every node as it is added (its name;
    // with certified_subnets, subnet slot i for node i).
    AdmissionMode admission = AdmissionMode::Off;
    bool certified_subnets = false;
    // More than 1: within each window of one link latency (no datagram arrives sooner) the nodes
    // are stepped on two threads, and everything that reaches beyond a node is applied in the
    // order one thread would have: the same run, bit for bit (the trace hash says so).
    std::size_t threads = 1;
};

enum class NodeStatus { Running, Paused, Crashed, Stopped };

struct SimNode {
    std::unique_ptr<SubnetNode> node;
    std::optional<Identity> identity;
    PersistedState disk;  // what the node saved; a restart reads it back
    NodeId id;
    std::string name;
    Address addr;
    std::vector<Address> seeds;
    NodeStatus status = NodeStatus::Running;
    std::size_t group = 0;
    std::vector<InFlight> buffered;                    // arrived while paused
    std::optional<NetworkConfig> network;              // when it differs from the cluster's
    std::optional<Time> wake;                          // when the node asked to be woken
    std::uint64_t bytes_sent = 0, datagrams_sent = 0;  // including IPv4+UDP headers
    std::vector<std::uint8_t> certificate;             // empty: none
};

class Helper;  // the second thread of a parallel run

class Cluster {
  public:
    explicit Cluster(ClusterOptions opts);
    ~Cluster();
    Cluster(Cluster&&) noexcept;
    Cluster& operator=(Cluster&&) noexcept;

    // Starts a node now; its seeds are the given members' addresses. It uses the cluster's key
    // unless given a keyring of its own.
    std::size_t add_node(const std::vector<std::size_t>& seed_nodes,
                         const std::optional<Keyring>& ring = std::nullopt,
                         const std::optional<NetworkConfig>& network = std::nullopt);
    // Runs `fn` on a running node now and collects what it sends (an operator's action).
    template <typename Fn>
    auto act(std::size_t i, Fn fn) {
        struct Drain {
            Cluster* c;
            std::size_t i;
            ~Drain() { c->drain(i); }
        } d{this, i};
        return fn(*nodes_[i].node);
    }
    // Delivers raw bytes to node `to` now, as if sent from `from` (forgery tests).
    void inject(std::size_t to, const Address& from, std::vector<std::uint8_t> bytes);
    // A copy of node `of`'s disk image (identity and saved state) started at a new address: a
    // cloned SD card.
    std::size_t add_clone(std::size_t of, const std::vector<std::size_t>& seed_nodes);
    // Replaces what a (crashed) node will read back at its next start: a restored backup.
    void set_disk(std::size_t i, PersistedState disk) { nodes_[i].disk = std::move(disk); }
    void crash(std::size_t i);
    void pause(std::size_t i);
    void resume(std::size_t i);
    // A crashed node comes back with the same identity, address and saved state (incarnation and
    // claim), but nothing else; with `wipe`, its saved state is lost too.
    void restart(std::size_t i, const std::vector<std::size_t>& seed_nodes, bool wipe = false);
    void leave(std::size_t i);
    // Nodes in different groups cannot reach each other.
    void set_group(std::size_t i, std::size_t group) { nodes_[i].group = group; }
    void heal();
    Keyring& keyring_of(std::size_t i) { return rings_[i]; }
    // The CA that certifies the nodes (admission on).
    const std::optional<Identity>& ca() const { return ca_; }
    // Replaces node i's certificate for its next start (empty: none).
    void set_certificate(std::size_t i, std::vector<std::uint8_t> cert) {
        nodes_[i].certificate = std::move(cert);
    }
    void set_keyring(std::size_t i, Keyring ring);

    void run_until(Time t);
    void run_for(Duration d) { run_until(now_ + d); }
    // Runs until `done()` holds (checked every `step`) or `limit` passes; true if it held.
    bool run_until(const std::function<bool()>& done, Duration limit, Duration step = 10ms);

    Time now() const { return now_; }
    std::size_t size() const { return nodes_.size(); }
    const SimNode& at(std::size_t i) const { return nodes_[i]; }
    bool is_up(std::size_t i) const { return nodes_[i].status == NodeStatus::Running; }
    // State of member `j` as node `i` sees it.
    std::optional<MemberState> view(std::size_t i, std::size_t j) const;
    // Every running node sees every node in `members` alive.
    bool all_see_alive(const std::vector<std::size_t>& members) const;
    // Every running node holds every node in `members` alive or suspect (under loss some member
    // is always suspected somewhere for a moment).
    bool all_see_live(const std::vector<std::size_t>& members) const;
    // No running node has updates left to gossip.
    bool quiet() const;
    // Every running node's membership table has the same digest.
    bool tables_agree() const;
    std::vector<std::size_t> running() const;
    std::uint64_t trace_hash() const;
    // Windows whose nodes were stepped on two threads (threads > 1).
    std::uint64_t parallel_windows() const { return parallel_windows_; }
    std::uint64_t total_bytes_sent() const;

    // Observers: every membership event and log line of every node.
    std::function<void(Time, std::size_t, const MemberEvent&)> on_event;
    std::function<void(Time, std::size_t, const LogLine&)> on_log;
    std::function<void(Time, std::size_t, const SubnetEvent&)> on_subnet;
    std::function<void(Time, std::size_t, const Address&)> on_reachable;
    const NetworkConfig& network() const { return network_; }
    const VerifyCache& verify_cache() const { return *cache_; }
    // Every running node computes the same owner for every slot.
    bool owners_agree() const;

  private:
    void start(std::size_t i);
    // What one event at one node did beyond the node, kept while a window is stepped in
    // parallel and applied in the order one thread would have: sends (which draw the network's
    // numbers), observers, the trace.
    struct Step {
        Time at{};              // the event's place in that order: time,
        bool wake = false;      // deliveries before wake-ups,
        std::uint64_t tie = 0;  // then a delivery's sequence number or the node's index
        Time now{};             // the time the node was given
        std::size_t node = 0;
        std::vector<std::uint64_t> trace;  // a delivery's words
        std::vector<Transmit> sends;
        std::vector<MemberEvent> events;
        std::vector<LogLine> logs;
        std::vector<Address> reachable;
        std::vector<SubnetEvent> subnets;
        bool requeue = false;  // the node asks for a new wake-up
    };
    void collect(std::size_t i, Step& s);  // the node's side of drain()
    void apply(Step& s);                   // the cluster's side
    void queue_wake(std::size_t i);
    // The node's side of a delivery at `now`: handled, kept while paused, or lost.
    void receive(InFlight& f, Time now, Step& s);
    void deliver(InFlight f);
    void delivery_words(const InFlight& f, std::vector<std::uint64_t>& out);
    void trace_fold(std::uint64_t word) { trace_ = mix64(trace_ + word + 0x9e3779b97f4a7c15ULL); }
    // Drops queued wake-ups nobody asks for any more; then when the next datagram arrives and
    // the next wake-up is due (Time::max() for none).
    std::pair<Time, Time> next_times();
    // run_until(t) with the nodes stepped in parallel (opts_.threads > 1).
    void run_windows(Time t);
    void step_node(std::size_t i, Time limit, Time start, std::vector<Step>& out);
    void drain(std::size_t i);
    void wake(std::size_t i);
    std::size_t index_of(const Address& a) const;

    ClusterOptions opts_;
    NetworkConfig network_;
    std::optional<Identity> ca_;
    std::shared_ptr<VerifyCache> cache_ = std::make_shared<VerifyCache>();
    std::shared_ptr<UpdatePool> update_pool_ = std::make_shared<UpdatePool>();
    Rng rng_;
    Network net_;
    Time now_{};
    std::vector<SimNode> nodes_;
    std::vector<Keyring> rings_;
    Keyring default_ring_;
    // Node wake-ups, lazily invalidated: an entry counts only if it matches the node's `wake`.
    std::vector<std::pair<Time, std::size_t>> wakeups_;
    std::uint64_t trace_ = 0;
    // Parallel stepping: per node, what arrives in the current window.
    std::vector<std::vector<InFlight>> arrivals_;
    std::vector<std::size_t> active_;
    std::vector<char> is_active_;
    std::vector<std::vector<Step>> steps_;
    std::unique_ptr<Helper> helper_;
    std::uint64_t parallel_windows_ = 0;
};

}  // namespace shoal::sim
