#include "probe/checks.hpp"

#include <fmt/format.h>

#include "client/sse.hpp"

namespace sanctum::probe {

namespace {

using nlohmann::json;

client::Request chat_request(const std::string& model, const json& messages, int max_tokens,
                             bool stream) {
  json body = {{"messages", messages},
               {"temperature", 0},
               {"max_tokens", max_tokens},
               {"stream", stream}};
  if (!model.empty()) {
    body["model"] = model;
  }
  client::Request request;
  request.method = "POST";
  request.path = "/v1/chat/completions";
  request.content_type = "application/json";
  request.body = body.dump();
  return request;
}

// The "error" message of an OpenAI error body, for a failed status.
std::string with_server_message(const client::Response& response) {
  json body = json::parse(response.body, nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_object() &&
      body["error"].contains("message") && body["error"]["message"].is_string()) {
    return fmt::format("{} ({})", response.error, body["error"]["message"].get<std::string>());
  }
  return response.error;
}

std::string string_at(const json& object, const char* key) {
  if (object.is_object() && object.contains(key) && object[key].is_string()) {
    return object[key].get<std::string>();
  }
  return {};
}

// Generated text in one streamed chat event: the answer and the reasoning.
struct EventText {
  std::string content;
  std::string reasoning;
};

EventText text_of_event(const json& event) {
  EventText text;
  if (!event.is_object() || !event.contains("choices") || !event["choices"].is_array() ||
      event["choices"].empty()) {
    return text;
  }
  const json& choice = event["choices"][0];
  if (choice.is_object() && choice.contains("delta")) {
    const json& delta = choice["delta"];
    text.content = string_at(delta, "content");
    text.reasoning = string_at(delta, "reasoning_content") + string_at(delta, "reasoning");
  } else {
    text.content = string_at(choice, "text");
  }
  return text;
}

}  // namespace

ModelsCheck check_models(const client::MtlsClient& client, const client::HttpsUrl& url,
                         const client::Timeouts& timeouts) {
  ModelsCheck check;
  client::Request request;
  request.path = "/v1/models";
  check.response = client.send(url, request, timeouts);
  if (!check.response.ok()) {
    check.error = with_server_message(check.response);
    return check;
  }
  json body = json::parse(check.response.body, nullptr, false);
  if (!body.is_object() || !body.contains("data") || !body["data"].is_array()) {
    check.error = "invalid-response: /v1/models did not return a JSON object with a data array";
    return check;
  }
  for (const auto& entry : body["data"]) {
    std::string id = string_at(entry, "id");
    if (id.empty()) {
      check.error = "invalid-response: an entry of /v1/models data has no string id";
      return check;
    }
    check.models.push_back(std::move(id));
  }
  return check;
}

CanaryCheck check_streamed_chat(const client::MtlsClient& client, const client::HttpsUrl& url,
                                const std::string& model, const std::string& prompt,
                                int max_tokens, const client::Timeouts& timeouts) {
  CanaryCheck check;
  json messages = json::array({{{"role", "user"}, {"content", prompt}}});
  client::SseParser parser;
  std::string reasoning;
  std::string server_error;
  std::chrono::steady_clock::time_point first_token{};
  auto on_body = [&](std::string_view piece, std::chrono::steady_clock::time_point arrival) {
    for (const std::string& data : parser.feed(piece)) {
      if (data == "[DONE]") {
        check.stream_complete = true;
        continue;
      }
      json event = json::parse(data, nullptr, false);
      if (event.is_object() && event.contains("error")) {
        server_error = event["error"].is_object() ? string_at(event["error"], "message")
                                                  : event["error"].dump();
      }
      EventText text = text_of_event(event);
      check.answer += text.content;
      reasoning += text.reasoning;
      bool generated = !text.content.empty() || !text.reasoning.empty();
      if (generated && first_token == std::chrono::steady_clock::time_point{}) {
        first_token = arrival;
      }
    }
  };
  check.response = client.send(url, chat_request(model, messages, max_tokens, true), timeouts,
                               on_body);
  if (first_token != std::chrono::steady_clock::time_point{}) {
    check.time_to_first_token = first_token - check.response.timing.started;
  }
  if (!check.response.ok()) {
    check.error = with_server_message(check.response);
  } else if (!server_error.empty()) {
    check.error = "stream-error: " + server_error;
  } else if (!check.stream_complete) {
    check.error = "stream-incomplete: the response ended without \"data: [DONE]\"";
  } else if (check.answer.empty() && reasoning.empty()) {
    check.error = "empty-answer: the stream carried no generated text";
  }
  return check;
}

ChatCheck check_chat(const client::MtlsClient& client, const client::HttpsUrl& url,
                     const std::string& model, const json& messages, int max_tokens,
                     const client::Timeouts& timeouts) {
  ChatCheck check;
  check.response = client.send(url, chat_request(model, messages, max_tokens, false), timeouts);
  if (!check.response.ok()) {
    check.error = with_server_message(check.response);
    return check;
  }
  json body = json::parse(check.response.body, nullptr, false);
  if (!body.is_object() || !body.contains("choices") || !body["choices"].is_array() ||
      body["choices"].empty() || !body["choices"][0].is_object()) {
    check.error = "invalid-response: the chat completion has no choices";
    return check;
  }
  const json& choice = body["choices"][0];
  if (choice.contains("message") && choice["message"].is_object()) {
    const json& message = choice["message"];
    if (message.contains("content") && !message["content"].is_null() &&
        !message["content"].is_string()) {
      check.error = "invalid-response: choices[0].message.content is not a string";
      return check;
    }
    check.answer = string_at(message, "content");
  } else if (choice.contains("text") && choice["text"].is_string()) {
    check.answer = choice["text"].get<std::string>();
  } else {
    check.error = "invalid-response: choices[0] has neither message nor text";
  }
  return check;
}

}  // namespace sanctum::probe
