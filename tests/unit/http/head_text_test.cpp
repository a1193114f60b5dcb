#include <cstdint>
#include <limits>
#include <sstream>
#include <string>

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/write.hpp>
#include <gtest/gtest.h>

#include "http/messages.hpp"

namespace {

namespace http = boost::beast::http;

// The head as Beast's own serializer writes it.
template <bool isRequest>
std::string beast_head(const http::header<isRequest>& head) {
  std::ostringstream out;
  out << head;
  return out.str();
}

template <bool isRequest>
std::string appended_head(const http::header<isRequest>& head) {
  std::string out;
  sanctum::http::append_head(out, head);
  return out;
}

TEST(HeadText, RequestMatchesBeastSerializer) {
  http::request<http::empty_body> request{http::verb::post, "/v1/chat/completions?x=1", 11};
  request.set(http::field::host, "127.0.0.1:8080");
  request.set(http::field::content_type, "application/json");
  request.insert("X-Sanctum-Client", "alice");
  request.insert("x-custom", "one");
  request.insert("x-custom", "two");
  request.set(http::field::content_length, "42");
  std::string text = appended_head(request.base());
  EXPECT_EQ(text, beast_head(request.base()));
  EXPECT_EQ(text,
            "POST /v1/chat/completions?x=1 HTTP/1.1\r\n"
            "Host: 127.0.0.1:8080\r\n"
            "Content-Type: application/json\r\n"
            "X-Sanctum-Client: alice\r\n"
            "x-custom: one\r\n"
            "x-custom: two\r\n"
            "Content-Length: 42\r\n"
            "\r\n");
}

TEST(HeadText, UnknownMethodKeepsItsName) {
  http::request<http::empty_body> request;
  request.method_string("PURGE");
  request.target("/cache");
  request.version(11);
  EXPECT_EQ(appended_head(request.base()), "PURGE /cache HTTP/1.1\r\n\r\n");
  EXPECT_EQ(appended_head(request.base()), beast_head(request.base()));
}

TEST(HeadText, ResponseKeepsUpstreamReason) {
  http::response<http::empty_body> response{http::status::ok, 11};
  response.reason("Everything Fine");
  response.set(http::field::transfer_encoding, "chunked");
  std::string text = appended_head(response.base());
  EXPECT_EQ(text, "HTTP/1.1 200 Everything Fine\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(text, beast_head(response.base()));
}

TEST(HeadText, ResponseWithoutReasonGetsStandardOne) {
  http::response<http::empty_body> response{http::status::not_found, 10};
  response.set(http::field::content_length, "0");
  std::string text = appended_head(response.base());
  EXPECT_EQ(text, "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(text, beast_head(response.base()));
}

TEST(HeadText, UnlistedStatusCodeMatchesBeast) {
  http::response<http::empty_body> response;
  response.result(599);
  response.version(11);
  EXPECT_EQ(appended_head(response.base()), beast_head(response.base()));
  EXPECT_EQ(appended_head(response.base()).rfind("HTTP/1.1 599 ", 0), 0u);
}

TEST(HeadText, AppendsAfterExistingText) {
  http::response<http::empty_body> response{http::status::no_content, 11};
  std::string out = "kept";
  sanctum::http::append_head(out, response.base());
  EXPECT_EQ(out, "keptHTTP/1.1 204 No Content\r\n\r\n");
}

std::string chunk_size_line(std::size_t size) {
  char line[sanctum::http::kChunkSizeLineMax];
  return std::string(line, sanctum::http::write_chunk_size_line(line, size));
}

TEST(ChunkSizeLine, IsLowercaseHexWithCrlf) {
  EXPECT_EQ(chunk_size_line(0), "0\r\n");
  EXPECT_EQ(chunk_size_line(1), "1\r\n");
  EXPECT_EQ(chunk_size_line(10), "a\r\n");
  EXPECT_EQ(chunk_size_line(255), "ff\r\n");
  EXPECT_EQ(chunk_size_line(16 * 1024), "4000\r\n");
  EXPECT_EQ(chunk_size_line(0x1a2b3c), "1a2b3c\r\n");
}

TEST(ChunkSizeLine, LargestSizeFitsTheBound) {
  std::string line = chunk_size_line(std::numeric_limits<std::size_t>::max());
  EXPECT_EQ(line, std::string(2 * sizeof(std::size_t), 'f') + "\r\n");
  EXPECT_EQ(line.size(), sanctum::http::kChunkSizeLineMax);
}

}  // namespace
