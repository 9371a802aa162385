#include "agent/ca_ledger.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
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

using Kind = SubnetRequest::Kind;

Ipv4Net net(const char* text) {
    return *parse_ipv4_net(text);
}

PublicKey key(std::uint8_t fill) {
    PublicKey k;
    k.fill(fill);
    return k;
}

Fingerprint fp(std::uint8_t fill) {
    Fingerprint f;
    f.fill(fill);
    return f;
}

Ledger with_network(NetworkSettings s = {"10.244.0.0/16"}) {
    Ledger l;
    EXPECT_EQ(error_of(l.set_network(s)), "");
    return l;
}

IssuedCert cert(std::uint8_t id, const std::string& name, std::optional<Ipv4Net> subnet,
                std::uint8_t node = 0) {
    return {fp(id), name, key(node ? node : id), subnet, 0, std::uint64_t{1000} + id};
}

SubnetRequest request(const std::string& text) {
    return *parse_subnet_request(text);
}

std::string slurp(const std::string& path) {
    std::ostringstream s;
    s << std::ifstream(path).rdbuf();
    return s.str();
}

}  // namespace

TEST(CaLedger, FormatParseRoundTrip) {
    Ledger l = with_network({"10.244.0.0/16", 24, "10.244.10.0/24", "10.244.20.0"});
    ASSERT_EQ(error_of(l.add_issued(cert(1, "a.lan", net("10.244.10.0/24")))), "");
    ASSERT_EQ(error_of(l.add_issued({fp(2), "b", key(2), std::nullopt, 1767225600, 5})), "");
    EXPECT_EQ(l.add_revoked(fp(3), 77), std::nullopt);  // unknown: recorded all the same
    const std::string text = l.format();
    EXPECT_EQ(text.rfind("# shoal CA ledger: every certificate this CA issued and revoked. Written "
                         "by `shoal ca`.\n",
                         0),
              0u);
    EXPECT_NE(text.find("\nnetwork 10.244.0.0/16 subnet-len 24 subnet-min 10.244.10.0 subnet-max "
                        "10.244.20.0\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("\nissued " + to_hex(fp(1)) + " a.lan " + to_hex(key(1)) +
                        " 10.244.10.0/24 0 1001\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("\nissued " + to_hex(fp(2)) + " b " + to_hex(key(2)) + " - 1767225600 5\n"),
              std::string::npos);
    EXPECT_NE(text.find("\nrevoked " + to_hex(fp(3)) + " 77\n"), std::string::npos);

    auto back = Ledger::parse(text, "L");
    ASSERT_EQ(error_of(back), "");
    EXPECT_EQ(back->format(), text);
    EXPECT_EQ(back->issued(), l.issued());
    EXPECT_EQ(back->revoked(), l.revoked());
    ASSERT_TRUE(back->network());
    EXPECT_EQ(back->network()->slots(), 11u);
    EXPECT_EQ(back->network()->subnet(0), net("10.244.10.0/24"));

    auto bare = Ledger::parse("", "L");
    ASSERT_EQ(error_of(bare), "");
    EXPECT_FALSE(bare->network());
    EXPECT_EQ(error_of(Ledger::parse(bare->format(), "L")), "");
}

TEST(CaLedger, MalformedLinesNameTheLineAndHowToFix) {
    const std::string f = to_hex(fp(1)), k = to_hex(key(1));
    auto err = [](const std::string& text) { return error_of(Ledger::parse(text, "DIR/ledger")); };
    auto expect = [&](const std::string& text, const std::string& part) {
        const std::string e = err("# header\n\n" + text + "\n");
        EXPECT_NE(e.find("DIR/ledger line 3: " + part), std::string::npos) << e;
        EXPECT_NE(e.find("fix or remove the line by hand"), std::string::npos) << e;
    };
    expect("frobnicate 1", "unknown line kind 'frobnicate'");
    expect("network", "expected 'network CIDR");
    expect("network 10.244.0.1/16 subnet-len 24", "network: '10.244.0.1/16' has host bits");
    expect("network 10.244.0.0/16", "the network line has no subnet-len");
    expect("network 10.244.0.0/16 subnet-len 31", "subnet-len: /31 is longer than /30");
    expect("network 10.244.0.0/16 subnet-len x", "subnet-len 'x' is not a prefix length");
    expect("network 10.244.0.0/16 subnet-len 24 subnet-len 24",
           "unexpected or repeated 'subnet-len'");
    expect("network 10.244.0.0/16 subnet-len 24 subnet-min", "'subnet-min' has no value");
    expect("network 10.244.0.0/16 subnet-len 24 subnet-min 10.245.0.0", "subnet-min:");
    expect("issued " + f + " a " + k + " - 0", "expected 'issued FINGERPRINT");
    expect("issued " + f.substr(1) + " a " + k + " - 0 1", "fingerprint '");
    expect("issued " + f + " a_b " + k + " - 0 1", "name 'a_b' is not a host name");
    expect("issued " + f + " " + std::string(101, 'a') + " " + k + " - 0 1",
           "name '" + std::string(101, 'a') + "' is not a host name");
    expect("issued " + f + " a " + k + "zz - 0 1", "node key '");
    expect("issued " + f + " a " + k + " 10.244.1.0/33 0 1", "subnet:");
    expect("issued " + f + " a " + k + " 10.244.1.1/24 0 1", "subnet:");
    expect("issued " + f + " a " + k + " - -1 1", "not-after '-1'");
    expect("issued " + f + " a " + k + " - 0 1x", "issued-at '1x'");
    expect("revoked " + f, "expected 'revoked FINGERPRINT REVOKED-AT'");
    expect("revoked " + f + " now", "revoked-at 'now'");
    expect("revoked xyz 1", "fingerprint 'xyz'");
    EXPECT_NE(err("network 10.244.0.0/16 subnet-len 24\nnetwork 10.245.0.0/16 subnet-len 24\n")
                  .find("line 2: a second network line (the first is line 1)"),
              std::string::npos);
    const std::string issued = "issued " + f + " a " + k + " - 0 1\n";
    EXPECT_NE(err(issued + issued).find("line 2: certificate " + f + " is listed twice"),
              std::string::npos);
    const std::string revoked = "revoked " + f + " 5\n";
    EXPECT_NE(err(revoked + revoked).find("line 2: certificate " + f + " is revoked twice"),
              std::string::npos);
}

TEST(CaLedger, SubnetRequests) {
    EXPECT_EQ(request("").kind, Kind::None);
    EXPECT_EQ(request("auto").kind, Kind::Auto);
    EXPECT_EQ(request("7").kind, Kind::Slot);
    EXPECT_EQ(request("7").slot, 7u);
    EXPECT_EQ(request("10.244.3.0/24").kind, Kind::Cidr);
    EXPECT_EQ(request("10.244.3.0/24").cidr, net("10.244.3.0/24"));
    EXPECT_NE(error_of(parse_subnet_request("10.244.3.1/24")).find("host bits"), std::string::npos);
    EXPECT_NE(error_of(parse_subnet_request("99999999999")).find("too large"), std::string::npos);
    EXPECT_NE(error_of(parse_subnet_request("-1")).find("not a slot number, a subnet"),
              std::string::npos);
    EXPECT_NE(error_of(parse_subnet_request("Auto")).find("or 'auto'"), std::string::npos);
}

TEST(CaLedger, AutoPicksTheLowestFreeSlot) {
    Ledger l = with_network();  // slots start at 10.244.1.0/24: flannel skips the first
    std::set<std::uint32_t> seen;
    for (std::uint8_t i = 1; i <= 5; ++i) {
        auto s = l.assign(request("auto"), "n" + std::to_string(i), key(i));
        ASSERT_EQ(error_of(s), "");
        ASSERT_TRUE(*s);
        EXPECT_EQ(**s, (Ipv4Net{0x0af40000u + (i << 8), 24}));
        ASSERT_EQ(error_of(l.add_issued(cert(i, "n" + std::to_string(i), **s))), "");
    }
    EXPECT_EQ(l.held_subnets().size(), 5u);
    EXPECT_EQ(l.pick_free(*l.network()), net("10.244.6.0/24"));
    // A certificate without a subnet holds none.
    ASSERT_EQ(error_of(l.add_issued(cert(9, "free", std::nullopt))), "");
    EXPECT_EQ(l.pick_free(*l.network()), net("10.244.6.0/24"));
    EXPECT_EQ(*l.assign(request(""), "x", key(40)), std::nullopt);
}

TEST(CaLedger, HeldSubnetIsRefusedNamingTheHolderUnlessARenewal) {
    Ledger l = with_network();
    ASSERT_EQ(error_of(l.add_issued(cert(1, "alpha", net("10.244.3.0/24")))), "");
    for (const char* wanted : {"10.244.3.0/24", "2"}) {  // slot 2 is 10.244.3.0/24
        const std::string e = error_of(l.assign(request(wanted), "beta", key(2)));
        EXPECT_NE(e.find("subnet 10.244.3.0/24 is held by alpha (certificate " + to_hex(fp(1))),
                  std::string::npos)
            << e;
        EXPECT_NE(e.find("shoal ca revoke"), std::string::npos) << e;
    }
    // Same name, another key (a reinstalled host): still refused.
    EXPECT_NE(error_of(l.assign(request("2"), "alpha", key(2))).find("held by alpha"),
              std::string::npos);
    // Another name, same key: refused too.
    EXPECT_NE(error_of(l.assign(request("2"), "gamma", key(1))).find("held by alpha"),
              std::string::npos);
    // Same name and key: a renewal.
    auto renewed = l.assign(request("10.244.3.0/24"), "alpha", key(1));
    ASSERT_EQ(error_of(renewed), "");
    EXPECT_EQ(**renewed, net("10.244.3.0/24"));
    // auto gives a renewal its own subnet, not the lowest free one.
    EXPECT_EQ(**l.assign(request("auto"), "alpha", key(1)), net("10.244.3.0/24"));
    EXPECT_EQ(**l.assign(request("auto"), "beta", key(2)), net("10.244.1.0/24"));
    // Both certificates of the renewed node hold the subnet, once.
    ASSERT_EQ(error_of(l.add_issued(cert(2, "alpha", net("10.244.3.0/24"), 1))), "");
    EXPECT_EQ(l.held_subnets(), std::vector<Ipv4Net>{net("10.244.3.0/24")});
}

TEST(CaLedger, RevokingFreesTheSubnet) {
    Ledger l = with_network();
    ASSERT_EQ(error_of(l.add_issued(cert(1, "a", net("10.244.1.0/24")))), "");
    ASSERT_EQ(error_of(l.add_issued(cert(2, "b", net("10.244.2.0/24")))), "");
    EXPECT_EQ(l.add_revoked(fp(1), 50), net("10.244.1.0/24"));
    EXPECT_EQ(l.add_revoked(fp(1), 60), std::nullopt) << "recorded once";
    EXPECT_EQ(l.revoked().size(), 1u);
    EXPECT_EQ(l.held_subnets(), std::vector<Ipv4Net>{net("10.244.2.0/24")});
    EXPECT_EQ(**l.assign(request("auto"), "c", key(3)), net("10.244.1.0/24"));
    EXPECT_EQ(error_of(l.assign(request("10.244.1.0/24"), "c", key(3))), "");
    // A revoked certificate's node gets no renewal of its subnet through auto once it is gone.
    EXPECT_EQ(**l.assign(request("auto"), "a", key(1)), net("10.244.1.0/24"));

    // Revoking one of two certificates of a renewed node frees nothing.
    ASSERT_EQ(error_of(l.add_issued(cert(3, "b", net("10.244.2.0/24"), 2))), "");
    EXPECT_EQ(l.add_revoked(fp(2), 70), std::nullopt);
    EXPECT_EQ(l.held_subnets(), std::vector<Ipv4Net>{net("10.244.2.0/24")});
    EXPECT_EQ(l.add_revoked(fp(3), 80), net("10.244.2.0/24"));
    EXPECT_TRUE(l.held_subnets().empty());
}

TEST(CaLedger, IdenticalCertificatesAreRecordedOnceAndNeverAfterRevocation) {
    Ledger l = with_network();
    auto added = l.add_issued(cert(1, "a", net("10.244.1.0/24")));
    ASSERT_EQ(error_of(added), "");
    EXPECT_TRUE(*added);
    added = l.add_issued(cert(1, "a", net("10.244.1.0/24")));
    ASSERT_EQ(error_of(added), "");
    EXPECT_FALSE(*added);
    EXPECT_EQ(l.issued().size(), 1u);
    (void)l.add_revoked(fp(1), 9);
    EXPECT_NE(error_of(l.add_issued(cert(1, "a", net("10.244.1.0/24")))).find("--valid"),
              std::string::npos);
}

TEST(CaLedger, RequestsOutsideTheNetworkAreRefused) {
    Ledger l = with_network({"10.244.0.0/16", 24, "", "10.244.9.0"});  // slots 0..8
    EXPECT_EQ(error_of(l.check_request(request("8"))), "");
    EXPECT_NE(error_of(l.check_request(request("9")))
                  .find("slot 9 is not one of the network's "
                        "slots 0..8"),
              std::string::npos);
    EXPECT_NE(error_of(l.check_request(request("10.245.1.0/24"))).find("is outside the network"),
              std::string::npos);
    EXPECT_NE(error_of(l.check_request(request("10.0.0.0/8"))).find("is outside the network"),
              std::string::npos);
    for (const char* not_one :
         {"10.244.1.0/25", "10.244.0.0/23", "10.244.0.0/24", "10.244.10.0/24"})
        EXPECT_NE(error_of(l.check_request(request(not_one)))
                      .find("is not one of the network's "
                            "subnets"),
                  std::string::npos)
            << not_one;
    EXPECT_NE(error_of(l.assign(request("10.244.10.0/24"), "a", key(1))).find("not one of"),
              std::string::npos);

    Ledger bare;
    EXPECT_EQ(error_of(bare.check_request(request(""))), "");
    for (const char* any : {"auto", "1", "10.244.1.0/24"})
        EXPECT_NE(error_of(bare.check_request(request(any))).find("shoal ca init --network"),
                  std::string::npos);
}

TEST(CaLedger, AFullNetworkSaysSo) {
    Ledger l = with_network({"10.244.0.0/28", 30, "10.244.0.0", ""});  // 4 slots
    for (std::uint8_t i = 1; i <= 4; ++i) {
        auto s = l.assign(request("auto"), "n" + std::to_string(i), key(i));
        ASSERT_EQ(error_of(s), "");
        ASSERT_EQ(error_of(l.add_issued(cert(i, "n" + std::to_string(i), **s))), "");
    }
    EXPECT_EQ(l.pick_free(*l.network()), std::nullopt);
    EXPECT_NE(error_of(l.assign(request("auto"), "n5", key(5))).find("all 4 subnets"),
              std::string::npos);
}

TEST(CaLedger, UpdateIsAtomicAndAFailedChangeWritesNothing) {
    TempDir d;
    EXPECT_NE(error_of(update_ledger(d.path, [](Ledger&) { return Status{}; }))
                  .find(d.path + "/ledger does not exist"),
              std::string::npos);
    EXPECT_FALSE(fs::exists(d.path + "/ledger"));
    ASSERT_EQ(error_of(create_ledger(d.path, with_network())), "");
    EXPECT_NE(error_of(create_ledger(d.path, Ledger{})).find("exists"), std::string::npos);
    const std::string before = slurp(d.path + "/ledger");
    auto failing = [](Ledger& l) -> Status {
        (void)l.add_issued(cert(1, "a", net("10.244.1.0/24")));
        return Error{"no"};
    };
    EXPECT_EQ(error_of(update_ledger(d.path, failing)), "no");
    EXPECT_EQ(slurp(d.path + "/ledger"), before);
    auto adding = [](Ledger& l) -> Status {
        auto added = l.add_issued(cert(1, "a", net("10.244.1.0/24")));
        return added ? Status{} : Status(Error{added.error()});
    };
    ASSERT_EQ(error_of(update_ledger(d.path, adding)), "");
    auto read = read_ledger(d.path);
    ASSERT_EQ(error_of(read), "");
    EXPECT_EQ(read->issued().size(), 1u);
    EXPECT_EQ(read->held_subnets(), std::vector<Ipv4Net>{net("10.244.1.0/24")});

    // A ledger damaged by hand is reported, never replaced.
    std::ofstream(d.path + "/ledger", std::ios::app) << "garbage here\n";
    const std::string damaged = slurp(d.path + "/ledger");
    EXPECT_NE(error_of(update_ledger(d.path, [](Ledger&) { return Status{}; }))
                  .find("unknown line kind 'garbage'"),
              std::string::npos);
    EXPECT_EQ(slurp(d.path + "/ledger"), damaged);

    TempDir fresh;
    ASSERT_EQ(error_of(update_ledger(
                  fresh.path,
                  [](Ledger& l) {
                      (void)l.add_revoked(fp(4), 1);
                      return Status{};
                  },
                  IfLedgerMissing::StartEmpty)),
              "");
    EXPECT_EQ(read_ledger(fresh.path)->revoked().size(), 1u);
}

TEST(CaLedger, ConcurrentUpdatesFromTwoProcessesNeverShareASubnet) {
    TempDir d;
    ASSERT_EQ(error_of(create_ledger(d.path, with_network())), "");
    auto issue_five = [&](std::uint8_t base) {
        for (std::uint8_t i = 0; i < 5; ++i) {
            Status s = update_ledger(d.path, [&](Ledger& l) -> Status {
                const std::uint8_t id = static_cast<std::uint8_t>(base + i);
                auto subnet = l.assign(request("auto"), "n" + std::to_string(id), key(id));
                if (!subnet) return Error{subnet.error()};
                // Widen the window between the read and the write.
                ::usleep(2000);
                auto added = l.add_issued(cert(id, "n" + std::to_string(id), **subnet));
                return added ? Status{} : Status(Error{added.error()});
            });
            if (!s) return false;
        }
        return true;
    };
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) ::_exit(issue_five(100) ? 0 : 1);
    const bool parent_ok = issue_five(200);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_TRUE(parent_ok);
    auto read = read_ledger(d.path);
    ASSERT_EQ(error_of(read), "");
    EXPECT_EQ(read->issued().size(), 10u);
    std::set<std::uint32_t> subnets;
    for (const auto& c : read->issued()) subnets.insert(c.subnet->addr);
    EXPECT_EQ(subnets.size(), 10u);
    EXPECT_EQ(read->held_subnets().size(), 10u);
}
