#pragma once
// The files an operator handles for admission. All are plain text, one record per line; blank
// lines and lines starting with '#' are comments (certificates carry a readable summary there).
//
//   CA key          DIR/ca.key, mode 0600   "shoal-ca-key 1", then the 32-byte seed in base64
//   CA public key   DIR/ca.pub              "shoal-ca-pub BASE64 [comment]"; a ca-file holds
//                                           one or more such lines (a CA rotation: old and new)
//   node public key `shoal identity show`   "shoal-node-pub BASE64 NODE-ID-HEX"
//   certificate     STATE_DIR/node.crt      "shoal-cert BASE64"
//   revocations     revocations-file        "shoal-revoke CA-BASE64 FINGERPRINT-HEX SIG-BASE64"
//
// Every reader names the file and line in its error, and reads no more than 1 MiB.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/state_dir.hpp"
#include "common/result.hpp"
#include "gossip/wire/certificate.hpp"
#include "gossip/wire/identity.hpp"

namespace shoal::agent {

// The CA's private key; refused when group or others may read it.
Result<Identity> read_ca_key(const std::string& path);
// Creates `path` (mode 0600, never overwriting: an existing file is an error).
Status write_ca_key(const std::string& path, const Identity& ca);

std::string format_ca_pub(const PublicKey& ca, std::string_view comment);
// Every CA key in a ca-file; at least one, or an error.
Result<std::vector<PublicKey>> read_ca_pubs(const std::string& path);

std::string format_node_pub(const Identity& node);
// The public key in `text`, one "shoal-node-pub" line (comments around it allowed).
Result<PublicKey> parse_node_pub(std::string_view text, std::string_view origin);

struct CertificateFile {
    std::vector<std::uint8_t> bytes;
    Certificate cert;  // signature checked against the CA it names (not whether trusted)
};
// The "shoal-cert" line with the readable summary above it.
std::string format_certificate(std::span<const std::uint8_t> bytes, const Certificate& c);
Result<CertificateFile> read_certificate(const std::string& path);

std::string format_revocation(const Revocation& r);
// One "shoal-revoke" line (line `number` of `origin`, for the message), its CA signature checked.
Result<Revocation> parse_revocation(std::string_view line, std::string_view origin, int number);
// Every entry; each one's CA signature checked. A missing file is an error (the setting names
// it); an empty one holds none.
Result<std::vector<Revocation>> read_revocations(const std::string& path);

// A CA's force-leave as one line, "shoal-force-leave NODE-ID-HEX INCARNATION CA-BASE64
// SIG-BASE64": `shoal ca force-leave` prints it, `shoal force-leave --ca-signed` takes it.
std::string format_force_leave(const ForceLeave& f);
// Its CA signature checked (not whether the CA is trusted: the agent decides that).
Result<ForceLeave> parse_force_leave(std::string_view line);

}  // namespace shoal::agent

// What `shoal ca` shares with the readers above.
namespace shoal::agent {

inline constexpr std::size_t kMaxCredentialFile = std::size_t{1} << 20;

// The whole of a regular file, or of standard input for "-"; refused above kMaxCredentialFile.
// A FIFO or a device is refused rather than waited on.
Result<std::string> read_small_file(const std::string& path);

// Creates `path` only if nothing is there, not even a dangling symlink: the contents go to a temp
// file first (write_file_atomically), which is then renamed without replacing, so no reader ever
// sees a partial file and an existing one is never overwritten.
Status create_new_file(const std::string& path, std::string_view contents, unsigned mode,
                       DirTrust trust);

// Calls `each(line_number, line)`, line trimmed, for every line of `text` that is not blank or a
// comment; stops at the first error and returns it.
Status for_each_record(std::string_view text,
                       const std::function<Status(int, std::string_view)>& each);
// The blank-separated fields of a line.
std::vector<std::string_view> fields_of(std::string_view line);

// "YYYY-MM-DDTHH:MM:SSZ".
std::string format_utc(std::uint64_t unix_seconds);

// The lines format_certificate writes as comments (without the "# "), for `shoal ca show`.
std::vector<std::string> certificate_summary(std::span<const std::uint8_t> bytes,
                                             const Certificate& c);

}  // namespace shoal::agent
