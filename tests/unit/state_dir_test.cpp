#include "agent/state_dir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "agent/credential_files.hpp"
#include "error_of.hpp"
#include "temp_dir.hpp"

using namespace shoal;
using namespace shoal::agent;
using shoal::test::error_of;
using shoal::test::TempDir;
namespace fs = std::filesystem;

namespace {
void write(const std::string& path, const std::string& text, fs::perms perms) {
    std::ofstream(path) << text;
    fs::permissions(path, perms);
}
}  // namespace

TEST(StateDir, MissingKeyCreatesAPrivateIdentityOnce) {
    TempDir d;
    auto first = load_or_create_identity(d.path + "/state");
    ASSERT_EQ(error_of(first), "");
    EXPECT_TRUE(first->created);
    struct stat st {};
    ASSERT_EQ(::stat((d.path + "/state/node.key").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(::stat((d.path + "/state").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    auto again = load_or_create_identity(d.path + "/state");
    ASSERT_EQ(error_of(again), "");
    EXPECT_FALSE(again->created);
    EXPECT_EQ(again->identity.id(), first->identity.id());
}

TEST(StateDir, BadKeysAreErrorsNeverANewIdentity) {
    TempDir d;
    std::string key = d.path + "/node.key";
    write(key, "garbage\n", fs::perms::owner_read | fs::perms::owner_write);
    EXPECT_NE(error_of(load_or_create_identity(d.path)).find("corrupt"), std::string::npos);
    write(key, "shoal-node-key 1\nAAAA\n", fs::perms::owner_read | fs::perms::owner_write);
    EXPECT_NE(error_of(load_or_create_identity(d.path)).find("corrupt"), std::string::npos);
    ASSERT_EQ(error_of(load_or_create_identity(d.path + "/fresh")), "");
    fs::copy_file(d.path + "/fresh/node.key", key, fs::copy_options::overwrite_existing);
    fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_read);
    auto err = error_of(load_or_create_identity(d.path));
    EXPECT_NE(err.find("chmod 600"), std::string::npos) << err;
    fs::remove(key);
    fs::create_directory(key);  // unreadable as a file
    EXPECT_NE(error_of(load_or_create_identity(d.path)).find("cannot read"), std::string::npos);
    // The broken key is still there: nothing replaced it.
    EXPECT_TRUE(fs::is_directory(key));
}

TEST(StateDir, StateRoundTripsAtomically) {
    TempDir d;
    auto empty = load_state(d.path, test::pod_network());
    ASSERT_EQ(error_of(empty), "");
    EXPECT_EQ(empty->node.incarnation, 0u);
    SavedState s;
    s.node.incarnation = 42;
    s.node.claim = Claim{7, 19};
    s.peers = {*Address::parse("10.0.0.2:7946"), *Address::parse("10.0.0.3:7946")};
    s.node.boot = 0xfedcba9876543210ULL;
    NodeId gone;
    gone.bytes.fill(0xa5);
    s.node.tombstones = {Tombstone{gone, UINT32_MAX}};
    Rng rng = Rng::from_u64(3);
    Fingerprint revoked;
    revoked.fill(0xfe);
    s.node.revocations = {revoke_certificate(revoked, Identity::generate(rng))};
    ASSERT_EQ(error_of(save_state(d.path, s)), "");
    auto back = load_state(d.path, test::pod_network());
    ASSERT_EQ(error_of(back), "");
    EXPECT_EQ(*back, s);
    for (const auto& e : fs::directory_iterator(d.path))
        EXPECT_EQ(e.path().extension(), "") << "left behind " << e.path();
    s.node.claim.reset();
    ASSERT_EQ(error_of(save_state(d.path, s)), "");
    EXPECT_FALSE(load_state(d.path, test::pod_network())->node.claim);
}

TEST(StateDir, CorruptStateNamesTheLine) {
    TempDir d;
    auto bad = [&](const std::string& text) {
        write(d.path + "/state", text, fs::perms::owner_read | fs::perms::owner_write);
        auto r = load_state(d.path, test::pod_network());
        return error_of(r);
    };
    EXPECT_NE(bad("").find("line 1"), std::string::npos);
    EXPECT_NE(bad("shoal-state 1\nincarnation x\n").find("line 2"), std::string::npos);
    EXPECT_NE(bad("shoal-state 1\nincarnation 1\nclaim 5\n").find("line 3"), std::string::npos);
    EXPECT_NE(bad("shoal-state 1\npeer 1.2.3\n").find("bad peer"), std::string::npos);
    EXPECT_NE(bad("shoal-state 1\nsubnet 10.0.0.0/24\n").find("unknown key"), std::string::npos);
    EXPECT_NE(bad("shoal-state 1\nboot xyz\n").find("bad boot nonce"), std::string::npos);
    EXPECT_NE(bad("shoal-state 1\ntombstone abc 3\n").find("bad tombstone"), std::string::npos);
    EXPECT_NE(bad("shoal-state 1\nshoal-revoke aa bb cc\n").find("line 2"), std::string::npos);
    // Well formed, but its signature does not verify: altered.
    Rng rng = Rng::from_u64(4);
    Fingerprint fp;
    fp.fill(1);
    std::string line = format_revocation(revoke_certificate(fp, Identity::generate(rng)));
    line[line.size() - 10] = line[line.size() - 10] == 'A' ? 'B' : 'A';
    EXPECT_NE(bad("shoal-state 1\n" + line).find("does not verify"), std::string::npos)
        << bad("shoal-state 1\n" + line);
    EXPECT_NE(bad("shoal-state 1\ntombstone " + std::string(32, 'a') + " -1\n").find("line 2"),
              std::string::npos);
}

// A saved claim is checked like a received one: outside the pod network it is an error naming
// the line, never a route to an address outside the network.
TEST(StateDir, AClaimOutsideTheNetworkIsAnError) {
    TempDir d;
    auto load = [&](const std::string& claim) {
        write(d.path + "/state", "shoal-state 1\nincarnation 3\n" + claim + "\n",
              fs::perms::owner_read | fs::perms::owner_write);
        auto r = load_state(d.path, test::pod_network());
        return error_of(r);
    };
    EXPECT_EQ(load("claim 254 7"), "");  // the last of 255 /24s in 10.244.0.0/16
    auto err = load("claim 255 7");
    EXPECT_NE(err.find("line 3"), std::string::npos) << err;
    EXPECT_NE(err.find("outside the pod network"), std::string::npos) << err;
    EXPECT_NE(load("claim 16628487 7").find("line 3"), std::string::npos);
    err = load("claim 3 18446744073709551615");
    EXPECT_NE(err.find("line 3"), std::string::npos) << err;
    EXPECT_NE(err.find("clock"), std::string::npos) << err;
}
