// Stepping the nodes on two threads must not change a run: the same trace hash, and the same log
// lines and events at the same simulated times, as one thread, through loss, pauses, a crash and
// restart, a partition and its healing, a leave and a late joiner.
#include <gtest/gtest.h>

#include <stdexcept>

#include "gossip/sim/helper_thread.hpp"
#include "gossip/sim/scenario.hpp"
#include "sim_fixture.hpp"

using namespace shoal;
using namespace shoal::test;

namespace {

struct Outcome {
    std::uint64_t trace = 0;
    std::vector<std::string> seen;  // every log line and event, with its time and node
    std::uint64_t parallel_windows = 0;
};

Outcome eventful_run(std::size_t threads, std::uint64_t seed) {
    sim::ClusterOptions o = options(seed, Profile::Lan, 0.05);
    o.threads = threads;
    SimCluster s(24, o);
    Outcome r;
    auto stamp = [](Time at, std::size_t i) {
        return std::to_string(at.time_since_epoch().count()) + " " + std::to_string(i) + " ";
    };
    s.c().on_log = [&](Time at, std::size_t i, const LogLine& l) {
        r.seen.push_back(stamp(at, i) + l.text);
    };
    auto record_events = s.c().on_event;
    s.c().on_event = [&, record_events](Time at, std::size_t i, const MemberEvent& e) {
        record_events(at, i, e);
        r.seen.push_back(stamp(at, i) + e.id.short_hex() + " " +
                         std::to_string(static_cast<int>(e.kind)));
    };
    s.c().run_for(5s);
    s.c().pause(3);
    s.c().run_for(3s);
    s.c().resume(3);
    s.c().crash(5);
    s.c().run_for(5s);
    s.c().restart(5, {0});
    for (std::size_t i = 12; i < 24; ++i) s.c().set_group(i, 1);
    s.c().run_for(10s);
    s.c().heal();
    s.c().run_for(15s);
    s.c().leave(7);
    s.c().run_for(3s);
    s.add();
    s.c().run_for(10s);
    r.trace = s.c().trace_hash();
    r.parallel_windows = s.c().parallel_windows();
    return r;
}

TEST(ParallelStepping, TwoThreadsGiveTheOneThreadRunBitForBit) {
    for (std::uint64_t seed : {21, 22}) {
        Outcome one = eventful_run(1, seed);
        Outcome two = eventful_run(2, seed);
        EXPECT_EQ(one.parallel_windows, 0u);
        EXPECT_GT(two.parallel_windows, 100u) << "the parallel path was hardly taken";
        EXPECT_EQ(two.trace, one.trace) << "seed " << seed;
        ASSERT_EQ(two.seen.size(), one.seen.size()) << "seed " << seed;
        for (std::size_t i = 0; i < one.seen.size(); ++i)
            ASSERT_EQ(two.seen[i], one.seen[i]) << "seed " << seed << ", line " << i;
    }
}

TEST(ParallelStepping, TheScenarioReportsTheSameWhateverTheThreads) {
    auto json_of = [](std::size_t threads, Profile profile, double loss) {
        sim::ScenarioOptions o;
        o.nodes = 96;
        o.profile = profile;
        o.timing = timing_for(profile);
        o.loss = loss;
        o.seconds = 20;
        o.threads = threads;
        std::string j = sim::to_json(sim::run_scenario(o));
        return j.substr(0, j.find(",\"wall_s\""));  // all but the wall time
    };
    EXPECT_EQ(json_of(2, Profile::Lan, 0), json_of(1, Profile::Lan, 0));
    EXPECT_EQ(json_of(2, Profile::Fast, 0.05), json_of(1, Profile::Fast, 0.05));
}

TEST(ParallelStepping, AnExceptionOnTheHelperReachesTheCallerAndTheHelperGoesOn) {
    sim::Helper helper;
    helper.post([] { throw std::runtime_error("from the helper"); });
    EXPECT_THROW(helper.wait(), std::runtime_error);
    int ran = 0;
    helper.post([&] { ran = 1; });
    EXPECT_NO_THROW(helper.wait());
    EXPECT_EQ(ran, 1);
}

}  // namespace
