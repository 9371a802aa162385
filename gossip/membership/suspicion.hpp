#pragma once
// Lifeguard's dynamic suspicion timeout: it starts at `max` and shrinks towards `min` as other
// members independently confirm the suspicion, so a member that is really gone is declared dead
// quickly while one suspected by a single unlucky prober gets time to refute.
//
// Also the dead verdicts others sent about the suspect: one member's verdict is only its
// suspicion (a key holder may lie), so a member is dead on our own timeout or once
// kDeadVotesNeeded distinct members signed a verdict.
#include <vector>

#include "gossip/membership/config.hpp"
#include "gossip/wire/node_id.hpp"
#include "gossip/wire/time.hpp"

namespace shoal {

// Distinct accusers whose signed dead verdicts make a member dead before our own timeout.
inline constexpr int kDeadVotesNeeded = 2;

// min = mult * max(1, log10 N) * probe_interval: dissemination takes O(log N) rounds.
Duration suspicion_min(const Timing& t, std::size_t members);

class Suspicion {
  public:
    // `needed` confirmations bring the timeout down to `min`; with none possible (tiny clusters)
    // the timeout is `min` from the start.
    Suspicion(const NodeId& first, int needed, Duration min, Duration max, Time start);
    // Records a suspicion from `from`; true if it is a new, independent one.
    bool confirm(const NodeId& from);
    // Whether a suspicion from `from` would be a new confirmation (confirm() would take it).
    bool would_count(const NodeId& from) const;
    // Records `from`'s dead verdict; true if it is a new one.
    bool vote_dead(const NodeId& from);
    bool would_vote(const NodeId& from) const;
    int dead_votes() const { return static_cast<int>(dead_voters_.size()); }
    Time deadline() const;
    int confirmations() const { return static_cast<int>(confirmers_.size()); }
    bool fully_confirmed() const { return confirmations() >= needed_; }
    Time start() const { return start_; }
    void restart(Time start) { start_ = start; }

  private:
    NodeId first_;
    std::vector<NodeId> confirmers_;
    std::vector<NodeId> dead_voters_;
    int needed_;
    Duration min_, max_;
    Time start_;
};

}  // namespace shoal
