// The host check's decisions on a virtual clock: which dead members keep their routes, for how
// long, and which replies count as evidence (the forged ones are `ctest -L adversary`).
#include <gtest/gtest.h>

#include <algorithm>

#include "agent/host_check.hpp"
#include "agent/icmp_echo.hpp"

using namespace shoal;
using namespace shoal::agent;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t kAddr = 0xc0a84d02;     // 192.168.77.2
constexpr std::uint32_t kGateway = 0x0af40501;  // 10.244.5.1

// One member's host, answering (or not) at its address and its pod gateway, with no delay.
struct Harness {
    explicit Harness(HostCheckSettings s = {}) : settings(s), check(s, Rng::from_u64(3)) {}
    HostCheckSettings settings;
    HostCheck check;
    Time now{};
    HostSubject member{NodeId{{1}}, "h2", kAddr, kGateway, MemberState::Alive};
    bool addr_answers = true, gateway_answers = false;
    std::vector<Echo> sent;  // every echo, in order
    std::vector<std::string> logs;
    // Called for each echo instead of the host's answer (a forger's chance to reply).
    std::function<void(const Echo&)> on_echo;

    void set(MemberState state) {
        member.state = state;
        check.follow(now, {member});
        pump();
    }
    // Suspect for 1.5 s (the echo rounds run), then dead.
    void fail() {
        set(MemberState::Suspect);
        run_for(1500ms);
        set(MemberState::Dead);
    }
    void pump() {
        while (auto e = check.poll_echo()) {
            sent.push_back(*e);
            if (on_echo) {
                on_echo(*e);
                continue;
            }
            bool answers = e->to == kAddr ? addr_answers : gateway_answers;
            if (answers) check.on_reply(now, e->to, e->seq, e->token);
        }
        while (auto l = check.poll_log()) logs.push_back(l->text);
    }
    // Runs every deadline up to now + d, each `lateness` after it is due (a starved agent).
    void run_for(Duration d, Duration lateness = Duration::zero()) {
        Time end = now + d;
        while (auto t = check.poll_timeout()) {
            if (*t + lateness > end) break;
            now = std::max(now, *t + lateness);
            check.handle_timeout(now);
            pump();
        }
        now = end;
    }
    // How long until the route is no longer kept (at most `limit`).
    Duration until_released(Duration limit) {
        Time start = now;
        while (check.keeps_route(member.id) && now - start < limit) run_for(10ms);
        return now - start;
    }
    bool logged(const std::string& part) const {
        return std::any_of(logs.begin(), logs.end(),
                           [&](const auto& l) { return l.find(part) != std::string::npos; });
    }
    std::size_t echoes_to(std::uint32_t addr) const {
        return static_cast<std::size_t>(
            std::count_if(sent.begin(), sent.end(), [&](const Echo& e) { return e.to == addr; }));
    }
};

// Alive for a second (its baseline echo answered, or not), then suspect, then dead.
void suspect_then_dead(Harness& h) {
    h.set(MemberState::Alive);
    h.run_for(1s);
    h.fail();
}

}  // namespace

TEST(HostCheck, AHostThatAnswersKeepsItsDeadMembersRouteUntilTwoRoundsGoUnanswered) {
    Harness h;
    suspect_then_dead(h);
    EXPECT_TRUE(h.check.keeps_route(h.member.id));
    EXPECT_TRUE(h.check.host_answers(h.member.id));
    EXPECT_EQ(h.check.kept(true), std::set<NodeId>{h.member.id});
    EXPECT_TRUE(h.check.take_changed());
    h.run_for(30s);  // a frozen agent on a healthy host: kept, and still echoed every second
    EXPECT_TRUE(h.check.keeps_route(h.member.id));
    EXPECT_TRUE(h.logged("its host answers, route kept"));
    std::size_t before = h.echoes_to(kAddr);
    h.run_for(10s);
    EXPECT_GE(h.echoes_to(kAddr) - before, 30u);  // 3 echoes a second
    EXPECT_LE(h.echoes_to(kAddr) - before, 33u);
    h.addr_answers = false;  // now the host is gone too
    Duration took = h.until_released(10s);
    EXPECT_FALSE(h.check.keeps_route(h.member.id));
    EXPECT_GE(took, 1s);
    EXPECT_LE(took, 2500ms);
    EXPECT_TRUE(h.logged("stopped answering (2 rounds"));
    EXPECT_TRUE(h.check.take_changed());
    before = h.sent.size();
    h.run_for(10s);
    EXPECT_EQ(h.sent.size(), before);  // released: no more echoes until it is alive again
}

TEST(HostCheck, AHostThatNeverAnsweredWhileAliveGetsTheWithdrawalAtOnce) {
    Harness h;
    h.addr_answers = false;  // echoes filtered on that host
    h.set(MemberState::Alive);
    h.run_for(1s);
    std::size_t baseline = h.sent.size();
    EXPECT_EQ(h.echoes_to(kAddr), 1u);
    h.addr_answers = true;  // it would answer now, but it never did while alive
    h.fail();
    EXPECT_FALSE(h.check.keeps_route(h.member.id));
    EXPECT_EQ(h.sent.size(), baseline);  // not eligible: not echoed either
}

TEST(HostCheck, ADeadHostGoesAtOnceAfterAnUnansweredSuspicionAndWithinOneRoundWhenItsDeathIsNews) {
    Harness h;
    h.set(MemberState::Alive);
    h.run_for(1s);
    h.addr_answers = false;  // killed, link down
    h.fail();
    EXPECT_FALSE(h.check.keeps_route(h.member.id));
    EXPECT_TRUE(h.logged("did not answer since the suspicion began"));

    // Heard dead without a suspicion here first: kept only for its first round of echoes.
    Harness news;
    news.set(MemberState::Alive);
    news.run_for(1s);
    news.addr_answers = false;
    news.set(MemberState::Dead);
    EXPECT_TRUE(news.check.keeps_route(news.member.id));
    EXPECT_FALSE(news.check.host_answers(news.member.id));
    Duration took = news.until_released(5s);
    EXPECT_LE(took, news.settings.echo_gap * 2 + news.settings.reply_window + 10ms);
    EXPECT_FALSE(news.check.keeps_route(news.member.id));
}

TEST(HostCheck, RouteHoldEndsTheKeeping) {
    HostCheckSettings s;
    s.route_hold = 5s;
    Harness h(s);
    suspect_then_dead(h);
    h.run_for(4s);
    EXPECT_TRUE(h.check.keeps_route(h.member.id));
    h.run_for(1s + 10ms);
    EXPECT_FALSE(h.check.keeps_route(h.member.id));
    EXPECT_TRUE(h.logged("route-hold (5 s) ended"));
}

TEST(HostCheck, OffWhenRouteHoldIsZero) {
    HostCheckSettings s;
    s.route_hold = 0s;
    Harness h(s);
    EXPECT_FALSE(h.check.enabled());
    suspect_then_dead(h);
    h.run_for(5s);
    EXPECT_FALSE(h.check.keeps_route(h.member.id));
    EXPECT_TRUE(h.sent.empty());
}

TEST(HostCheck, AMemberAliveAgainNeedsNewEvidenceNextTime) {
    Harness h;
    suspect_then_dead(h);
    ASSERT_TRUE(h.check.keeps_route(h.member.id));
    h.set(MemberState::Alive);  // its agent is back
    EXPECT_FALSE(h.check.keeps_route(h.member.id));
    h.run_for(2s);
    h.addr_answers = false;
    h.fail();
    EXPECT_FALSE(h.check.keeps_route(h.member.id));
}

TEST(HostCheck, RoundsDoNotFailWhileOurOwnLinkIsDown) {
    Harness h;
    suspect_then_dead(h);
    h.check.set_link_up(false);
    h.addr_answers = false;  // our echoes cannot leave
    h.run_for(5s);
    EXPECT_TRUE(h.check.keeps_route(h.member.id));
    h.check.set_link_up(true);
    EXPECT_LE(h.until_released(5s), 2500ms);
}

TEST(HostCheck, AnAgentWhoseTimersFireLateDoesNotTakeItsLatenessForASilentHost) {
    Harness h;
    suspect_then_dead(h);
    // Every round's echoes go out at once, 400 ms late; their replies still need time to come.
    h.run_for(20s, 400ms);
    EXPECT_TRUE(h.check.keeps_route(h.member.id));
    EXPECT_FALSE(h.logged("stopped answering"));
    h.addr_answers = false;  // late or not, a silent host is still released
    h.run_for(5s, 400ms);
    EXPECT_FALSE(h.check.keeps_route(h.member.id));
}

TEST(HostCheck, ThePodGatewayCountsIfItAnsweredWhileAlive) {
    Harness h;
    h.addr_answers = false;  // the host's own address filters echoes; its pod bridge does not
    h.gateway_answers = true;
    suspect_then_dead(h);
    EXPECT_TRUE(h.check.keeps_route(h.member.id));
    EXPECT_GT(h.echoes_to(kGateway), 3u);
    EXPECT_EQ(h.echoes_to(kAddr), 1u);  // the baseline only: not eligible
}

TEST(HostCheck, AMemberThatMovedIsNotVouchedForByItsOldAddress) {
    Harness h;
    h.set(MemberState::Alive);
    h.run_for(1s);
    h.member.addr = kAddr + 1;  // re-addressed; nothing there has answered yet
    h.addr_answers = false;
    h.fail();
    EXPECT_FALSE(h.check.keeps_route(h.member.id));
}

TEST(HostCheck, ADeadMembersAddressTakenByANewMemberEndsTheKeeping) {
    Harness h;
    suspect_then_dead(h);
    ASSERT_TRUE(h.check.keeps_route(h.member.id));
    // The host, reinstalled, joins under a new identity at the same address: what answers there
    // now is the new member's host, which does not serve the old subnet.
    HostSubject reborn{NodeId{{2}}, "h2-new", kAddr, 0x0af40601, MemberState::Alive};
    h.check.follow(h.now, {h.member, reborn});
    h.pump();
    EXPECT_FALSE(h.check.keeps_route(h.member.id));
    EXPECT_TRUE(h.logged("its address now belongs to h2-new"));
}

// A key holder (or anyone on the segment) who wants a dead host's route kept must answer for
// it: replies from another address, or without the token of the echo, are not evidence.
TEST(HostCheckAdversary, ForgedRepliesDoNotKeepADeadHostsRoute) {
    Harness h;
    h.set(MemberState::Alive);
    h.run_for(1s);
    h.on_echo = [&](const Echo& e) {
        h.check.on_reply(h.now, e.to + 7, e.seq, e.token);  // from elsewhere
        h.check.on_reply(h.now, e.to, e.seq, e.token ^ 1);  // a guessed token
        h.check.on_reply(h.now, e.to, static_cast<std::uint16_t>(e.seq + 1), e.token);
    };
    h.fail();
    EXPECT_FALSE(h.check.keeps_route(h.member.id));
    EXPECT_EQ(h.check.replies(), 1u);  // the baseline's, before the forger
}

// Evidence is what answered since the suspicion began: a late reply to the baseline echo sent
// while the member was alive does not make a dead host's route stay.
TEST(HostCheckAdversary, AReplyToAnEchoSentBeforeTheSuspicionDoesNotCount) {
    Harness h;
    h.set(MemberState::Alive);
    h.run_for(1s);
    h.run_for(h.settings.baseline_interval);  // the second baseline echo ...
    std::vector<Echo> held;
    h.on_echo = [&](const Echo& e) { held.push_back(e); };
    h.run_for(h.settings.baseline_interval);  // ... the third, held back
    ASSERT_FALSE(held.empty());
    Echo late = held.back();
    held.clear();
    h.set(MemberState::Suspect);
    h.check.on_reply(h.now, late.to, late.seq, late.token);
    h.run_for(1500ms);
    h.set(MemberState::Dead);
    EXPECT_FALSE(h.check.keeps_route(h.member.id));
}

TEST(IcmpEcho, ARequestEncodesAndItsReplyDecodes) {
    auto req = encode_echo_request(0x1234, 0x0506, 0x0102030405060708ull);
    ASSERT_EQ(req.size(), 16u);
    EXPECT_EQ(req[0], 8);  // echo request
    // The reply a host sends: type 0, checksum adjusted by the difference.
    auto reply = req;
    reply[0] = 0;
    std::uint32_t sum = ((reply[2] << 8) | reply[3]) + 0x0800;
    sum = (sum & 0xffff) + (sum >> 16);
    reply[2] = static_cast<std::uint8_t>(sum >> 8);
    reply[3] = static_cast<std::uint8_t>(sum);
    auto r = decode_echo_reply(reply, false, std::nullopt, kAddr);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->from, kAddr);
    EXPECT_EQ(r->seq, 0x0506);
    EXPECT_EQ(r->token, 0x0102030405060708ull);
    EXPECT_TRUE(decode_echo_reply(reply, false, 0x1234, kAddr));
    EXPECT_FALSE(decode_echo_reply(reply, false, 0x1235, kAddr));      // another process's ping
    EXPECT_FALSE(decode_echo_reply(req, false, std::nullopt, kAddr));  // a request
    auto bad = reply;
    bad[10] ^= 1;
    EXPECT_FALSE(decode_echo_reply(bad, false, std::nullopt, kAddr));  // checksum
    for (std::size_t n = 0; n < reply.size(); ++n)
        EXPECT_FALSE(decode_echo_reply({reply.data(), n}, false, std::nullopt, kAddr)) << n;

    // A raw socket's copy starts with the IPv4 header.
    std::vector<std::uint8_t> ip(20, 0);
    ip[0] = 0x45;
    ip.insert(ip.end(), reply.begin(), reply.end());
    EXPECT_TRUE(decode_echo_reply(ip, true, 0x1234, kAddr));
    for (std::uint8_t first : {0x44, 0x65, 0x4f}) {  // header too short, IPv6, longer than sent
        ip[0] = first;
        EXPECT_FALSE(decode_echo_reply(ip, true, 0x1234, kAddr)) << int(first);
    }
    for (std::size_t n = 0; n < 24; ++n)
        EXPECT_FALSE(decode_echo_reply({ip.data(), n}, true, 0x1234, kAddr)) << n;
}
