#include "gossip/wire/keyring.hpp"

#include <gtest/gtest.h>

using namespace shoal;

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
    std::string err;
    auto ring = Keyring::parse(file, err);
    ASSERT_TRUE(ring) << err;
    EXPECT_EQ(ring->size(), 2u);
    EXPECT_EQ(ring->primary(), a);
}

TEST(Keyring, BadLinesAreNamed) {
    std::string err;
    EXPECT_FALSE(Keyring::parse("# ok\nnot-a-key\n", err));
    EXPECT_NE(err.find("line 2"), std::string::npos);
    EXPECT_FALSE(Keyring::parse("# only comments\n", err));
    EXPECT_NE(err.find("no key"), std::string::npos);
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
    std::string err;
    std::vector<int> lines{99};
    ASSERT_TRUE(Keyring::parse(file, err, &lines)) << err;
    EXPECT_EQ(lines, (std::vector<int>{2, 4}));
}
