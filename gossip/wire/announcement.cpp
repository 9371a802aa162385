#include "gossip/wire/announcement.hpp"

#include "gossip/wire/msgpack_reader.hpp"
#include "gossip/wire/msgpack_writer.hpp"

namespace shoal {

namespace {
constexpr std::string_view kAnnounceDomain = "shoal/announce/1";
constexpr std::string_view kLeaveDomain = "shoal/leave/1";
constexpr std::string_view kAccuseDomain = "shoal/accuse/2";
// Fields of the body a protocol-1 member writes; protocol 2 appends the boot nonce.
constexpr std::uint32_t kBodyFieldsV1 = 10;
constexpr std::uint32_t kBodyFields = 11;
// With a certificate, which goes last so that protocol-2 readers before it skip it.
constexpr std::uint32_t kBodyFieldsCertified = 12;
// With an IPv6 address (and the certificate field before it, empty if none): readers before it
// skip it.
constexpr std::uint32_t kBodyFieldsDual = 13;
constexpr std::size_t kMaxVersionLen = 64;

// The claim field: [] or [slot, clock].
void write_claim(MsgWriter& w, const std::optional<Claim>& claim) {
    if (claim) {
        w.array(2);
        w.uint(claim->slot);
        w.uint(claim->clock);
    } else {
        w.array(0);
    }
}

bool read_claim(MsgReader& r, std::optional<Claim>& claim) {
    std::uint32_t n = 0;
    if (!r.array(n) || (n != 0 && n != 2)) return false;
    if (n == 2) {
        Claim c;
        if (!r.uint_as(c.slot, UINT32_MAX) || !r.uint(c.clock)) return false;
        claim = c;
    }
    return true;
}

std::vector<std::uint8_t> encode_body(const Announcement& a) {
    std::vector<std::uint8_t> body;
    MsgWriter w(body);
    w.array(a.addr6 ? kBodyFieldsDual : a.certificate.empty() ? kBodyFields : kBodyFieldsCertified);
    w.str(kAnnounceDomain);
    w.bin(a.key);
    w.str(a.name);
    w.uint(a.addr.ip);
    w.uint(a.addr.port);
    w.uint(a.inc);
    write_claim(w, a.claim);
    w.bin(a.network);
    w.str(a.version);
    w.uint(a.restart_hold_ms);
    w.uint(a.boot);
    if (a.addr6 || !a.certificate.empty()) w.bin(a.certificate);
    if (a.addr6) w.bin(*a.addr6);
    return body;
}

bool decode_body(std::span<const std::uint8_t> body, Announcement& a) {
    MsgReader r(body);
    std::uint32_t n = 0;
    std::string_view domain, name, version;
    std::span<const std::uint8_t> key, network;
    if (!r.array(n) || n < kBodyFieldsV1 || !r.str(domain, 32) || domain != kAnnounceDomain ||
        !r.bin(key, 32) || key.size() != 32 || !r.str(name, kMaxNameLen) ||
        !r.uint_as(a.addr.ip, UINT32_MAX) || !r.uint_as(a.addr.port, UINT16_MAX) ||
        !r.uint_as(a.inc, UINT32_MAX) || !read_claim(r, a.claim))
        return false;
    if (!r.bin(network, 16) || network.size() != 16 || !r.str(version, kMaxVersionLen) ||
        !r.uint_as(a.restart_hold_ms, UINT32_MAX))
        return false;
    if (n > kBodyFieldsV1 && !r.uint(a.boot)) return false;
    std::span<const std::uint8_t> cert;
    if (n > kBodyFields && !r.bin(cert, kMaxCertificateLen)) return false;
    std::span<const std::uint8_t> addr6;
    if (n > kBodyFieldsCertified && (!r.bin(addr6, 16) || (addr6.size() != 16 && !addr6.empty())))
        return false;
    for (std::uint32_t i = kBodyFieldsDual; i < n; ++i)
        if (!r.skip()) return false;
    if (!r.at_end()) return false;
    std::copy(key.begin(), key.end(), a.key.begin());
    std::copy(network.begin(), network.end(), a.network.begin());
    a.name.assign(name);
    a.version.assign(version);
    a.certificate.assign(cert.begin(), cert.end());
    if (addr6.size() == 16) {
        a.addr6.emplace();
        std::copy(addr6.begin(), addr6.end(), a.addr6->begin());
    }
    return true;
}

std::vector<std::uint8_t> leave_message(std::uint32_t inc) {
    std::vector<std::uint8_t> m(kLeaveDomain.begin(), kLeaveDomain.end());
    for (int i = 0; i < 4; ++i) m.push_back(static_cast<std::uint8_t>(inc >> (8 * i)));
    return m;
}
}  // namespace

const char* to_string(Rejection r) {
    switch (r) {
        case Rejection::Malformed: return "malformed";
        case Rejection::BadSignature: return "bad_signature";
        case Rejection::IdMismatch: return "id_mismatch";
        case Rejection::FieldMismatch: return "field_mismatch";
        case Rejection::ForeignNetwork: return "foreign_network";
        case Rejection::Replayed: return "replayed";
        case Rejection::UnsignedLeave: return "unsigned_leave";
        case Rejection::ClaimOutOfRange: return "claim_out_of_range";
        case Rejection::Unannounced: return "unannounced_incarnation";
        case Rejection::MalformedName: return "malformed_name";
        case Rejection::MemberCap: return "member_cap";
        case Rejection::IdentityRate: return "identity_rate";
        case Rejection::Unsolicited: return "unsolicited";
        case Rejection::UnsignedAccusation: return "unsigned_accusation";
        case Rejection::Uncertified: return "uncertified";
        case Rejection::UntrustedCertificate: return "untrusted_certificate";
        case Rejection::CertificateExpired: return "certificate_expired";
        case Rejection::CertificateRevoked: return "certificate_revoked";
        case Rejection::CertificateName: return "certificate_name";
        case Rejection::ClaimOutsideCertificate: return "claim_outside_certificate";
        case Rejection::BadAddress6: return "bad_address6";
        case Rejection::Count: break;
    }
    return "?";
}

std::vector<std::uint8_t> encode_placement(const Placement& p) {
    std::vector<std::uint8_t> out;
    MsgWriter w(out);
    write_claim(w, p.claim);
    if (p.addr6) w.bin(*p.addr6);
    return out;
}

bool decode_placement(std::span<const std::uint8_t> payload, Placement& p) {
    MsgReader r(payload);
    Placement got;
    std::span<const std::uint8_t> addr6;
    if (!read_claim(r, got.claim)) return false;
    if (!r.at_end() && (!r.bin(addr6, 16) || addr6.size() != 16)) return false;
    if (!r.at_end()) return false;
    if (addr6.size() == 16) {
        got.addr6.emplace();
        std::copy(addr6.begin(), addr6.end(), got.addr6->begin());
    }
    p = got;
    return true;
}

Alive seal_announcement(const Announcement& a, const Identity& id, std::uint8_t proto) {
    auto body = encode_body(a);
    auto sig = id.sign(body);
    Alive out{id.id(), a.inc, a.name, a.addr, proto, {}};
    MsgWriter w(out.meta);
    w.array(2);
    w.bin(body);
    w.bin(sig);
    return out;
}

std::variant<Announcement, Rejection> open_announcement(const Alive& alive, const Digest& network,
                                                        std::uint32_t slots) {
    MsgReader r(alive.meta);
    std::uint32_t n = 0;
    std::span<const std::uint8_t> body, sig;
    Announcement a;
    if (!r.array(n) || n < 2 || !r.bin(body, kMaxMetaLen) || !r.bin(sig, 64) ||
        !decode_body(body, a))
        return Rejection::Malformed;
    if (!verify_signature(a.key, body, sig)) return Rejection::BadSignature;
    if (node_id_for(a.key) != alive.id) return Rejection::IdMismatch;
    if (a.inc != alive.inc || a.name != alive.name || a.addr != alive.addr)
        return Rejection::FieldMismatch;
    if (a.network != network) return Rejection::ForeignNetwork;
    // A slot past the network's last would name an address outside the pod network, routed by
    // every host to the claimant.
    if (a.claim && (a.claim->slot >= slots || a.claim->clock > kMaxClaimClock))
        return Rejection::ClaimOutOfRange;
    // Every host would route a pod subnet through it.
    if (a.addr6 && !is_unicast_global(*a.addr6)) return Rejection::BadAddress6;
    if (!a.certificate.empty()) {
        auto cert = open_certificate(a.certificate);
        if (cert && cert->node == a.key) {
            a.cert = std::move(*cert);
            a.cert_fingerprint = fingerprint_of(a.certificate);
        }
    }
    a.meta = alive.meta;
    return a;
}

std::vector<std::uint8_t> sign_leave(const Identity& id, std::uint32_t inc) {
    auto sig = id.sign(leave_message(inc));
    return {sig.begin(), sig.end()};
}

bool verify_leave(const PublicKey& key, std::uint32_t inc, std::span<const std::uint8_t> sig) {
    return verify_signature(key, leave_message(inc), sig);
}

namespace {
std::vector<std::uint8_t> accusation_message(Accusation kind, const NodeId& id, std::uint32_t inc) {
    std::vector<std::uint8_t> m(kAccuseDomain.begin(), kAccuseDomain.end());
    m.push_back(static_cast<std::uint8_t>(kind));
    m.insert(m.end(), id.bytes.begin(), id.bytes.end());
    for (int i = 0; i < 4; ++i) m.push_back(static_cast<std::uint8_t>(inc >> (8 * i)));
    return m;
}
}  // namespace

std::vector<std::uint8_t> sign_accusation(const Identity& accuser, Accusation kind,
                                          const NodeId& id, std::uint32_t inc) {
    auto sig = accuser.sign(accusation_message(kind, id, inc));
    return {sig.begin(), sig.end()};
}

bool verify_accusation(const PublicKey& accuser, Accusation kind, const NodeId& id,
                       std::uint32_t inc, std::span<const std::uint8_t> sig) {
    return verify_signature(accuser, accusation_message(kind, id, inc), sig);
}

}  // namespace shoal
