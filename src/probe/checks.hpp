#pragma once

// The requests probes send, and how each response is judged. They use only
// the OpenAI-compatible API (/v1/models and /v1/chat/completions under the
// URL's prefix), so they work against any such server behind mTLS.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/mtls_client.hpp"

namespace sanctum::probe {

struct ModelsCheck {
  client::Response response;
  std::vector<std::string> models;  // "id" of each entry of "data", in server order
  std::string error;                // "" when ok
  bool ok() const { return error.empty(); }
};

// GET /v1/models. Passes on a 2xx response whose body is a JSON object with
// a "data" array of objects that each carry a string "id".
ModelsCheck check_models(const client::MtlsClient& client, const client::HttpsUrl& url,
                         const client::Timeouts& timeouts);

struct CanaryCheck {
  client::Response response;
  std::string answer;  // concatenated delta.content of every event
  bool stream_complete = false;  // "data: [DONE]" arrived
  // From the start of the connection to the arrival of the first body piece
  // that completed an event with generated text (content or reasoning).
  std::optional<std::chrono::steady_clock::duration> time_to_first_token;
  std::string error;  // "" when ok
  bool ok() const { return error.empty(); }
};

// POST /v1/chat/completions with stream: true, temperature 0 and
// `max_tokens`, one user message `prompt`. Passes on a 2xx response with a
// non-empty answer and a stream that ends with "data: [DONE]". Models that
// stream their reasoning in delta.reasoning_content or delta.reasoning
// before the answer count as answering when that text is not empty, because
// a small max_tokens can end the stream before the answer starts.
CanaryCheck check_streamed_chat(const client::MtlsClient& client, const client::HttpsUrl& url,
                                const std::string& model, const std::string& prompt,
                                int max_tokens, const client::Timeouts& timeouts);

struct ChatCheck {
  client::Response response;
  std::string answer;  // choices[0].message.content, "" when null
  std::string error;   // "" when ok
  bool ok() const { return error.empty(); }
};

// POST /v1/chat/completions with stream: false, temperature 0 and
// `max_tokens`. `messages` is an OpenAI messages array. Passes on a 2xx
// JSON response with choices[0].message.content (or choices[0].text).
ChatCheck check_chat(const client::MtlsClient& client, const client::HttpsUrl& url,
                     const std::string& model, const nlohmann::json& messages, int max_tokens,
                     const client::Timeouts& timeouts);

}  // namespace sanctum::probe
