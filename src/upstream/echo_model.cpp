#include "upstream/echo_model.hpp"

#include <nlohmann/json.hpp>

#include "http/messages.hpp"

namespace sanctum::upstream {

namespace {

using nlohmann::json;

constexpr std::size_t kDefaultMaxPieces = 256;

EchoReply error_reply(unsigned status, std::string_view message, std::string_view code) {
  EchoReply reply;
  reply.status = status;
  reply.body = http::openai_error_body(message, "invalid_request_error", code);
  return reply;
}

std::string models_body() {
  json model = {{"id", kEchoModelId},
                {"object", "model"},
                {"created", 0},
                {"owned_by", "sanctum"},
                {"description",
                 "Diagnostic echo built into sanctum: it repeats the request back and is not a "
                 "language model."}};
  json body = {{"object", "list"}, {"data", json::array({model})}};
  return body.dump();
}

// Splits text into words, each keeping its trailing space, so the streamed
// pieces concatenate back to the text.
std::vector<std::string> split_words(const std::string& text, std::size_t max_pieces) {
  std::vector<std::string> pieces;
  std::string current;
  for (char c : text) {
    current.push_back(c);
    if (c == ' ') {
      pieces.push_back(std::move(current));
      current.clear();
      if (pieces.size() == max_pieces) {
        return pieces;
      }
    }
  }
  if (!current.empty() && pieces.size() < max_pieces) {
    pieces.push_back(std::move(current));
  }
  return pieces;
}

std::string content_text(const json& content) {
  if (content.is_string()) {
    return content.get<std::string>();
  }
  std::string text;
  if (content.is_array()) {
    for (const auto& part : content) {
      if (part.is_object() && part.value("type", "") == "text" && part.contains("text") &&
          part["text"].is_string()) {
        text += part["text"].get<std::string>();
      }
    }
  }
  return text;
}

std::size_t max_pieces_of(const json& request) {
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    if (request.contains(key) && request[key].is_number_unsigned()) {
      return std::max<std::size_t>(1, request[key].get<std::size_t>());
    }
  }
  return kDefaultMaxPieces;
}

std::string joined(const std::vector<std::string>& pieces) {
  std::string text;
  for (const auto& p : pieces) {
    text += p;
  }
  return text;
}

json usage_of(std::size_t prompt_words, std::size_t pieces) {
  return {{"prompt_tokens", prompt_words},
          {"completion_tokens", pieces},
          {"total_tokens", prompt_words + pieces}};
}

EchoReply chat_reply(const json& request) {
  if (!request.contains("messages") || !request["messages"].is_array() ||
      request["messages"].empty()) {
    return error_reply(400, "\"messages\" must be a non-empty array", "invalid_messages");
  }
  std::string last_user;
  for (const auto& message : request["messages"]) {
    if (!message.is_object()) {
      return error_reply(400, "each entry of \"messages\" must be an object", "invalid_messages");
    }
    if (message.value("role", "") == "user" && message.contains("content")) {
      last_user = content_text(message["content"]);
    }
  }
  EchoReply reply;
  reply.pieces = split_words("echo: " + last_user, max_pieces_of(request));
  reply.stream = request.value("stream", false);
  reply.object = "chat.completion.chunk";
  reply.emit_timestamps = request.value("sanctum_emit_timestamps", false);
  if (!reply.stream) {
    json body = {
        {"id", "chatcmpl-echo"},
        {"object", "chat.completion"},
        {"created", 0},
        {"model", kEchoModelId},
        {"choices",
         json::array({{{"index", 0},
                       {"message", {{"role", "assistant"}, {"content", joined(reply.pieces)}}},
                       {"finish_reason", "stop"}}})},
        {"usage", usage_of(split_words(last_user, SIZE_MAX).size(), reply.pieces.size())}};
    reply.body = body.dump();
  }
  return reply;
}

EchoReply completion_reply(const json& request) {
  std::string prompt;
  if (request.contains("prompt") && request["prompt"].is_string()) {
    prompt = request["prompt"].get<std::string>();
  } else {
    return error_reply(400, "\"prompt\" must be a string", "invalid_prompt");
  }
  EchoReply reply;
  reply.pieces = split_words("echo: " + prompt, max_pieces_of(request));
  reply.stream = request.value("stream", false);
  reply.object = "text_completion";
  reply.emit_timestamps = request.value("sanctum_emit_timestamps", false);
  if (!reply.stream) {
    json body = {{"id", "cmpl-echo"},
                 {"object", "text_completion"},
                 {"created", 0},
                 {"model", kEchoModelId},
                 {"choices", json::array({{{"index", 0},
                                           {"text", joined(reply.pieces)},
                                           {"finish_reason", "stop"}}})},
                 {"usage", usage_of(split_words(prompt, SIZE_MAX).size(), reply.pieces.size())}};
    reply.body = body.dump();
  }
  return reply;
}

// A deterministic 8-dimensional vector per input, from the bytes of the text.
EchoReply embeddings_reply(const json& request) {
  if (!request.contains("input")) {
    return error_reply(400, "\"input\" is required", "invalid_input");
  }
  std::vector<std::string> inputs;
  if (request["input"].is_string()) {
    inputs.push_back(request["input"].get<std::string>());
  } else if (request["input"].is_array()) {
    for (const auto& item : request["input"]) {
      if (!item.is_string()) {
        return error_reply(400, "\"input\" must be a string or an array of strings",
                           "invalid_input");
      }
      inputs.push_back(item.get<std::string>());
    }
  } else {
    return error_reply(400, "\"input\" must be a string or an array of strings", "invalid_input");
  }
  json data = json::array();
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    std::vector<double> vector(8, 0.0);
    for (std::size_t j = 0; j < inputs[i].size(); ++j) {
      vector[j % 8] += static_cast<unsigned char>(inputs[i][j]) / 255.0;
    }
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", vector}});
  }
  json body = {{"object", "list"}, {"data", data}, {"model", kEchoModelId}};
  EchoReply reply;
  reply.body = body.dump();
  return reply;
}

}  // namespace

EchoReply answer_echo(std::string_view method, std::string_view path, std::string_view body) {
  auto query = path.find('?');
  if (query != std::string_view::npos) {
    path = path.substr(0, query);
  }
  if (path == "/v1/models" || path == "/models") {
    if (method != "GET") {
      return error_reply(405, "use GET for /v1/models", "method_not_allowed");
    }
    EchoReply reply;
    reply.body = models_body();
    return reply;
  }
  if (path == "/health" || path == "/healthz") {
    EchoReply reply;
    reply.body = R"({"status":"ok"})";
    return reply;
  }
  bool chat = path == "/v1/chat/completions" || path == "/chat/completions";
  bool completion = path == "/v1/completions" || path == "/completions";
  bool embeddings = path == "/v1/embeddings" || path == "/embeddings";
  if (!chat && !completion && !embeddings) {
    return error_reply(404, "the echo model has no endpoint " + std::string(path),
                       "not_found");
  }
  if (method != "POST") {
    return error_reply(405, "use POST for " + std::string(path), "method_not_allowed");
  }
  json request = json::parse(body, nullptr, false);
  if (request.is_discarded() || !request.is_object()) {
    return error_reply(400, "the request body must be a JSON object", "invalid_json");
  }
  if (chat) {
    return chat_reply(request);
  }
  if (completion) {
    return completion_reply(request);
  }
  return embeddings_reply(request);
}

std::string format_echo_event(const EchoReply& reply, std::size_t index, bool last,
                              std::optional<std::int64_t> emit_unix_ns) {
  json choice;
  if (reply.object == "text_completion") {
    choice = {{"index", 0},
              {"text", reply.pieces[index]},
              {"finish_reason", last ? json("stop") : json(nullptr)}};
  } else {
    json delta = {{"content", reply.pieces[index]}};
    if (index == 0) {
      delta["role"] = "assistant";
    }
    choice = {{"index", 0}, {"delta", delta}, {"finish_reason", last ? json("stop") : json(nullptr)}};
  }
  json event = {{"id", reply.object == "text_completion" ? "cmpl-echo" : "chatcmpl-echo"},
                {"object", reply.object},
                {"created", 0},
                {"model", kEchoModelId},
                {"choices", json::array({choice})}};
  if (emit_unix_ns) {
    event["sanctum_emit_unix_ns"] = *emit_unix_ns;
  }
  return "data: " + event.dump() + "\n\n";
}

}  // namespace sanctum::upstream
