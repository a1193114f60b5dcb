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

}  // namespace sanctum::http
