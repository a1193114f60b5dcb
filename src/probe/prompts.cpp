#include "probe/prompts.hpp"

#include <sstream>

#include <fmt/format.h>

#include "util/fs.hpp"

namespace sanctum::probe {

namespace {

using nlohmann::json;

std::string last_user_text(const json& messages) {
  std::string text;
  for (const auto& message : messages) {
    if (message.is_object() && message.value("role", "") == "user" && message.contains("content") &&
        message["content"].is_string()) {
      text = message["content"].get<std::string>();
    }
  }
  return text;
}

Result<Prompt> parse_json_line(const std::string& line, int number, const std::string& where) {
  json object = json::parse(line, nullptr, false);
  if (object.is_discarded() || !object.is_object()) {
    return make_error(fmt::format("{}: invalid JSON; a line starting with '{{' must be a JSON "
                                  "object",
                                  where));
  }
  Prompt prompt;
  prompt.line = number;
  prompt.id = fmt::format("line {}", number);
  if (object.contains("id")) {
    if (!object["id"].is_string()) {
      return make_error(fmt::format("{}: \"id\" must be a string", where));
    }
    prompt.id = object["id"].get<std::string>();
  }
  if (object.contains("messages")) {
    const json& messages = object["messages"];
    bool valid = messages.is_array() && !messages.empty();
    for (const auto& message : messages) {
      valid = valid && message.is_object() && message.contains("role");
    }
    if (!valid) {
      return make_error(fmt::format(
          "{}: \"messages\" must be a non-empty array of objects with a \"role\"", where));
    }
    prompt.messages = messages;
    prompt.text = last_user_text(messages);
    return prompt;
  }
  if (object.contains("prompt") && object["prompt"].is_string()) {
    prompt.text = object["prompt"].get<std::string>();
    prompt.messages = json::array({{{"role", "user"}, {"content", prompt.text}}});
    return prompt;
  }
  return make_error(
      fmt::format("{}: a JSON line needs \"prompt\" (a string) or \"messages\" (an array)", where));
}

}  // namespace

Result<std::vector<Prompt>> load_prompts(const std::filesystem::path& path) {
  auto text = util::read_file(path);
  if (!text) {
    return make_error("prompts file: " + text.error().message);
  }
  std::vector<Prompt> prompts;
  std::istringstream lines(*text);
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') {
      continue;
    }
    if (line[first] == '{') {
      auto parsed = parse_json_line(line, number, fmt::format("{}:{}", path.string(), number));
      if (!parsed) {
        return parsed.error();
      }
      prompts.push_back(std::move(*parsed));
      continue;
    }
    Prompt prompt;
    prompt.line = number;
    prompt.id = fmt::format("line {}", number);
    prompt.text = line;
    prompt.messages = json::array({{{"role", "user"}, {"content", line}}});
    prompts.push_back(std::move(prompt));
  }
  if (prompts.empty()) {
    return make_error(fmt::format("prompts file {} contains no prompt", path.string()));
  }
  return prompts;
}

}  // namespace sanctum::probe
