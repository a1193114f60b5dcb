#include "http/messages.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>

#include <boost/container/small_vector.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <nlohmann/json.hpp>

namespace sanctum::http {

namespace beast_http = boost::beast::http;

std::string openai_error_body(std::string_view message, std::string_view type,
                              std::string_view code) {
  nlohmann::ordered_json body;
  body["error"]["message"] = message;
  body["error"]["type"] = type;
  body["error"]["code"] = code;
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Response json_error(beast_http::status status, std::string_view message, std::string_view type,
                    std::string_view code, unsigned version, bool keep_alive) {
  Response response{status, version};
  response.set(beast_http::field::content_type, "application/json");
  response.set(beast_http::field::cache_control, "no-store");
  response.body() = openai_error_body(message, type, code);
  response.keep_alive(keep_alive);
  response.prepare_payload();
  return response;
}

namespace {

bool is_hop_by_hop(beast_http::field name) {
  switch (name) {
    case beast_http::field::keep_alive:
    case beast_http::field::proxy_connection:
    case beast_http::field::te:
    case beast_http::field::trailer:
    case beast_http::field::transfer_encoding:
    case beast_http::field::upgrade:
      return true;
    default:
      return false;
  }
}

using NameList = boost::container::small_vector<std::string_view, 8>;

// Appends the names in a Connection value ("close, X-Trace") to `names`.
void append_connection_tokens(std::string_view list, NameList& names) {
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string_view token = list.substr(0, comma);
    while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) {
      token.remove_prefix(1);
    }
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) {
      token.remove_suffix(1);
    }
    if (!token.empty()) {
      names.push_back(token);
    }
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
}

}  // namespace

// One pass over the fields, instead of a lookup in Beast's index per name:
// a message has a handful of fields and the proxy runs this on every
// request and response. The Connection fields go last, because the names
// they list are views into their values. A Connection field that lists
// more than a few names has them removed by lookup, so that a message with
// many fields and many listed names costs no more than their sum.
void remove_hop_by_hop(beast_http::fields& fields) {
  static constexpr std::size_t kScannedNames = 8;
  NameList named;
  bool has_connection = false;
  for (const auto& field : fields) {
    if (field.name() == beast_http::field::connection) {
      has_connection = true;
      append_connection_tokens(field.value(), named);
    }
  }
  if (named.size() > kScannedNames) {
    for (std::string_view listed : named) {
      if (!boost::beast::iequals(listed, "connection")) {
        fields.erase(listed);
      }
    }
    named.clear();
  }
  for (auto it = fields.begin(); it != fields.end();) {
    beast_http::field name = it->name();
    bool remove = is_hop_by_hop(name);
    if (!remove && has_connection && name != beast_http::field::connection) {
      std::string_view text = it->name_string();
      remove = std::any_of(named.begin(), named.end(), [text](std::string_view listed) {
        return boost::beast::iequals(listed, text);
      });
    }
    it = remove ? fields.erase(it) : std::next(it);
  }
  if (has_connection) {
    fields.erase(beast_http::field::connection);
  }
}

bool is_origin_form(std::string_view target) { return !target.empty() && target.front() == '/'; }

namespace {

void append_version(std::string& out, unsigned version) {
  out += "HTTP/";
  out += static_cast<char>('0' + version / 10);
  out += '.';
  out += static_cast<char>('0' + version % 10);
}

void append_fields(std::string& out, const beast_http::fields& fields) {
  for (const auto& field : fields) {
    out += field.name_string();
    out += ": ";
    out += field.value();
    out += "\r\n";
  }
  out += "\r\n";
}

}  // namespace

void append_head(std::string& out, const beast_http::request_header<>& head) {
  out += head.method_string();
  out += ' ';
  out += head.target();
  out += ' ';
  append_version(out, head.version());
  out += "\r\n";
  append_fields(out, head);
}

void append_head(std::string& out, const beast_http::response_header<>& head) {
  append_version(out, head.version());
  char status[4];
  unsigned code = head.result_int();
  status[0] = static_cast<char>('0' + code / 100 % 10);
  status[1] = static_cast<char>('0' + code / 10 % 10);
  status[2] = static_cast<char>('0' + code % 10);
  status[3] = ' ';
  out += ' ';
  out.append(status, sizeof status);
  boost::beast::string_view reason = head.reason();
  out += reason.empty() ? beast_http::obsolete_reason(head.result()) : reason;
  out += "\r\n";
  append_fields(out, head);
}

std::size_t write_chunk_size_line(char* out, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  char reversed[2 * sizeof(std::size_t)];
  std::size_t n = 0;
  do {
    reversed[n++] = kDigits[size & 0xf];
    size >>= 4;
  } while (size != 0);
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = reversed[n - 1 - i];
  }
  out[n] = '\r';
  out[n + 1] = '\n';
  return n + 2;
}

boost::asio::const_buffer framed_in_place(std::span<const boost::asio::const_buffer> pieces,
                                          const char* lowest, const char* end,
                                          bool with_last_chunk) {
  const char* start = nullptr;
  const char* next = nullptr;  // where the next piece's size line must begin
  for (const auto& piece : pieces) {
    const char* data = static_cast<const char*>(piece.data());
    char line[kChunkSizeLineMax];
    std::size_t line_size = write_chunk_size_line(line, piece.size());
    if (static_cast<std::size_t>(data - lowest) < line_size ||
        std::memcmp(data - line_size, line, line_size) != 0 ||
        (next != nullptr && data - line_size != next)) {
      return {};
    }
    if (start == nullptr) {
      start = data - line_size;
    }
    const char* after = data + piece.size();
    if (static_cast<std::size_t>(end - after) < kChunkEnd.size() ||
        std::memcmp(after, kChunkEnd.data(), kChunkEnd.size()) != 0) {
      return {};
    }
    next = after + kChunkEnd.size();
  }
  if (start == nullptr) {
    return {};
  }
  if (with_last_chunk) {
    if (static_cast<std::size_t>(end - next) < kLastChunk.size() ||
        std::memcmp(next, kLastChunk.data(), kLastChunk.size()) != 0) {
      return {};
    }
    next += kLastChunk.size();
  }
  return {start, static_cast<std::size_t>(next - start)};
}

}  // namespace sanctum::http
