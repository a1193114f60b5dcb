#include "http/messages.hpp"

#include <vector>

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

void remove_hop_by_hop(beast_http::fields& fields) {
  std::vector<std::string> named;
  auto [first, last] = fields.equal_range(beast_http::field::connection);
  for (auto it = first; it != last; ++it) {
    std::string_view list = it->value();
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
        named.emplace_back(token);
      }
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
  }
  for (auto const& name : named) {
    fields.erase(name);
  }
  fields.erase(beast_http::field::connection);
  fields.erase(beast_http::field::keep_alive);
  fields.erase(beast_http::field::proxy_connection);
  fields.erase(beast_http::field::te);
  fields.erase(beast_http::field::trailer);
  fields.erase(beast_http::field::transfer_encoding);
  fields.erase(beast_http::field::upgrade);
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

}  // namespace sanctum::http
