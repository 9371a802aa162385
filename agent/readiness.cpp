#include "agent/readiness.hpp"

namespace shoal::agent {

std::string not_ready(const ReadinessInput& in) {
    switch (in.phase) {
        case Phase::Starting: return "starting";
        case Phase::Leaving:
        case Phase::Stopped: return "stopping";
        case Phase::Serving: break;
    }
    if (!in.synced) return "first full state exchange not done yet";
    if (!in.owns_subnet && in.lost) return "lost subnet " + *in.lost + "; no free subnet";
    if (!in.owns_subnet) return "no subnet owned yet";
    if (!in.subnet_file_written) return in.subnet_file + " not written yet";
    if (!in.forwarding_blocked.empty()) return in.forwarding_blocked;
    return {};
}

}  // namespace shoal::agent
