#include "agent/credential_files.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <limits>
#include <utility>

#include "common/hex.hpp"
#include "common/unique_fd.hpp"

namespace shoal::agent {

namespace {

constexpr std::string_view kCaKeyHeader = "shoal-ca-key 1";
constexpr std::string_view kCaPubTag = "shoal-ca-pub";
constexpr std::string_view kNodePubTag = "shoal-node-pub";
constexpr std::string_view kCertTag = "shoal-cert";
constexpr std::string_view kRevokeTag = "shoal-revoke";
constexpr std::string_view kForceLeaveTag = "shoal-force-leave";

using Fd = UniqueFd;

std::string mode_text(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof(text), "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

// The buffer is sized once, so a key read through it is never copied by a reallocation and one
// sodium_memzero clears it.
Result<std::string> read_all(int fd, const std::string& name) {
    std::string buf(kMaxCredentialFile + 1, '\0');
    std::size_t got = 0;
    while (got < buf.size()) {
        ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            Error err{"cannot read " + name + ": " + errno_text()};
            sodium_memzero(buf.data(), got);
            return err;
        }
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    if (got > kMaxCredentialFile) {
        sodium_memzero(buf.data(), got);
        return Error{name + " is larger than 1 MiB: not a shoal credential file"};
    }
    buf.resize(got);
    return buf;
}

// O_NONBLOCK: a FIFO planted at the path must not hang the command.
Result<std::string> read_regular_file(const std::string& path, bool private_key) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd.ok()) return Error{"cannot open " + path + ": " + errno_text()};
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return Error{"cannot stat " + path + ": " + errno_text()};
    if (!S_ISREG(st.st_mode)) return Error{path + " is not a regular file"};
    if (st.st_size > static_cast<off_t>(kMaxCredentialFile))
        return Error{path + " is larger than 1 MiB: not a shoal credential file"};
    if (private_key && (st.st_mode & 077))
        return Error{path + " is readable or writable by group or others (mode " +
                     mode_text(st.st_mode) + "): the CA key must be private; run chmod 600 " +
                     path + " (and, since others could read it, consider making a new CA)"};
    return read_all(fd.get(), path);
}

std::string_view trim(std::string_view s) {
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return s;
}

std::string at_line(std::string_view origin, int line) {
    std::string s(origin);
    s += " line ";
    s += std::to_string(line);
    s += ": ";
    return s;
}

std::string base64(std::span<const std::uint8_t> bytes) {
    std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(),
                      sodium_base64_VARIANT_ORIGINAL);
    out.resize(out.size() - 1);  // the terminating NUL
    return out;
}

// Exactly out.size() bytes, and nothing after the base64.
bool decode_exact(std::string_view text, std::span<std::uint8_t> out) {
    std::size_t len = 0;
    const char* end = nullptr;
    return sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &len, &end,
                             sodium_base64_VARIANT_ORIGINAL) == 0 &&
           len == out.size() && end == text.data() + text.size();
}

std::optional<std::vector<std::uint8_t>> decode_bounded(std::string_view text, std::size_t max) {
    std::vector<std::uint8_t> out(max);
    std::size_t len = 0;
    const char* end = nullptr;
    if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != text.data() + text.size())
        return std::nullopt;
    out.resize(len);
    return out;
}

// Control characters would let a comment start a new line of the file.
std::string printable(std::string_view text) {
    std::string out;
    for (char c : text) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '_' : c;
    return out;
}

// One tagged line in a file that must hold exactly one (a node key, a certificate).
struct OneRecord {
    int line = 0;
    std::vector<std::string_view> fields;
};
struct RecordFormat {
    std::string_view tag;
    std::size_t fields;
    std::string_view text;    // the line's format
    std::string_view source;  // where a good one comes from
};
Result<OneRecord> one_record(std::string_view text, std::string_view origin,
                             const RecordFormat& format) {
    const std::string expected =
        "expected '" + std::string(format.text) + "', as " + std::string(format.source);
    const std::string tag(format.tag);
    OneRecord found;
    auto each = [&](int number, std::string_view line) -> Status {
        auto fields = fields_of(line);
        if (fields[0] != tag || fields.size() != format.fields)
            return Error{at_line(origin, number) + expected};
        if (found.line)
            return Error{at_line(origin, number) + "a second '" + tag +
                         "' line (the first is line " + std::to_string(found.line) +
                         "); the file must hold one"};
        found = {number, std::move(fields)};
        return {};
    };
    if (auto ok = for_each_record(text, each); !ok) return Error{ok.error()};
    if (!found.line)
        return Error{std::string(origin) + " holds no '" + tag + "' line (" + expected + ")"};
    return found;
}

Result<Identity> parse_ca_key(std::string_view text, const std::string& path) {
    int header_line = 0, key_line = 0;
    KeySeed seed{};
    // The key line is never quoted in an error: the message may end up in a log.
    auto each = [&](int number, std::string_view line) -> Status {
        if (!header_line) {
            if (line != kCaKeyHeader)
                return Error{at_line(path, number) + "expected '" + std::string(kCaKeyHeader) +
                             "': not a shoal CA key (`shoal ca init` writes one)"};
            header_line = number;
            return {};
        }
        if (key_line)
            return Error{at_line(path, number) +
                         "unexpected line after the key: a CA key file holds the header and one "
                         "key line; restore the file from your backup"};
        if (!decode_exact(line, seed))
            return Error{at_line(path, number) +
                         "not a CA key (expected 44 characters of base64 encoding 32 bytes); "
                         "restore the file from your backup"};
        key_line = number;
        return {};
    };
    Status parsed = for_each_record(text, each);
    if (parsed && !key_line)
        parsed = Error{path + " holds no key" +
                       (header_line ? " after its header (line " + std::to_string(header_line) + ")"
                                    : std::string()) +
                       ": not a shoal CA key (`shoal ca init` writes one)"};
    if (!parsed) {
        sodium_memzero(seed.data(), seed.size());
        return Error{parsed.error()};
    }
    Identity ca(seed);
    sodium_memzero(seed.data(), seed.size());
    return ca;
}

}  // namespace

std::vector<std::string_view> fields_of(std::string_view line) {
    std::vector<std::string_view> out;
    for (;;) {
        line = trim(line);
        if (line.empty()) return out;
        auto end = line.find_first_of(" \t");
        out.push_back(line.substr(0, end));
        if (end == std::string_view::npos) return out;
        line.remove_prefix(end);
    }
}

Status for_each_record(std::string_view text,
                       const std::function<Status(int, std::string_view)>& each) {
    int number = 0;
    while (!text.empty()) {
        ++number;
        auto nl = text.find('\n');
        std::string_view line = trim(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (line.empty() || line.front() == '#') continue;
        if (auto ok = each(number, line); !ok) return ok;
    }
    return {};
}

Result<std::string> read_small_file(const std::string& path) {
    if (path == "-") return read_all(STDIN_FILENO, "standard input");
    return read_regular_file(path, false);
}

Status create_new_file(const std::string& path, std::string_view contents, unsigned mode,
                       DirTrust trust) {
    // Refused before any work; the no-replace rename below is what makes it race-free.
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0)
        return Error{path + " exists; not overwriting it (remove it first)"};
    const std::string tmp = path + ".shoal-new";
    if (auto written = write_file_atomically(tmp, contents, mode, trust); !written) return written;
    int moved = ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE);
    if (moved != 0 && errno == EINVAL) {
        // A file system without RENAME_NOREPLACE: link() refuses an existing name just the same.
        moved = ::link(tmp.c_str(), path.c_str());
        if (moved == 0) ::unlink(tmp.c_str());
    }
    if (moved != 0) {
        Error err{errno == EEXIST ? path + " exists; not overwriting it (remove it first)"
                                  : "cannot create " + path + ": " + errno_text()};
        ::unlink(tmp.c_str());
        return err;
    }
    auto slash = path.find_last_of('/');
    std::string dir = slash == std::string::npos ? "." : path.substr(0, slash ? slash : 1);
    Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dfd.ok()) ::fsync(dfd.get());  // the rename must reach the disk before we report success
    return {};
}

std::string format_utc(std::uint64_t unix_seconds) {
    if (unix_seconds > static_cast<std::uint64_t>(std::numeric_limits<std::time_t>::max()))
        return "Unix time " + std::to_string(unix_seconds);
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    char text[64];
    if (!::gmtime_r(&t, &tm) || std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return "Unix time " + std::to_string(unix_seconds);
    return text;
}

Result<Identity> read_ca_key(const std::string& path) {
    auto text = read_regular_file(path, true);
    if (!text) return Error{text.error()};
    auto ca = parse_ca_key(*text, path);
    sodium_memzero(text->data(), text->size());
    return ca;
}

Status write_ca_key(const std::string& path, const Identity& ca) {
    // Encoded in place into a buffer sized once, so no temporary or reallocation leaves a copy of
    // the key behind that the sodium_memzero below would miss.
    constexpr std::size_t kEncoded =
        sodium_base64_ENCODED_LEN(sizeof(KeySeed), sodium_base64_VARIANT_ORIGINAL);
    std::string text;
    text.reserve(kCaKeyHeader.size() + 1 + kEncoded + 1);
    text += kCaKeyHeader;
    text += '\n';
    const std::size_t at = text.size();
    text.resize(at + kEncoded);
    sodium_bin2base64(text.data() + at, kEncoded, ca.seed().data(), ca.seed().size(),
                      sodium_base64_VARIANT_ORIGINAL);
    text.back() = '\n';  // in place of the terminating NUL
    auto written = create_new_file(path, text, 0600, DirTrust::Private);
    sodium_memzero(text.data(), text.size());
    return written;
}

std::string format_ca_pub(const PublicKey& ca, std::string_view comment) {
    // Appended piece by piece: g++ 12 at -O3 raises a false -Wrestrict on " " + std::string.
    std::string line(kCaPubTag);
    line += ' ';
    line += base64(ca);
    if (!trim(comment).empty()) {
        line += ' ';
        line += printable(trim(comment));
    }
    line += '\n';
    return line;
}

Result<std::vector<PublicKey>> read_ca_pubs(const std::string& path) {
    auto text = read_small_file(path);
    if (!text) return Error{text.error()};
    std::vector<PublicKey> keys;
    auto each = [&](int number, std::string_view line) -> Status {
        auto fields = fields_of(line);
        if (fields[0] != kCaPubTag || fields.size() < 2)
            return Error{at_line(path, number) +
                         "expected 'shoal-ca-pub BASE64 [comment]', a line of the CA's ca.pub"};
        PublicKey key{};
        if (!decode_exact(fields[1], key))
            return Error{at_line(path, number) +
                         "the CA key is not 32 bytes of base64 (44 characters); copy the line "
                         "again from the CA's ca.pub"};
        keys.push_back(key);
        return {};
    };
    if (auto ok = for_each_record(*text, each); !ok) return Error{ok.error()};
    if (keys.empty())
        return Error{path +
                     " holds no CA key; copy the CA's ca.pub (written by `shoal ca init`) "
                     "to it"};
    return keys;
}

std::string format_node_pub(const Identity& node) {
    return std::string(kNodePubTag) + " " + base64(node.public_key()) + " " + node.id().hex() +
           "\n";
}

Result<PublicKey> parse_node_pub(std::string_view text, std::string_view origin) {
    if (text.size() > kMaxCredentialFile)
        return Error{std::string(origin) + " is larger than 1 MiB: not a shoal node key"};
    auto record = one_record(text, origin,
                             {kNodePubTag, 3, "shoal-node-pub BASE64 NODE-ID-HEX",
                              "`shoal identity show` prints on the host"});
    if (!record) return Error{record.error()};
    const std::string where = at_line(origin, record->line);
    PublicKey key{};
    if (!decode_exact(record->fields[1], key))
        return Error{where +
                     "the node key is not 32 bytes of base64 (44 characters); copy the line "
                     "again from `shoal identity show` on the host"};
    auto id = NodeId::from_hex(record->fields[2]);
    if (!id) return Error{where + "the node id is not 32 hex digits"};
    if (*id != node_id_for(key))
        return Error{where +
                     "the node id does not match the key: the line was altered or damaged; copy "
                     "it again from `shoal identity show` on the host"};
    return key;
}

std::vector<std::string> certificate_summary(std::span<const std::uint8_t> bytes,
                                             const Certificate& c) {
    return {
        "shoal node certificate",
        "name " + c.name,
        "node key " + base64(c.node),
        c.subnet ? "subnet " + c.subnet->to_string() : "subnet any (claimed dynamically)",
        c.not_after ? "expires " + format_utc(c.not_after) : "expires never",
        "CA " + base64(c.ca),
        "fingerprint " + to_hex(fingerprint_of(bytes)),
    };
}

std::string format_certificate(std::span<const std::uint8_t> bytes, const Certificate& c) {
    std::string text;
    for (const auto& line : certificate_summary(bytes, c)) text += "# " + line + "\n";
    return text + std::string(kCertTag) + " " + base64(bytes) + "\n";
}

Result<CertificateFile> read_certificate(const std::string& path) {
    auto text = read_small_file(path);
    if (!text) return Error{text.error()};
    auto record =
        one_record(*text, path, {kCertTag, 2, "shoal-cert BASE64", "`shoal ca sign` writes"});
    if (!record) return Error{record.error()};
    const std::string where = at_line(path, record->line);
    auto bytes = decode_bounded(record->fields[1], kMaxCertificateLen);
    if (!bytes)
        return Error{where + "not base64 of at most " + std::to_string(kMaxCertificateLen) +
                     " bytes: the line is damaged or truncated; copy the certificate again"};
    auto cert = open_certificate(*bytes);
    if (!cert)
        return Error{where + cert.error() +
                     ": the certificate was altered or damaged; copy it again, or sign a new one "
                     "with `shoal ca sign`"};
    return CertificateFile{std::move(*bytes), std::move(*cert)};
}

std::string format_revocation(const Revocation& r) {
    return std::string(kRevokeTag) + " " + base64(r.ca) + " " + to_hex(r.cert) + " " +
           base64(r.sig) + "\n";
}

std::string format_force_leave(const ForceLeave& f) {
    return std::string(kForceLeaveTag) + " " + f.id.hex() + " " + std::to_string(f.inc) + " " +
           base64(f.ca) + " " + base64(f.sig);
}

Result<ForceLeave> parse_force_leave(std::string_view line) {
    auto fields = fields_of(line);
    const std::string expected =
        "expected 'shoal-force-leave NODE-ID INCARNATION CA-BASE64 SIG-BASE64', the line `shoal "
        "ca force-leave` prints";
    if (fields.size() != 5 || fields[0] != kForceLeaveTag) return Error{expected};
    ForceLeave f;
    auto id = NodeId::from_hex(fields[1]);
    std::uint64_t inc = 0;
    auto [end, ec] = std::from_chars(fields[2].data(), fields[2].data() + fields[2].size(), inc);
    if (!id || ec != std::errc{} || end != fields[2].data() + fields[2].size() ||
        inc > UINT32_MAX || !decode_exact(fields[3], f.ca) || !decode_exact(fields[4], f.sig))
        return Error{expected};
    f.id = *id;
    f.inc = static_cast<std::uint32_t>(inc);
    if (!check_force_leave(f))
        return Error{"the CA's signature on the force-leave does not verify: the line was altered"};
    return f;
}

Result<Revocation> parse_revocation(std::string_view line, std::string_view origin, int number) {
    const std::string where = at_line(origin, number);
    auto fields = fields_of(line);
    if (fields[0] != kRevokeTag || fields.size() != 4)
        return Error{where + "expected 'shoal-revoke CA-BASE64 FINGERPRINT-HEX SIG-BASE64', as " +
                     "`shoal ca revoke` writes"};
    Revocation r;
    if (!decode_exact(fields[1], r.ca))
        return Error{where + "the CA key is not 32 bytes of base64"};
    if (!from_hex(fields[2], r.cert)) return Error{where + "the fingerprint is not 64 hex digits"};
    if (!decode_exact(fields[3], r.sig))
        return Error{where + "the signature is not 64 bytes of base64"};
    if (!check_revocation(r))
        return Error{where +
                     "the CA's signature does not verify: the line was altered or damaged; copy "
                     "the file again from the CA's"};
    return r;
}

Result<std::vector<Revocation>> read_revocations(const std::string& path) {
    auto text = read_small_file(path);
    if (!text) return Error{text.error()};
    std::vector<Revocation> out;
    auto each = [&](int number, std::string_view line) -> Status {
        auto r = parse_revocation(line, path, number);
        if (!r) return Error{r.error()};
        out.push_back(*r);
        return {};
    };
    if (auto ok = for_each_record(*text, each); !ok) return Error{ok.error()};
    return out;
}

}  // namespace shoal::agent
