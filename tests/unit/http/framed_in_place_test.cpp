#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <gtest/gtest.h>

#include "http/messages.hpp"

namespace {

namespace net = boost::asio;

// A read buffer as the relay gets it: the wire bytes, and views of the
// chunk data inside them, found by their text.
struct Wire {
  explicit Wire(std::string wire) : bytes(std::move(wire)) {}
  Wire(const Wire&) = delete;  // the pieces point into `bytes`

  std::string bytes;
  std::vector<net::const_buffer> pieces;

  void add_piece(std::string_view data, std::size_t from = 0) {
    auto at = bytes.find(data, from);
    ASSERT_NE(at, std::string::npos) << data;
    pieces.emplace_back(bytes.data() + at, data.size());
  }
  std::string_view framed(bool with_last_chunk) const {
    auto found = sanctum::http::framed_in_place(pieces, bytes.data(),
                                                bytes.data() + bytes.size(), with_last_chunk);
    return {static_cast<const char*>(found.data()), found.size()};
  }
};

TEST(FramedInPlace, OneChunkWithItsFraming) {
  Wire wire{"HTTP/1.1 200 OK\r\n\r\n5\r\nhello\r\n"};
  wire.add_piece("hello");
  EXPECT_EQ(wire.framed(false), "5\r\nhello\r\n");
}

TEST(FramedInPlace, BackToBackAndLastChunk) {
  Wire wire{"a\r\n0123456789\r\n3\r\nabc\r\n0\r\n\r\n"};
  wire.add_piece("0123456789");
  wire.add_piece("abc");
  EXPECT_EQ(wire.framed(false), "a\r\n0123456789\r\n3\r\nabc\r\n");
  EXPECT_EQ(wire.framed(true), "a\r\n0123456789\r\n3\r\nabc\r\n0\r\n\r\n");
}

// The bytes found are the ones write_chunk_size_line() writes, so the
// leading zeros before the first piece's size stay behind.
TEST(FramedInPlace, FirstSizeLeadingZerosLeftOut) {
  Wire zeros{"005\r\nhello\r\n"};
  zeros.add_piece("hello");
  EXPECT_EQ(zeros.framed(false), "5\r\nhello\r\n");
}

TEST(FramedInPlace, UnusualSizeLinesAreNotUsed) {
  Wire zeros{"5\r\nhello\r\n005\r\nworld\r\n"};
  zeros.add_piece("hello");
  zeros.add_piece("world");
  EXPECT_TRUE(zeros.framed(false).empty());

  Wire extension{"5;x=1\r\nhello\r\n"};
  extension.add_piece("hello");
  EXPECT_TRUE(extension.framed(false).empty());

  Wire upper{"A\r\n0123456789\r\n"};
  upper.add_piece("0123456789");
  EXPECT_TRUE(upper.framed(false).empty());
}

TEST(FramedInPlace, MissingBytesAroundPiece) {
  Wire split{"5\r\nhel"};  // the rest of the chunk has not arrived
  split.add_piece("hel");
  EXPECT_TRUE(split.framed(false).empty());

  Wire no_crlf{"5\r\nhello"};
  no_crlf.add_piece("hello");
  EXPECT_TRUE(no_crlf.framed(false).empty());

  Wire at_start{"hello\r\n"};  // a piece at the start of the buffer
  at_start.add_piece("hello");
  EXPECT_TRUE(at_start.framed(false).empty());

  Wire trailer{"5\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n"};
  trailer.add_piece("hello");
  EXPECT_EQ(trailer.framed(false), "5\r\nhello\r\n");
  EXPECT_TRUE(trailer.framed(true).empty());
}

TEST(FramedInPlace, GapBetweenPiecesFails) {
  Wire gap{"5\r\nhello\r\n;\r\n5\r\nworld\r\n"};
  gap.add_piece("hello");
  gap.add_piece("world");
  EXPECT_TRUE(gap.framed(false).empty());
}

TEST(FramedInPlace, NoPiecesGiveNothing) {
  Wire empty{"0\r\n\r\n"};
  EXPECT_TRUE(empty.framed(true).empty());
}

}  // namespace
