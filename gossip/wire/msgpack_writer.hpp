#pragma once
// A thin C++ face on msgpack-c's packer, writing into a byte vector.
#include <msgpack/pack.h>

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace shoal {

class MsgWriter {
  public:
    explicit MsgWriter(std::vector<std::uint8_t>& out);
    MsgWriter(const MsgWriter&) = delete;
    MsgWriter& operator=(const MsgWriter&) = delete;

    void array(std::uint32_t n) { msgpack_pack_array(&pk_, n); }
    void uint(std::uint64_t v) { msgpack_pack_uint64(&pk_, v); }
    void nil() { msgpack_pack_nil(&pk_); }
    void boolean(bool v) { v ? msgpack_pack_true(&pk_) : msgpack_pack_false(&pk_); }
    void bin(std::span<const std::uint8_t> data);
    void str(std::string_view s);

  private:
    static int write(void* data, const char* buf, std::size_t len);
    msgpack_packer pk_;
};

}  // namespace shoal
