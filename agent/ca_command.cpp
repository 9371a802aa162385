// `shoal ca ...`, the operator's side of admission, and `shoal identity show`, the host's side.
// Exit codes: 2 for a bad flag value (the message names the flag), 1 for a file that cannot be
// read, written or trusted, 0 on success. No command leaves a partial file behind.
#include <sodium.h>
#include <sys/stat.h>

#include <charconv>
#include <cstdio>
#include <ctime>
#include <memory>

#include "agent/ca_ledger.hpp"
#include "agent/commands.hpp"
#include "agent/credential_files.hpp"
#include "agent/state_dir.hpp"
#include "common/hex.hpp"
#include "gossip/wire/member_name.hpp"

namespace shoal::cli {

namespace {

using namespace shoal::agent;

constexpr int kFailed = 1;
constexpr int kUsage = 2;
// A century: beyond it a typo is likelier than intent, and Unix seconds stay far from overflow.
constexpr std::uint64_t kMaxValidSeconds = 36500ull * 86400;

int report(const char* command, const std::string& message, int code) {
    std::fprintf(stderr, "shoal %s: %s\n", command, message.c_str());
    return code;
}

std::uint64_t now_unix() {
    return static_cast<std::uint64_t>(std::time(nullptr));
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

std::string dir_of(const std::string& path) {
    auto slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

std::string without_trailing_slashes(std::string dir) {
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    return dir;
}

Result<std::uint64_t> parse_duration(std::string_view text) {
    const Error bad{"--valid: '" + std::string(text) +
                    "' is not a duration (a whole number and a unit: 90d, 12h, 30m or 3600s)"};
    if (text.size() < 2) return bad;
    std::uint64_t unit = 0;
    switch (text.back()) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        default: return bad;
    }
    std::uint64_t n = 0;
    std::string_view digits = text.substr(0, text.size() - 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec == std::errc::result_out_of_range || (ec == std::errc{} && n > kMaxValidSeconds / unit))
        return Error{"--valid: '" + std::string(text) + "' is longer than a century (36500d)"};
    if (ec != std::errc{} || end != digits.data() + digits.size()) return bad;
    if (n == 0)
        return Error{"--valid: '" + std::string(text) +
                     "' is zero: leave --valid out for a certificate that never expires"};
    return n * unit;
}

std::string subnet_text(const std::optional<Ipv4Net>& subnet) {
    return subnet ? subnet->to_string() : std::string("any (claimed dynamically)");
}

// ---- ca init ----

struct InitArgs {
    std::string out, network, subnet_min, subnet_max;
    int subnet_len = 0;
};

// Others able to write in the CA's directory could swap the key or the ledger under it.
Status check_ca_dir(const std::string& dir) {
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0)
        return Error{"cannot create " + dir + ": " + std::strerror(errno)};
    if (S_ISLNK(st.st_mode))
        return Error{dir + " is a symbolic link: give the directory it points to as --out"};
    if (!S_ISDIR(st.st_mode)) return Error{dir + " exists and is not a directory"};
    if (st.st_mode & 022)
        return Error{dir + " is writable by group or others, who could replace the CA key or the " +
                     "ledger in it; run chmod 700 " + dir + " or choose another --out"};
    for (const char* name : {"ca.key", "ca.pub", "ledger"})
        if (exists(dir + "/" + name))
            return Error{dir + "/" + name + " exists: " + dir +
                         " already holds a CA; not overwriting it (choose another --out)"};
    return {};
}

// What init made, removed again if a later file fails: a CA is made whole or not at all.
struct Undo {
    std::vector<std::string> paths;
    std::string made_dir;
    bool keep = false;
    ~Undo() {
        if (keep) return;
        for (const auto& p : paths) ::unlink(p.c_str());
        if (!made_dir.empty()) ::rmdir(made_dir.c_str());
    }
};

int run_init(const InitArgs& a) {
    const char* cmd = "ca init";
    if (a.network.empty()) {
        for (auto [flag, given] : {std::pair{"--subnet-len", a.subnet_len != 0},
                                   {"--subnet-min", !a.subnet_min.empty()},
                                   {"--subnet-max", !a.subnet_max.empty()}})
            if (given) return report(cmd, std::string(flag) + ": needs --network", kUsage);
    }
    Ledger ledger;
    if (!a.network.empty()) {
        NetworkSettings s;
        s.network = a.network;
        s.subnet_len = a.subnet_len;
        s.subnet_min = a.subnet_min;
        s.subnet_max = a.subnet_max;
        if (auto ok = ledger.set_network(s); !ok) return report(cmd, "--" + ok.error(), kUsage);
    }
    const std::string dir = without_trailing_slashes(a.out);
    Undo undo;
    if (::mkdir(dir.c_str(), 0700) == 0)
        undo.made_dir = dir;
    else if (errno != EEXIST)
        return report(cmd, "cannot create " + dir + ": " + std::strerror(errno), kFailed);
    if (auto ok = check_ca_dir(dir); !ok) return report(cmd, ok.error(), kFailed);

    KeySeed seed;
    randombytes_buf(seed.data(), seed.size());
    const Identity ca(seed);
    sodium_memzero(seed.data(), seed.size());
    const std::string pub_line =
        format_ca_pub(ca.public_key(), "shoal CA made " + format_utc(now_unix()));

    if (auto ok = create_ledger(dir, ledger); !ok) return report(cmd, ok.error(), kFailed);
    undo.paths.push_back(ledger_path(dir));
    if (auto ok = create_new_file(dir + "/ca.pub", pub_line, 0644, DirTrust::Private); !ok)
        return report(cmd, ok.error(), kFailed);
    undo.paths.push_back(dir + "/ca.pub");
    if (auto ok = write_ca_key(dir + "/ca.key", ca); !ok) return report(cmd, ok.error(), kFailed);
    undo.keep = true;

    std::printf("made a CA in %s:\n", dir.c_str());
    std::printf("  %s/ca.key  the CA's private key (mode 0600): keep it offline, with the ledger\n",
                dir.c_str());
    std::printf("  %s/ca.pub  copy it to every host's ca-file\n", dir.c_str());
    std::printf("  %s/ledger  every certificate issued and revoked\n", dir.c_str());
    if (ledger.network())
        std::printf("network %s\n", ledger.network()->describe().c_str());
    else
        std::printf("no --network: its certificates name no subnet (nodes claim one)\n");
    std::printf("%sfingerprint %s\n", pub_line.c_str(),
                to_hex(fingerprint_of(ca.public_key())).c_str());
    return 0;
}

// ---- ca sign ----

struct SignArgs {
    std::string ca_key, name, node_pub, subnet, valid, out;
    bool force = false;
};

struct SignRequest {
    SubnetRequest subnet;
    std::uint64_t valid_for = 0;  // 0: never expires
    PublicKey node{};
};

// The flags alone (exit 2), then the node key's file (exit 1).
int prepare_sign(const SignArgs& a, SignRequest& req) {
    const char* cmd = "ca sign";
    if (a.name.size() > kMaxCertName || !valid_member_name(a.name))
        return report(cmd,
                      "--name: '" + a.name + "' is not a host name (letters, digits, hyphens and " +
                          "dots; at most " + std::to_string(kMaxCertName) + " characters)",
                      kUsage);
    auto subnet = parse_subnet_request(a.subnet);
    if (!subnet) return report(cmd, "--subnet: " + subnet.error(), kUsage);
    req.subnet = *subnet;
    if (!a.valid.empty()) {
        auto valid = parse_duration(a.valid);
        if (!valid) return report(cmd, valid.error(), kUsage);
        req.valid_for = *valid;
    }
    auto text = read_small_file(a.node_pub);
    if (!text) return report(cmd, "--node-pub: " + text.error(), kFailed);
    auto node = parse_node_pub(*text, a.node_pub == "-" ? "standard input" : a.node_pub);
    if (!node) return report(cmd, "--node-pub: " + node.error(), kFailed);
    req.node = *node;
    return 0;
}

struct Signed {
    std::vector<std::uint8_t> bytes;
    Certificate cert;
    bool recorded = false;  // a new ledger line, to take back if the file cannot be written
};

int run_sign(const SignArgs& a) {
    const char* cmd = "ca sign";
    SignRequest req;
    if (int rc = prepare_sign(a, req); rc) return rc;
    auto ca = read_ca_key(a.ca_key);
    if (!ca) return report(cmd, "--ca-key: " + ca.error(), kFailed);
    if (!a.force && exists(a.out))
        return report(cmd, "--out: " + a.out + " exists; not overwriting it (--force replaces it)",
                      kFailed);

    const std::string dir = dir_of(a.ca_key);
    const std::uint64_t now = now_unix();
    int code = kFailed;
    Signed s;
    // The ledger is written before the certificate file: a crash in between leaves a ledger line
    // for a certificate nobody has, never a certificate whose subnet the ledger would give again.
    Status recorded = update_ledger(dir, [&](Ledger& l) -> Status {
        if (auto ok = l.check_request(req.subnet); !ok) {
            code = kUsage;
            return Error{"--subnet: " + ok.error() + " (" + ledger_path(dir) + ")"};
        }
        auto subnet = l.assign(req.subnet, a.name, req.node);
        if (!subnet) return Error{subnet.error()};
        s.cert = Certificate{ca->public_key(), req.node, a.name, *subnet,
                             req.valid_for ? now + req.valid_for : 0};
        auto bytes = issue_certificate(s.cert, *ca);
        if (!bytes) return Error{bytes.error()};
        s.bytes = std::move(*bytes);
        auto added = l.add_issued(
            {fingerprint_of(s.bytes), a.name, req.node, *subnet, s.cert.not_after, now});
        if (!added) return Error{added.error()};
        s.recorded = *added;
        return {};
    });
    if (!recorded) return report(cmd, recorded.error(), code);

    const std::string text = format_certificate(s.bytes, s.cert);
    Status written = a.force ? write_file_atomically(a.out, text, 0644, DirTrust::Shared)
                             : create_new_file(a.out, text, 0644, DirTrust::Shared);
    const Fingerprint fp = fingerprint_of(s.bytes);
    if (!written) {
        std::string msg = "--out: " + written.error();
        if (s.recorded) {
            // Nobody holds the certificate: marking it revoked frees its subnet again.
            Status undone = update_ledger(dir, [&](Ledger& l) -> Status {
                (void)l.add_revoked(fp, now);
                return {};
            });
            msg += undone
                       ? "; the ledger marks the unwritten certificate revoked"
                       : "; marking the unwritten certificate revoked in the ledger failed too (" +
                             undone.error() + "): revoke " + to_hex(fp) + " with `shoal ca revoke`";
        }
        return report(cmd, msg, kFailed);
    }
    std::printf("wrote %s: certificate for %s, subnet %s, expires %s\n", a.out.c_str(),
                a.name.c_str(), subnet_text(s.cert.subnet).c_str(),
                s.cert.not_after ? format_utc(s.cert.not_after).c_str() : "never");
    std::printf("fingerprint %s\n", to_hex(fp).c_str());
    std::printf("size %zu bytes\n", s.bytes.size());
    if (!s.recorded) std::printf("(identical to a certificate the ledger already records)\n");
    return 0;
}

// ---- ca revoke ----

struct RevokeArgs {
    std::string ca_key, fingerprint, out;
};

// Skipped when the file already holds this revocation, so revoking twice adds nothing.
Result<bool> append_revocation(const std::string& path, const Revocation& r) {
    std::string text;
    if (exists(path)) {
        auto held = read_revocations(path);
        if (!held) return Error{held.error()};
        for (const auto& h : *held)
            if (h.ca == r.ca && h.cert == r.cert) return false;
        auto read = read_small_file(path);
        if (!read) return Error{read.error()};
        text = std::move(*read);
        if (!text.empty() && text.back() != '\n') text += '\n';
    }
    text += format_revocation(r);
    if (auto ok = write_file_atomically(path, text, 0644, DirTrust::Shared); !ok)
        return Error{ok.error()};
    return true;
}

int run_revoke(const RevokeArgs& a) {
    const char* cmd = "ca revoke";
    Fingerprint fp{};
    if (!from_hex(a.fingerprint, fp))
        return report(cmd,
                      "FINGERPRINT: '" + a.fingerprint +
                          "' is not 64 hex digits (`shoal ca sign` and `shoal ca show` print it)",
                      kUsage);
    auto ca = read_ca_key(a.ca_key);
    if (!ca) return report(cmd, "--ca-key: " + ca.error(), kFailed);
    const std::string dir = dir_of(a.ca_key);
    const std::string out = a.out.empty() ? dir + "/revocations" : a.out;
    const Revocation revocation = revoke_certificate(fp, *ca);

    std::optional<IssuedCert> known;
    std::optional<Ipv4Net> freed;
    bool was_revoked = false, appended = false, had_ledger = exists(ledger_path(dir));
    // The file is appended under the ledger's lock, so two revocations cannot lose each other's
    // line; and before the ledger, so the ledger never frees a subnet whose revocation is not out.
    Status done = update_ledger(
        dir,
        [&](Ledger& l) -> Status {
            if (const auto* c = l.find(fp)) known = *c;
            was_revoked = l.find_revoked(fp) != nullptr;
            auto added = append_revocation(out, revocation);
            if (!added) return Error{"--out: " + added.error()};
            appended = *added;
            freed = l.add_revoked(fp, now_unix());
            return {};
        },
        IfLedgerMissing::StartEmpty);
    if (!done) return report(cmd, done.error(), kFailed);

    if (!had_ledger)
        std::fprintf(stderr,
                     "shoal ca revoke: warning: %s did not exist; started a new one holding only "
                     "this revocation (restore the old one from a backup if you have it)\n",
                     ledger_path(dir).c_str());
    else if (!known)
        std::fprintf(stderr,
                     "shoal ca revoke: warning: the ledger does not know certificate %s (issued by "
                     "another CA, or the ledger was lost or restored from an older copy); revoked "
                     "it anyway\n",
                     a.fingerprint.c_str());
    std::printf("revoked %s", to_hex(fp).c_str());
    if (known)
        std::printf(" (%s, subnet %s)", known->name.c_str(), subnet_text(known->subnet).c_str());
    std::printf("%s\n", was_revoked ? ", already revoked in the ledger" : "");
    if (freed) std::printf("subnet %s is free again\n", freed->to_string().c_str());
    std::printf("%s %s\n",
                appended ? "appended the revocation to" : "the revocation was already in",
                out.c_str());
    std::printf("next: copy %s to every host's revocations-file and send the agents SIGHUP\n",
                out.c_str());
    return 0;
}

// ---- ca show ----

int run_show(const std::string& file) {
    auto cert = read_certificate(file);
    if (!cert) return report("ca show", cert.error(), kFailed);
    for (const auto& line : certificate_summary(cert->bytes, cert->cert))
        std::printf("%s\n", line.c_str());
    std::printf("size %zu bytes\n", cert->bytes.size());
    std::printf("signature valid (by the CA above; whether a host trusts it is its ca-file)\n");
    if (cert->cert.not_after && cert->cert.not_after < now_unix())
        std::printf("EXPIRED at %s\n", format_utc(cert->cert.not_after).c_str());
    return 0;
}

// ---- ca force-leave ----

struct ForceLeaveArgs {
    std::string ca_key, id;
    std::uint32_t inc = 0;
};

int run_force_leave(const ForceLeaveArgs& a) {
    const char* cmd = "ca force-leave";
    auto id = NodeId::from_hex(a.id);
    if (!id)
        return report(
            cmd, "--id: '" + a.id + "' is not a node id (32 hex digits, as `shoal members` shows)",
            kUsage);
    auto ca = read_ca_key(a.ca_key);
    if (!ca) return report(cmd, "--ca-key: " + ca.error(), kFailed);
    std::printf("%s\n", format_force_leave(sign_force_leave(*id, a.inc, *ca)).c_str());
    std::fprintf(stderr,
                 "pass this line to `shoal force-leave MEMBER --ca-signed '...'` on any host; it "
                 "frees the member only while it is dead or restarting at incarnation %u\n",
                 a.inc);
    return 0;
}

}  // namespace

Run add_ca(CLI::App& app) {
    auto* ca =
        app.add_subcommand("ca", "The certificate authority that admits nodes (run offline)");
    ca->require_subcommand(1);

    auto init_args = std::make_shared<InitArgs>();
    auto* init = ca->add_subcommand(
        "init",
        "Make a new CA: DIR/ca.key (keep offline), DIR/ca.pub (for every host), DIR/ledger");
    init->add_option("--out", init_args->out, "The CA's directory (made with mode 0700)")
        ->type_name("DIR")
        ->required();
    init->add_option("--network", init_args->network,
                     "The cluster's pod network, for certificates that name a subnet")
        ->type_name("CIDR");
    init->add_option("--subnet-len", init_args->subnet_len, "Length of each node's subnet")
        ->type_name("N")
        ->check(CLI::Range(1, 32));
    init->add_option("--subnet-min", init_args->subnet_min, "First subnet given out")
        ->type_name("IP");
    init->add_option("--subnet-max", init_args->subnet_max, "Last subnet given out")
        ->type_name("IP");

    auto sign_args = std::make_shared<SignArgs>();
    auto* sign =
        ca->add_subcommand("sign", "Sign a node's certificate and record it in the ledger");
    sign->add_option("--ca-key", sign_args->ca_key, "The CA key; its directory holds the ledger")
        ->type_name("FILE")
        ->required();
    sign->add_option("--name", sign_args->name, "The node's member name")
        ->type_name("NAME")
        ->required();
    sign->add_option("--node-pub", sign_args->node_pub,
                     "The node's key, as `shoal identity show` prints it (- for standard input)")
        ->type_name("FILE|-")
        ->required();
    sign->add_option("--subnet", sign_args->subnet,
                     "The one subnet the node may claim: a slot number, a CIDR, or auto (the "
                     "lowest free; a renewal keeps its own). Without it, any")
        ->type_name("SLOT|CIDR|auto");
    sign->add_option("--valid", sign_args->valid,
                     "How long the certificate is valid: 90d, 12h, 30m, 3600s. Without it, forever")
        ->type_name("DURATION");
    sign->add_option("--out", sign_args->out, "The certificate file to write (mode 0644)")
        ->type_name("FILE")
        ->required();
    sign->add_flag("--force", sign_args->force, "Replace an existing --out");

    auto revoke_args = std::make_shared<RevokeArgs>();
    auto* revoke = ca->add_subcommand("revoke",
                                      "Revoke a certificate: the ledger frees its subnet and the "
                                      "revocations file gets its signed revocation");
    revoke->add_option("--ca-key", revoke_args->ca_key, "The CA key that signed the certificate")
        ->type_name("FILE")
        ->required();
    revoke
        ->add_option("fingerprint", revoke_args->fingerprint,
                     "The certificate's fingerprint (64 hex digits)")
        ->type_name("FINGERPRINT")
        ->required();
    revoke
        ->add_option("--out", revoke_args->out,
                     "The revocations file to append to (default: revocations beside the key)")
        ->type_name("FILE");

    auto show_file = std::make_shared<std::string>();
    auto* show = ca->add_subcommand("show",
                                    "Print a certificate file's contents, its signature "
                                    "checked");
    show->add_option("file", *show_file, "The certificate file")->type_name("FILE")->required();

    auto fl_args = std::make_shared<ForceLeaveArgs>();
    auto* force_leave = ca->add_subcommand(
        "force-leave",
        "Sign a force-leave for a dead member (under admission only the CA may order one)");
    force_leave->add_option("--ca-key", fl_args->ca_key, "The CA key")
        ->type_name("FILE")
        ->required();
    force_leave->add_option("--id", fl_args->id, "The member's node id (`shoal members`)")
        ->type_name("NODE-ID")
        ->required();
    force_leave
        ->add_option("--incarnation", fl_args->inc,
                     "The member's incarnation (`shoal members`): the order is void above it")
        ->type_name("N")
        ->required();

    return [=]() -> int {
        if (force_leave->parsed()) return run_force_leave(*fl_args);
        if (init->parsed()) return run_init(*init_args);
        if (sign->parsed()) return run_sign(*sign_args);
        if (revoke->parsed()) return run_revoke(*revoke_args);
        if (show->parsed()) return run_show(*show_file);
        return kUsage;
    };
}

Run add_identity(CLI::App& app) {
    auto* identity = app.add_subcommand("identity", "This host's node identity");
    identity->require_subcommand(1);
    auto state_dir = std::make_shared<std::string>("/var/lib/shoal");
    auto* show = identity->add_subcommand(
        "show", "Print this host's node public key, for `shoal ca sign --node-pub`");
    show->add_option("--state-dir", *state_dir, "The agent's state directory")
        ->type_name("DIR")
        ->capture_default_str();
    return [=]() -> int {
        auto loaded = load_or_create_identity(*state_dir);
        if (!loaded) return report("identity show", loaded.error(), kFailed);
        if (loaded->created)
            std::fprintf(stderr,
                         "shoal identity show: %s/node.key did not exist: made this host's node "
                         "key now (the agent will use it)\n",
                         state_dir->c_str());
        std::fputs(format_node_pub(loaded->identity).c_str(), stdout);
        return std::fflush(stdout) == 0 ? 0 : kFailed;
    };
}

}  // namespace shoal::cli
