#include "gossip/wire/msgpack_writer.hpp"

namespace shoal {

MsgWriter::MsgWriter(std::vector<std::uint8_t>& out) {
    msgpack_packer_init(&pk_, &out, &write);
}

int MsgWriter::write(void* data, const char* buf, std::size_t len) {
    auto* out = static_cast<std::vector<std::uint8_t>*>(data);
    out->insert(out->end(), buf, buf + len);
    return 0;
}

void MsgWriter::bin(std::span<const std::uint8_t> data) {
    msgpack_pack_bin(&pk_, data.size());
    msgpack_pack_bin_body(&pk_, data.data(), data.size());
}

void MsgWriter::str(std::string_view s) {
    msgpack_pack_str(&pk_, s.size());
    msgpack_pack_str_body(&pk_, s.data(), s.size());
}

}  // namespace shoal
