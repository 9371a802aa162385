#include "gossip/wire/announcement.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "gossip/ownership/network_config.hpp"
#include "gossip/wire/msgpack_reader.hpp"
#include "gossip/wire/msgpack_writer.hpp"

using namespace shoal;

namespace {
struct Fixture {
    Rng rng = Rng::from_u64(7);
    Identity me = Identity::generate(rng);
    Identity other = Identity::generate(rng);
    // 10.244.1.0/24 .. 10.244.255.0/24: slots 0 to 254.
    NetworkConfig net = *NetworkConfig::make({"10.244.0.0/16"});
    Announcement ann() const {
        return Announcement{me.public_key(), "node-a", Address{0x0a000001, 7946}, 4, Claim{9, 17},
                            net.digest(),    "0.1.0"};
    }
};
Rejection rejection(const std::variant<Announcement, Rejection>& r) {
    return std::holds_alternative<Rejection>(r) ? std::get<Rejection>(r) : Rejection::Count;
}
}  // namespace

TEST(Announcement, SignedAnnouncementVerifies) {
    Fixture f;
    Alive a = seal_announcement(f.ann(), f.me, 1);
    EXPECT_EQ(a.id, f.me.id());
    EXPECT_EQ(a.id, node_id_for(f.me.public_key()));
    auto opened = open_announcement(a, f.net.digest(), f.net.slots());
    ASSERT_TRUE(std::holds_alternative<Announcement>(opened));
    auto& got = std::get<Announcement>(opened);
    EXPECT_EQ(got.claim, (Claim{9, 17}));
    EXPECT_EQ(got.inc, 4u);
    EXPECT_EQ(got.version, "0.1.0");
}

TEST(Announcement, EveryTamperingIsCaught) {
    Fixture f;
    Alive good = seal_announcement(f.ann(), f.me, 1);
    Alive moved = good;
    moved.addr.ip += 1;  // the unsigned outer address differs from the signed one
    EXPECT_EQ(rejection(open_announcement(moved, f.net.digest(), f.net.slots())),
              Rejection::FieldMismatch);
    Alive bumped = good;
    bumped.inc += 1;
    EXPECT_EQ(rejection(open_announcement(bumped, f.net.digest(), f.net.slots())),
              Rejection::FieldMismatch);
    for (std::size_t i = 0; i < good.meta.size(); ++i) {
        Alive t = good;
        t.meta[i] ^= 0x20;
        auto r = rejection(open_announcement(t, f.net.digest(), f.net.slots()));
        EXPECT_TRUE(r == Rejection::BadSignature || r == Rejection::Malformed) << "byte " << i;
    }
    auto other = *NetworkConfig::make({"10.245.0.0/16"});
    EXPECT_EQ(rejection(open_announcement(good, other.digest(), other.slots())),
              Rejection::ForeignNetwork);
}

// A validly signed claim may still name a slot past the network's end: slot 16628487 of
// 10.244.0.0/16 in /24s is 8.8.8.0/24, which every host would have routed to the claimant.
TEST(Announcement, AClaimOutsideThePodNetworkIsRefused) {
    Fixture f;
    auto with_claim = [&](Claim c) {
        Announcement a = f.ann();
        a.claim = c;
        return rejection(
            open_announcement(seal_announcement(a, f.me, 1), f.net.digest(), f.net.slots()));
    };
    EXPECT_EQ(with_claim({f.net.slots() - 1, 1}), Rejection::Count);  // the last slot is fine
    EXPECT_EQ(with_claim({f.net.slots(), 1}), Rejection::ClaimOutOfRange);
    EXPECT_EQ(with_claim({16628487, 1}), Rejection::ClaimOutOfRange);
    EXPECT_EQ(with_claim({UINT32_MAX, 1}), Rejection::ClaimOutOfRange);
    // A clock near 2^64 would make the next claim wrap to 0, the oldest possible.
    EXPECT_EQ(with_claim({3, kMaxClaimClock}), Rejection::Count);
    EXPECT_EQ(with_claim({3, kMaxClaimClock + 1}), Rejection::ClaimOutOfRange);
    EXPECT_EQ(with_claim({3, UINT64_MAX}), Rejection::ClaimOutOfRange);
}

TEST(Announcement, NobodyElseCanSpeakForANode) {
    Fixture f;
    // `other` signs an announcement carrying `me`'s key: the signature does not verify.
    Announcement a = f.ann();
    Alive forged = seal_announcement(a, f.other, 1);
    forged.id = f.me.id();
    EXPECT_EQ(rejection(open_announcement(forged, f.net.digest(), f.net.slots())),
              Rejection::BadSignature);
    // `other` signs with its own key but claims `me`'s id.
    a.key = f.other.public_key();
    Alive claimed = seal_announcement(a, f.other, 1);
    claimed.id = f.me.id();
    EXPECT_EQ(rejection(open_announcement(claimed, f.net.digest(), f.net.slots())),
              Rejection::IdMismatch);
}

TEST(Announcement, LeavesAreSignedPerIncarnation) {
    Fixture f;
    auto sig = sign_leave(f.me, 5);
    EXPECT_TRUE(verify_leave(f.me.public_key(), 5, sig));
    EXPECT_FALSE(verify_leave(f.me.public_key(), 6, sig));
    EXPECT_FALSE(verify_leave(f.other.public_key(), 5, sig));
    EXPECT_FALSE(verify_leave(f.me.public_key(), 5, std::vector<std::uint8_t>{}));
}

TEST(Announcement, IdentityFollowsFromTheSeed) {
    Fixture f;
    Identity again(f.me.seed());
    EXPECT_EQ(again.id(), f.me.id());
    EXPECT_EQ(again.public_key(), f.me.public_key());
}

// SubnetNode hands its claim and IPv6 address to the membership core as an opaque payload that
// starts with the claim field's own bytes, exactly what the signed body carries.
TEST(Announcement, ThePlacementRoundTripsAndItsClaimIsAsTheBodyCarriesIt) {
    Fixture f;
    Ipv6Addr six = *parse_ipv6("fd00:77::2");
    for (std::optional<Claim> c : {std::optional<Claim>{}, std::optional<Claim>{Claim{9, 17}},
                                   std::optional<Claim>{Claim{UINT32_MAX, kMaxClaimClock}}}) {
        for (std::optional<Ipv6Addr> a6 : {std::optional<Ipv6Addr>{}, std::optional{six}}) {
            auto payload = encode_placement({c, a6});
            Placement back{Claim{1, 1}, std::nullopt};
            ASSERT_TRUE(decode_placement(payload, back));
            EXPECT_EQ(back, (Placement{c, a6}));
            Announcement a = f.ann();
            a.claim = c;
            a.addr6 = a6;
            Alive sealed = seal_announcement(a, f.me, 1);
            auto field = encode_placement({c, std::nullopt});
            EXPECT_NE(
                std::search(sealed.meta.begin(), sealed.meta.end(), field.begin(), field.end()),
                sealed.meta.end());
            if (c && c->slot >= f.net.slots()) continue;
            auto opened = open_announcement(sealed, f.net.digest(), f.net.slots());
            ASSERT_TRUE(std::holds_alternative<Announcement>(opened));
            EXPECT_EQ(std::get<Announcement>(opened).addr6, a6);
        }
    }
    Placement out;
    EXPECT_FALSE(decode_placement(std::vector<std::uint8_t>{}, out));
    auto one = encode_placement({Claim{9, 17}, std::nullopt});
    one.push_back(0);  // trailing bytes: not an address
    EXPECT_FALSE(decode_placement(one, out));
    EXPECT_FALSE(decode_placement(std::vector<std::uint8_t>{0x91, 0x01}, out));  // [1]: one element
    auto short6 = encode_placement({Claim{9, 17}, std::nullopt});
    short6.insert(short6.end(), {0xc4, 0x04, 1, 2, 3, 4});  // bin(4): not an IPv6 address
    EXPECT_FALSE(decode_placement(short6, out));
}

// An IPv6 address every host would route a pod subnet through is checked like a claim: a key
// holder announcing a multicast, loopback, link-local or unspecified one is refused outright.
TEST(Announcement, AnAddressNoHostCanBeRoutedThroughIsRefused) {
    Fixture f;
    for (const char* bad : {"::", "::1", "ff02::1", "fe80::1", "::ffff:10.0.0.1"}) {
        Announcement a = f.ann();
        a.addr6 = *parse_ipv6(bad);
        auto opened = open_announcement(seal_announcement(a, f.me, 2), f.net.digest(), 16);
        ASSERT_TRUE(std::holds_alternative<Rejection>(opened)) << bad;
        EXPECT_EQ(std::get<Rejection>(opened), Rejection::BadAddress6) << bad;
    }
    for (const char* good : {"2001:db8::7", "fd00:77::2"}) {
        Announcement a = f.ann();
        a.addr6 = *parse_ipv6(good);
        auto opened = open_announcement(seal_announcement(a, f.me, 2), f.net.digest(), 16);
        EXPECT_TRUE(std::holds_alternative<Announcement>(opened)) << good;
    }
}

// A certified announcement with an IPv6 address: the certificate field stays where readers
// before dual stack look for it, and one with an address but no certificate has none.
TEST(Announcement, TheAddressGoesAfterTheCertificateField) {
    Fixture f;
    Announcement a = f.ann();
    a.addr6 = *parse_ipv6("fd00:77::2");
    auto opened = open_announcement(seal_announcement(a, f.me, 2), f.net.digest(), 16);
    ASSERT_TRUE(std::holds_alternative<Announcement>(opened));
    EXPECT_TRUE(std::get<Announcement>(opened).certificate.empty());
    EXPECT_EQ(std::get<Announcement>(opened).addr6, a.addr6);
}

TEST(Announcement, AccusationsAreSignedPerKindMemberAndIncarnation) {
    Fixture f;
    NodeId victim = f.other.id();
    auto sig = sign_accusation(f.me, Accusation::Suspect, victim, 5);
    EXPECT_TRUE(verify_accusation(f.me.public_key(), Accusation::Suspect, victim, 5, sig));
    EXPECT_FALSE(verify_accusation(f.me.public_key(), Accusation::Dead, victim, 5, sig));
    EXPECT_FALSE(verify_accusation(f.me.public_key(), Accusation::Suspect, victim, 6, sig));
    EXPECT_FALSE(verify_accusation(f.me.public_key(), Accusation::Suspect, f.me.id(), 5, sig));
    EXPECT_FALSE(verify_accusation(f.other.public_key(), Accusation::Suspect, victim, 5, sig));
    // Not a leave signature either: the domains differ.
    EXPECT_FALSE(verify_leave(f.me.public_key(), 5, sig));
}

// Protocol 2 appends the boot nonce; a protocol-1 body (ten fields) still opens, with none.
TEST(Announcement, TheBootNonceTravelsAndAProtocolOneBodyHasNone) {
    Fixture f;
    Announcement a = f.ann();
    a.boot = 0x0123456789abcdefULL;
    auto opened = open_announcement(seal_announcement(a, f.me, 2), f.net.digest(), f.net.slots());
    ASSERT_TRUE(std::holds_alternative<Announcement>(opened));
    EXPECT_EQ(std::get<Announcement>(opened).boot, a.boot);

    // A protocol-1 member's body: the same fields without the nonce, signed as it signed them.
    std::vector<std::uint8_t> body;
    MsgWriter w(body);
    w.array(10);
    w.str("shoal/announce/1");
    w.bin(f.me.public_key());
    w.str("node-a");
    w.uint(0x0a000001);
    w.uint(7946);
    w.uint(4);
    w.array(0);
    w.bin(f.net.digest());
    w.str("0.1.0");
    w.uint(0);
    auto sig = f.me.sign(body);
    Alive v1{f.me.id(), 4, "node-a", Address{0x0a000001, 7946}, 1, {}};
    MsgWriter mw(v1.meta);
    mw.array(2);
    mw.bin(body);
    mw.bin(sig);
    auto old = open_announcement(v1, f.net.digest(), f.net.slots());
    ASSERT_TRUE(std::holds_alternative<Announcement>(old));
    EXPECT_EQ(std::get<Announcement>(old).boot, 0u);
    EXPECT_FALSE(std::get<Announcement>(old).claim);
}

// The largest honest announcement without a certificate (a 253-character name, a 64-character
// version, a claim, an IPv6 address) fits the 600-byte bound with room to spare (519 bytes); a
// longer meta does not decode.
TEST(Announcement, TheLargestAnnouncementFitsTheBound) {
    Fixture f;
    Announcement a = f.ann();
    a.name = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
             std::string(61, 'd');
    a.version = std::string(64, 'v');
    a.claim = Claim{UINT32_MAX, kMaxClaimClock};
    a.restart_hold_ms = UINT32_MAX;
    a.boot = UINT64_MAX;
    a.addr6 = *parse_ipv6("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
    Alive sealed = seal_announcement(a, f.me, 2);
    EXPECT_LE(sealed.meta.size(), kMaxMetaLen - 64);
    std::vector<std::uint8_t> enc;
    Alive big = sealed;
    big.meta.resize(kMaxMetaLen + 1);
    encode_message(big, enc);
    MsgReader r(enc);
    EXPECT_FALSE(decode_message(r));
}
