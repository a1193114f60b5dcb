#pragma once

// Typed reads from one TOML table for load(). Internal to src/config.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "config/config.hpp"

namespace sanctum::config {

// The file being loaded and the list its problems go to.
struct LoadContext {
  std::string file;                   // as passed to load(), for messages
  std::filesystem::path base_folder;  // absolute; relative paths resolve against it
  std::vector<Problem>* problems = nullptr;

  void report(int line, std::string key, std::string message);

  // Resolves `text` against base_folder unless it is absolute. Returns an
  // empty path for an empty `text`. A leading "~" is not expanded, so it is
  // reported as a problem at `line` and `key`.
  std::filesystem::path resolve_path(const std::string& text, int line, const std::string& key);
};

// 1-based line where `node` starts, 0 when toml++ has no position for it.
int line_of(const toml::node& node);

// One string from a value that may be a single string or an array of
// strings, with the key path and line of that string.
struct StringItem {
  std::string value;
  std::string key;  // "listener[0].bind[1]", or "listener[0].bind" for a single string
  int line = 0;
};

// Reads the keys of one TOML table. Each read_* call names a key the table
// may contain and leaves `out` unchanged when the key is absent. A value of
// the wrong type or form becomes a Problem naming the key path and the line.
// report_unknown_keys() then reports every key that no call named, so typos
// in key names do not pass silently.
class TableReader {
 public:
  // `key_path` is the table's own path, "" for the root, "tls" or "listener[2]".
  TableReader(const toml::table& table, std::string key_path, LoadContext& context);

  // Returns the node under `key`, or nullptr when absent, and marks `key` known.
  const toml::node* find(std::string_view key);

  void read_bool(std::string_view key, bool& out);
  void read_string(std::string_view key, std::string& out);
  void read_int(std::string_view key, int& out);
  void read_duration(std::string_view key, Duration& out);
  // Accepts a whole number of bytes or a string such as "64KiB".
  void read_size(std::string_view key, std::size_t& out);
  // Accepts a whole number that is 0 or more.
  void read_count(std::string_view key, std::size_t& out);
  // Reads a string and resolves it with LoadContext::resolve_path().
  void read_path(std::string_view key, std::filesystem::path& out);
  // Accepts a single string or an array of strings. Returns nothing when the
  // key is absent or has the wrong type.
  std::vector<StringItem> read_string_items(std::string_view key);

  // Full key path of `key` in this table, such as "listener[2].bind".
  std::string key_path(std::string_view key) const;
  int line() const { return line_of(table_); }
  void report(const toml::node& node, std::string_view key, std::string message);
  void report_unknown_keys();

 private:
  const toml::table& table_;
  std::string key_path_;
  LoadContext& context_;
  std::vector<std::string> known_keys_;
};

}  // namespace sanctum::config
