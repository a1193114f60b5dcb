#include "ops/unit_file.hpp"

#include <algorithm>
#include <iterator>
#include <system_error>

#include <fmt/format.h>

#include "util/fs.hpp"

namespace sanctum::ops {

namespace {

namespace fs = std::filesystem;

std::string_view trim(std::string_view text) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && is_space(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_space(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

bool is_comment(std::string_view line) {
  return !line.empty() && (line.front() == '#' || line.front() == ';');
}

// Keys that systemd documents as lists: each assignment adds to the list
// and an empty assignment clears it. Sources: systemd.unit(5),
// systemd.service(5), systemd.exec(5), systemd.timer(5) and
// systemd.socket(5) of systemd 252.
// NOTE: the table is not complete. A list key missing from it is merged as
// a single value, so a drop-in's assignment replaces the unit's values
// instead of adding to them.
constexpr std::string_view kListKeys[] = {
    "After", "Before", "Wants", "Requires", "Requisite", "BindsTo", "PartOf", "Upholds",
    "Conflicts", "OnFailure", "OnSuccess", "PropagatesReloadTo", "ReloadPropagatedFrom",
    "JoinsNamespaceOf", "RequiresMountsFor", "Documentation", "WantedBy", "RequiredBy",
    "UpheldBy", "Also", "Alias", "ExecCondition", "ExecStartPre", "ExecStart", "ExecStartPost",
    "ExecReload", "ExecStop", "ExecStopPost", "Environment", "EnvironmentFile",
    "PassEnvironment", "UnsetEnvironment", "ReadWritePaths", "ReadOnlyPaths",
    "InaccessiblePaths", "ExecPaths", "NoExecPaths", "BindPaths", "BindReadOnlyPaths",
    "TemporaryFileSystem", "RestrictAddressFamilies", "SystemCallFilter",
    "SystemCallArchitectures", "CapabilityBoundingSet", "AmbientCapabilities", "DeviceAllow",
    "SupplementaryGroups", "RuntimeDirectory", "StateDirectory", "CacheDirectory",
    "LogsDirectory", "ConfigurationDirectory", "LoadCredential", "SetCredential",
    "SuccessExitStatus", "RestartPreventExitStatus", "RestartForceExitStatus",
    "IPAddressAllow", "IPAddressDeny", "ListenStream", "ListenDatagram",
    "ListenSequentialPacket", "OnActiveSec", "OnBootSec", "OnStartupSec", "OnUnitActiveSec",
    "OnUnitInactiveSec", "OnCalendar"};

// Reads physical lines into logical ones, joining continuation lines.
struct LogicalLine {
  std::string text;
  int line = 0;
};

std::vector<LogicalLine> logical_lines(std::string_view text) {
  std::vector<LogicalLine> lines;
  std::string pending;
  int pending_line = 0;
  int number = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    std::string_view raw = text.substr(start, end - start);
    start = end + 1;
    ++number;
    std::string_view line = trim(raw);
    bool continuing = pending_line != 0;
    if (!continuing && (line.empty() || is_comment(line))) {
      continue;
    }
    // systemd skips comment lines that sit inside a continued value.
    if (continuing && is_comment(line)) {
      continue;
    }
    if (!continuing) {
      pending_line = number;
    }
    if (!line.empty() && line.back() == '\\') {
      line.remove_suffix(1);
      pending += std::string(line) + " ";
      continue;
    }
    pending += line;
    lines.push_back(LogicalLine{std::move(pending), pending_line});
    pending.clear();
    pending_line = 0;
  }
  if (pending_line != 0) {
    lines.push_back(LogicalLine{std::move(pending), pending_line});
  }
  return lines;
}

void remove_key(UnitSection& section, std::string_view key) {
  std::erase_if(section.assignments,
                [&](const UnitAssignment& assignment) { return assignment.key == key; });
}

}  // namespace

const UnitSection* UnitFile::find(std::string_view name) const {
  for (const UnitSection& section : sections) {
    if (section.name == name) {
      return &section;
    }
  }
  return nullptr;
}

UnitSection& UnitFile::section(const std::string& name) {
  for (UnitSection& section : sections) {
    if (section.name == name) {
      return section;
    }
  }
  sections.push_back(UnitSection{name, {}});
  return sections.back();
}

std::vector<std::string> UnitFile::values(std::string_view section_name,
                                          std::string_view key) const {
  std::vector<std::string> result;
  if (const UnitSection* found = find(section_name)) {
    for (const UnitAssignment& assignment : found->assignments) {
      if (assignment.key == key) {
        result.push_back(assignment.value);
      }
    }
  }
  return result;
}

bool is_list_key(std::string_view key) {
  return std::find(std::begin(kListKeys), std::end(kListKeys), key) != std::end(kListKeys);
}

Result<UnitFile> parse_unit(std::string_view text, const std::string& file) {
  UnitFile unit;
  UnitSection* current = nullptr;
  for (LogicalLine& logical : logical_lines(text)) {
    std::string_view line = trim(logical.text);
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3) {
        return make_error(fmt::format("{}:{}: invalid section header \"{}\": expected [Name]",
                                      file, logical.line, line));
      }
      current = &unit.section(std::string(line.substr(1, line.size() - 2)));
      continue;
    }
    std::size_t equals = line.find('=');
    if (equals == std::string_view::npos) {
      return make_error(fmt::format("{}:{}: invalid line \"{}\": expected Key=Value", file,
                                    logical.line, line));
    }
    std::string key(trim(line.substr(0, equals)));
    if (key.empty()) {
      return make_error(fmt::format("{}:{}: assignment \"{}\" has no key", file, logical.line,
                                    line));
    }
    if (current == nullptr) {
      return make_error(fmt::format("{}:{}: key \"{}\" appears before any [Section] header",
                                    file, logical.line, key));
    }
    current->assignments.push_back(UnitAssignment{
        std::move(key), std::string(trim(line.substr(equals + 1))), file, logical.line});
  }
  return unit;
}

void merge_drop_in(UnitFile& base, const UnitFile& drop_in) {
  for (const UnitSection& section : drop_in.sections) {
    UnitSection& target = base.section(section.name);
    std::vector<std::string> replaced;
    for (const UnitAssignment& assignment : section.assignments) {
      if (assignment.value.empty()) {
        remove_key(target, assignment.key);
        replaced.push_back(assignment.key);
        continue;
      }
      bool first_in_drop_in =
          std::find(replaced.begin(), replaced.end(), assignment.key) == replaced.end();
      if (!is_list_key(assignment.key) && first_in_drop_in) {
        remove_key(target, assignment.key);
        replaced.push_back(assignment.key);
      }
      target.assignments.push_back(assignment);
    }
  }
}

Result<UnitFile> read_unit_file(const fs::path& path) {
  auto text = util::read_file(path);
  if (!text) {
    return text.error();
  }
  auto unit = parse_unit(*text, path.string());
  if (!unit) {
    return unit;
  }

  fs::path drop_in_dir = path;
  drop_in_dir += ".d";
  std::error_code ec;
  if (!fs::is_directory(drop_in_dir, ec)) {
    return unit;
  }

  std::vector<fs::path> drop_ins;
  for (const auto& entry : fs::directory_iterator(drop_in_dir, ec)) {
    if (entry.path().extension() == ".conf") {
      drop_ins.push_back(entry.path());
    }
  }
  if (ec) {
    return make_error(fmt::format("{}: cannot list drop-ins: {}", drop_in_dir.string(),
                                  ec.message()));
  }
  std::sort(drop_ins.begin(), drop_ins.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });

  for (const fs::path& drop_in_path : drop_ins) {
    auto drop_in_text = util::read_file(drop_in_path);
    if (!drop_in_text) {
      return drop_in_text.error();
    }
    auto drop_in = parse_unit(*drop_in_text, drop_in_path.string());
    if (!drop_in) {
      return drop_in;
    }
    merge_drop_in(*unit, *drop_in);
  }
  return unit;
}

std::string write_unit(const UnitFile& unit) {
  std::string out;
  for (const UnitSection& section : unit.sections) {
    if (!out.empty()) {
      out += "\n";
    }
    out += fmt::format("[{}]\n", section.name);
    for (const UnitAssignment& assignment : section.assignments) {
      out += fmt::format("{}={}\n", assignment.key, assignment.value);
    }
  }
  return out;
}

std::vector<std::string> split_command_line(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote == 0 && (c == ' ' || c == '\t')) {
      if (in_word) {
        words.push_back(std::move(word));
        word.clear();
        in_word = false;
      }
      continue;
    }
    in_word = true;
    if (c == '\\' && i + 1 < text.size()) {
      word += text[++i];
    } else if ((c == '$' || c == '%') && i + 1 < text.size() && text[i + 1] == c) {
      word += c;
      ++i;
    } else if (quote == 0 && (c == '"' || c == '\'')) {
      quote = c;
    } else if (quote != 0 && c == quote) {
      quote = 0;
    } else {
      word += c;
    }
  }
  if (in_word) {
    words.push_back(std::move(word));
  }
  if (!words.empty()) {
    std::string& program = words.front();
    std::size_t prefix = program.find_first_not_of("@-:+!");
    program.erase(0, prefix == std::string::npos ? program.size() : prefix);
  }
  return words;
}

std::string quote_exec_argument(std::string_view argument) {
  bool needs_quotes = argument.empty() ||
                      argument.find_first_of(" \t\"'\\;") != std::string_view::npos;
  std::string out;
  for (char c : argument) {
    if (c == '$' || c == '%') {
      out += c;
      out += c;
    } else if (needs_quotes && (c == '"' || c == '\\')) {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  return needs_quotes ? "\"" + out + "\"" : out;
}

}  // namespace sanctum::ops
