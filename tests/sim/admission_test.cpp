// Admission by node certificates (issue 13): under enforce only members certified by a trusted
// CA are admitted, and a certificate's subnet is its member's only claim and beats every dynamic
// claim. Each test fails without the check it names (`ctest -L adversary`).
#include <gtest/gtest.h>

#include "mallory.hpp"

using namespace shoal;
using namespace shoal::test;

namespace {

class Admission : public ::testing::TestWithParam<std::uint64_t> {
  protected:
    // Six certified nodes; node i's certificate names subnet slot i when `subnets`.
    SimCluster cluster(AdmissionMode mode, bool subnets) {
        sim::ClusterOptions o = options(GetParam(), Profile::Lan, 0);
        o.admission = mode;
        o.certified_subnets = subnets;
        return SimCluster(6, std::move(o));
    }
    // A certificate for Mallory's key from `ca`.
    static std::vector<std::uint8_t> cert_for(const Mallory& m, const Identity& ca,
                                              const std::string& name,
                                              std::optional<Ipv4Net> subnet = std::nullopt) {
        auto c =
            issue_certificate(Certificate{ca.public_key(), m.id.public_key(), name, subnet, 0}, ca);
        EXPECT_TRUE(c);
        return c ? *c : std::vector<std::uint8_t>{};
    }
    // Mallory announces to every node; true if any node admitted it.
    static bool admitted_anywhere(SimCluster& s, Mallory& m, std::optional<Claim> claim) {
        auto& c = s.c();
        for (auto i : c.running()) m.announce(c, i, 1, claim);
        c.run_for(2s);
        for (auto i : c.running())
            if (c.at(i).node->node().members().find(m.id.id())) return true;
        return false;
    }
    static std::uint64_t total(const sim::Cluster& c, Rejection r) {
        std::uint64_t n = 0;
        for (auto i : c.running()) n += rejected(c, i, r);
        return n;
    }
};
INSTANTIATE_TEST_SUITE_P(Sim, Admission, ::testing::Values(51, 52, 53));

}  // namespace

TEST_P(Admission, EnforceRefusesEveryMemberWithoutAValidCertificate) {
    SimCluster s = cluster(AdmissionMode::Enforce, true);
    auto& c = s.c();
    ASSERT_TRUE(settled(s));
    Mallory none(GetParam() + 1);
    EXPECT_FALSE(admitted_anywhere(s, none, std::nullopt));
    EXPECT_EQ(total(c, Rejection::Uncertified), c.running().size());

    Mallory foreign(GetParam() + 2);
    Rng rng = Rng::from_u64(GetParam());
    Identity other_ca = Identity::generate(rng);
    foreign.certificate = cert_for(foreign, other_ca, "mallory");
    EXPECT_FALSE(admitted_anywhere(s, foreign, std::nullopt));

    // A certificate stolen from node 1: its key is not Mallory's.
    Mallory thief(GetParam() + 3);
    thief.name = c.at(1).name;
    thief.certificate = c.at(1).certificate;
    EXPECT_FALSE(admitted_anywhere(s, thief, std::nullopt));
    EXPECT_EQ(total(c, Rejection::UntrustedCertificate), 2 * c.running().size());

    Mallory renamed(GetParam() + 4);
    renamed.certificate = cert_for(renamed, *c.ca(), "someone-else");
    EXPECT_FALSE(admitted_anywhere(s, renamed, std::nullopt));
    EXPECT_EQ(total(c, Rejection::CertificateName), c.running().size());

    // Properly certified: admitted.
    Mallory member(GetParam() + 5);
    member.certificate = cert_for(member, *c.ca(), "mallory");
    EXPECT_TRUE(admitted_anywhere(s, member, std::nullopt));
    EXPECT_EQ(s.false_deaths(), 0u);
}

// A certified member that claims another subnet than its certificate's (here node 2's, with the
// oldest clock there is) is refused, and node 2 keeps its subnet.
TEST_P(Admission, AClaimOutsideTheCertificateIsRefused) {
    SimCluster s = cluster(AdmissionMode::Enforce, true);
    auto& c = s.c();
    ASSERT_TRUE(settled(s));
    Mallory m(GetParam() + 6);
    m.certificate = cert_for(m, *c.ca(), "mallory", c.network().subnet(40));
    EXPECT_FALSE(admitted_anywhere(s, m, Claim{2, 0}));
    EXPECT_EQ(total(c, Rejection::ClaimOutsideCertificate), c.running().size());
    EXPECT_EQ(agreed_owner(c, 2), c.at(2).id);
    EXPECT_EQ(c.at(2).node->slot(), 2u);
}

// Permissive admits the uncertified (and counts them), but a certificate's subnet still beats
// any dynamic claim: an uncertified newcomer's clock-0 claim on node 3's certified subnet (the
// oldest claim possible, which wins by clock alone) takes nothing.
TEST_P(Admission, ACertifiedSubnetBeatsAnOlderDynamicClaim) {
    SimCluster s = cluster(AdmissionMode::Permissive, true);
    auto& c = s.c();
    ASSERT_TRUE(settled(s));
    for (auto i : c.running()) EXPECT_EQ(c.at(i).node->uncertified_members(), 0u);
    Mallory m(GetParam() + 7);
    for (auto i : c.running()) m.announce(c, i, 1, Claim{3, 0});
    c.run_for(100ms);
    // Admitted and counted (until it is found dead: it answers no probe).
    for (auto i : c.running()) EXPECT_EQ(c.at(i).node->uncertified_members(), 1u);
    c.run_for(3s);
    EXPECT_EQ(agreed_owner(c, 3), c.at(3).id);
    EXPECT_EQ(c.at(3).node->slot(), 3u);
    EXPECT_EQ(s.false_deaths(), 0u);
}

// Certificates without subnets: members claim dynamically, one subnet each, as in the open mode.
TEST_P(Admission, CertificatesWithoutSubnetsClaimDynamically) {
    SimCluster s = cluster(AdmissionMode::Enforce, false);
    auto& c = s.c();
    ASSERT_TRUE(settled(s));
    ASSERT_TRUE(c.run_until(
        [&] {
            std::set<std::uint32_t> slots;
            for (auto i : c.running())
                if (auto slot = c.at(i).node->slot()) slots.insert(*slot);
            return slots.size() == c.running().size();
        },
        10s));
    EXPECT_EQ(total(c, Rejection::Uncertified), 0u);
}

// A revocation given to one member reaches every member within seconds, and the revoked host,
// still running and still holding the cluster key, is out: expelled everywhere, its subnet free
// and unrouted, its new announcements and its accusations refused.
TEST_P(Admission, ARevokedMemberIsExpelledEverywhereWhileItRuns) {
    SimCluster s = cluster(AdmissionMode::Enforce, true);
    auto& c = s.c();
    ASSERT_TRUE(settled(s));
    const std::size_t revoked = 4;
    const NodeId rid = c.at(revoked).id;
    Revocation r = revoke_certificate(fingerprint_of(c.at(revoked).certificate), *c.ca());
    EXPECT_TRUE(c.act(0, [&](SubnetNode& n) { return n.add_revocation(c.now(), r); }));
    // Again, or forged by a member (Mallory's key is not a trusted CA): nothing more.
    EXPECT_FALSE(c.act(0, [&](SubnetNode& n) { return n.add_revocation(c.now(), r); }));
    Revocation forged = r;
    forged.cert = fingerprint_of(c.at(2).certificate);
    EXPECT_FALSE(c.act(0, [&](SubnetNode& n) { return n.add_revocation(c.now(), forged); }));
    auto out_everywhere = [&] {
        for (auto i : c.running()) {
            if (i == revoked) continue;
            auto st = c.view(i, revoked);
            if (st && is_present(*st)) return false;
            if (agreed_owner(c, static_cast<std::uint32_t>(revoked))) return false;
        }
        return true;
    };
    ASSERT_TRUE(c.run_until(out_everywhere, 5s));
    // It keeps announcing (a refutation at a higher incarnation) and accusing: refused.
    c.act(revoked, [&](SubnetNode& n) {
        n.set_address(c.now(), c.at(revoked).addr);  // a fresh announcement
        return true;
    });
    c.run_for(3s);
    EXPECT_TRUE(out_everywhere());
    std::uint64_t refused = 0;
    for (auto i : c.running())
        if (i != revoked) refused += rejected(c, i, Rejection::CertificateRevoked);
    EXPECT_GT(refused, 0u);
    // Its signed accusation of node 1 counts for nothing.
    const NodeId victim = c.at(1).id;
    const std::uint32_t inc = c.at(1).node->node().incarnation();
    Rng rng = Rng::from_u64(GetParam());
    send_sealed(
        c, 0, c.at(revoked).addr, rng,
        {Suspect{victim, inc, rid,
                 sign_accusation(*c.at(revoked).identity, Accusation::Suspect, victim, inc)}});
    EXPECT_EQ(c.view(0, 1), MemberState::Alive);
    EXPECT_EQ(rejected(c, 0, Rejection::UnsignedAccusation), 1u);
    EXPECT_TRUE(c.all_see_alive({0, 1, 2, 3, 5}));
    for (auto i : c.running())
        if (i != revoked) {
            EXPECT_NE(c.view(i, revoked), MemberState::Alive) << rid.short_hex();
        }
}

// Under admission a force-leave frees a dead member's subnet only on the CA's order: a key
// holder's unsigned one, or one "signed" by a CA nobody trusts, changes nothing.
TEST_P(Admission, OnlyTheCaMayForceADeadMemberOut) {
    SimCluster s = cluster(AdmissionMode::Enforce, true);
    auto& c = s.c();
    ASSERT_TRUE(settled(s));
    const std::size_t dead = 3;
    const NodeId did = c.at(dead).id;
    const std::uint32_t inc = c.at(dead).node->node().incarnation();
    c.crash(dead);
    ASSERT_TRUE(c.run_until([&] { return s.all_others_see(dead, MemberState::Dead); }, 10s));

    Mallory m(GetParam() + 8);
    m.certificate = cert_for(m, *c.ca(), "mallory");
    for (auto i : c.running()) m.announce(c, i, 1, std::nullopt);
    Rng rng = Rng::from_u64(GetParam());
    Identity rogue_ca = Identity::generate(rng);
    ForceLeave rogue = sign_force_leave(did, inc, rogue_ca);
    for (auto i : c.running()) {
        m.send(c, i, {Left{did, inc, {}}});
        m.send(c, i,
               {Left{did, inc, std::vector<std::uint8_t>(rogue.sig.begin(), rogue.sig.end()),
                     rogue.ca}});
    }
    c.run_for(1s);
    EXPECT_TRUE(s.all_others_see(dead, MemberState::Dead));
    for (auto i : c.running()) EXPECT_GE(rejected(c, i, Rejection::UnsignedLeave), 2u);
    // The operator without the CA's order is told how to get it.
    Status refused = c.act(0, [&](SubnetNode& n) { return n.force_leave(c.now(), did.hex()); });
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().find("shoal ca force-leave"), std::string::npos) << refused.error();

    ForceLeave order = sign_force_leave(did, inc, *c.ca());
    Status done = c.act(0, [&](SubnetNode& n) { return n.force_leave(c.now(), did.hex(), order); });
    ASSERT_TRUE(done) << done.error();
    EXPECT_TRUE(c.run_until([&] { return s.all_others_see(dead, MemberState::Left); }, 5s));
    EXPECT_FALSE(agreed_owner(c, dead));
}

// A certificate that expires while its member runs: expelled once the wall clock passes its end,
// but never by a clock that is not plausible (a device without a real-time clock boots in 1970).
TEST_P(Admission, AnExpiredMemberIsExpelledOnlyByAPlausibleClock) {
    SimCluster s = cluster(AdmissionMode::Enforce, true);
    auto& c = s.c();
    ASSERT_TRUE(settled(s));
    const std::size_t short_lived = 4;
    auto cert = issue_certificate(
        Certificate{c.ca()->public_key(), c.at(short_lived).identity->public_key(),
                    c.at(short_lived).name, c.network().subnet(short_lived),
                    kPlausibleUnixTime + 3600},
        *c.ca());
    ASSERT_TRUE(cert);
    c.set_certificate(short_lived, *cert);
    c.crash(short_lived);
    c.restart(short_lived, {0});
    ASSERT_TRUE(c.run_until([&] { return c.all_see_alive(s.all()); }, 10s));
    auto set_clock = [&](std::uint64_t unix_now) {
        for (auto i : c.running())
            c.act(i, [&](SubnetNode& n) {
                n.set_wall_clock(c.now(), unix_now);
                return true;
            });
        c.run_for(100ms);
    };
    set_clock(1000);  // 1970: no expiry is checked
    EXPECT_TRUE(c.all_see_alive(s.all()));
    set_clock(kPlausibleUnixTime + 3599);
    EXPECT_TRUE(c.all_see_alive(s.all()));
    set_clock(kPlausibleUnixTime + 3601);
    for (auto i : c.running())
        if (i != short_lived) {
            EXPECT_EQ(c.view(i, short_lived), MemberState::Left) << i;
        }
    EXPECT_FALSE(agreed_owner(c, short_lived));
    EXPECT_TRUE(c.all_see_alive({0, 1, 2, 3, 5}));
}

// A host that joins after a revocation learns it from the members it announces itself to, and
// so never admits the revoked host, which is still running and talking.
TEST_P(Admission, AJoinerLearnsEarlierRevocations) {
    SimCluster s = cluster(AdmissionMode::Enforce, true);
    auto& c = s.c();
    ASSERT_TRUE(settled(s));
    const std::size_t revoked = 4;
    Revocation r = revoke_certificate(fingerprint_of(c.at(revoked).certificate), *c.ca());
    c.act(0, [&](SubnetNode& n) { return n.add_revocation(c.now(), r); });
    c.run_for(10s);  // long past the revocation's dissemination
    const std::size_t joiner = s.add();
    c.run_for(2s);
    EXPECT_EQ(c.at(joiner).node->revocations().size(), 1u);
    // The revoked host announces itself to the joiner directly.
    Rng rng = Rng::from_u64(GetParam());
    send_sealed(c, joiner, c.at(revoked).addr, rng,
                {c.at(revoked).node->node().members().find(c.at(revoked).id)->alive()});
    c.run_for(3s);
    EXPECT_GE(rejected(c, joiner, Rejection::CertificateRevoked), 1u);
    auto seen = c.view(joiner, revoked);
    EXPECT_TRUE(!seen || !is_present(*seen)) << to_string(*seen);
    EXPECT_FALSE(agreed_owner(c, revoked));
}

// A joiner is sent the revocations unasked, so a key holder could announce identities "at" a
// third party's address (spoofing it as the source) to aim every member's whole list at it.
// Bounded per destination: 20 such identities against 600 revocations (75 datagrams each, 1500
// in all unbounded) get the third party at most the limiter's burst.
TEST_P(Admission, RevocationsSentUnaskedAreBoundedPerDestination) {
    SimCluster s = cluster(AdmissionMode::Permissive, false);
    auto& c = s.c();
    ASSERT_TRUE(settled(s));
    Rng rng = Rng::from_u64(GetParam());
    c.act(0, [&](SubnetNode& n) {
        for (int i = 0; i < 600; ++i) {
            Fingerprint fp;
            rng.fill(fp);
            EXPECT_TRUE(n.add_revocation(c.now(), revoke_certificate(fp, *c.ca())));
        }
        return true;
    });
    c.run_for(20s);
    const Address victim{0x0a0000c8, 7946};  // on the segment, no member's
    const std::uint64_t before = c.at(0).datagrams_sent;
    for (int i = 0; i < 20; ++i) {
        Mallory m(GetParam() * 100 + static_cast<std::uint64_t>(i));
        m.addr = victim;
        m.announce(c, 0, 1, std::nullopt);
    }
    c.run_for(10ms);
    const std::uint64_t sent = c.at(0).datagrams_sent - before;
    EXPECT_LE(sent, 100u);  // 64 to the victim at most, plus node 0's own gossip
    EXPECT_GE(sent, 64u);   // the first joiner did get the burst
}
