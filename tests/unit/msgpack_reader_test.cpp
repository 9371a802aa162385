#include "gossip/wire/msgpack_reader.hpp"

#include <gtest/gtest.h>

#include "gossip/wire/msgpack_writer.hpp"

using namespace shoal;

TEST(MsgReader, ReadsWhatMsgpackCWrites) {
    std::vector<std::uint8_t> buf;
    {
        MsgWriter w(buf);
        w.array(5);
        w.uint(7);
        w.uint(70000);
        w.uint(UINT64_MAX);
        w.str("hello");
        w.bin(std::vector<std::uint8_t>{1, 2, 3});
    }
    MsgReader r(buf);
    std::uint32_t n = 0;
    std::uint64_t a = 0, b = 0, c = 0;
    std::string_view s;
    std::span<const std::uint8_t> bin;
    ASSERT_TRUE(r.array(n));
    EXPECT_EQ(n, 5u);
    ASSERT_TRUE(r.uint(a) && r.uint(b) && r.uint(c) && r.str(s, 16) && r.bin(bin, 16));
    EXPECT_EQ(a, 7u);
    EXPECT_EQ(b, 70000u);
    EXPECT_EQ(c, UINT64_MAX);
    EXPECT_EQ(s, "hello");
    EXPECT_EQ(bin.size(), 3u);
    EXPECT_TRUE(r.at_end());
}

TEST(MsgReader, ArrayCountLargerThanInputIsRejected) {
    // array32 claiming four billion elements, then nothing: msgpack-c would try to allocate.
    std::vector<std::uint8_t> buf{0xdd, 0xff, 0xff, 0xff, 0xff};
    MsgReader r(buf);
    std::uint32_t n = 0;
    EXPECT_FALSE(r.array(n));
    EXPECT_FALSE(r.ok());
}

TEST(MsgReader, LengthsBeyondTheInputAreRejected) {
    std::vector<std::uint8_t> bin32{0xc6, 0x7f, 0xff, 0xff, 0xff, 1, 2};
    MsgReader r(bin32);
    std::span<const std::uint8_t> out;
    EXPECT_FALSE(r.bin(out, SIZE_MAX));
    std::vector<std::uint8_t> str8{0xd9, 10, 'a', 'b'};
    MsgReader r2(str8);
    std::string_view s;
    EXPECT_FALSE(r2.str(s, 100));
}

TEST(MsgReader, MaxLengthIsEnforced) {
    std::vector<std::uint8_t> buf;
    {
        MsgWriter w(buf);
        w.str("too long for the field");
    }
    MsgReader r(buf);
    std::string_view s;
    EXPECT_FALSE(r.str(s, 4));
}

TEST(MsgReader, WrongTypesFailAndStayFailed) {
    std::vector<std::uint8_t> buf{0xa1, 'x', 0x01};  // a string where a uint is expected
    MsgReader r(buf);
    std::uint64_t v = 0;
    EXPECT_FALSE(r.uint(v));
    std::string_view s;
    EXPECT_FALSE(r.str(s, 10));  // fail closed: no reading after an error
}

TEST(MsgReader, SkipStopsAtDepthLimit) {
    std::vector<std::uint8_t> deep(100, 0x91);  // [[[[...
    deep.push_back(0x01);
    MsgReader r(deep);
    EXPECT_FALSE(r.skip(8));
    std::vector<std::uint8_t> shallow{0x92, 0x01, 0x82, 0xa1, 'k', 0xc3, 0x01, 0x02};
    MsgReader r2(shallow);
    EXPECT_TRUE(r2.skip());
    EXPECT_TRUE(r2.at_end());
}

TEST(MsgReader, TruncatedIntegersFail) {
    for (std::uint8_t tag : {0xcc, 0xcd, 0xce, 0xcf}) {
        std::vector<std::uint8_t> buf{tag};
        MsgReader r(buf);
        std::uint64_t v = 0;
        EXPECT_FALSE(r.uint(v)) << int(tag);
    }
}
