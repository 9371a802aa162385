#pragma once
// The host check: a dead agent is not a dead host. host-gw's data plane is the peer's kernel,
// which forwards to its pods whether or not its agent runs (frozen, crashed, restarting,
// starved). So when a member becomes suspect, this agent echoes (ICMP) its host itself, and if
// the member is then declared dead while the host answers, its route is kept: for route-hold at
// most, and only until two rounds of echoes in a row go unanswered.
//
// Each agent decides on its own evidence: replies to echoes it sent after the suspicion began,
// carrying a random token it chose. Nothing is gossiped, so no member can make another keep or
// drop a route; membership states and subnet reservations are untouched. Only hosts that answered
// a baseline echo while alive are eligible: a host that never answers echoes (a firewall) gets
// the plain behaviour, a withdrawal when it is declared dead.
//
// Sans-IO like the core: fed (now, members) and (now, reply), it hands back echoes to send, log
// lines and a deadline; the agent owns the socket (agent/icmp_echo.hpp) and the timer.
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gossip/membership/events.hpp"
#include "gossip/wire/member_state.hpp"
#include "gossip/wire/node_id.hpp"
#include "gossip/wire/rng.hpp"
#include "gossip/wire/time.hpp"

namespace shoal::agent {

struct HostCheckSettings {
    Duration route_hold = std::chrono::minutes(10);  // 0: routes go when the member is dead
    Duration round_interval = std::chrono::seconds(1);
    Duration echo_gap = std::chrono::milliseconds(100);
    int echoes_per_round = 3;
    // A round's replies count until this long after its last echo: a LAN answers in well under a
    // millisecond, and a dead host's route waits at most echo_gap * 2 + reply_window for the
    // first round when the death is news (no suspicion seen here first).
    Duration reply_window = std::chrono::milliseconds(100);
    int failed_rounds_to_withdraw = 2;
    // While alive, one echo per target this often (jittered) decides eligibility; an answer is
    // good for three intervals, so one lost echo does not make a host ineligible.
    Duration baseline_interval = std::chrono::seconds(30);
};

// A member that owns a subnet, as the core holds it now.
struct HostSubject {
    NodeId id;
    std::string name;
    std::uint32_t addr = 0;     // its advertised address (off the segment: its VTEP address)
    std::uint32_t gateway = 0;  // its pod subnet's gateway (.1, the bridge on that host)
    MemberState state = MemberState::Alive;
};

struct Echo {
    std::uint32_t to = 0;
    std::uint16_t seq = 0;
    std::uint64_t token = 0;  // carried in the payload; a reply must return it
};

class HostCheck {
  public:
    HostCheck(HostCheckSettings settings, Rng rng);

    bool enabled() const { return settings_.route_hold > Duration::zero(); }
    // The members that own subnets; members missing from the list are forgotten.
    void follow(Time now, const std::vector<HostSubject>& subjects);
    // An echo reply from `from`; counted only if it answers an outstanding echo to `from`.
    void on_reply(Time now, std::uint32_t from, std::uint16_t seq, std::uint64_t token);
    void handle_timeout(Time now);
    // Without a carrier our own echoes cannot arrive: rounds do not count as failed meanwhile.
    void set_link_up(bool up) { link_up_ = up; }

    [[nodiscard]] std::optional<Echo> poll_echo() { return take_front(echoes_); }
    [[nodiscard]] std::optional<LogLine> poll_log() { return take_front(log_); }
    [[nodiscard]] std::optional<Time> poll_timeout() const;
    // True once after a route decision changed (kept, or released).
    [[nodiscard]] bool take_changed() { return std::exchange(changed_, false); }

    // The member is dead and its route stays: its host answers, or the first round of echoes
    // since the news is still open.
    bool keeps_route(const NodeId& id) const;
    // ... and it has answered (what `members`, `routes` and /metrics show).
    bool host_answers(const NodeId& id) const;
    // The members whose routes are kept (answering: only those whose hosts have answered).
    std::set<NodeId> kept(bool answering = false) const;
    std::uint64_t echoes_sent() const { return echoes_sent_; }
    std::uint64_t replies() const { return replies_; }

  private:
    struct Host {
        std::string name;
        std::uint32_t addr = 0, gateway = 0;
        MemberState state = MemberState::Alive;
        std::optional<Time> addr_answered, gateway_answered;  // last baseline answer
        Time next_baseline{};
        // Checking: from suspicion (or death heard first) until alive again or released, echoing
        // the targets that were eligible when it began.
        bool checking = false;
        bool check_addr = false, check_gateway = false;
        Time round_start{};
        int round_echoes = 0;  // sent in the current round
        Time last_echo{};      // when the last of them went out
        bool round_answered = false;
        int rounds_done = 0;
        int failed_in_a_row = 0;
        bool answered = false;  // a reply to an echo sent since checking began
        std::optional<Time> dead_since;
        bool released = false;  // route withdrawn for good, until alive again
        bool kept_logged = false;
    };
    struct Outstanding {
        NodeId id;
        std::uint32_t to = 0;
        std::uint64_t token = 0;
        Time sent{};
        bool baseline = false;
        bool gateway = false;
        int round = 0;  // the host's rounds_done when sent
    };

    bool eligible(const Host& h, Time now, bool gateway) const;
    void start_checking(Host& h, Time now);
    void send(const NodeId& id, Host& h, Time now, bool baseline);
    void step(const NodeId& id, Host& h, Time now);
    void close_round(Host& h, Time now);
    void release(Host& h, const std::string& why);
    Time round_close(const Host& h) const;

    HostCheckSettings settings_;
    Rng rng_;
    std::map<NodeId, Host> hosts_;
    std::map<std::uint16_t, Outstanding> outstanding_;
    std::uint16_t next_seq_;
    std::deque<Echo> echoes_;
    std::deque<LogLine> log_;
    bool changed_ = false;
    bool link_up_ = true;
    std::uint64_t echoes_sent_ = 0, replies_ = 0;
};

}  // namespace shoal::agent
