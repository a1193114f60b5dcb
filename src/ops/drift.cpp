#include "ops/drift.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <system_error>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ops/service_files.hpp"

namespace sanctum::ops {

namespace {

namespace fs = std::filesystem;

std::string quote(std::string_view text) { return nlohmann::json(text).dump(); }

bool is_plain_key(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
}

std::string child_path(const std::string& parent, std::string_view key) {
  if (!is_plain_key(key)) {
    return fmt::format("{}[{}]", parent, quote(key));
  }
  return parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key);
}

std::string real_text(double value) {
  if (std::isnan(value)) {
    return "nan";
  }
  if (std::isinf(value)) {
    return value > 0 ? "+infinity" : "-infinity";
  }
  return fmt::format("{}", value);
}

std::string display(const PlistValue& value);

nlohmann::json to_json(const PlistValue& value) {
  switch (value.type) {
    case PlistValue::Type::string:
    case PlistValue::Type::date:
    case PlistValue::Type::data:
      return value.text;
    case PlistValue::Type::integer:
      return value.integer;
    case PlistValue::Type::real:
      return std::isfinite(value.real) ? nlohmann::json(value.real)
                                       : nlohmann::json(real_text(value.real));
    case PlistValue::Type::boolean:
      return value.boolean;
    case PlistValue::Type::array: {
      nlohmann::json items = nlohmann::json::array();
      for (const PlistValue& item : value.array) {
        items.push_back(to_json(item));
      }
      return items;
    }
    case PlistValue::Type::dict: {
      nlohmann::json object = nlohmann::json::object();
      for (const PlistEntry& entry : value.dict) {
        object[entry.key] = to_json(entry.value);
      }
      return object;
    }
  }
  return nullptr;
}

std::string display(const PlistValue& value) {
  switch (value.type) {
    case PlistValue::Type::string:
      return quote(value.text);
    case PlistValue::Type::integer:
      return std::to_string(value.integer);
    case PlistValue::Type::real:
      return real_text(value.real);
    case PlistValue::Type::boolean:
      return value.boolean ? "true" : "false";
    case PlistValue::Type::date:
    case PlistValue::Type::data:
      return fmt::format("<{}>", value.text);
    case PlistValue::Type::array: {
      std::vector<std::string> items;
      for (const PlistValue& item : value.array) {
        items.push_back(display(item));
      }
      return fmt::format("[{}]", fmt::join(items, ", "));
    }
    case PlistValue::Type::dict: {
      std::vector<const PlistEntry*> entries;
      for (const PlistEntry& entry : value.dict) {
        entries.push_back(&entry);
      }
      std::sort(entries.begin(), entries.end(),
                [](const PlistEntry* a, const PlistEntry* b) { return a->key < b->key; });
      std::vector<std::string> items;
      for (const PlistEntry* entry : entries) {
        items.push_back(fmt::format("{}: {}", quote(entry->key), display(entry->value)));
      }
      return fmt::format("{{{}}}", fmt::join(items, ", "));
    }
  }
  return "";
}

DriftValue plist_side(const PlistValue* value) {
  if (value == nullptr) {
    return DriftValue{};
  }
  return DriftValue{true, display(*value), to_json(*value), std::string(type_name(value->type))};
}

DriftValue unit_side(const std::string* value) {
  if (value == nullptr) {
    return DriftValue{};
  }
  return DriftValue{true, quote(*value), *value, ""};
}

std::string kind_of(bool committed_present, bool deployed_present) {
  if (!deployed_present) {
    return "missing";
  }
  return committed_present ? "changed" : "extra";
}

bool same_scalar(const PlistValue& a, const PlistValue& b) {
  switch (a.type) {
    case PlistValue::Type::integer:
      return a.integer == b.integer;
    case PlistValue::Type::real:
      return a.real == b.real || (std::isnan(a.real) && std::isnan(b.real));
    case PlistValue::Type::boolean:
      return a.boolean == b.boolean;
    default:
      return a.text == b.text;
  }
}

void diff_plist_values(const std::string& path, const PlistValue* committed,
                       const PlistValue* deployed, std::vector<Difference>& out) {
  if (committed == nullptr || deployed == nullptr) {
    out.push_back(Difference{"", path, kind_of(committed != nullptr, deployed != nullptr),
                             plist_side(committed), plist_side(deployed)});
    return;
  }
  if (committed->type != deployed->type) {
    out.push_back(Difference{"", path, "type", plist_side(committed), plist_side(deployed)});
    return;
  }
  if (committed->type == PlistValue::Type::array) {
    std::size_t count = std::max(committed->array.size(), deployed->array.size());
    for (std::size_t i = 0; i < count; ++i) {
      const PlistValue* c = i < committed->array.size() ? &committed->array[i] : nullptr;
      const PlistValue* d = i < deployed->array.size() ? &deployed->array[i] : nullptr;
      diff_plist_values(fmt::format("{}[{}]", path, i), c, d, out);
    }
    return;
  }
  if (committed->type == PlistValue::Type::dict) {
    std::set<std::string> keys;
    for (const PlistEntry& entry : committed->dict) {
      keys.insert(entry.key);
    }
    for (const PlistEntry& entry : deployed->dict) {
      keys.insert(entry.key);
    }
    for (const std::string& key : keys) {
      diff_plist_values(child_path(path, key), committed->find(key), deployed->find(key), out);
    }
    return;
  }
  if (!same_scalar(*committed, *deployed)) {
    out.push_back(Difference{"", path, "changed", plist_side(committed), plist_side(deployed)});
  }
}

// Returns the names of sections, or of keys in a section, in the order
// first seen in `committed` and then in `deployed`.
template <class Items, class NameOf>
std::vector<std::string> ordered_union(const Items& committed, const Items& deployed,
                                       NameOf name_of) {
  std::vector<std::string> names;
  for (const Items* items : {&committed, &deployed}) {
    for (const auto& item : *items) {
      const std::string& name = name_of(item);
      if (std::find(names.begin(), names.end(), name) == names.end()) {
        names.push_back(name);
      }
    }
  }
  return names;
}

void diff_unit_key(const std::string& path, const std::vector<std::string>& committed,
                   const std::vector<std::string>& deployed, std::vector<Difference>& out) {
  bool indexed = committed.size() > 1 || deployed.size() > 1;
  std::size_t count = std::max(committed.size(), deployed.size());
  for (std::size_t i = 0; i < count; ++i) {
    const std::string* c = i < committed.size() ? &committed[i] : nullptr;
    const std::string* d = i < deployed.size() ? &deployed[i] : nullptr;
    if (c != nullptr && d != nullptr && *c == *d) {
      continue;
    }
    std::string item_path = indexed ? fmt::format("{}[{}]", path, i) : path;
    out.push_back(Difference{"", item_path, kind_of(c != nullptr, d != nullptr), unit_side(c),
                             unit_side(d)});
  }
}

Result<std::vector<Difference>> compare_files(const fs::path& deployed,
                                              const fs::path& committed) {
  auto deployed_format = detect_format(deployed);
  if (!deployed_format) {
    return deployed_format.error();
  }
  auto committed_format = detect_format(committed);
  if (!committed_format) {
    return committed_format.error();
  }
  if (*deployed_format != *committed_format) {
    return make_error(fmt::format("cannot compare {} with {}: one is a launchd plist and the "
                                  "other a systemd unit",
                                  deployed.string(), committed.string()));
  }
  auto deployed_definition = read_definition(deployed, *deployed_format);
  if (!deployed_definition) {
    return deployed_definition.error();
  }
  auto committed_definition = read_definition(committed, *committed_format);
  if (!committed_definition) {
    return committed_definition.error();
  }
  if (*deployed_format == DefinitionFormat::plist) {
    return diff_plists(std::get<PlistValue>(*committed_definition),
                       std::get<PlistValue>(*deployed_definition));
  }
  return diff_units(std::get<UnitFile>(*committed_definition),
                    std::get<UnitFile>(*deployed_definition));
}

Difference whole_file(const std::string& name, const fs::path* committed,
                      const fs::path* deployed) {
  auto side = [](const fs::path* path) {
    return path == nullptr ? DriftValue{}
                           : DriftValue{true, path->string(), path->string(), ""};
  };
  return Difference{name, "", kind_of(committed != nullptr, deployed != nullptr),
                    side(committed), side(deployed)};
}

Result<std::vector<Difference>> compare_folders(const fs::path& deployed,
                                                const fs::path& committed) {
  auto deployed_files = list_definitions(deployed, false);
  if (!deployed_files) {
    return deployed_files.error();
  }
  auto committed_files = list_definitions(committed, false);
  if (!committed_files) {
    return committed_files.error();
  }
  std::set<std::string> names;
  for (const auto* files : {&*deployed_files, &*committed_files}) {
    for (const DefinitionFile& file : *files) {
      names.insert(file.path.filename().string());
    }
  }
  std::vector<Difference> out;
  for (const std::string& name : names) {
    fs::path deployed_path = deployed / name;
    fs::path committed_path = committed / name;
    std::error_code ec;
    bool in_deployed = fs::is_regular_file(deployed_path, ec);
    bool in_committed = fs::is_regular_file(committed_path, ec);
    if (!in_deployed || !in_committed) {
      out.push_back(whole_file(name, in_committed ? &committed_path : nullptr,
                               in_deployed ? &deployed_path : nullptr));
      continue;
    }
    auto differences = compare_files(deployed_path, committed_path);
    if (!differences) {
      return differences.error();
    }
    for (Difference& difference : *differences) {
      difference.file = name;
      out.push_back(std::move(difference));
    }
  }
  return out;
}

}  // namespace

std::vector<Difference> diff_plists(const PlistValue& committed, const PlistValue& deployed) {
  std::vector<Difference> out;
  diff_plist_values("", &committed, &deployed, out);
  return out;
}

std::vector<Difference> diff_units(const UnitFile& committed, const UnitFile& deployed) {
  std::vector<Difference> out;
  auto section_name = [](const UnitSection& section) -> const std::string& {
    return section.name;
  };
  auto key_name = [](const UnitAssignment& assignment) -> const std::string& {
    return assignment.key;
  };
  static const UnitSection kEmpty;
  for (const std::string& name : ordered_union(committed.sections, deployed.sections,
                                               section_name)) {
    const UnitSection* c = committed.find(name);
    const UnitSection* d = deployed.find(name);
    const UnitSection& c_section = c != nullptr ? *c : kEmpty;
    const UnitSection& d_section = d != nullptr ? *d : kEmpty;
    for (const std::string& key :
         ordered_union(c_section.assignments, d_section.assignments, key_name)) {
      diff_unit_key(fmt::format("[{}] {}", name, key), committed.values(name, key),
                    deployed.values(name, key), out);
    }
  }
  return out;
}

Result<std::vector<Difference>> compare_definitions(const fs::path& deployed,
                                                    const fs::path& committed) {
  std::error_code ec;
  bool deployed_dir = fs::is_directory(deployed, ec);
  bool committed_dir = fs::is_directory(committed, ec);
  if (deployed_dir && committed_dir) {
    return compare_folders(deployed, committed);
  }
  if (deployed_dir || committed_dir) {
    return make_error(fmt::format(
        "{} is a folder but {} is not: give two files or two folders",
        deployed_dir ? deployed.string() : committed.string(),
        deployed_dir ? committed.string() : deployed.string()));
  }
  return compare_files(deployed, committed);
}

std::string format_difference(const Difference& difference) {
  bool type_change = difference.kind == "type";
  auto side = [&](const DriftValue& value, std::string_view where) {
    if (!value.present) {
      return fmt::format("missing in {}", where);
    }
    if (type_change) {
      return fmt::format("{} ({}) in {}", value.text, value.type, where);
    }
    return fmt::format("{} in {}", value.text, where);
  };
  std::string location = difference.file;
  if (!difference.path.empty()) {
    location = location.empty() ? difference.path
                                : fmt::format("{}: {}", location, difference.path);
  }
  if (location.empty()) {
    location = "(root)";
  }
  return fmt::format("{}: {}, {}", location, side(difference.committed, "committed"),
                     side(difference.deployed, "deployed"));
}

nlohmann::json drift_report_json(const std::vector<Difference>& differences) {
  nlohmann::json list = nlohmann::json::array();
  auto type_or_null = [](const DriftValue& value) {
    return value.present && !value.type.empty() ? nlohmann::json(value.type) : nlohmann::json();
  };
  for (const Difference& difference : differences) {
    list.push_back({
        {"file", difference.file.empty() ? nlohmann::json() : nlohmann::json(difference.file)},
        {"path", difference.path},
        {"kind", difference.kind},
        {"committed", difference.committed.json},
        {"deployed", difference.deployed.json},
        {"committed_type", type_or_null(difference.committed)},
        {"deployed_type", type_or_null(difference.deployed)},
    });
  }
  return nlohmann::json{{"drift", !differences.empty()}, {"differences", std::move(list)}};
}

}  // namespace sanctum::ops
