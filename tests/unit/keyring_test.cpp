#include "gossip/wire/keyring.hpp"

#include <gtest/gtest.h>

#include "error_of.hpp"

using namespace shoal;
using shoal::test::error_of;

TEST(Keyring, KeysRoundTripThroughTheirTextForm) {
    ClusterKey k{};
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(i * 7);
    auto text = Keyring::encode_key(k);
    EXPECT_EQ(text.size(), 44u);
    EXPECT_EQ(Keyring::decode_key(text), k);
    EXPECT_FALSE(Keyring::decode_key(text.substr(0, 40)));
    EXPECT_FALSE(Keyring::decode_key(text + "AA"));
}

TEST(Keyring, FileHasOneKeyPerLineWithComments) {
    ClusterKey a{}, b{};
    b[0] = 1;
    std::string file = "# rotation in progress\n" + Keyring::encode_key(a) + "\n\n  " +
                       Keyring::encode_key(b) + "  \n";
    auto ring = Keyring::parse(file);
    ASSERT_TRUE(ring) << ring.error();
    EXPECT_EQ(ring->size(), 2u);
    EXPECT_EQ(ring->primary(), a);
}

TEST(Keyring, BadLinesAreNamed) {
    EXPECT_NE(error_of(Keyring::parse("# ok\nnot-a-key\n")).find("line 2"), std::string::npos);
    EXPECT_NE(error_of(Keyring::parse("# only comments\n")).find("no key"), std::string::npos);
}

TEST(Keyring, FingerprintsDifferAndRevealNothingOfTheKey) {
    ClusterKey a{}, b{};
    b[31] = 1;
    EXPECT_NE(Keyring::fingerprint(a), Keyring::fingerprint(b));
    EXPECT_EQ(Keyring::fingerprint(a).size(), 16u);
    EXPECT_EQ(Keyring::encode_key(a).find(Keyring::fingerprint(a)), std::string::npos);
}

TEST(Keyring, ParseReportsTheLineOfEachKey) {
    ClusterKey a{}, b{};
    b[0] = 1;
    std::string file =
        "# new key first\n" + Keyring::encode_key(b) + "\n\n" + Keyring::encode_key(a) + "\n";
    std::vector<int> lines{99};
    ASSERT_EQ(error_of(Keyring::parse(file, &lines)), "");
    EXPECT_EQ(lines, (std::vector<int>{2, 4}));
}
