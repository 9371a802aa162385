#pragma once
// The files through which pods get addresses: flannel's subnet.env and, when configured, shoal's
// CNI conflist. Written together when this node owns a subnet; when it owns none (lost to an
// older claim, or none free) subnet.env is removed and the conflist fails closed, so no pod gets
// an address another node owns.
#include <cstdint>
#include <string>
#include <vector>

#include "gossip/membership/events.hpp"
#include "gossip/ownership/network_config.hpp"

namespace shoal::agent {

class SubnetFiles {
  public:
    // `shoal_masquerades`: ip-masq (the files tell the CNI plugins not to).
    SubnetFiles(std::string subnet_file, std::string cni_conf, bool shoal_masquerades)
        : subnet_file_(std::move(subnet_file)),
          cni_conf_(std::move(cni_conf)),
          shoal_masquerades_(shoal_masquerades) {}

    // Both files for `slot`, written atomically; a line per file written or failed.
    std::vector<LogLine> write(const NetworkConfig& net, std::uint32_t slot, int mtu);
    // subnet.env removed, the conflist rewritten to refuse pods, saying `why`.
    std::vector<LogLine> withdraw(const std::string& why);
    // subnet.env holds the subnet this node owns.
    bool written() const { return written_; }
    // "PATH" or "PATH and CONFLIST", for log lines.
    std::string describe() const;

  private:
    std::string subnet_file_, cni_conf_;
    bool shoal_masquerades_;
    bool written_ = false;
};

}  // namespace shoal::agent
