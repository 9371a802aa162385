#include "gossip/wire/msgpack_reader.hpp"

namespace shoal {

bool MsgReader::take(std::size_t n, const std::uint8_t*& p) {
    if (!ok_ || n > remaining()) return fail();
    p = data_.data() + pos_;
    pos_ += n;
    return true;
}

bool MsgReader::be(std::size_t n, std::uint64_t& v) {
    const std::uint8_t* p = nullptr;
    if (!take(n, p)) return false;
    v = 0;
    for (std::size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
    return true;
}

bool MsgReader::array(std::uint32_t& n) {
    std::uint64_t tag = 0;
    if (!be(1, tag)) return false;
    std::uint64_t len = 0;
    if ((tag & 0xf0) == 0x90) {
        len = tag & 0x0f;
    } else if (tag == 0xdc) {
        if (!be(2, len)) return false;
    } else if (tag == 0xdd) {
        if (!be(4, len)) return false;
    } else {
        return fail();
    }
    // Every element takes at least one byte: a count larger than what is left is a lie.
    if (len > remaining()) return fail();
    n = static_cast<std::uint32_t>(len);
    return true;
}

bool MsgReader::uint(std::uint64_t& v) {
    std::uint64_t tag = 0;
    if (!be(1, tag)) return false;
    if (tag <= 0x7f) {
        v = tag;
        return true;
    }
    switch (tag) {
        case 0xcc: return be(1, v);
        case 0xcd: return be(2, v);
        case 0xce: return be(4, v);
        case 0xcf: return be(8, v);
        default: return fail();
    }
}

bool MsgReader::boolean(bool& v) {
    std::uint64_t tag = 0;
    if (!be(1, tag)) return false;
    if (tag == 0xc2 || tag == 0xc3) {
        v = tag == 0xc3;
        return true;
    }
    return fail();
}

bool MsgReader::nil() {
    if (!ok_ || pos_ >= data_.size() || data_[pos_] != 0xc0) return false;
    ++pos_;
    return true;
}

bool MsgReader::length_prefixed(std::uint8_t tag, std::uint8_t fix_base, std::uint8_t fix_mask,
                                std::uint8_t t8, std::uint8_t t16, std::uint8_t t32,
                                std::size_t& len) {
    std::uint64_t v = 0;
    if (fix_mask && (tag & ~fix_mask) == fix_base) {
        v = tag & fix_mask;
    } else if (tag == t8) {
        if (!be(1, v)) return false;
    } else if (tag == t16) {
        if (!be(2, v)) return false;
    } else if (tag == t32) {
        if (!be(4, v)) return false;
    } else {
        return fail();
    }
    len = static_cast<std::size_t>(v);
    return true;
}

bool MsgReader::bin(std::span<const std::uint8_t>& out, std::size_t max_len) {
    std::uint64_t tag = 0;
    std::size_t len = 0;
    const std::uint8_t* p = nullptr;
    if (!be(1, tag) ||
        !length_prefixed(static_cast<std::uint8_t>(tag), 0, 0, 0xc4, 0xc5, 0xc6, len))
        return false;
    if (len > max_len || !take(len, p)) return fail();
    out = {p, len};
    return true;
}

bool MsgReader::str(std::string_view& out, std::size_t max_len) {
    std::uint64_t tag = 0;
    std::size_t len = 0;
    const std::uint8_t* p = nullptr;
    if (!be(1, tag) ||
        !length_prefixed(static_cast<std::uint8_t>(tag), 0xa0, 0x1f, 0xd9, 0xda, 0xdb, len))
        return false;
    if (len > max_len || !take(len, p)) return fail();
    out = {reinterpret_cast<const char*>(p), len};
    return true;
}

bool MsgReader::skip(int max_depth) {
    if (max_depth <= 0 || !ok_ || remaining() == 0) return fail();
    std::uint8_t tag = data_[pos_];
    const std::uint8_t* p = nullptr;
    auto skip_n = [&](std::size_t n) { return take(n, p); };
    if (tag <= 0x7f || tag >= 0xe0 || tag == 0xc0 || tag == 0xc2 || tag == 0xc3) return skip_n(1);
    if ((tag & 0xe0) == 0xa0) return skip_n(1 + (tag & 0x1f));
    if ((tag & 0xf0) == 0x90 || (tag & 0xf0) == 0x80 || tag == 0xdc || tag == 0xdd || tag == 0xde ||
        tag == 0xdf) {
        std::uint64_t count = 0;
        bool is_map = (tag & 0xf0) == 0x80 || tag == 0xde || tag == 0xdf;
        skip_n(1);
        if ((tag & 0xf0) == 0x90 || (tag & 0xf0) == 0x80)
            count = tag & 0x0f;
        else if (!be(tag == 0xdc || tag == 0xde ? 2 : 4, count))
            return false;
        if (is_map) count *= 2;
        if (count > remaining()) return fail();
        for (std::uint64_t i = 0; i < count; ++i)
            if (!skip(max_depth - 1)) return false;
        return true;
    }
    std::uint64_t len = 0;
    switch (tag) {
        case 0xcc:
        case 0xd0: return skip_n(2);
        case 0xcd:
        case 0xd1: return skip_n(3);
        case 0xce:
        case 0xd2:
        case 0xca: return skip_n(5);
        case 0xcf:
        case 0xd3:
        case 0xcb: return skip_n(9);
        case 0xd4: return skip_n(3);
        case 0xd5: return skip_n(4);
        case 0xd6: return skip_n(6);
        case 0xd7: return skip_n(10);
        case 0xd8: return skip_n(18);
        case 0xc4:
        case 0xd9: skip_n(1); return be(1, len) && skip_n(len);
        case 0xc5:
        case 0xda: skip_n(1); return be(2, len) && skip_n(len);
        case 0xc6:
        case 0xdb: skip_n(1); return be(4, len) && skip_n(len);
        case 0xc7: skip_n(1); return be(1, len) && skip_n(len + 1);
        case 0xc8: skip_n(1); return be(2, len) && skip_n(len + 1);
        case 0xc9: skip_n(1); return be(4, len) && skip_n(len + 1);
        default: return fail();
    }
}

}  // namespace shoal
