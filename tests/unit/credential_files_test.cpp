#include "agent/credential_files.hpp"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/hex.hpp"
#include "error_of.hpp"
#include "temp_dir.hpp"

using namespace shoal;
using namespace shoal::agent;
using shoal::test::error_of;
using shoal::test::TempDir;
namespace fs = std::filesystem;

namespace {

Identity identity(std::uint8_t fill) {
    KeySeed seed;
    seed.fill(fill);
    return Identity(seed);
}

void write(const std::string& path, const std::string& text, unsigned mode = 0644) {
    fs::remove(path);
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
}

std::string slurp(const std::string& path) {
    std::ostringstream s;
    s << std::ifstream(path).rdbuf();
    return s.str();
}

std::string b64(std::span<const std::uint8_t> bytes) {
    std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(),
                      sodium_base64_VARIANT_ORIGINAL);
    out.pop_back();
    return out;
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

#define EXPECT_ERROR(result, ...)                                                        \
    do {                                                                                 \
        const std::string err_ = error_of(result);                                       \
        EXPECT_FALSE(err_.empty()) << "no error";                                        \
        for (const std::string& part_ : std::initializer_list<std::string>{__VA_ARGS__}) \
            EXPECT_TRUE(contains(err_, part_)) << "'" << part_ << "' not in: " << err_;  \
    } while (0)

struct Issued {
    Identity ca = identity(1);
    Identity node = identity(2);
    Certificate cert;
    std::vector<std::uint8_t> bytes;
    Issued(std::optional<Ipv4Net> subnet = Ipv4Net{0x0af40500, 24}, std::uint64_t not_after = 0) {
        cert = Certificate{ca.public_key(), node.public_key(), "node-01.lan", subnet, not_after};
        bytes = *issue_certificate(cert, ca);
    }
};

}  // namespace

TEST(CredentialFiles, CaKeyRoundTripIsPrivateAndNeverOverwritten) {
    TempDir d;
    const std::string path = d.path + "/ca.key";
    const Identity ca = identity(7);
    ASSERT_EQ(error_of(write_ca_key(path, ca)), "");
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(slurp(path).rfind("shoal-ca-key 1\n", 0), 0u);
    auto read = read_ca_key(path);
    ASSERT_EQ(error_of(read), "");
    EXPECT_EQ(read->public_key(), ca.public_key());
    EXPECT_EQ(read->seed(), ca.seed());

    const std::string before = slurp(path);
    EXPECT_ERROR(write_ca_key(path, identity(8)), path + " exists; not overwriting");
    EXPECT_EQ(slurp(path), before);
    EXPECT_FALSE(fs::exists(path + ".shoal-new"));
}

TEST(CredentialFiles, CaKeyToleratesCommentsAndBlankLines) {
    TempDir d;
    const std::string path = d.path + "/ca.key";
    const Identity ca = identity(9);
    write(path, "# my CA\n\nshoal-ca-key 1\r\n  # backup 2024\n" + b64(ca.seed()) + "\n\n", 0600);
    auto read = read_ca_key(path);
    ASSERT_EQ(error_of(read), "");
    EXPECT_EQ(read->public_key(), ca.public_key());
}

TEST(CredentialFiles, CaKeyReadableByOthersIsRefused) {
    TempDir d;
    const std::string path = d.path + "/ca.key";
    ASSERT_EQ(error_of(write_ca_key(path, identity(3))), "");
    for (unsigned mode : {0640u, 0604u, 0620u, 0644u}) {
        ::chmod(path.c_str(), mode);
        EXPECT_ERROR(read_ca_key(path), path, "chmod 600 " + path);
    }
}

TEST(CredentialFiles, MalformedCaKeysNameTheLineAndNeverTheKey) {
    TempDir d;
    const std::string path = d.path + "/ca.key";
    const std::string good = b64(identity(4).seed());
    KeySeed short_seed{};
    auto short_key = b64(std::span(short_seed).first(16));
    write(path, "shoal-node-key 1\n" + good + "\n", 0600);
    EXPECT_ERROR(read_ca_key(path), path + " line 1: expected 'shoal-ca-key 1'");
    write(path, "# c\nshoal-ca-key 1\n" + good.substr(0, 30) + "\n", 0600);  // truncated
    EXPECT_ERROR(read_ca_key(path), path + " line 3: not a CA key");
    write(path, "shoal-ca-key 1\n" + short_key + "\n", 0600);  // 16 bytes
    EXPECT_ERROR(read_ca_key(path), path + " line 2: not a CA key");
    write(path, "shoal-ca-key 1\n" + good + "\n" + good + "\n", 0600);
    EXPECT_ERROR(read_ca_key(path), path + " line 3: unexpected line");
    write(path, "shoal-ca-key 1\n", 0600);
    EXPECT_ERROR(read_ca_key(path), path + " holds no key after its header (line 1)");
    write(path, "", 0600);
    EXPECT_ERROR(read_ca_key(path), path + " holds no key");
    write(path, "shoal-ca-key 1\n" + good.substr(0, 30) + "\n", 0600);
    EXPECT_FALSE(contains(error_of(read_ca_key(path)), good.substr(0, 30)));
    EXPECT_ERROR(read_ca_key(d.path + "/missing"), "cannot open " + d.path + "/missing");
    EXPECT_ERROR(read_ca_key(d.path), d.path + " is not a regular file");
}

TEST(CredentialFiles, CaPubsRoundTripWithCommentsAndRotation) {
    TempDir d;
    const std::string path = d.path + "/ca.pub";
    const auto a = identity(5).public_key(), b = identity(6).public_key();
    const std::string line = format_ca_pub(a, "old CA\nshoal-ca-pub injected");
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "a comment must not start a new line";
    write(path, "# rotation: old then new\n" + line + "\n" + format_ca_pub(b, ""));
    auto keys = read_ca_pubs(path);
    ASSERT_EQ(error_of(keys), "");
    EXPECT_EQ(*keys, (std::vector<PublicKey>{a, b}));
}

TEST(CredentialFiles, MalformedCaPubs) {
    TempDir d;
    const std::string path = d.path + "/ca.pub";
    const std::string key = b64(identity(5).public_key());
    write(path, "# nothing\n\n");
    EXPECT_ERROR(read_ca_pubs(path), path + " holds no CA key");
    write(path, "shoal-ca-pub " + key + "\nshoal-ca-key " + key + "\n");
    EXPECT_ERROR(read_ca_pubs(path), path + " line 2: expected 'shoal-ca-pub BASE64");
    write(path, "shoal-ca-pub " + key.substr(0, 43) + "\n");
    EXPECT_ERROR(read_ca_pubs(path), path + " line 1: the CA key is not 32 bytes");
    write(path, "shoal-ca-pub " + b64(std::span(identity(5).public_key()).first(31)) + "\n");
    EXPECT_ERROR(read_ca_pubs(path), path + " line 1: the CA key is not 32 bytes");
    write(path, "shoal-ca-pub\n");
    EXPECT_ERROR(read_ca_pubs(path), path + " line 1: expected");
    EXPECT_ERROR(read_ca_pubs(d.path + "/none"), "cannot open " + d.path + "/none");
}

TEST(CredentialFiles, NodePubRoundTripAndMismatches) {
    const Identity node = identity(11);
    const std::string line = format_node_pub(node);
    EXPECT_EQ(line, "shoal-node-pub " + b64(node.public_key()) + " " + node.id().hex() + "\n");
    auto key = parse_node_pub("# from host a\n" + line, "a.pub");
    ASSERT_EQ(error_of(key), "");
    EXPECT_EQ(*key, node.public_key());

    const Identity other = identity(12);
    EXPECT_ERROR(
        parse_node_pub("shoal-node-pub " + b64(node.public_key()) + " " + other.id().hex() + "\n",
                       "a.pub"),
        "a.pub line 1: the node id does not match the key");
    EXPECT_ERROR(parse_node_pub(line + format_node_pub(other), "a.pub"),
                 "a.pub line 2: a second 'shoal-node-pub' line (the first is line 1)");
    EXPECT_ERROR(parse_node_pub("", "stdin"), "stdin holds no 'shoal-node-pub' line");
    EXPECT_ERROR(parse_node_pub("shoal-ca-pub " + b64(node.public_key()) + "\n", "x"),
                 "x line 1: expected 'shoal-node-pub BASE64 NODE-ID-HEX'");
    EXPECT_ERROR(
        parse_node_pub("shoal-node-pub " + b64(node.public_key()).substr(4) + " " + node.id().hex(),
                       "x"),
        "x line 1: the node key is not 32 bytes");
    EXPECT_ERROR(parse_node_pub("shoal-node-pub " + b64(node.public_key()) + " xyz", "x"),
                 "x line 1: the node id is not 32 hex digits");
    EXPECT_ERROR(parse_node_pub(std::string(kMaxCredentialFile + 1, '#'), "big"),
                 "big is larger than 1 MiB");
}

TEST(CredentialFiles, CertificateRoundTripWithReadableSummary) {
    TempDir d;
    const std::string path = d.path + "/node.crt";
    for (auto [subnet, not_after] :
         {std::pair<std::optional<Ipv4Net>, std::uint64_t>{Ipv4Net{0x0af40500, 24}, 1767225600},
          {std::nullopt, 0}}) {
        Issued i(subnet, not_after);
        const std::string text = format_certificate(i.bytes, i.cert);
        const std::string expected_head =
            "# shoal node certificate\n# name node-01.lan\n# node key " + b64(i.node.public_key()) +
            "\n" + (subnet ? "# subnet 10.244.5.0/24\n" : "# subnet any (claimed dynamically)\n") +
            (not_after ? "# expires 2026-01-01T00:00:00Z\n" : "# expires never\n") + "# CA " +
            b64(i.ca.public_key()) + "\n# fingerprint " + to_hex(fingerprint_of(i.bytes)) +
            "\nshoal-cert " + b64(i.bytes) + "\n";
        EXPECT_EQ(text, expected_head);
        write(path, text);
        auto read = read_certificate(path);
        ASSERT_EQ(error_of(read), "");
        EXPECT_EQ(read->bytes, i.bytes);
        EXPECT_EQ(read->cert, i.cert);
    }
}

TEST(CredentialFiles, MalformedCertificates) {
    TempDir d;
    const std::string path = d.path + "/node.crt";
    Issued i;
    const std::string good = b64(i.bytes);

    auto tampered = i.bytes;
    tampered[tampered.size() - 70] ^= 1;  // inside the body: the name or the subnet
    write(path, "shoal-cert " + b64(tampered) + "\n");
    EXPECT_ERROR(read_certificate(path), path + " line 1: ", "altered or damaged");
    auto bad_sig = i.bytes;
    bad_sig.back() ^= 1;
    write(path, "shoal-cert " + b64(bad_sig) + "\n");
    EXPECT_ERROR(read_certificate(path), path + " line 1: the CA's signature does not verify");

    write(path, "# x\nshoal-cert " + good.substr(0, good.size() - 3) + "\n");
    EXPECT_ERROR(read_certificate(path), path + " line 2: not base64", "truncated");
    write(path, "shoal-cert " + good.substr(0, good.size() - 8) + "\n");  // whole quanta
    EXPECT_ERROR(read_certificate(path), path + " line 1: not a shoal certificate");
    write(path, "shoal-crt " + good + "\n");
    EXPECT_ERROR(read_certificate(path), path + " line 1: expected 'shoal-cert BASE64'");
    write(path, "shoal-cert " + good + " extra\n");
    EXPECT_ERROR(read_certificate(path), path + " line 1: expected 'shoal-cert BASE64'");
    write(path, "shoal-cert " + good + "\nshoal-cert " + good + "\n");
    EXPECT_ERROR(read_certificate(path), path + " line 2: a second 'shoal-cert' line");
    write(path, "# only comments\n");
    EXPECT_ERROR(read_certificate(path), path + " holds no 'shoal-cert' line");
    std::vector<std::uint8_t> big(kMaxCertificateLen + 1, 0x90);
    write(path, "shoal-cert " + b64(big) + "\n");
    EXPECT_ERROR(read_certificate(path), path + " line 1: not base64 of at most 300 bytes");
}

TEST(CredentialFiles, RevocationsRoundTripAndTampering) {
    TempDir d;
    const std::string path = d.path + "/revocations";
    const Identity ca = identity(1), other = identity(9);
    Fingerprint f1{}, f2{};
    f1.fill(0xab);
    f2.fill(0x01);
    const Revocation r1 = revoke_certificate(f1, ca), r2 = revoke_certificate(f2, other);
    const std::string l1 = format_revocation(r1);
    EXPECT_EQ(l1,
              "shoal-revoke " + b64(ca.public_key()) + " " + to_hex(f1) + " " + b64(r1.sig) + "\n");
    write(path, "# revoked by hand\n" + l1 + "\n" + format_revocation(r2));
    auto read = read_revocations(path);
    ASSERT_EQ(error_of(read), "");
    EXPECT_EQ(*read, (std::vector<Revocation>{r1, r2}));

    write(path, "");
    ASSERT_EQ(error_of(read_revocations(path)), "");
    EXPECT_TRUE(read_revocations(path)->empty());
    EXPECT_ERROR(read_revocations(d.path + "/none"), "cannot open " + d.path + "/none");

    Revocation forged = r1;
    forged.cert = f2;  // the signature is over the other fingerprint
    write(path, l1 + format_revocation(forged));
    EXPECT_ERROR(read_revocations(path), path + " line 2: the CA's signature does not verify");
    forged = r1;
    forged.ca = other.public_key();
    write(path, format_revocation(forged));
    EXPECT_ERROR(read_revocations(path), path + " line 1: the CA's signature does not verify");

    auto fields = [&](const std::string& a, const std::string& b, const std::string& c) {
        write(path, "shoal-revoke " + a + " " + b + " " + c + "\n");
        return read_revocations(path);
    };
    EXPECT_ERROR(fields(b64(ca.public_key()).substr(0, 40), to_hex(f1), b64(r1.sig)),
                 path + " line 1: the CA key is not 32 bytes");
    EXPECT_ERROR(fields(b64(ca.public_key()), to_hex(f1).substr(2), b64(r1.sig)),
                 path + " line 1: the fingerprint is not 64 hex digits");
    EXPECT_ERROR(fields(b64(ca.public_key()), to_hex(f1), b64(std::span(r1.sig).first(63))),
                 path + " line 1: the signature is not 64 bytes");
    write(path, "shoal-revoke " + b64(ca.public_key()) + " " + to_hex(f1) + "\n");
    EXPECT_ERROR(read_revocations(path), path + " line 1: expected 'shoal-revoke CA-BASE64");
    write(path, "revoked " + to_hex(f1) + "\n");
    EXPECT_ERROR(read_revocations(path), path + " line 1: expected");
}

TEST(CredentialFiles, OversizedFilesAreRefusedByEveryReader) {
    TempDir d;
    const std::string path = d.path + "/big";
    write(path, std::string(kMaxCredentialFile + 1, '#'), 0600);
    EXPECT_ERROR(read_ca_key(path), path + " is larger than 1 MiB");
    EXPECT_ERROR(read_ca_pubs(path), path + " is larger than 1 MiB");
    EXPECT_ERROR(read_certificate(path), path + " is larger than 1 MiB");
    EXPECT_ERROR(read_revocations(path), path + " is larger than 1 MiB");
    EXPECT_ERROR(read_small_file(path), path + " is larger than 1 MiB");
    // Exactly 1 MiB of comments is a file like any other.
    write(path, std::string(kMaxCredentialFile, '#'), 0600);
    EXPECT_ERROR(read_ca_pubs(path), path + " holds no CA key");
}

TEST(CredentialFiles, AFifoIsRefusedNotWaitedOn) {
    TempDir d;
    const std::string path = d.path + "/fifo";
    ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
    EXPECT_ERROR(read_certificate(path), path + " is not a regular file");
    EXPECT_ERROR(read_ca_key(path), path + " is not a regular file");
}

TEST(CredentialFiles, CreateNewFileNeverReplacesAnythingNorFollowsALink) {
    TempDir d;
    const std::string path = d.path + "/out";
    ASSERT_EQ(error_of(create_new_file(path, "one\n", 0644, DirTrust::Shared)), "");
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644u);
    EXPECT_ERROR(create_new_file(path, "two\n", 0644, DirTrust::Shared), path + " exists");
    EXPECT_EQ(slurp(path), "one\n");
    const std::string link = d.path + "/link";
    fs::create_symlink(d.path + "/target", link);
    EXPECT_ERROR(create_new_file(link, "x\n", 0644, DirTrust::Shared), link + " exists");
    EXPECT_FALSE(fs::exists(d.path + "/target"));
    EXPECT_ERROR(create_new_file(d.path + "/no/such/dir/f", "x", 0644, DirTrust::Shared),
                 d.path + "/no/such/dir");
    EXPECT_EQ(std::distance(fs::directory_iterator(d.path), fs::directory_iterator{}), 2)
        << "no temp file left behind";
}

TEST(CredentialFiles, FormatUtc) {
    EXPECT_EQ(format_utc(0), "1970-01-01T00:00:00Z");
    EXPECT_EQ(format_utc(1767225600), "2026-01-01T00:00:00Z");
    EXPECT_EQ(format_utc(UINT64_MAX), "Unix time 18446744073709551615");
}
