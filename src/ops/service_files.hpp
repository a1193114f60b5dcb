#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ops/plist.hpp"
#include "ops/unit_file.hpp"
#include "util/result.hpp"

namespace sanctum::ops {

enum class DefinitionFormat { plist, unit };

// A service definition file found in a folder.
struct DefinitionFile {
  std::filesystem::path path;
  DefinitionFormat format = DefinitionFormat::plist;
  // True when the name ends in ".disabled" or ".disabled-SUFFIX" (for
  // example "com.sanctum.server-mlx.plist.disabled-20260422"): launchd and
  // systemd load neither, so the file is kept only for reference.
  bool disabled = false;
};

// A parsed definition: a plist value or a unit with its drop-ins merged.
using Definition = std::variant<PlistValue, UnitFile>;

// Returns the name with a ".disabled" or ".disabled-SUFFIX" ending removed.
std::string active_name(const std::string& file_name);

// Returns the format that a definition file name stands for, judged by its
// extension after active_name(): ".plist" is a plist, and ".service",
// ".timer" and ".socket" are systemd units. Nothing for any other name.
std::optional<DefinitionFormat> format_of_name(const std::string& file_name);

// Returns the format of a file from its name, or, for other names, from
// its content: text starting with "<?xml", "<!DOCTYPE plist", "<plist" or
// "bplist00" is a plist and anything else a unit.
Result<DefinitionFormat> detect_format(const std::filesystem::path& path);

// Reads and parses a definition in the given format.
Result<Definition> read_definition(const std::filesystem::path& path, DefinitionFormat format);

// Lists the definition files directly inside `dir` (no recursion), sorted
// by name. Disabled copies are included only when `include_disabled` is true.
Result<std::vector<DefinitionFile>> list_definitions(const std::filesystem::path& dir,
                                                     bool include_disabled);

}  // namespace sanctum::ops
