#include "auth/token_file.hpp"

#include <fmt/format.h>

#include "util/fs.hpp"

namespace sanctum::auth {

namespace fs = std::filesystem;

Result<std::string> read_token_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    // A retired token sits beside the bare path until it is purged; a
    // rollback that skipped `token restore` lands here.
    std::string retired;
    const std::string prefix = path.filename().string() + ".retired-";
    for (const auto& entry : fs::directory_iterator(path.parent_path(), ec)) {
      std::string name = entry.path().filename().string();
      if (name.rfind(prefix, 0) == 0 && name.find(".window") == std::string::npos &&
          name > retired) {
        retired = name;
      }
    }
    if (!retired.empty()) {
      return make_error(fmt::format(
          "token file {} not found, but the retired copy {} exists: to roll back, run "
          "`sanctum token restore --token-file {}`",
          path.string(), retired, path.string()));
    }
    return make_error(fmt::format("token file {} not found; create it with `sanctum token "
                                  "create --token-file {}` or point auth_token_file at the "
                                  "right file",
                                  path.string(), path.string()));
  }
  auto mode = util::file_mode(path);
  if (!mode) {
    return mode.error();
  }
  auto open_bits = *mode & (fs::perms::group_all | fs::perms::others_all);
  if (open_bits != fs::perms::none) {
    return make_error(fmt::format("token file {} is accessible by group or others (mode {:04o}); "
                                  "run `chmod 600 {}`",
                                  path.string(), static_cast<unsigned>(*mode) & 0777u,
                                  path.string()));
  }
  auto text = util::read_file(path);
  if (!text) {
    return text.error();
  }
  std::string token = std::move(*text);
  auto last = token.find_last_not_of(" \t\r\n");
  token.erase(last == std::string::npos ? 0 : last + 1);
  auto first = token.find_first_not_of(" \t\r\n");
  token.erase(0, first == std::string::npos ? token.size() : first);
  if (token.empty()) {
    return make_error(fmt::format("token file {} is empty; write the token into it", path.string()));
  }
  return token;
}

}  // namespace sanctum::auth
