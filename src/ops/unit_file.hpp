#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace sanctum::ops {

// One `Key=Value` assignment of a systemd unit file.
struct UnitAssignment {
  std::string key;
  std::string value;  // trimmed, continuation lines joined with a space
  std::string file;   // the unit file or drop-in it came from
  int line = 0;       // 1-based line of the key
};

struct UnitSection {
  std::string name;  // without brackets, e.g. "Service"
  std::vector<UnitAssignment> assignments;  // in file order
};

// A parsed unit file, optionally with its drop-ins merged. Sections appear
// in the order first seen, and a section written twice is one section.
struct UnitFile {
  std::vector<UnitSection> sections;

  // Returns the section called `name`, nullptr when absent.
  const UnitSection* find(std::string_view name) const;
  UnitSection& section(const std::string& name);

  // Returns every value of `key` in `section`, in order.
  std::vector<std::string> values(std::string_view section, std::string_view key) const;
};

// Parses unit file text following systemd.syntax(7). Lines starting with
// '#' or ';' and blank lines are comments. A line ending in a backslash
// continues on the next line. `[Name]` opens a section, and every other line
// is `Key=Value` with whitespace around both trimmed. `file` labels errors,
// which read "FILE:LINE: what is wrong" for a key outside a section, a line
// without '=' and an unterminated section header.
Result<UnitFile> parse_unit(std::string_view text, const std::string& file);

// Merges `drop_in` into `base` the way systemd applies a drop-in: an empty
// assignment (`Key=`) removes every earlier value of the key, a key listed
// by is_list_key() appends, and any other key replaces the earlier values.
void merge_drop_in(UnitFile& base, const UnitFile& drop_in);

// True for keys whose repeated assignments accumulate (ExecStartPre=,
// Environment=, After=, OnCalendar= and the like) rather than override.
bool is_list_key(std::string_view key);

// Reads the unit at `path` and, when the folder `PATH.d/` exists next to it,
// merges its `*.conf` drop-ins in lexical order of their file names.
Result<UnitFile> read_unit_file(const std::filesystem::path& path);

// Serializes a unit: sections in order, one assignment per line and a blank
// line between sections.
std::string write_unit(const UnitFile& unit);

// Splits a command line the way systemd splits ExecStart=: whitespace
// separates words, double and single quotes group them, backslash escapes
// the next character, and a leading `@`, `-`, `:`, `+` or `!` prefix of the
// first word is dropped. `$$` and `%%` become `$` and `%`.
std::vector<std::string> split_command_line(std::string_view text);

// Quotes one argument for ExecStart= so split_command_line() returns it
// unchanged and systemd expands neither `$` nor `%` in it.
std::string quote_exec_argument(std::string_view argument);

}  // namespace sanctum::ops
