#include "gossip/sim/scenario.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "gossip/sim/cluster.hpp"

namespace shoal::sim {

Summary summarize(std::vector<double> v) {
    Summary s;
    s.count = v.size();
    if (v.empty()) return s;
    std::sort(v.begin(), v.end());
    auto pct = [&](double p) {
        std::size_t idx =
            static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size()))) - 1;
        return v[std::min(idx, v.size() - 1)];
    };
    s.min = v.front();
    s.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
    s.p99 = pct(0.99);
    s.max = v.back();
    return s;
}

namespace {

std::string fmt(double v, int prec = 3) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.*f", prec, v);
    return buf;
}

// Stagger the joins so the seed is not asked for its whole table by everyone at once.
Duration join_spacing(std::size_t n) {
    return n <= 64 ? 20ms : 5ms;
}

}  // namespace

ScenarioResult run_scenario(const ScenarioOptions& opts, void (*progress)(const std::string&)) {
    auto wall_start = std::chrono::steady_clock::now();
    ScenarioResult r;
    r.opts = opts;
    auto say = [&](std::string line) {
        if (progress) progress(line);
        r.narrative.push_back(std::move(line));
    };

    ClusterOptions copts;
    copts.timing = opts.timing;
    // The cluster plus the newcomer of step 3 fit the member cap: at the default cap (4096) a
    // 4096-node run's newcomer was refused by every member, and as the one observer short of a
    // member it saw the kill and the leave last, 12-14 s late.
    copts.timing.max_members = std::max(copts.timing.max_members, opts.nodes + 1);
    copts.link = LinkModel{opts.loss, opts.latency, opts.jitter};
    copts.seed = opts.seed;
    copts.threads = opts.threads;
    Cluster c(copts);

    // Who is really down: a death declared about anyone else is a false positive.
    std::set<std::size_t> really_down;
    std::set<NodeId> falsely_dead;
    std::map<NodeId, std::size_t> index;
    std::size_t victim = SIZE_MAX, leaver = SIZE_MAX, newcomer = SIZE_MAX;
    std::map<std::size_t, Time> dead_seen, left_seen, joined_seen;
    c.on_event = [&](Time now, std::size_t observer, const MemberEvent& e) {
        auto it = index.find(e.id);
        if (it == index.end()) return;
        std::size_t subject = it->second;
        if (e.kind == MemberEvent::Kind::Dead) {
            if (!really_down.count(subject)) falsely_dead.insert(e.id);
            if (subject == victim) dead_seen.try_emplace(observer, now);
        }
        if (e.kind == MemberEvent::Kind::Left && subject == leaver)
            left_seen.try_emplace(observer, now);
        if (e.kind == MemberEvent::Kind::Joined && subject == newcomer)
            joined_seen.try_emplace(observer, now);
    };
    if (opts.verbose) {
        c.on_log = [&](Time now, std::size_t i, const LogLine& l) {
            std::fprintf(stderr, "%10.3f %s: %s\n", to_seconds(now.time_since_epoch()),
                         c.at(i).name.c_str(), l.text.c_str());
        };
    }
    // Who an outlier is: a slowest observer, named with what it held then.
    auto describe = [&](std::size_t i) {
        const Node& n = c.at(i).node->node();
        return c.at(i).name + " (local health " + std::to_string(n.local_health()) + ", " +
               std::to_string(n.members().size()) + " members held)";
    };
    auto slowest = [&](const std::map<std::size_t, Time>& seen) {
        auto it = std::max_element(seen.begin(), seen.end(), [](const auto& a, const auto& b) {
            return a.second < b.second;
        });
        return it == seen.end() ? std::string("nobody") : describe(it->first);
    };
    auto add = [&](const std::vector<std::size_t>& seeds) {
        std::size_t i = c.add_node(seeds);
        index[c.at(i).id] = i;
        return i;
    };

    // 1. Build the cluster from one seed and let it settle.
    add({});
    for (std::size_t i = 1; i < opts.nodes; ++i) {
        c.run_for(join_spacing(opts.nodes));
        add({0});
    }
    std::vector<std::size_t> everyone(opts.nodes);
    for (std::size_t i = 0; i < opts.nodes; ++i) everyone[i] = i;
    Time settle_start{};
    r.settled = c.run_until([&] { return c.all_see_live(everyone); }, 600s, 500ms);
    r.settle_s = to_seconds(c.now() - settle_start);
    // Idle means idle: wait until the join announcements have finished spreading and every
    // table agrees (anti-entropy repairs what gossip missed during the mass join).
    c.run_until([&] { return c.quiet() && c.tables_agree(); }, 300s, 500ms);
    r.converged_s = to_seconds(c.now() - settle_start);
    say(std::string(r.settled ? "settled" : "did NOT settle") + ": " + std::to_string(opts.nodes) +
        " members see each other after " + fmt(r.settle_s, 1) + " s (simulated)");
    if (!r.settled) {
        r.wall_s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
        return r;
    }

    const Duration total = from_seconds(std::max(20.0, opts.seconds));
    const Time t0 = c.now();
    const Time t_join = t0 + total * 3 / 10, t_kill = t0 + total / 2, t_leave = t0 + total * 3 / 4;
    const Time t_end = t0 + total;

    // 2. Idle traffic.
    std::uint64_t bytes0 = c.total_bytes_sent();
    std::uint64_t dgrams0 = 0;
    for (std::size_t i = 0; i < c.size(); ++i) dgrams0 += c.at(i).datagrams_sent;
    c.run_until(t_join);
    double idle_s = to_seconds(t_join - t0);
    std::uint64_t dgrams1 = 0;
    for (std::size_t i = 0; i < c.size(); ++i) dgrams1 += c.at(i).datagrams_sent;
    r.bytes_per_node_per_s = static_cast<double>(c.total_bytes_sent() - bytes0) /
                             static_cast<double>(opts.nodes) / idle_s;
    r.datagrams_per_node_per_s =
        static_cast<double>(dgrams1 - dgrams0) / static_cast<double>(opts.nodes) / idle_s;
    say("idle traffic: " + fmt(r.bytes_per_node_per_s, 0) + " B/s and " +
        fmt(r.datagrams_per_node_per_s, 2) +
        " datagrams/s sent per member (IPv4+UDP headers included)");

    // 3. One more member joins.
    newcomer = add({0});
    auto others_have = [&](std::map<std::size_t, Time>& seen, std::size_t subject) {
        for (auto i : c.running())
            if (i != subject && !seen.count(i)) return false;
        return true;
    };
    c.run_until([&] { return others_have(joined_seen, newcomer); }, t_kill - c.now(), 1ms);
    if (others_have(joined_seen, newcomer)) {
        Time last{};
        for (auto& [i, t] : joined_seen) last = std::max(last, t);
        r.join_converge_s = to_seconds(last - t_join);
        say(c.at(newcomer).name + " joined; every member saw it alive after " +
            fmt(r.join_converge_s) + " s");
    } else {
        std::string missing;
        std::size_t count = 0;
        for (auto i : c.running())
            if (i != newcomer && !joined_seen.count(i) && count++ < 3)
                missing += (missing.empty() ? "" : ", ") + describe(i);
        say(c.at(newcomer).name + " joined, but not every member saw it before the kill: " +
            std::to_string(count) + " did not, among them " + missing);
    }
    c.run_until(t_kill);

    // 4. Kill one member (not the seed, not the newcomer).
    Rng pick = Rng::from_u64(opts.seed ^ 0x6b696c6cULL);
    victim = 1 + static_cast<std::size_t>(pick.below(opts.nodes - 1));
    really_down.insert(victim);
    c.crash(victim);
    say("killed " + c.at(victim).name + " at t=" + fmt(to_seconds(t_kill - t0), 1) + " s");
    c.run_until([&] { return others_have(dead_seen, victim); }, t_leave - c.now(), 1ms);
    std::vector<double> detect;
    for (auto i : c.running()) {
        auto it = dead_seen.find(i);
        if (it == dead_seen.end())
            ++r.detect_missing;
        else
            detect.push_back(to_seconds(it->second - t_kill));
    }
    r.detect = summarize(detect);
    std::sort(detect.begin(), detect.end());
    r.detect_samples = std::move(detect);
    say("every survivor marked it dead: min " + fmt(r.detect.min) + " s, median " +
        fmt(r.detect.median) + " s, last " + fmt(r.detect.max) + " s" +
        (r.detect_missing ? " (" + std::to_string(r.detect_missing) + " never did)" : "") +
        ", the last " + slowest(dead_seen));
    c.run_until(t_leave);

    // 5. Another member leaves gracefully.
    do {
        leaver = 1 + static_cast<std::size_t>(pick.below(opts.nodes - 1));
    } while (leaver == victim && opts.nodes > 2);
    c.leave(leaver);
    c.run_until([&] { return others_have(left_seen, leaver); }, t_end - c.now(), 1ms);
    if (others_have(left_seen, leaver)) {
        Time last{};
        for (auto& [i, t] : left_seen) last = std::max(last, t);
        r.leave_all_s = to_seconds(last - t_leave);
        say(c.at(leaver).name + " left; every member saw it leave after " + fmt(r.leave_all_s) +
            " s, the last " + slowest(left_seen));
    } else {
        say(c.at(leaver).name + " left, but not every member saw it before the end");
    }
    c.run_until(t_end);

    r.false_positives = falsely_dead.size();
    for (std::size_t i = 0; i < c.size(); ++i) {
        if (!c.at(i).node) continue;
        const Stats& s = c.at(i).node->node().stats();
        r.suspicions += s.suspicions_raised;
        r.refutations += s.suspicions_refuted;
        r.stalls += s.stalls;
    }
    say("false deaths: " + std::to_string(r.false_positives) + "; suspicions raised: " +
        std::to_string(r.suspicions) + ", refuted: " + std::to_string(r.refutations));
    r.trace_hash = c.trace_hash();
    r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    return r;
}

std::string to_json(const ScenarioResult& r) {
    char hash[32];
    std::snprintf(hash, sizeof(hash), "%016llx", static_cast<unsigned long long>(r.trace_hash));
    auto num = [](double v) { return v < 0 ? std::string("null") : fmt(v, 4); };
    std::string j = "{";
    j += "\"nodes\":" + std::to_string(r.opts.nodes);
    j += ",\"profile\":\"" + std::string(to_string(r.opts.profile)) + "\"";
    j += ",\"loss\":" + fmt(r.opts.loss, 4);
    j += ",\"rng_seed\":" + std::to_string(r.opts.seed);
    j += ",\"seconds\":" + fmt(r.opts.seconds, 1);
    j += ",\"settled\":" + std::string(r.settled ? "true" : "false");
    j += ",\"settle_s\":" + fmt(r.settle_s, 2);
    j += ",\"converged_s\":" + fmt(r.converged_s, 2);
    j += ",\"join_converge_s\":" + num(r.join_converge_s);
    j += ",\"detect_s\":{\"min\":" + fmt(r.detect.min, 4) +
         ",\"median\":" + fmt(r.detect.median, 4) + ",\"p99\":" + fmt(r.detect.p99, 4) +
         ",\"all\":" +
         (r.detect_missing || r.detect.count == 0 ? std::string("null") : fmt(r.detect.max, 4)) +
         ",\"survivors_missing\":" + std::to_string(r.detect_missing) + ",\"samples\":[";
    for (std::size_t i = 0; i < r.detect_samples.size(); ++i) {
        if (i) j += ',';
        j += fmt(r.detect_samples[i], 4);
    }
    j += "]}";
    j += ",\"false_positives\":" + std::to_string(r.false_positives);
    j += ",\"leave_all_s\":" + num(r.leave_all_s);
    j += ",\"bytes_per_node_per_s\":" + fmt(r.bytes_per_node_per_s, 1);
    j += ",\"datagrams_per_node_per_s\":" + fmt(r.datagrams_per_node_per_s, 2);
    j += ",\"suspicions\":" + std::to_string(r.suspicions);
    j += ",\"refutations\":" + std::to_string(r.refutations);
    j += ",\"trace_hash\":\"" + std::string(hash) + "\"";
    j += ",\"wall_s\":" + fmt(r.wall_s, 2);
    j += "}";
    return j;
}

}  // namespace shoal::sim
