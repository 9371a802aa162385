// Attacks on what the agent keeps on the host (`ctest -L adversary`): names planted where it
// writes its files and its control socket, and directories others may write in. Each case is
// the attack a local user could try and the defence that stops it. Run as root, as the suite is,
// for the cases about other users' files (skipped otherwise).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "agent/cni_conf.hpp"
#include "agent/control.hpp"
#include "agent/state_dir.hpp"
#include "agent/subnet_files.hpp"

#include "error_of.hpp"
#include "temp_dir.hpp"

using namespace shoal;
using namespace shoal::agent;
using shoal::test::error_of;
using shoal::test::TempDir;
namespace fs = std::filesystem;

namespace {

constexpr uid_t kStranger = 4242;

std::string contents(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// lstat's mode, 0 when there is nothing at `path`.
mode_t lmode(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 ? st.st_mode : 0;
}

// A file the attacker wants written, truncated or made readable: root's, mode 0640.
struct Victim {
    std::string path;
    explicit Victim(std::string p) : path(std::move(p)) {
        std::ofstream(path) << "precious\n";
        ::chmod(path.c_str(), 0640);
    }
    void expect_untouched() const {
        EXPECT_EQ(contents(path), "precious\n");
        EXPECT_EQ(lmode(path) & 07777, 0640u);
    }
};

std::string errors_in(const std::vector<LogLine>& lines) {
    std::string out;
    for (const auto& l : lines)
        if (l.level == LogLevel::Error) out += l.text + "\n";
    return out;
}

void expect_regular(const std::string& path, mode_t mode) {
    mode_t m = lmode(path);
    EXPECT_TRUE(S_ISREG(m)) << path << " is not a regular file";
    EXPECT_EQ(m & 07777, mode) << path;
    EXPECT_EQ(lmode(path + ".tmp"), 0u) << path << ".tmp is left behind";
}

}  // namespace

// The temp names are predictable: a symlink planted there used to be followed by
// open(O_CREAT|O_TRUNC), truncating and rewriting its target, fchmod'ing it, and the rename then
// moved the link into the real name.
TEST(LocalFiles, ASymlinkAtATempNameIsRemovedNotFollowed) {
    TempDir d;
    Victim victim(d.path + "/victim");
    const std::string state = d.path + "/state", run = d.path + "/run";
    ASSERT_EQ(::mkdir(state.c_str(), 0700), 0);
    ASSERT_EQ(::mkdir(run.c_str(), 0755), 0);
    const std::string key = state + "/node.key", saved = state + "/state",
                      env = run + "/subnet.env", conf = run + "/10-shoal.conflist";
    for (const auto& path : {key, saved, env, conf})
        ASSERT_EQ(::symlink(victim.path.c_str(), (path + ".tmp").c_str()), 0);

    auto id = load_or_create_identity(state);
    ASSERT_EQ(error_of(id), "");
    SavedState s;
    s.node.incarnation = 9;
    ASSERT_EQ(error_of(save_state(state, s)), "");
    SubnetFiles files(env, conf, true);
    EXPECT_EQ(errors_in(files.write(test::pod_network(), 3, 1450)), "");
    EXPECT_TRUE(files.written());

    victim.expect_untouched();
    expect_regular(key, 0600);
    expect_regular(saved, 0600);
    expect_regular(env, 0644);
    expect_regular(conf, 0644);
    EXPECT_NE(contents(env).find("FLANNEL_SUBNET=10.244."), std::string::npos);
    auto again = load_or_create_identity(state);
    ASSERT_EQ(error_of(again), "");
    EXPECT_FALSE(again->created);
    EXPECT_EQ(again->identity.id(), id->identity.id());
    auto loaded = load_state(state, test::pod_network());
    ASSERT_EQ(error_of(loaded), "");
    EXPECT_EQ(loaded->node.incarnation, 9u);
}

// A dangling link: following it would create a file wherever it points.
TEST(LocalFiles, ADanglingSymlinkAtATempNameCreatesNothingThroughIt) {
    TempDir d;
    const std::string run = d.path + "/run", conf = run + "/10-shoal.conflist";
    const std::string target = d.path + "/created-through-the-link";
    ASSERT_EQ(::mkdir(run.c_str(), 0755), 0);
    ASSERT_EQ(::symlink(target.c_str(), (conf + ".tmp").c_str()), 0);
    SubnetFiles files(run + "/subnet.env", conf, true);
    EXPECT_EQ(errors_in(files.withdraw("lost the subnet")), "");
    EXPECT_EQ(lmode(target), 0u);
    expect_regular(conf, 0644);
    EXPECT_NE(contents(conf).find(kNoSubnetPlugin), std::string::npos);
}

// A hard link to another file at the temp name (or a temp left by a crash): O_TRUNC through it
// would have emptied that file; the name is removed and made anew instead.
TEST(LocalFiles, AnExistingFileAtATempNameIsReplacedNotWrittenThrough) {
    TempDir d;
    Victim victim(d.path + "/victim");
    const std::string state = d.path + "/state";
    ASSERT_EQ(::mkdir(state.c_str(), 0700), 0);
    ASSERT_EQ(::link(victim.path.c_str(), (state + "/state.tmp").c_str()), 0);
    SavedState s;
    s.node.incarnation = 3;
    ASSERT_EQ(error_of(save_state(state, s)), "");
    victim.expect_untouched();
    expect_regular(state + "/state", 0600);

    // A stale temp open to all, from a crash of some earlier writer: the new file is 0600 anyway.
    std::ofstream(state + "/state.tmp") << "half a state";
    ASSERT_EQ(::chmod((state + "/state.tmp").c_str(), 0666), 0);
    s.node.incarnation = 4;
    ASSERT_EQ(error_of(save_state(state, s)), "");
    expect_regular(state + "/state", 0600);
    EXPECT_EQ(load_state(state, test::pod_network())->node.incarnation, 4u);
}

// The final name is replaced by the rename: a link there is replaced, its target untouched.
TEST(LocalFiles, ASymlinkAtTheFinalNameIsReplacedNotFollowed) {
    TempDir d;
    Victim victim(d.path + "/victim");
    const std::string run = d.path + "/run", env = run + "/subnet.env";
    ASSERT_EQ(::mkdir(run.c_str(), 0755), 0);
    ASSERT_EQ(::symlink(victim.path.c_str(), env.c_str()), 0);
    SubnetFiles files(env, "", true);
    EXPECT_EQ(errors_in(files.write(test::pod_network(), 1, 1450)), "");
    victim.expect_untouched();
    expect_regular(env, 0644);
}

// Whoever can write in the state directory can swap the node key and the state the agent trusts.
TEST(LocalFiles, AStateDirectoryOthersCanWriteIsRefused) {
    TempDir d;
    const std::string state = d.path + "/state";
    ASSERT_EQ(::mkdir(state.c_str(), 0700), 0);
    for (mode_t mode : {0777, 0770, 0730, 0703, 01777}) {
        ASSERT_EQ(::chmod(state.c_str(), mode), 0);
        auto err = error_of(load_or_create_identity(state));
        EXPECT_NE(err.find(state + " is writable by group or others"), std::string::npos) << err;
        EXPECT_NE(err.find("chmod 700 " + state), std::string::npos) << err;
        err = error_of(save_state(state, SavedState{}));
        EXPECT_NE(err.find("chmod 700 " + state), std::string::npos) << err;
    }
    EXPECT_TRUE(fs::is_empty(state));
    ASSERT_EQ(::chmod(state.c_str(), 0755), 0);  // readable is fine: the files are 0600
    EXPECT_EQ(error_of(load_or_create_identity(state)), "");
}

TEST(LocalFiles, AStateDirectoryOfAnotherUserIsRefused) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to give the directory away";
    TempDir d;
    const std::string state = d.path + "/state";
    ASSERT_EQ(::mkdir(state.c_str(), 0700), 0);
    ASSERT_EQ(::chown(state.c_str(), kStranger, kStranger), 0);
    auto err = error_of(load_or_create_identity(state));
    EXPECT_NE(err.find(state + " is owned by uid 4242"), std::string::npos) << err;
    EXPECT_NE(err.find("chown root " + state), std::string::npos) << err;
    EXPECT_NE(error_of(save_state(state, SavedState{})).find("uid 4242"), std::string::npos);
    EXPECT_TRUE(fs::is_empty(state));
}

// A symlink in place of the directory would send the node key wherever it points; a trailing
// slash must not make open() follow it either.
TEST(LocalFiles, AStateDirectoryThatIsASymlinkIsRefused) {
    TempDir d;
    const std::string real = d.path + "/elsewhere", state = d.path + "/state";
    ASSERT_EQ(::mkdir(real.c_str(), 0700), 0);
    ASSERT_EQ(::symlink(real.c_str(), state.c_str()), 0);
    for (const auto& given : {state, state + "/"}) {
        auto err = error_of(load_or_create_identity(given));
        EXPECT_NE(err.find(state + " is a symbolic link"), std::string::npos) << err;
        err = error_of(save_state(given, SavedState{}));
        EXPECT_NE(err.find(state + " is a symbolic link"), std::string::npos) << err;
    }
    EXPECT_TRUE(fs::is_empty(real));
}

// subnet.env and the conflist tell pods their addresses: in a directory anyone can write without
// the sticky bit, anyone could replace them after they are written.
TEST(LocalFiles, ASharedDirectoryAnyoneCanWriteNeedsTheStickyBit) {
    TempDir d;
    const std::string run = d.path + "/run", env = run + "/subnet.env";
    ASSERT_EQ(::mkdir(run.c_str(), 0755), 0);
    ASSERT_EQ(::chmod(run.c_str(), 0777), 0);
    SubnetFiles files(env, run + "/10-shoal.conflist", true);
    auto errors = errors_in(files.write(test::pod_network(), 1, 1450));
    EXPECT_NE(errors.find(run + " is writable by anyone and has no sticky bit (mode 0777)"),
              std::string::npos)
        << errors;
    EXPECT_NE(errors.find("chmod 755 " + run), std::string::npos) << errors;
    EXPECT_FALSE(files.written());
    EXPECT_TRUE(fs::is_empty(run));
    EXPECT_NE(errors_in(files.withdraw("lost")), "");

    // The sticky bit keeps others from replacing our files; a group that may write is the
    // administrator's choice.
    for (mode_t mode : {01777, 0775}) {
        ASSERT_EQ(::chmod(run.c_str(), mode), 0);
        EXPECT_EQ(errors_in(files.write(test::pod_network(), 1, 1450)), "") << mode;
        EXPECT_TRUE(files.written());
        expect_regular(env, 0644);
    }
}

namespace {

// A Control on its own loop; every handle closed before the loop and the Control go.
struct ControlOnALoop {
    uv_loop_t loop{};
    std::unique_ptr<Control> control;
    ControlOnALoop() {
        uv_loop_init(&loop);
        control = std::make_unique<Control>(&loop, [](const std::string&) {
            return Control::Reply{true, "pong\n"};
        });
    }
    ~ControlOnALoop() {
        uv_walk(
            &loop,
            [](uv_handle_t* h, void*) {
                if (!uv_is_closing(h)) uv_close(h, nullptr);
            },
            nullptr);
        uv_run(&loop, UV_RUN_DEFAULT);
        control.reset();
        uv_loop_close(&loop);
    }
};

sockaddr_un unix_address(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
    return a;
}

// What a crashed agent leaves: a socket file nobody listens on.
void make_stale_socket(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    auto a = unix_address(path);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    ::close(fd);
}

bool connects(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    auto a = unix_address(path);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    ::close(fd);
    return ok;
}

}  // namespace

// --socket used to unlink whatever its path named: a typo, or a name planted by someone else,
// deleted any file (the symlink itself, but also /etc/passwd given as the path).
TEST(LocalFiles, TheControlSocketRemovesNothingButAStaleSocketOfOurs) {
    TempDir d;
    Victim victim(d.path + "/victim");
    const std::string link = d.path + "/link.sock", dangling = d.path + "/dangling.sock",
                      dir = d.path + "/dir.sock";
    ASSERT_EQ(::symlink(victim.path.c_str(), link.c_str()), 0);
    ASSERT_EQ(::symlink((d.path + "/nowhere").c_str(), dangling.c_str()), 0);
    ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
    for (const auto& path : {victim.path, link, dangling, dir}) {
        ControlOnALoop c;
        mode_t before = lmode(path);
        EXPECT_EQ(error_of(c.control->listen(path)),
                  "socket: " + path + " exists and is not a socket; refusing to remove it");
        EXPECT_EQ(lmode(path), before) << path;
    }
    victim.expect_untouched();
    EXPECT_EQ(lmode(d.path + "/nowhere"), 0u);
}

TEST(LocalFiles, TheControlSocketLeavesAnotherUsersSocketAlone) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to give the socket away";
    TempDir d;
    const std::string path = d.path + "/shoal.sock";
    make_stale_socket(path);
    ASSERT_EQ(::lchown(path.c_str(), kStranger, kStranger), 0);
    ControlOnALoop c;
    EXPECT_EQ(error_of(c.control->listen(path)),
              "socket: " + path + " is a socket of uid 4242, not ours; refusing to remove it");
    EXPECT_TRUE(S_ISSOCK(lmode(path)));
}

// Our own stale socket is replaced, by one that is 0600 whatever the umask, and the umask is
// given back.
TEST(LocalFiles, TheControlSocketReplacesItsOwnStaleSocketWithAPrivateOne) {
    TempDir d;
    const std::string path = d.path + "/shoal.sock";
    make_stale_socket(path);
    ASSERT_FALSE(connects(path));
    const mode_t umask_before = ::umask(0);
    {
        ControlOnALoop c;
        EXPECT_EQ(error_of(c.control->listen(path)), "");
        EXPECT_EQ(::umask(0), 0u) << "listen did not give the umask back";
        mode_t m = lmode(path);
        EXPECT_TRUE(S_ISSOCK(m));
        EXPECT_EQ(m & 07777, 0600u);
        EXPECT_TRUE(connects(path));

        // A second agent on the same path is refused and leaves the first one's socket alone.
        ControlOnALoop second;
        EXPECT_EQ(error_of(second.control->listen(path)),
                  "socket: another agent is already serving " + path);
        EXPECT_TRUE(connects(path));
    }
    ::umask(umask_before);
}
