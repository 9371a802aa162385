#pragma once
// What a node keeps on disk, in its state directory (default /var/lib/shoal, mode 0700):
//
//   node.key   its Ed25519 identity: the 32-byte seed in base64, mode 0600
//   state      incarnation, subnet claim, boot nonce, last known peers, tombstones and the
//              revocations learned (the revocations file's own `shoal-revoke` lines),
//              rewritten on every change
//
// Every write is atomic (temp file, fsync, rename, fsync of the directory), so a crash at any
// point leaves the old or the new file, never a torn one. A missing key makes a new identity
// (and says so); a key that cannot be read, does not parse or is readable by others is an
// error: silently becoming a new node would orphan the old one's subnet for a day.
#include <string>
#include <string_view>
#include <variant>

#include <vector>
#include "common/result.hpp"

#include "gossip/ownership/subnet_node.hpp"
#include "gossip/wire/identity.hpp"

namespace shoal::agent {

struct LoadedIdentity {
    Identity identity;
    bool created = false;
};

struct SavedState {
    PersistedState node;
    std::vector<Address> peers;  // seeds for the next start, beyond the configured ones
    bool operator==(const SavedState& o) const {
        return node.incarnation == o.node.incarnation && node.claim == o.node.claim &&
               node.boot == o.node.boot && node.tombstones == o.node.tombstones &&
               node.revocations == o.node.revocations && peers == o.peers;
    }
};

Result<LoadedIdentity> load_or_create_identity(const std::string& dir);
// A missing state file is a first start: empty state. A corrupt one is an error, and so is a
// saved claim outside `network` (a slot past its last, a clock past kMaxClaimClock).
Result<SavedState> load_state(const std::string& dir, const NetworkConfig& network);
Status save_state(const std::string& dir, const SavedState& state);

// Who else may write in the directory of a file the agent writes. Checked on the directory the
// file is really written in (through its descriptor), at every write.
enum class DirTrust {
    // The state directory: what it holds is read back and trusted (the node key, the state), so
    // it must be root's (or ours) and writable by no one else.
    Private,
    // subnet.env's and the conflist's, which other programs read and which hold nothing secret:
    // the creation itself is safe in any directory (O_EXCL, no symlink followed), but in a
    // world-writable one without the sticky bit anyone could replace or remove the file after it
    // was written, and the pods' addresses would be theirs to choose; that one is refused.
    Shared,
};

// The errors name the path and, for a directory others may write in, the command that fixes it.
Status ensure_private_dir(const std::string& dir);
// Temp file beside `path` created with O_EXCL through a descriptor of the directory (a symlink
// planted at its name is removed, never followed), mode set before the first byte, then fsync,
// rename, fsync of the directory. A directory that is itself a symlink is refused.
Status write_file_atomically(const std::string& path, std::string_view contents, unsigned mode,
                             DirTrust trust);

}  // namespace shoal::agent
