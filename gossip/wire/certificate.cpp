#include "gossip/wire/certificate.hpp"

#include <sodium.h>

#include <cstring>

#include "gossip/wire/member_name.hpp"
#include "gossip/wire/msgpack_reader.hpp"
#include "gossip/wire/msgpack_writer.hpp"

namespace shoal {

namespace {
constexpr std::string_view kCertDomain = "shoal/cert/1";
constexpr std::string_view kRevokeDomain = "shoal/revoke/1";
constexpr std::uint32_t kBodyFields = 6;

std::vector<std::uint8_t> revocation_message(const Fingerprint& cert) {
    // One resize and two copies: g++ 12 at -O3 warns falsely about an insert after the range
    // constructor.
    std::vector<std::uint8_t> m(kRevokeDomain.size() + cert.size());
    std::memcpy(m.data(), kRevokeDomain.data(), kRevokeDomain.size());
    std::memcpy(m.data() + kRevokeDomain.size(), cert.data(), cert.size());
    return m;
}

Status check_fields(const Certificate& c) {
    if (c.name.size() > kMaxCertName || !valid_member_name(c.name))
        return Error{"name '" + c.name + "' is not a host name of at most " +
                     std::to_string(kMaxCertName) + " characters"};
    if (c.subnet && (c.subnet->len < 1 || c.subnet->len > 32 ||
                     (c.subnet->addr & ~ipv4_mask(c.subnet->len)) != 0))
        return Error{"subnet " + c.subnet->to_string() + " is not a network address"};
    return {};
}
}  // namespace

Result<std::vector<std::uint8_t>> issue_certificate(const Certificate& c, const Identity& ca) {
    if (c.ca != ca.public_key()) return Error{"the certificate names another CA than the signer"};
    if (auto ok = check_fields(c); !ok) return Error{ok.error()};
    std::vector<std::uint8_t> body;
    MsgWriter w(body);
    w.array(kBodyFields);
    w.str(kCertDomain);
    w.bin(c.ca);
    w.bin(c.node);
    w.str(c.name);
    if (c.subnet) {
        w.array(2);
        w.uint(c.subnet->addr);
        w.uint(static_cast<std::uint64_t>(c.subnet->len));
    } else {
        w.nil();
    }
    w.uint(c.not_after);
    auto sig = ca.sign(body);
    std::vector<std::uint8_t> out;
    MsgWriter o(out);
    o.array(2);
    o.bin(body);
    o.bin(sig);
    return out;
}

Result<Certificate> open_certificate(std::span<const std::uint8_t> bytes) {
    const Error malformed{"not a shoal certificate"};
    if (bytes.size() > kMaxCertificateLen) return malformed;
    MsgReader outer(bytes);
    std::uint32_t n = 0;
    std::span<const std::uint8_t> body, sig;
    if (!outer.array(n) || n != 2 || !outer.bin(body, kMaxCertificateLen) || !outer.bin(sig, 64) ||
        sig.size() != 64 || !outer.at_end())
        return malformed;
    MsgReader r(body);
    std::string_view domain, name;
    std::span<const std::uint8_t> ca, node;
    Certificate c;
    if (!r.array(n) || n < kBodyFields || !r.str(domain, 32) || domain != kCertDomain ||
        !r.bin(ca, 32) || ca.size() != 32 || !r.bin(node, 32) || node.size() != 32 ||
        !r.str(name, kMaxCertName))
        return malformed;
    if (!r.nil()) {
        std::uint32_t m = 0;
        Ipv4Net net;
        if (!r.array(m) || m != 2 || !r.uint_as(net.addr, UINT32_MAX) || !r.uint_as(net.len, 32))
            return malformed;
        c.subnet = net;
    }
    if (!r.uint(c.not_after)) return malformed;
    for (std::uint32_t i = kBodyFields; i < n; ++i)
        if (!r.skip()) return malformed;
    if (!r.at_end()) return malformed;
    std::copy(ca.begin(), ca.end(), c.ca.begin());
    std::copy(node.begin(), node.end(), c.node.begin());
    c.name.assign(name);
    if (!verify_signature(c.ca, body, sig)) return Error{"the CA's signature does not verify"};
    if (auto ok = check_fields(c); !ok) return Error{ok.error()};
    return c;
}

Fingerprint fingerprint_of(std::span<const std::uint8_t> bytes) {
    Fingerprint f;
    crypto_generichash(f.data(), f.size(), bytes.data(), bytes.size(), nullptr, 0);
    return f;
}

namespace {
constexpr std::string_view kForceLeaveDomain = "shoal/force-leave/1";
std::vector<std::uint8_t> force_leave_message(const NodeId& id, std::uint32_t inc) {
    std::vector<std::uint8_t> m(kForceLeaveDomain.size() + id.bytes.size() + 4);
    std::memcpy(m.data(), kForceLeaveDomain.data(), kForceLeaveDomain.size());
    std::memcpy(m.data() + kForceLeaveDomain.size(), id.bytes.data(), id.bytes.size());
    for (int i = 0; i < 4; ++i)
        m[kForceLeaveDomain.size() + id.bytes.size() + static_cast<std::size_t>(i)] =
            static_cast<std::uint8_t>(inc >> (8 * i));
    return m;
}
}  // namespace

ForceLeave sign_force_leave(const NodeId& id, std::uint32_t inc, const Identity& ca) {
    return ForceLeave{ca.public_key(), id, inc, ca.sign(force_leave_message(id, inc))};
}

bool check_force_leave(const ForceLeave& f) {
    return verify_signature(f.ca, force_leave_message(f.id, f.inc), f.sig);
}

Revocation revoke_certificate(const Fingerprint& cert, const Identity& ca) {
    return Revocation{ca.public_key(), cert, ca.sign(revocation_message(cert))};
}

bool check_revocation(const Revocation& r) {
    return verify_signature(r.ca, revocation_message(r.cert), r.sig);
}

}  // namespace shoal
