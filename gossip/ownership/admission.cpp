#include "gossip/ownership/admission.hpp"

#include <algorithm>

namespace shoal {

const char* to_string(AdmissionMode m) {
    switch (m) {
        case AdmissionMode::Off: return "off";
        case AdmissionMode::Permissive: return "permissive";
        case AdmissionMode::Enforce: return "enforce";
    }
    return "?";
}

std::optional<Rejection> AdmissionPolicy::check(const Announcement& a,
                                                const NetworkConfig& network) const {
    if (a.certificate.empty()) return Rejection::Uncertified;
    // open_announcement kept it only if its CA's signature verifies and it is for a's key.
    if (!a.cert || std::find(cas.begin(), cas.end(), a.cert->ca) == cas.end())
        return Rejection::UntrustedCertificate;
    if (revoked.count(a.cert_fingerprint)) return Rejection::CertificateRevoked;
    if (a.cert->not_after != 0 && unix_now >= kPlausibleUnixTime && unix_now > a.cert->not_after)
        return Rejection::CertificateExpired;
    if (a.cert->name != a.name) return Rejection::CertificateName;
    if (a.cert->subnet) {
        auto slot = network.slot_of(*a.cert->subnet);
        // A subnet that is not one of our network's: signed for another cluster.
        if (!slot) return Rejection::UntrustedCertificate;
        if (a.claim && a.claim->slot != *slot) return Rejection::ClaimOutsideCertificate;
    }
    return std::nullopt;
}

std::optional<std::uint32_t> AdmissionPolicy::pinned_slot(const Announcement& a,
                                                          const NetworkConfig& network) const {
    if (!on() || !a.cert || !a.cert->subnet || check(a, network)) return std::nullopt;
    return network.slot_of(*a.cert->subnet);
}

}  // namespace shoal
