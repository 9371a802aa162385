#pragma once
// One nftables table that shoal owns, brought to a desired text the way routes are brought to a
// desired set: written whole in one transaction (replacing it never leaves a moment without its
// rules), put back when someone deletes or changes it, deleted only when asked. It never reads or
// writes any other table. Through libnftables, as `nft -f` would (no process is started).
#include <memory>
#include <string>

#include "common/result.hpp"
#include "netlink/nft_session.hpp"

namespace shoal::netlink {

class NftTable {
  public:
    // `family` and `name` as nft writes them: "inet", "shoal".
    NftTable(std::string family, std::string name);

    enum class Outcome {
        Unchanged,  // the kernel already held what we last wrote
        Written,    // first write, or a new body
        Restored,   // someone deleted or changed our table: written again
    };
    // Brings the table to `body` (the inside of `table <family> <name> { ... }`). Cheap when
    // nothing changed: one listing of this table, compared with the one taken after our write.
    [[nodiscard]] Result<Outcome> ensure(const std::string& body);
    // Deletes the table if it exists.
    [[nodiscard]] Status remove();
    // Whether the table exists now (for tests and status).
    [[nodiscard]] Result<bool> exists();

  private:
    Result<std::string> listing();

    std::string family_, name_;
    NftSession nft_;
    std::string written_body_;
    std::string written_listing_;  // the kernel's listing right after our last write
};

}  // namespace shoal::netlink
