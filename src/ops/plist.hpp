#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace sanctum::ops {

struct PlistEntry;

// One value of an XML property list, as launchd reads it.
struct PlistValue {
  enum class Type { string, integer, real, boolean, date, data, array, dict };

  Type type = Type::string;
  std::string text;     // string text, date in ISO 8601, or data as base64 without whitespace
  std::int64_t integer = 0;
  double real = 0.0;
  bool boolean = false;
  std::vector<PlistValue> array;
  std::vector<PlistEntry> dict;  // in the order written or inserted
  int line = 0;                  // 1-based line of the element, 0 when built in code

  static PlistValue make_string(std::string text);
  static PlistValue make_integer(std::int64_t value);
  static PlistValue make_boolean(bool value);
  static PlistValue make_array(std::vector<PlistValue> items);
  static PlistValue make_dict();

  // Appends `key` to a dict, replacing the value when the key exists.
  PlistValue& set(const std::string& key, PlistValue value);
  // Returns the value stored under `key` in a dict, nullptr when absent or
  // when this value is not a dict.
  const PlistValue* find(std::string_view key) const;
};

struct PlistEntry {
  std::string key;
  PlistValue value;
};

// The element name of a type in plist XML ("string", "integer", "true"
// and "false" are both "boolean").
std::string_view type_name(PlistValue::Type type);

// Parses the text of an XML property list. `file` only labels errors, which
// read "FILE:LINE: what is wrong". Rejects binary plists (they start with
// "bplist00") with an error that names `plutil -convert xml1`, a root other
// than <plist> with exactly one value, unknown elements, integers and reals
// that do not parse, and a dict key given twice.
Result<PlistValue> parse_plist(std::string_view text, const std::string& file);

// Reads and parses a plist file.
Result<PlistValue> read_plist_file(const std::filesystem::path& path);

// Serializes `value` as an XML property list with the standard XML
// declaration and DOCTYPE, tab indentation and dict keys sorted by byte
// value, so equal values always give the same bytes.
std::string write_plist(const PlistValue& value);

// Returns the 1-based line that byte `offset` of `text` is on.
int line_of_offset(std::string_view text, std::ptrdiff_t offset);

}  // namespace sanctum::ops
