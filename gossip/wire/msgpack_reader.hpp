#pragma once
// A bounded, allocation-free msgpack cursor for untrusted input.
//
// Why not msgpack-c's unpacker: it allocates storage for an array's declared element count
// before reading the elements, so a five-byte datagram can ask for gigabytes. This reader only
// walks bytes that are present, checks every length against what remains, and fails closed: after
// the first error every call returns false.
#include <cstdint>
#include <span>
#include <string_view>

namespace shoal {

class MsgReader {
  public:
    explicit MsgReader(std::span<const std::uint8_t> data) : data_(data) {}

    bool array(std::uint32_t& n);
    bool uint(std::uint64_t& v);
    template <typename T>
    bool uint_as(T& out, std::uint64_t max) {
        std::uint64_t v = 0;
        if (!uint(v) || v > max) return fail();
        out = static_cast<T>(v);
        return true;
    }
    bool boolean(bool& v);
    // Takes a nil if one is next; false (and nothing taken, no failure) if another value is.
    bool nil();
    bool bin(std::span<const std::uint8_t>& out, std::size_t max_len);
    bool str(std::string_view& out, std::size_t max_len);
    // Skips one value of any type; nesting deeper than `max_depth` fails.
    bool skip(int max_depth = 8);

    bool ok() const { return ok_; }
    bool at_end() const { return ok_ && pos_ == data_.size(); }
    std::size_t remaining() const { return data_.size() - pos_; }

  private:
    bool fail() {
        ok_ = false;
        return false;
    }
    bool take(std::size_t n, const std::uint8_t*& p);
    bool be(std::size_t n, std::uint64_t& v);
    bool length_prefixed(std::uint8_t tag, std::uint8_t fix_base, std::uint8_t fix_mask,
                         std::uint8_t t8, std::uint8_t t16, std::uint8_t t32, std::size_t& len);

    std::span<const std::uint8_t> data_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

}  // namespace shoal
