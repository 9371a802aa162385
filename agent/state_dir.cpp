#include "agent/state_dir.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <utility>

#include "agent/credential_files.hpp"
#include "common/unique_fd.hpp"
#include "gossip/wire/keyring.hpp"

namespace shoal::agent {

namespace {

constexpr std::string_view kKeyHeader = "shoal-node-key 1";
constexpr std::string_view kStateHeader = "shoal-state 1";

using Fd = UniqueFd;

struct FileRead {
    std::string data;
    bool missing = false;
    std::string error;  // empty when the read worked (or the file is missing)
};

FileRead read_file(const std::string& path) {
    FileRead r;
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.ok()) {
        if (errno == ENOENT)
            r.missing = true;
        else
            r.error = "cannot open " + path + ": " + errno_text();
        return r;
    }
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof(buf));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            r.error = "cannot read " + path + ": " + errno_text();
            return r;
        }
        if (n == 0) return r;
        r.data.append(buf, static_cast<std::size_t>(n));
        if (r.data.size() > (1 << 20)) {
            r.error = path + " is larger than 1 MiB: not a shoal file";
            return r;
        }
    }
}

std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> out;
    while (!text.empty()) {
        auto nl = text.find('\n');
        out.push_back(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    }
    return out;
}

template <typename T>
bool parse_number(std::string_view s, T& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end == s.data() + s.size();
}

std::string mode_text(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof(text), "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

// A trailing slash would make open() follow a symlink in place of the directory, O_NOFOLLOW or not.
std::string without_trailing_slashes(std::string dir) {
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    return dir;
}

struct PathParts {
    std::string dir, name;
};
PathParts split_path(const std::string& path) {
    auto slash = path.find_last_of('/');
    if (slash == std::string::npos) return {".", path};
    return {without_trailing_slashes(slash == 0 ? "/" : path.substr(0, slash)),
            path.substr(slash + 1)};
}

// Without O_NOFOLLOW a symlink in place of the directory, planted by whoever can write its parent,
// would send the files (the node key among them) wherever it points.
Result<Fd> open_dir(const std::string& dir) {
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.ok()) return fd;
    int err = errno;
    struct stat st {};
    if (::lstat(dir.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
        return Error{dir +
                     " is a symbolic link: shoal writes only into the directory itself, so "
                     "that no link can send its files elsewhere; set the path to the "
                     "directory the link points to"};
    if (err == ENOTDIR) return Error{dir + " exists and is not a directory"};
    errno = err;
    return Error{"cannot open directory " + dir + ": " + errno_text()};
}

Status check_dir(int dfd, const std::string& dir, DirTrust trust) {
    struct stat st {};
    if (::fstat(dfd, &st) != 0) return Error{"cannot stat " + dir + ": " + errno_text()};
    const uid_t me = ::geteuid();
    if (trust == DirTrust::Private) {
        if (st.st_uid != 0 && st.st_uid != me)
            return Error{dir + " is owned by uid " + std::to_string(st.st_uid) +
                         ", who could replace the node key and state in it: the state directory "
                         "must be root's; run chown " +
                         (me == 0 ? std::string("root") : std::to_string(me)) + " " + dir};
        if (st.st_mode & (S_IWGRP | S_IWOTH))
            return Error{dir + " is writable by group or others (mode " + mode_text(st.st_mode) +
                         "), who could replace the node key and state in it; run chmod 700 " + dir};
        return {};
    }
    if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))
        return Error{dir + " is writable by anyone and has no sticky bit (mode " +
                     mode_text(st.st_mode) +
                     "): anyone could replace the files shoal writes there for pods; run chmod "
                     "755 " +
                     dir + " (or chmod +t " + dir + " if others must write there)"};
    return {};
}

}  // namespace

Status ensure_private_dir(const std::string& given) {
    const std::string dir = without_trailing_slashes(given);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
        return Error{"cannot create state directory " + dir + ": " + errno_text()};
    auto opened = open_dir(dir);
    if (!opened) return Error{opened.error()};
    return check_dir(opened->get(), dir, DirTrust::Private);
}

Status write_file_atomically(const std::string& path, std::string_view contents, unsigned mode,
                             DirTrust trust) {
    auto [dir, name] = split_path(path);
    if (name.empty()) return Error{"cannot write " + path + ": no file name"};
    auto opened = open_dir(dir);
    if (!opened) return Error{opened.error()};
    const int dfd = opened->get();
    if (auto trusted = check_dir(dfd, dir, trust); !trusted) return trusted;

    const std::string tmp_name = name + ".tmp", tmp = path + ".tmp";
    constexpr int kCreate = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    int raw = ::openat(dfd, tmp_name.c_str(), kCreate, 0600);
    if (raw < 0 && errno == EEXIST) {
        // A temp left by a crash, or something planted there: unlinkat removes the name (a
        // symlink itself, not what it points to). A second collision is someone racing us.
        if (::unlinkat(dfd, tmp_name.c_str(), 0) != 0 && errno != ENOENT)
            return Error{"cannot remove the leftover " + tmp + ": " + errno_text()};
        raw = ::openat(dfd, tmp_name.c_str(), kCreate, 0600);
    }
    if (raw < 0) return Error{"cannot create " + tmp + ": " + errno_text()};
    auto fail = [&](const std::string& what) {
        Error err{"cannot " + what + " " + tmp + ": " + errno_text()};
        ::unlinkat(dfd, tmp_name.c_str(), 0);
        return err;
    };
    {
        Fd fd(raw);
        // Whatever the umask said, and before the contents are in.
        if (::fchmod(fd.get(), mode) != 0) return fail("set the mode of");
        std::size_t done = 0;
        while (done < contents.size()) {
            ssize_t n = ::write(fd.get(), contents.data() + done, contents.size() - done);
            if (n < 0) {
                if (errno == EINTR) continue;
                return fail("write");
            }
            done += static_cast<std::size_t>(n);
        }
        if (::fsync(fd.get()) != 0) return fail("sync");
    }
    if (::renameat(dfd, tmp_name.c_str(), dfd, name.c_str()) != 0) {
        Error err{"cannot rename " + tmp + " to " + path + ": " + errno_text()};
        ::unlinkat(dfd, tmp_name.c_str(), 0);
        return err;
    }
    // The rename itself must reach the disk before we rely on it.
    ::fsync(dfd);
    return {};
}

Result<LoadedIdentity> load_or_create_identity(const std::string& dir) {
    if (auto made = ensure_private_dir(dir); !made) return Error{made.error()};
    const std::string path = dir + "/node.key";
    auto read = read_file(path);
    if (!read.error.empty()) return Error{read.error};
    if (read.missing) {
        KeySeed seed;
        randombytes_buf(seed.data(), seed.size());
        Identity id(seed);
        std::string text = std::string(kKeyHeader) + "\n" + Keyring::encode_key(seed) + "\n";
        sodium_memzero(seed.data(), seed.size());
        auto written = write_file_atomically(path, text, 0600, DirTrust::Private);
        sodium_memzero(text.data(), text.size());
        if (!written) return Error{written.error()};
        return LoadedIdentity{std::move(id), true};
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return Error{"cannot stat " + path + ": " + errno_text()};
    if (st.st_mode & 077) {
        return Error{path + " is readable or writable by group or others (mode " +
                     mode_text(st.st_mode) + "): the node key must be private; run chmod 600 " +
                     path};
    }
    std::string& text = read.data;
    auto lines = lines_of(text);
    std::optional<ClusterKey> seed;
    if (lines.size() >= 2 && lines[0] == kKeyHeader) seed = Keyring::decode_key(lines[1]);
    sodium_memzero(text.data(), text.size());
    if (!seed || lines.size() > 2)
        return Error{
            path + " is corrupt: not a shoal node key (expected '" + std::string(kKeyHeader) +
            "' and one base64 line). Restore it from a backup; deleting it makes this host a "
            "new node whose old subnet stays reserved until the grace period ends"};
    Identity id(*seed);
    sodium_memzero(seed->data(), seed->size());
    return LoadedIdentity{std::move(id), false};
}

Result<SavedState> load_state(const std::string& dir, const NetworkConfig& network) {
    const std::string path = dir + "/state";
    auto read = read_file(path);
    if (!read.error.empty()) return Error{read.error};
    SavedState s;
    if (read.missing) return s;
    auto lines = lines_of(read.data);
    auto corrupt = [&](std::size_t line, const std::string& why) {
        return Error{path + " is corrupt (line " + std::to_string(line) + ": " + why +
                     "); move it away to start over: the node keeps its identity and picks up its "
                     "incarnation and subnet from the cluster"};
    };
    if (lines.empty() || lines[0] != kStateHeader)
        return corrupt(1, "no '" + std::string(kStateHeader) + "' header");
    for (std::size_t i = 1; i < lines.size(); ++i) {
        std::string_view l = lines[i];
        if (l.empty()) continue;
        auto sp = l.find(' ');
        std::string_view key = l.substr(0, sp),
                         value = sp == std::string_view::npos ? "" : l.substr(sp + 1);
        if (key == "incarnation") {
            if (!parse_number(value, s.node.incarnation)) return corrupt(i + 1, "bad incarnation");
        } else if (key == "claim") {
            if (value == "none") continue;
            auto sp2 = value.find(' ');
            Claim c;
            if (sp2 == std::string_view::npos || !parse_number(value.substr(0, sp2), c.slot) ||
                !parse_number(value.substr(sp2 + 1), c.clock))
                return corrupt(i + 1, "bad claim (expected 'claim SLOT CLOCK' or 'claim none')");
            if (c.slot >= network.slots())
                return Error{path + " line " + std::to_string(i + 1) +
                             ": the saved claim on slot " + std::to_string(c.slot) +
                             " is outside the pod network (" + std::to_string(network.slots()) +
                             " subnets: " + network.describe() +
                             "); if the network settings changed, this host must join as a new "
                             "node of the new network: move the file away to start over"};
            if (c.clock > kMaxClaimClock)
                return corrupt(i + 1, "claim clock " + std::to_string(c.clock) + " is above " +
                                          std::to_string(kMaxClaimClock));
            s.node.claim = c;
        } else if (key == "boot") {
            auto [end, ec] =
                std::from_chars(value.data(), value.data() + value.size(), s.node.boot, 16);
            if (ec != std::errc{} || end != value.data() + value.size())
                return corrupt(i + 1, "bad boot nonce");
        } else if (key == "tombstone") {
            auto sp2 = value.find(' ');
            Tombstone t;
            auto id = sp2 == std::string_view::npos ? std::nullopt
                                                    : NodeId::from_hex(value.substr(0, sp2));
            if (!id || !parse_number(value.substr(sp2 + 1), t.inc))
                return corrupt(i + 1, "bad tombstone (expected 'tombstone ID INCARNATION')");
            t.id = *id;
            s.node.tombstones.push_back(t);
        } else if (key == "shoal-revoke") {
            // The revocations file's own line, as the operator copied it.
            auto r = parse_revocation(l, path, static_cast<int>(i + 1));
            if (!r) return corrupt(i + 1, r.error());
            s.node.revocations.push_back(*r);
        } else if (key == "peer") {
            auto a = Address::parse(value);
            if (!a) return corrupt(i + 1, "bad peer address");
            s.peers.push_back(*a);
        } else {
            return corrupt(i + 1, "unknown key '" + std::string(key) + "'");
        }
    }
    return s;
}

Status save_state(const std::string& dir, const SavedState& s) {
    std::string text = std::string(kStateHeader) + "\n";
    text += "incarnation " + std::to_string(s.node.incarnation) + "\n";
    text += s.node.claim ? "claim " + std::to_string(s.node.claim->slot) + " " +
                               std::to_string(s.node.claim->clock) + "\n"
                         : std::string("claim none\n");
    if (s.node.boot != 0) {
        char boot[17];
        std::snprintf(boot, sizeof(boot), "%016llx", static_cast<unsigned long long>(s.node.boot));
        text += "boot ";
        text += boot;
        text += "\n";
    }
    for (const auto& p : s.peers) text += "peer " + p.to_string() + "\n";
    for (const auto& t : s.node.tombstones) {
        text += "tombstone " + t.id.hex() + " " + std::to_string(t.inc) + "\n";
    }
    for (const auto& r : s.node.revocations) text += format_revocation(r);
    return write_file_atomically(dir + "/state", text, 0600, DirTrust::Private);
}

}  // namespace shoal::agent
