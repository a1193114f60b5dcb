#include "config/table_reader.hpp"

#include <algorithm>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace sanctum::config {

void LoadContext::report(int line, std::string key, std::string message) {
  problems->push_back(Problem{file, line, std::move(key), std::move(message)});
}

std::filesystem::path LoadContext::resolve_path(const std::string& text, int line,
                                                const std::string& key) {
  if (text.empty()) {
    return {};
  }
  if (text.front() == '~') {
    report(line, key,
           fmt::format("\"{}\": a leading ~ is not expanded; write the absolute path or a "
                       "path relative to the config file's folder",
                       text));
    return {};
  }
  std::filesystem::path path(text);
  if (path.is_absolute()) {
    return path.lexically_normal();
  }
  return (base_folder / path).lexically_normal();
}

int line_of(const toml::node& node) { return static_cast<int>(node.source().begin.line); }

TableReader::TableReader(const toml::table& table, std::string key_path, LoadContext& context)
    : table_(table), key_path_(std::move(key_path)), context_(context) {}

const toml::node* TableReader::find(std::string_view key) {
  if (std::find(known_keys_.begin(), known_keys_.end(), key) == known_keys_.end()) {
    known_keys_.emplace_back(key);
  }
  return table_.get(key);
}

std::string TableReader::key_path(std::string_view key) const {
  if (key_path_.empty()) {
    return std::string(key);
  }
  return fmt::format("{}.{}", key_path_, key);
}

void TableReader::report(const toml::node& node, std::string_view key, std::string message) {
  context_.report(line_of(node), key_path(key), std::move(message));
}

void TableReader::read_bool(std::string_view key, bool& out) {
  const toml::node* node = find(key);
  if (node == nullptr) {
    return;
  }
  if (const auto* value = node->as_boolean()) {
    out = value->get();
    return;
  }
  report(*node, key, "expected true or false");
}

void TableReader::read_string(std::string_view key, std::string& out) {
  const toml::node* node = find(key);
  if (node == nullptr) {
    return;
  }
  if (const auto* value = node->as_string()) {
    out = value->get();
    return;
  }
  report(*node, key, "expected a string in double quotes");
}

void TableReader::read_int(std::string_view key, int& out) {
  const toml::node* node = find(key);
  if (node == nullptr) {
    return;
  }
  const auto* value = node->as_integer();
  if (value == nullptr) {
    report(*node, key, "expected a whole number such as 4");
    return;
  }
  int64_t number = value->get();
  if (number < std::numeric_limits<int>::min() || number > std::numeric_limits<int>::max()) {
    report(*node, key, fmt::format("{} is out of range", number));
    return;
  }
  out = static_cast<int>(number);
}

void TableReader::read_duration(std::string_view key, Duration& out) {
  const toml::node* node = find(key);
  if (node == nullptr) {
    return;
  }
  const auto* value = node->as_string();
  if (value == nullptr) {
    report(*node, key, "expected a duration such as \"10s\" (a string with unit ms, s, m or h)");
    return;
  }
  auto duration = parse_duration(value->get());
  if (!duration) {
    report(*node, key, duration.error().message);
    return;
  }
  out = *duration;
}

void TableReader::read_size(std::string_view key, std::size_t& out) {
  const toml::node* node = find(key);
  if (node == nullptr) {
    return;
  }
  if (const auto* number = node->as_integer()) {
    if (number->get() < 0) {
      report(*node, key, fmt::format("{} is negative; expected a number of bytes", number->get()));
      return;
    }
    out = static_cast<std::size_t>(number->get());
    return;
  }
  if (const auto* text = node->as_string()) {
    auto size = parse_size(text->get());
    if (!size) {
      report(*node, key, size.error().message);
      return;
    }
    out = *size;
    return;
  }
  report(*node, key, "expected a number of bytes such as 65536 or a string such as \"64KiB\"");
}

void TableReader::read_count(std::string_view key, std::size_t& out) {
  const toml::node* node = find(key);
  if (node == nullptr) {
    return;
  }
  const auto* number = node->as_integer();
  if (number == nullptr) {
    report(*node, key, "expected a whole number such as 32");
    return;
  }
  if (number->get() < 0) {
    report(*node, key, fmt::format("{} is negative; expected 0 or more", number->get()));
    return;
  }
  out = static_cast<std::size_t>(number->get());
}

void TableReader::read_path(std::string_view key, std::filesystem::path& out) {
  const toml::node* node = find(key);
  if (node == nullptr) {
    return;
  }
  const auto* value = node->as_string();
  if (value == nullptr) {
    report(*node, key, "expected a file path in double quotes");
    return;
  }
  out = context_.resolve_path(value->get(), line_of(*node), key_path(key));
}

std::vector<StringItem> TableReader::read_string_items(std::string_view key) {
  const toml::node* node = find(key);
  if (node == nullptr) {
    return {};
  }
  if (const auto* single = node->as_string()) {
    return {StringItem{single->get(), key_path(key), line_of(*node)}};
  }
  const auto* array = node->as_array();
  if (array == nullptr) {
    report(*node, key, "expected a string or an array of strings");
    return {};
  }
  std::vector<StringItem> items;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    std::string element_key = fmt::format("{}[{}]", key_path(key), i);
    if (const auto* text = element.as_string()) {
      items.push_back(StringItem{text->get(), element_key, line_of(element)});
    } else {
      context_.report(line_of(element), element_key, "expected a string in double quotes");
    }
  }
  return items;
}

void TableReader::report_unknown_keys() {
  for (const auto& [key, node] : table_) {
    if (std::find(known_keys_.begin(), known_keys_.end(), key.str()) != known_keys_.end()) {
      continue;
    }
    int line = static_cast<int>(key.source().begin.line);
    if (line == 0) {
      line = line_of(node);
    }
    context_.report(line, key_path(key.str()),
                    fmt::format("unknown key; expected one of: {}", fmt::join(known_keys_, ", ")));
  }
}

}  // namespace sanctum::config
