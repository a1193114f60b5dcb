#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sanctum::upstream {

// The id the echo model reports in /v1/models and in every completion.
inline constexpr std::string_view kEchoModelId = "sanctum-echo";

// The echo model's reply to one request. A streamed reply lists the pieces
// that become one SSE event each. The server formats each event when it
// sends it, so that each can carry its own emit time.
struct EchoReply {
  unsigned status = 200;
  std::string body;             // complete JSON body when !stream
  bool stream = false;
  std::string object;           // "chat.completion.chunk" or "text_completion"
  std::vector<std::string> pieces;
  bool emit_timestamps = false;  // add "sanctum_emit_unix_ns" to each event
};

// Builds the reply to one OpenAI-style request. The output is a pure function of the
// method, path and body: the same request always gets the same answer.
// Unknown paths get 404, malformed bodies 400, both with OpenAI error bodies.
EchoReply answer_echo(std::string_view method, std::string_view path, std::string_view body);

// Formats one SSE event ("data: {…}\n\n") for piece `index` of a streamed
// reply. `last` adds finish_reason "stop". `emit_unix_ns`, when set, is
// written into the event so a client can measure the delay it added.
std::string format_echo_event(const EchoReply& reply, std::size_t index, bool last,
                              std::optional<std::int64_t> emit_unix_ns);

}  // namespace sanctum::upstream
