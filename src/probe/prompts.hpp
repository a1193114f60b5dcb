#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.hpp"

namespace sanctum::probe {

struct Prompt {
  int line = 0;             // 1-based line in the prompts file
  std::string id;           // "id" of a JSON line, else "line N"
  std::string text;         // the prompt for logs: the last user message
  nlohmann::json messages;  // OpenAI messages array sent to both targets
};

// Reads a prompts file with one prompt per line. A line that starts with '{'
// is a JSON object with either "prompt" (a string) or "messages" (an OpenAI
// messages array) and an optional string "id". Any other line is the text
// of one user message. Blank lines and lines starting with '#' are skipped.
// The error names the file and line; a file without prompts is an error too.
Result<std::vector<Prompt>> load_prompts(const std::filesystem::path& path);

}  // namespace sanctum::probe
