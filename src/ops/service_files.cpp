#include "ops/service_files.hpp"

#include <algorithm>
#include <fstream>
#include <system_error>

#include <fmt/format.h>

namespace sanctum::ops {

namespace fs = std::filesystem;

std::string active_name(const std::string& file_name) {
  constexpr std::string_view kMarker = ".disabled";
  std::size_t marker = file_name.rfind(kMarker);
  if (marker == std::string::npos || marker == 0) {
    return file_name;
  }
  std::size_t after = marker + kMarker.size();
  if (after == file_name.size() || file_name[after] == '-') {
    return file_name.substr(0, marker);
  }
  return file_name;
}

std::optional<DefinitionFormat> format_of_name(const std::string& file_name) {
  std::string extension = fs::path(active_name(file_name)).extension().string();
  if (extension == ".plist") {
    return DefinitionFormat::plist;
  }
  if (extension == ".service" || extension == ".timer" || extension == ".socket") {
    return DefinitionFormat::unit;
  }
  return std::nullopt;
}

Result<DefinitionFormat> detect_format(const fs::path& path) {
  if (auto format = format_of_name(path.filename().string())) {
    return *format;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(fmt::format("{}: cannot open for reading", path.string()));
  }
  std::string head(64, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  std::size_t start = head.find_first_not_of(" \t\r\n");
  std::string_view text = start == std::string::npos ? "" : std::string_view(head).substr(start);
  for (std::string_view marker : {"<?xml", "<!DOCTYPE plist", "<plist", "bplist00"}) {
    if (text.substr(0, marker.size()) == marker) {
      return DefinitionFormat::plist;
    }
  }
  return DefinitionFormat::unit;
}

Result<Definition> read_definition(const fs::path& path, DefinitionFormat format) {
  if (format == DefinitionFormat::plist) {
    auto plist = read_plist_file(path);
    if (!plist) {
      return plist.error();
    }
    return Definition(std::move(*plist));
  }
  auto unit = read_unit_file(path);
  if (!unit) {
    return unit.error();
  }
  return Definition(std::move(*unit));
}

Result<std::vector<DefinitionFile>> list_definitions(const fs::path& dir, bool include_disabled) {
  std::error_code ec;
  std::vector<DefinitionFile> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    auto format = format_of_name(name);
    std::error_code type_ec;
    if (!format || !entry.is_regular_file(type_ec)) {
      continue;
    }
    bool disabled = active_name(name) != name;
    if (disabled && !include_disabled) {
      continue;
    }
    files.push_back(DefinitionFile{entry.path(), *format, disabled});
  }
  if (ec) {
    return make_error(fmt::format("{}: cannot list folder: {}", dir.string(), ec.message()));
  }
  std::sort(files.begin(), files.end(), [](const DefinitionFile& a, const DefinitionFile& b) {
    return a.path.filename() < b.path.filename();
  });
  return files;
}

}  // namespace sanctum::ops
