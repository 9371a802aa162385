// The host check's ICMP socket against the real kernel, in a private network namespace per test
// process (echoes go to its loopback only): a ping socket where the group range allows one, a
// raw socket where it does not, and a clear error when neither is allowed.
#include "agent/icmp_echo.hpp"

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>

using namespace shoal;
using namespace shoal::agent;

namespace {

constexpr std::uint32_t kLoopback = 0x7f000001;

class IcmpSocket : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(::unshare(CLONE_NEWNET), 0)
            << "needs root (CAP_SYS_ADMIN) for a network namespace";
        ASSERT_EQ(std::system("ip link set lo up"), 0);
    }
    // A new namespace starts with ping sockets allowed to no group ("1 0").
    static void allow_ping_sockets(const char* range) {
        std::ofstream("/proc/sys/net/ipv4/ping_group_range") << range;
    }
    // Echoes 127.0.0.1 and waits up to a second for the reply with this sequence number.
    static std::optional<EchoReply> echo(IcmpEcho& s, std::uint16_t seq, std::uint64_t token) {
        s.send(kLoopback, seq, token);
        for (int i = 0; i < 10; ++i) {
            pollfd p{s.fd(), POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            while (auto r = s.receive())
                if (r->seq == seq) return r;
        }
        return std::nullopt;
    }
};

}  // namespace

TEST_F(IcmpSocket, ARawSocketWhenPingSocketsAreNotAllowed) {
    auto s = IcmpEcho::open();
    ASSERT_TRUE(s) << s.error();
    EXPECT_TRUE(s->raw());
    auto r = echo(*s, 7, 0x1122334455667788ull);
    ASSERT_TRUE(r);  // our own request, also seen by a raw socket, is not taken for the reply
    EXPECT_EQ(r->from, kLoopback);
    EXPECT_EQ(r->token, 0x1122334455667788ull);
}

TEST_F(IcmpSocket, APingSocketWhereTheGroupRangeAllowsIt) {
    allow_ping_sockets("0 0");
    auto s = IcmpEcho::open();
    ASSERT_TRUE(s) << s.error();
    EXPECT_FALSE(s->raw());
    auto r = echo(*s, 9, 42);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->token, 42u);
}

TEST_F(IcmpSocket, NeitherAllowedIsAnErrorNamingWhatWouldAllowIt) {
    // This process only: without CAP_NET_RAW, and no group may open ping sockets.
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    ASSERT_EQ(::syscall(SYS_capget, &header, data), 0);
    for (auto& d : data) {
        d.effective &= ~(1u << CAP_NET_RAW);
        d.permitted &= ~(1u << CAP_NET_RAW);
    }
    ASSERT_EQ(::syscall(SYS_capset, &header, data), 0);
    auto s = IcmpEcho::open();
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().find("ping_group_range"), std::string::npos) << s.error();
    EXPECT_NE(s.error().find("CAP_NET_RAW"), std::string::npos) << s.error();
}
