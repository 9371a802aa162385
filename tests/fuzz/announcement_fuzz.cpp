// libFuzzer target for the decoders of what members say about themselves and about each other,
// fed directly instead of through a seal and a signature the fuzzer could never produce:
//   - a signed announcement's body (decoded before its signature is checked) and its claim field;
//   - a state-transfer page: the input's first byte is the record count (its top bit: a
//     tombstones field follows the records), the rest the records and tombstones;
//   - a node certificate (decoded before its CA's signature is checked).
// Nothing may crash; an announcement or certificate with a zero signature is never accepted.
#include <cstdlib>

#include "gossip/wire/announcement.hpp"
#include "gossip/wire/msgpack_writer.hpp"
#include "gossip/wire/wire.hpp"

using namespace shoal;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::uint8_t> input(data, size);

    Alive a;
    {
        MsgWriter w(a.meta);
        w.array(2);
        w.bin(input);
        w.bin(std::vector<std::uint8_t>(64));
    }
    if (std::holds_alternative<Announcement>(open_announcement(a, Digest{}, 1u << 16)))
        std::abort();
    Placement placed;
    (void)decode_placement(input, placed);
    {
        std::vector<std::uint8_t> cert;
        MsgWriter w(cert);
        w.array(2);
        w.bin(input);
        w.bin(std::vector<std::uint8_t>(64));
        if (open_certificate(cert)) std::abort();
    }

    if (size == 0) return 0;
    std::vector<std::uint8_t> page;
    {
        MsgWriter w(page);
        w.array(1);
        w.array(data[0] & 0x80 ? 8 : 7);
        w.uint(static_cast<std::uint8_t>(MsgType::SyncChunk));
        w.uint(1);
        w.bin(NodeId{}.bytes);
        w.bin(NodeId{}.bytes);
        w.boolean(true);
        w.boolean(true);
        w.array(data[0] & 0x7f);
    }
    page.insert(page.end(), data + 1, data + size);
    if (auto msgs = decode_messages(page)) {
        // What decodes re-encodes and decodes to as many records.
        const auto& chunk = std::get<SyncChunk>(msgs->at(0));
        std::vector<std::uint8_t> again;
        encode_message(chunk, again);
        std::vector<std::uint8_t> plain;
        MsgWriter(plain).array(1);
        plain.insert(plain.end(), again.begin(), again.end());
        auto back = decode_messages(plain);
        if (!back || std::get<SyncChunk>(back->at(0)).records.size() != chunk.records.size() ||
            std::get<SyncChunk>(back->at(0)).tombstones != chunk.tombstones)
            std::abort();
    }
    return 0;
}
