#include "agent/ca_ledger.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <set>
#include <utility>

#include "agent/credential_files.hpp"
#include "agent/state_dir.hpp"
#include "common/address.hpp"
#include "common/hex.hpp"
#include "gossip/wire/member_name.hpp"

namespace shoal::agent {

namespace {

constexpr std::string_view kHeader =
    "# shoal CA ledger: every certificate this CA issued and revoked. Written by `shoal ca`.\n"
    "# Each line, times in Unix seconds (comments added by hand are not kept):\n"
    "#   network CIDR subnet-len N [subnet-min A.B.C.D] [subnet-max A.B.C.D]\n"
    "#   issued FINGERPRINT NAME NODE-KEY-HEX SUBNET-CIDR|- NOT-AFTER|0 ISSUED-AT\n"
    "#   revoked FINGERPRINT REVOKED-AT\n";
constexpr std::string_view kHowToFix =
    "; the ledger is plain text: fix or remove the line by hand (the line formats are at the top "
    "of the file)";
// Long enough for any honest `shoal ca` run to finish; a flock dies with its holder, so waiting
// out a crashed run is never needed.
constexpr int kLockWaitMs = 10000;

template <typename T>
bool parse_number(std::string_view s, T& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return !s.empty() && ec == std::errc{} && end == s.data() + s.size();
}

bool subnet_less(const Ipv4Net& a, const Ipv4Net& b) {
    return a.addr != b.addr ? a.addr < b.addr : a.len < b.len;
}

std::string issued_line(const IssuedCert& c) {
    return "issued " + to_hex(c.fingerprint) + " " + c.name + " " + to_hex(c.node) + " " +
           (c.subnet ? c.subnet->to_string() : std::string("-")) + " " +
           std::to_string(c.not_after) + " " + std::to_string(c.issued_at) + "\n";
}

Result<NetworkSettings> parse_network_line(const std::vector<std::string_view>& f) {
    if (f.size() < 2)
        return Error{
            std::string("expected 'network CIDR subnet-len N [subnet-min A.B.C.D] "
                        "[subnet-max A.B.C.D]'")};
    NetworkSettings s;
    s.network = std::string(f[1]);
    bool have_len = false;
    for (std::size_t i = 2; i < f.size(); i += 2) {
        if (i + 1 >= f.size())
            return Error{"'" + std::string(f[i]) + "' has no value (expected NAME VALUE pairs)"};
        const std::string_view key = f[i], value = f[i + 1];
        if (key == "subnet-len" && !have_len) {
            if (!parse_number(value, s.subnet_len) || s.subnet_len < 1 || s.subnet_len > 32)
                return Error{"subnet-len '" + std::string(value) + "' is not a prefix length"};
            have_len = true;
        } else if (key == "subnet-min" && s.subnet_min.empty()) {
            s.subnet_min = std::string(value);
        } else if (key == "subnet-max" && s.subnet_max.empty()) {
            s.subnet_max = std::string(value);
        } else {
            return Error{"unexpected or repeated '" + std::string(key) +
                         "' (expected subnet-len, subnet-min, subnet-max, each once)"};
        }
    }
    if (!have_len) return Error{std::string("the network line has no subnet-len")};
    return s;
}

Result<IssuedCert> parse_issued_line(const std::vector<std::string_view>& f) {
    if (f.size() != 7)
        return Error{
            std::string("expected 'issued FINGERPRINT NAME NODE-KEY-HEX SUBNET|- "
                        "NOT-AFTER ISSUED-AT' (7 fields)")};
    IssuedCert c;
    if (!from_hex(f[1], c.fingerprint))
        return Error{"fingerprint '" + std::string(f[1]) + "' is not 64 hex digits"};
    c.name = std::string(f[2]);
    if (c.name.size() > kMaxCertName || !valid_member_name(c.name))
        return Error{"name '" + c.name + "' is not a host name of at most " +
                     std::to_string(kMaxCertName) + " characters"};
    if (!from_hex(f[3], c.node))
        return Error{"node key '" + std::string(f[3]) + "' is not 64 hex digits"};
    if (f[4] != "-") {
        auto net = parse_ipv4_net(f[4]);
        if (!net) return Error{"subnet: " + net.error()};
        c.subnet = *net;
    }
    if (!parse_number(f[5], c.not_after))
        return Error{"not-after '" + std::string(f[5]) + "' is not a Unix time (0: never)"};
    if (!parse_number(f[6], c.issued_at))
        return Error{"issued-at '" + std::string(f[6]) + "' is not a Unix time"};
    return c;
}

Result<RevokedCert> parse_revoked_line(const std::vector<std::string_view>& f) {
    if (f.size() != 3)
        return Error{std::string("expected 'revoked FINGERPRINT REVOKED-AT' (3 fields)")};
    RevokedCert r;
    if (!from_hex(f[1], r.fingerprint))
        return Error{"fingerprint '" + std::string(f[1]) + "' is not 64 hex digits"};
    if (!parse_number(f[2], r.revoked_at))
        return Error{"revoked-at '" + std::string(f[2]) + "' is not a Unix time"};
    return r;
}

// Closing the descriptor releases the flock, so the lock cannot outlive this object.
class LedgerLock {
  public:
    static Result<LedgerLock> acquire(const std::string& dir) {
        const std::string path = dir + "/ledger.lock";
        LedgerLock lock(::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (lock.fd_ < 0) return Error{"cannot open " + path + ": " + std::strerror(errno)};
        for (int waited = 0;; waited += 10) {
            if (::flock(lock.fd_, LOCK_EX | LOCK_NB) == 0) return lock;
            if (errno != EWOULDBLOCK && errno != EINTR)
                return Error{"cannot lock " + path + ": " + std::strerror(errno)};
            if (waited >= kLockWaitMs)
                return Error{path + " is still locked by another `shoal ca` after " +
                             std::to_string(kLockWaitMs / 1000) + " s; try again when it is done"};
            timespec pause{0, 10'000'000};
            ::nanosleep(&pause, nullptr);
        }
    }
    LedgerLock(LedgerLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    LedgerLock& operator=(LedgerLock&&) = delete;
    ~LedgerLock() {
        if (fd_ >= 0) ::close(fd_);
    }

  private:
    explicit LedgerLock(int fd) : fd_(fd) {}
    int fd_;
};

struct LedgerFile {
    Ledger ledger;
    std::string text;  // as read, to skip a write that would change nothing
    bool missing = false;
};

Result<LedgerFile> load(const std::string& dir) {
    const std::string path = ledger_path(dir);
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 && errno == ENOENT) return LedgerFile{{}, {}, true};
    auto text = read_small_file(path);
    if (!text) return Error{text.error()};
    auto ledger = Ledger::parse(*text, path);
    if (!ledger) return Error{ledger.error()};
    return LedgerFile{std::move(*ledger), std::move(*text), false};
}

}  // namespace

Result<SubnetRequest> parse_subnet_request(std::string_view text) {
    SubnetRequest r;
    if (text.empty()) return r;
    if (text == "auto") {
        r.kind = SubnetRequest::Kind::Auto;
        return r;
    }
    if (text.find('/') != std::string_view::npos) {
        auto net = parse_ipv4_net(text);
        if (!net) return Error{net.error()};
        r.kind = SubnetRequest::Kind::Cidr;
        r.cidr = *net;
        return r;
    }
    if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        if (!parse_number(text, r.slot))
            return Error{"slot '" + std::string(text) + "' is too large"};
        r.kind = SubnetRequest::Kind::Slot;
        return r;
    }
    return Error{"'" + std::string(text) +
                 "' is not a slot number, a subnet (a.b.c.d/len) or 'auto'"};
}

Result<Ledger> Ledger::parse(std::string_view text, const std::string& origin) {
    Ledger l;
    int network_line = 0;
    std::set<Fingerprint> issued, revoked;
    auto each = [&](int number, std::string_view line) -> Status {
        auto at = [&](const std::string& why) {
            return Error{origin + " line " + std::to_string(number) + ": " + why +
                         std::string(kHowToFix)};
        };
        auto f = fields_of(line);
        if (f[0] == "network") {
            if (network_line)
                return at("a second network line (the first is line " +
                          std::to_string(network_line) + ")");
            auto settings = parse_network_line(f);
            if (!settings) return at(settings.error());
            if (auto ok = l.set_network(*settings); !ok) return at(ok.error());
            network_line = number;
        } else if (f[0] == "issued") {
            auto c = parse_issued_line(f);
            if (!c) return at(c.error());
            if (!issued.insert(c->fingerprint).second)
                return at("certificate " + to_hex(c->fingerprint) + " is listed twice");
            l.issued_.push_back(std::move(*c));
        } else if (f[0] == "revoked") {
            auto r = parse_revoked_line(f);
            if (!r) return at(r.error());
            if (!revoked.insert(r->fingerprint).second)
                return at("certificate " + to_hex(r->fingerprint) + " is revoked twice");
            l.revoked_.push_back(*r);
        } else {
            return at("unknown line kind '" + std::string(f[0]) +
                      "' (expected network, issued or revoked)");
        }
        return {};
    };
    if (auto ok = for_each_record(text, each); !ok) return Error{ok.error()};
    return l;
}

std::string Ledger::format() const {
    std::string text(kHeader);
    if (network_) {
        text +=
            "network " + settings_.network + " subnet-len " + std::to_string(settings_.subnet_len);
        if (!settings_.subnet_min.empty()) text += " subnet-min " + settings_.subnet_min;
        if (!settings_.subnet_max.empty()) text += " subnet-max " + settings_.subnet_max;
        text += "\n";
    }
    for (const auto& c : issued_) text += issued_line(c);
    for (const auto& r : revoked_)
        text += "revoked " + to_hex(r.fingerprint) + " " + std::to_string(r.revoked_at) + "\n";
    return text;
}

Status Ledger::set_network(const NetworkSettings& given) {
    NetworkSettings s;
    s.network = given.network;
    s.subnet_len = given.subnet_len;
    s.subnet_min = given.subnet_min;
    s.subnet_max = given.subnet_max;
    auto config = NetworkConfig::make(s);
    if (!config) return Error{config.error()};
    // Written back in canonical form, so the line reads the same whoever typed it.
    s.network = config->network().to_string();
    s.subnet_len = config->subnet_len();
    if (!s.subnet_min.empty()) s.subnet_min = ipv4_to_string(config->subnet(0).addr);
    if (!s.subnet_max.empty())
        s.subnet_max = ipv4_to_string(config->subnet(config->slots() - 1).addr);
    settings_ = s;
    network_ = *config;
    return {};
}

const IssuedCert* Ledger::find(const Fingerprint& fingerprint) const {
    for (const auto& c : issued_)
        if (c.fingerprint == fingerprint) return &c;
    return nullptr;
}

const RevokedCert* Ledger::find_revoked(const Fingerprint& fingerprint) const {
    for (const auto& r : revoked_)
        if (r.fingerprint == fingerprint) return &r;
    return nullptr;
}

std::vector<Ipv4Net> Ledger::held_subnets() const {
    std::set<Fingerprint> revoked;
    for (const auto& r : revoked_) revoked.insert(r.fingerprint);
    std::vector<Ipv4Net> held;
    for (const auto& c : issued_)
        if (c.subnet && !revoked.count(c.fingerprint)) held.push_back(*c.subnet);
    std::sort(held.begin(), held.end(), subnet_less);
    held.erase(std::unique(held.begin(), held.end()), held.end());
    return held;
}

std::optional<Ipv4Net> Ledger::pick_free(const NetworkConfig& network) const {
    const auto held = held_subnets();
    for (std::uint32_t slot = 0; slot < network.slots(); ++slot) {
        const Ipv4Net candidate = network.subnet(slot);
        if (!std::binary_search(held.begin(), held.end(), candidate, subnet_less)) return candidate;
    }
    return std::nullopt;
}

Status Ledger::check_request(const SubnetRequest& r) const {
    using Kind = SubnetRequest::Kind;
    if (r.kind == Kind::None) return {};
    if (!network_)
        return Error{std::string(
            "the ledger has no network line (the CA was made without --network), so no "
            "certificate can name a subnet: add one by hand (e.g. 'network 10.244.0.0/16 "
            "subnet-len 24', the cluster's pod network) or make the CA with `shoal ca init "
            "--network CIDR`")};
    if (r.kind == Kind::Slot && r.slot >= network_->slots())
        return Error{"slot " + std::to_string(r.slot) + " is not one of the network's slots 0.." +
                     std::to_string(network_->slots() - 1) + " (" + network_->describe() + ")"};
    if (r.kind == Kind::Cidr && !network_->slot_of(r.cidr)) {
        const bool inside =
            r.cidr.len >= network_->network().len &&
            (r.cidr.addr & ipv4_mask(network_->network().len)) == network_->network().addr;
        return Error{
            r.cidr.to_string() +
            (inside ? " is not one of the network's subnets (" : " is outside the network (") +
            network_->describe() + ")"};
    }
    return {};
}

Result<std::optional<Ipv4Net>> Ledger::assign(const SubnetRequest& r, std::string_view name,
                                              const PublicKey& node) const {
    using Kind = SubnetRequest::Kind;
    if (auto ok = check_request(r); !ok) return Error{ok.error()};
    if (r.kind == Kind::None) return std::optional<Ipv4Net>{};
    std::set<Fingerprint> revoked;
    for (const auto& x : revoked_) revoked.insert(x.fingerprint);
    auto renewal = [&](const IssuedCert& c) { return c.name == name && c.node == node; };
    if (r.kind == Kind::Auto) {
        // The newest certificate of the same node keeps its subnet: a renewal must not move pods.
        for (auto it = issued_.rbegin(); it != issued_.rend(); ++it)
            if (renewal(*it) && it->subnet && !revoked.count(it->fingerprint) &&
                network_->slot_of(*it->subnet))
                return std::optional<Ipv4Net>(*it->subnet);
        auto free = pick_free(*network_);
        if (!free)
            return Error{"all " + std::to_string(network_->slots()) + " subnets of " +
                         network_->describe() +
                         " are held by unrevoked certificates: revoke one that is no longer used "
                         "(`shoal ca revoke`)"};
        return std::optional<Ipv4Net>(*free);
    }
    const Ipv4Net wanted = r.kind == Kind::Slot ? network_->subnet(r.slot) : r.cidr;
    for (const auto& c : issued_) {
        if (c.subnet != wanted || revoked.count(c.fingerprint) || renewal(c)) continue;
        return Error{"subnet " + wanted.to_string() + " is held by " + c.name + " (certificate " +
                     to_hex(c.fingerprint) + ", issued " + format_utc(c.issued_at) +
                     "): revoke that certificate first (`shoal ca revoke`) or use --subnet auto"};
    }
    return std::optional<Ipv4Net>(wanted);
}

Result<bool> Ledger::add_issued(const IssuedCert& cert) {
    if (const auto* r = find_revoked(cert.fingerprint))
        return Error{"the certificate " + to_hex(cert.fingerprint) +
                     " is identical to one revoked at " + format_utc(r->revoked_at) +
                     " and would be refused as revoked: give another --valid to make a different "
                     "certificate"};
    if (find(cert.fingerprint)) return false;
    issued_.push_back(cert);
    return true;
}

std::optional<Ipv4Net> Ledger::add_revoked(const Fingerprint& fingerprint, std::uint64_t at) {
    if (find_revoked(fingerprint)) return std::nullopt;
    revoked_.push_back({fingerprint, at});
    const auto* c = find(fingerprint);
    if (!c || !c->subnet) return std::nullopt;
    const auto held = held_subnets();
    if (std::binary_search(held.begin(), held.end(), *c->subnet, subnet_less)) return std::nullopt;
    return c->subnet;
}

std::string ledger_path(const std::string& dir) {
    return dir + "/ledger";
}

Status create_ledger(const std::string& dir, const Ledger& ledger) {
    return create_new_file(ledger_path(dir), ledger.format(), 0600, DirTrust::Private);
}

Result<Ledger> read_ledger(const std::string& dir) {
    auto file = load(dir);
    if (!file) return Error{file.error()};
    if (file->missing)
        return Error{ledger_path(dir) +
                     " does not exist: the CA key's directory must hold the "
                     "ledger `shoal ca init` made"};
    return std::move(file->ledger);
}

Status update_ledger(const std::string& dir, const std::function<Status(Ledger&)>& change,
                     IfLedgerMissing missing) {
    auto lock = LedgerLock::acquire(dir);
    if (!lock) return Error{lock.error()};
    auto file = load(dir);
    if (!file) return Error{file.error()};
    if (file->missing && missing == IfLedgerMissing::Fail)
        return Error{ledger_path(dir) +
                     " does not exist: the CA key's directory must hold the ledger `shoal ca "
                     "init` made (restore it from your backup; without it the CA cannot tell "
                     "which subnets are taken)"};
    if (auto ok = change(file->ledger); !ok) return ok;
    std::string text = file->ledger.format();
    if (!file->missing && text == file->text) return {};
    return write_file_atomically(ledger_path(dir), text, 0600, DirTrust::Private);
}

}  // namespace shoal::agent
