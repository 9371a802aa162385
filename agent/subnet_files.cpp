#include "agent/subnet_files.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "agent/cni_conf.hpp"
#include "agent/state_dir.hpp"
#include "agent/subnet_env.hpp"

namespace shoal::agent {

std::vector<LogLine> SubnetFiles::write(const NetworkConfig& net, std::uint32_t slot, int mtu) {
    std::vector<LogLine> lines;
    auto put = [&](const std::string& path, const std::string& text) {
        if (auto slash = path.find_last_of('/'); slash != std::string::npos && slash > 0)
            ::mkdir(path.substr(0, slash).c_str(), 0755);
        if (auto written = write_file_atomically(path, text, 0644, DirTrust::Shared); !written) {
            lines.push_back(LogLine{LogLevel::Error, written.error()});
            return false;
        }
        lines.push_back(LogLine{LogLevel::Info,
                                "wrote " + path + " for subnet " + net.subnet(slot).to_string()});
        return true;
    };
    written_ = put(subnet_file_, render_subnet_env(net, slot, mtu, shoal_masquerades_));
    if (!cni_conf_.empty()) put(cni_conf_, render_cni_conflist(net, slot, mtu, shoal_masquerades_));
    return lines;
}

std::vector<LogLine> SubnetFiles::withdraw(const std::string& why) {
    std::vector<LogLine> lines;
    written_ = false;
    // Without subnet.env, flannel's CNI plugin refuses new pods with an error naming the file.
    if (::unlink(subnet_file_.c_str()) != 0 && errno != ENOENT)
        lines.push_back(LogLine{LogLevel::Error,
                                "cannot remove " + subnet_file_ + ": " + std::strerror(errno)});
    if (cni_conf_.empty()) return lines;
    if (auto written = write_file_atomically(
            cni_conf_, render_cni_conflist_without_subnet("shoal: " + why), 0644, DirTrust::Shared);
        !written)
        lines.push_back(LogLine{LogLevel::Error, written.error()});
    return lines;
}

std::string SubnetFiles::describe() const {
    return subnet_file_ + (cni_conf_.empty() ? "" : " and " + cni_conf_);
}

}  // namespace shoal::agent
