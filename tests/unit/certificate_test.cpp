#include "gossip/wire/certificate.hpp"

#include <gtest/gtest.h>

#include "gossip/ownership/network_config.hpp"
#include "gossip/wire/announcement.hpp"

using namespace shoal;

namespace {
struct Fixture {
    Rng rng = Rng::from_u64(11);
    Identity ca = Identity::generate(rng);
    Identity node = Identity::generate(rng);
    Certificate cert() const {
        return Certificate{ca.public_key(), node.public_key(), "node-1", Ipv4Net{0x0af40300, 24},
                           1'900'000'000};
    }
};
}  // namespace

TEST(Certificate, IssuedCertificateOpensToWhatWasSigned) {
    Fixture f;
    auto bytes = issue_certificate(f.cert(), f.ca);
    ASSERT_TRUE(bytes) << bytes.error();
    // Small enough to ride in every announcement.
    EXPECT_LE(bytes->size(), 200u);
    auto opened = open_certificate(*bytes);
    ASSERT_TRUE(opened) << opened.error();
    EXPECT_EQ(*opened, f.cert());
    Certificate dynamic = f.cert();
    dynamic.subnet.reset();
    dynamic.not_after = 0;
    auto d = issue_certificate(dynamic, f.ca);
    ASSERT_TRUE(d);
    EXPECT_EQ(*open_certificate(*d), dynamic);
    EXPECT_NE(fingerprint_of(*d), fingerprint_of(*bytes));
}

TEST(Certificate, AnyChangedByteIsRefused) {
    Fixture f;
    auto bytes = *issue_certificate(f.cert(), f.ca);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        auto bad = bytes;
        bad[i] ^= 0x01;
        auto opened = open_certificate(bad);
        // A flip may still decode to the same certificate only where msgpack has slack; none here.
        EXPECT_FALSE(opened && *opened == f.cert()) << "byte " << i;
    }
    for (std::size_t n = 0; n < bytes.size(); ++n)
        EXPECT_FALSE(open_certificate(std::span(bytes).first(n))) << "truncated to " << n;
}

TEST(Certificate, OnlyItsCaSignsAndOnlyValidFieldsAreIssued) {
    Fixture f;
    Certificate c = f.cert();
    EXPECT_FALSE(issue_certificate(c, f.node));  // names another CA than the signer
    c.name = "Not_A_Host";
    EXPECT_FALSE(issue_certificate(c, f.ca));
    c = f.cert();
    c.name = std::string(kMaxCertName + 1, 'a');
    EXPECT_FALSE(issue_certificate(c, f.ca));
    c = f.cert();
    c.subnet = Ipv4Net{0x0af40301, 24};  // not a network address
    EXPECT_FALSE(issue_certificate(c, f.ca));
}

TEST(Certificate, RevocationIsSignedByItsCa) {
    Fixture f;
    auto fp = fingerprint_of(*issue_certificate(f.cert(), f.ca));
    Revocation r = revoke_certificate(fp, f.ca);
    EXPECT_TRUE(check_revocation(r));
    Revocation forged = r;
    forged.ca = f.node.public_key();
    EXPECT_FALSE(check_revocation(forged));
    Revocation other = r;
    other.cert[0] ^= 1;
    EXPECT_FALSE(check_revocation(other));
}

TEST(Certificate, RidesInTheSignedAnnouncement) {
    Fixture f;
    NetworkConfig net = *NetworkConfig::make({"10.244.0.0/16"});
    Announcement a{f.node.public_key(), "node-1", Address{0x0a000001, 7946}, 4, Claim{2, 1},
                   net.digest(),        "0.3.0"};
    a.certificate = *issue_certificate(f.cert(), f.ca);
    auto opened = open_announcement(seal_announcement(a, f.node, 2), net.digest(), net.slots());
    ASSERT_TRUE(std::holds_alternative<Announcement>(opened));
    const auto& got = std::get<Announcement>(opened);
    EXPECT_EQ(got.certificate, a.certificate);
    ASSERT_TRUE(got.cert);
    EXPECT_EQ(*got.cert, f.cert());
    // Another node's certificate is carried but not taken as this member's.
    Identity thief = Identity::generate(f.rng);
    a.key = thief.public_key();
    auto stolen = open_announcement(seal_announcement(a, thief, 2), net.digest(), net.slots());
    ASSERT_TRUE(std::holds_alternative<Announcement>(stolen));
    EXPECT_FALSE(std::get<Announcement>(stolen).cert);
    // Without one, the body is what protocol 2 always wrote.
    a.certificate.clear();
    a.key = f.node.public_key();
    auto plain = open_announcement(seal_announcement(a, f.node, 2), net.digest(), net.slots());
    ASSERT_TRUE(std::holds_alternative<Announcement>(plain));
    EXPECT_FALSE(std::get<Announcement>(plain).cert);
}

TEST(Certificate, ForceLeaveIsSignedByItsCaForOneIncarnation) {
    Fixture f;
    NodeId id = f.node.id();
    ForceLeave order = sign_force_leave(id, 7, f.ca);
    EXPECT_TRUE(check_force_leave(order));
    ForceLeave later = order;
    later.inc = 8;
    EXPECT_FALSE(check_force_leave(later));
    ForceLeave other = order;
    other.id.bytes[0] ^= 1;
    EXPECT_FALSE(check_force_leave(other));
    ForceLeave forged = order;
    forged.ca = f.node.public_key();
    EXPECT_FALSE(check_force_leave(forged));
}
