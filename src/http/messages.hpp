#pragma once

#include <span>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

namespace sanctum::http {

using Response = boost::beast::http::response<boost::beast::http::string_body>;

// Builds the JSON body OpenAI clients expect for errors:
// {"error":{"message":…,"type":…,"code":…}}.
std::string openai_error_body(std::string_view message, std::string_view type,
                              std::string_view code);

// Builds a complete error response with that body. `version` is the
// client's HTTP version (10 or 11).
Response json_error(boost::beast::http::status status, std::string_view message,
                    std::string_view type, std::string_view code, unsigned version,
                    bool keep_alive);

// Removes the hop-by-hop headers of RFC 9110 section 7.6.1 (Connection and
// every header it names, Keep-Alive, Proxy-Connection, TE, Trailer,
// Transfer-Encoding, Upgrade) from `fields`.
void remove_hop_by_hop(boost::beast::http::fields& fields);

// True when `target` is an origin-form request target ("/path?query").
bool is_origin_form(std::string_view target);

// Appends the head of a message in HTTP/1.x wire form, byte for byte as
// Beast's serializer writes it: the start line, every field in order, and
// the empty line. A response without a reason phrase gets the standard one
// for its status.
void append_head(std::string& out, const boost::beast::http::request_header<>& head);
void append_head(std::string& out, const boost::beast::http::response_header<>& head);

// Writes the size line of a chunk of `size` bytes ("1a2b\r\n") to `out`,
// which has room for kChunkSizeLineMax bytes, and returns its length.
inline constexpr std::size_t kChunkSizeLineMax = 2 * sizeof(std::size_t) + 2;
std::size_t write_chunk_size_line(char* out, std::size_t size);

// The CRLF that ends a chunk's data, and the last chunk of a chunked body
// without trailer fields.
inline constexpr std::string_view kChunkEnd = "\r\n";
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// Returns the bytes between `lowest` and `end` that contain `pieces` framed
// exactly as write_chunk_size_line() frames them. Each piece has its own
// size line before it and CRLF after it, the pieces are back to back, and
// kLastChunk follows when `with_last_chunk` is set. The pieces are views
// into that memory. An upstream that chunks its body this way has sent
// those very bytes, so they can be sent on without framing them again.
// Leading zeros before the first size stay outside the bytes returned. Returns an empty buffer when the bytes differ in any other way:
// a chunk extension, leading zeros on a later size, a chunk split between
// reads, trailer fields, or no pieces.
boost::asio::const_buffer framed_in_place(std::span<const boost::asio::const_buffer> pieces,
                                          const char* lowest, const char* end,
                                          bool with_last_chunk);

}  // namespace sanctum::http
