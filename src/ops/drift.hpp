#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ops/plist.hpp"
#include "ops/unit_file.hpp"
#include "util/result.hpp"

namespace sanctum::ops {

// One side of a difference.
struct DriftValue {
  bool present = false;
  std::string text;     // display form: strings quoted, other values bare
  nlohmann::json json;  // the value as JSON, null when absent
  std::string type;     // plist type name ("string", "boolean", ...); "" for unit values
};

// One place where the deployed definition differs from the committed one.
struct Difference {
  std::string file;  // definition file name in folder mode, "" when comparing two files
  std::string path;  // "ProgramArguments[3]", "EnvironmentVariables.OLLAMA_HOST",
                     // "[Service] Restart"; "" for a whole file in folder mode
  // One of "changed" (same type, other value), "type" (the type changed),
  // "missing" (only in committed) or "extra" (only in deployed).
  std::string kind;
  DriftValue committed;
  DriftValue deployed;
};

// Compares two plists semantically: dicts by key regardless of order,
// arrays by index, scalars by type and value. Integers and reals compare as
// numbers, so <integer>0x10</integer> equals <integer>16</integer>.
std::vector<Difference> diff_plists(const PlistValue& committed, const PlistValue& deployed);

// Compares two units (drop-ins already merged) section by section and key by
// key. A key's values are compared as an ordered list: with at most one
// value on each side the path is "[Section] Key", otherwise each index is
// compared as "[Section] Key[i]".
std::vector<Difference> diff_units(const UnitFile& committed, const UnitFile& deployed);

// Compares the definition files `deployed` and `committed`, or, when both
// are folders, every *.plist, *.service, *.timer and *.socket file in either
// folder: a file in only one folder is one "missing" or "extra" difference.
// Files renamed to *.disabled or *.disabled-SUFFIX are not compared. Fails
// when a file cannot be read or parsed (the error names file and line), when
// one argument is a folder and the other is not, or when a plist is
// compared with a unit.
Result<std::vector<Difference>> compare_definitions(const std::filesystem::path& deployed,
                                                    const std::filesystem::path& committed);

// Formats one difference as a line without newline, e.g.
// `ProgramArguments[3]: "--no-plain" in committed, missing in deployed`.
std::string format_difference(const Difference& difference);

// Returns {"drift": bool, "differences": [{"file", "path", "kind",
// "committed", "deployed", "committed_type", "deployed_type"}]}, with null
// for an absent value or a type that does not apply.
nlohmann::json drift_report_json(const std::vector<Difference>& differences);

}  // namespace sanctum::ops
