#include "ops/token.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "util/fs.hpp"

namespace sanctum::ops {

namespace fs = std::filesystem;

namespace {

bool all_digits(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

constexpr std::string_view kRetiredInfix = ".retired-";
constexpr std::string_view kWindowSuffix = ".window";
constexpr mode_t kSecretMode = 0600;

unsigned permission_bits(const fs::path& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) {
    return 0;
  }
  return info.st_mode & 07777;
}

bool is_regular_file_no_follow(const fs::path& path) {
  std::error_code ec;
  return fs::symlink_status(path, ec).type() == fs::file_type::regular;
}

bool exists_no_follow(const fs::path& path) {
  std::error_code ec;
  return fs::symlink_status(path, ec).type() != fs::file_type::not_found && !ec;
}

Result<void> fsync_folder(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return make_error(fmt::format("cannot open folder {}: {}", dir.string(), std::strerror(errno)));
  }
  ::fsync(fd);
  ::close(fd);
  return {};
}

// Renames `from` to `to` in one step and never replaces `to`. Linux
// renameat2(RENAME_NOREPLACE) does both; on a file system without it, link()
// plus unlink() keeps the no-replace guarantee, with a moment in which both
// names exist.
Result<void> rename_no_replace(const fs::path& from, const fs::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
    return {};
  }
  if (errno == EINVAL || errno == ENOSYS) {
    if (::link(from.c_str(), to.c_str()) == 0) {
      ::unlink(from.c_str());
      return {};
    }
  }
  return make_error(fmt::format("cannot rename {} to {}: {}", from.string(), to.string(),
                                std::strerror(errno)));
}

fs::path folder_of(const fs::path& token_file) {
  return token_file.has_parent_path() ? token_file.parent_path() : fs::path(".");
}

// Parses the part after ".retired-": "YYYYMMDD" or "YYYYMMDD-N" with N >= 2.
// Returns the start of that local date and N (1 without a suffix).
std::optional<std::pair<TimePoint, int>> parse_retired_suffix(std::string_view suffix) {
  if (suffix.size() < 8 || !all_digits(suffix.substr(0, 8))) {
    return std::nullopt;
  }
  int sequence = 1;
  if (suffix.size() > 8) {
    std::string_view rest = suffix.substr(8);
    if (rest.size() < 2 || rest.size() > 5 || rest[0] != '-' || !all_digits(rest.substr(1))) {
      return std::nullopt;
    }
    sequence = std::atoi(std::string(rest.substr(1)).c_str());
    if (sequence < 2) {
      return std::nullopt;
    }
  }
  auto digits = [&](std::size_t pos, std::size_t n) {
    return std::atoi(std::string(suffix.substr(pos, n)).c_str());
  };
  auto start = local_midnight(digits(0, 4), digits(4, 2), digits(6, 2));
  if (!start) {
    return std::nullopt;
  }
  return std::make_pair(*start, sequence);
}

// Reads the .window record. Returns nothing and adds a warning when it is
// present but unreadable, so the caller falls back to the default window.
std::optional<std::pair<TimePoint, TimePoint>> read_window_record(const fs::path& path,
                                                                  std::vector<std::string>& warnings) {
  if (!exists_no_follow(path)) {
    return std::nullopt;
  }
  auto text = util::read_file(path);
  if (!text) {
    warnings.push_back(text.error().message);
    return std::nullopt;
  }
  auto json = nlohmann::json::parse(*text, nullptr, false);
  if (json.is_object() && json.contains("retired_at") && json.contains("window_closes") &&
      json["retired_at"].is_string() && json["window_closes"].is_string()) {
    auto retired = parse_timestamp(json["retired_at"].get<std::string>());
    auto closes = parse_timestamp(json["window_closes"].get<std::string>());
    if (retired && closes) {
      return std::make_pair(*retired, *closes);
    }
  }
  warnings.push_back(fmt::format("{} is not a valid window record; assuming the default 7-day "
                                 "window from the date in the file name",
                                 path.string()));
  return std::nullopt;
}

struct Listing {
  std::vector<RetiredToken> retired;  // oldest first
  std::vector<std::string> warnings;
};

Result<Listing> list_retired(const fs::path& token_file) {
  Listing listing;
  fs::path folder = folder_of(token_file);
  std::string prefix = token_file.filename().string() + std::string(kRetiredInfix);
  std::error_code ec;
  if (!fs::exists(folder, ec)) {
    return listing;
  }
  std::vector<std::pair<int, RetiredToken>> found;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0 || name.ends_with(kWindowSuffix) ||
        name.find(".tmp-") != std::string::npos) {
      continue;
    }
    auto parsed = parse_retired_suffix(std::string_view(name).substr(prefix.size()));
    if (!parsed) {
      listing.warnings.push_back(fmt::format(
          "{} looks like a retired token but its name does not end in .retired-YYYYMMDD; "
          "it is left alone",
          entry.path().string()));
      continue;
    }
    RetiredToken token;
    token.file = entry.path();
    token.window_file = fs::path(entry.path().string() + std::string(kWindowSuffix));
    if (auto record = read_window_record(token.window_file, listing.warnings)) {
      token.has_window_record = true;
      token.retired_at = record->first;
      token.window_closes = record->second;
    } else {
      token.retired_at = parsed->first;
      token.window_closes = parsed->first + kDefaultRollbackWindow;
    }
    found.emplace_back(parsed->second, std::move(token));
  }
  if (ec) {
    return make_error(fmt::format("cannot list folder {}: {}", folder.string(), ec.message()));
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    if (a.second.retired_at != b.second.retired_at) {
      return a.second.retired_at < b.second.retired_at;
    }
    return a.first < b.first;
  });
  for (auto& [sequence, token] : found) {
    listing.retired.push_back(std::move(token));
  }
  return listing;
}

// The first free TOKEN.retired-YYYYMMDD[-N] name for the local date of `now`.
fs::path free_retired_name(const fs::path& token_file, TimePoint now) {
  std::string base = token_file.string() + std::string(kRetiredInfix) + local_date_compact(now);
  fs::path candidate = base;
  for (int sequence = 2; exists_no_follow(candidate) ||
                         exists_no_follow(candidate.string() + std::string(kWindowSuffix));
       ++sequence) {
    candidate = fmt::format("{}-{}", base, sequence);
  }
  return candidate;
}

Result<void> remove_file(const fs::path& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return make_error(fmt::format("cannot delete {}: {}", path.string(), std::strerror(errno)));
  }
  return {};
}

}  // namespace

fs::path default_token_path() {
  const char* home = std::getenv("HOME");
  fs::path base = (home != nullptr && *home != '\0') ? fs::path(home) : fs::path(".");
  return base / ".sanctum" / "secrets" / "gateway.token";
}

Result<fs::path> token_path_from_config(const fs::path& config_file) {
  std::vector<config::Problem> problems;
  auto loaded = config::load(config_file, problems);
  if (!loaded) {
    std::string details;
    for (const auto& problem : problems) {
      details += "\n  " + config::to_string(problem);
    }
    return make_error(fmt::format("cannot load {}: {}{}", config_file.string(),
                                  loaded.error().message, details));
  }
  for (const auto& listener : loaded->listeners) {
    if (listener.auth == config::AuthMode::bearer) {
      return listener.auth_token_file;
    }
  }
  return make_error(fmt::format("{} has no listener with auth = \"bearer\", so it names no token "
                                "file; pass --token-file PATH",
                                config_file.string()));
}

Result<TokenStatus> token_status(const fs::path& token_file) {
  TokenStatus status;
  status.token_file = token_file;
  status.bearer_live = exists_no_follow(token_file);
  if (status.bearer_live) {
    status.token_mode = permission_bits(token_file);
    if (!is_regular_file_no_follow(token_file)) {
      status.warnings.push_back(
          fmt::format("{} is not a regular file; the gateway reads only regular files",
                      token_file.string()));
    } else if ((*status.token_mode & 077) != 0) {
      status.warnings.push_back(fmt::format(
          "{} has mode {:04o}, so the gateway refuses it; run `chmod 600 {}`", token_file.string(),
          *status.token_mode, token_file.string()));
    }
  }

  fs::path folder = folder_of(token_file);
  std::error_code ec;
  if (fs::is_directory(folder, ec)) {
    status.folder_mode = permission_bits(folder);
    if ((*status.folder_mode & 077) != 0) {
      status.warnings.push_back(fmt::format("folder {} has mode {:04o}; run `chmod 700 {}`",
                                            folder.string(), *status.folder_mode, folder.string()));
    }
  }

  auto listing = list_retired(token_file);
  if (!listing) {
    return listing.error();
  }
  status.retired = std::move(listing->retired);
  status.warnings.insert(status.warnings.end(), listing->warnings.begin(), listing->warnings.end());
  for (const auto& retired : status.retired) {
    if ((permission_bits(retired.file) & 077) != 0) {
      status.warnings.push_back(fmt::format("{} has mode {:04o}; run `chmod 600 {}`",
                                            retired.file.string(), permission_bits(retired.file),
                                            retired.file.string()));
    }
  }
  return status;
}

Result<RetiredToken> retire_token(const fs::path& token_file, TimePoint now,
                                  std::chrono::seconds window) {
  if (!exists_no_follow(token_file)) {
    return make_error(fmt::format("no bearer token at {}: nothing to retire; "
                                  "`sanctum token status` lists retired copies",
                                  token_file.string()));
  }
  if (!is_regular_file_no_follow(token_file)) {
    return make_error(fmt::format("{} is not a regular file; retire only a token file",
                                  token_file.string()));
  }
  RetiredToken retired;
  retired.file = free_retired_name(token_file, now);
  retired.window_file = retired.file.string() + std::string(kWindowSuffix);
  retired.has_window_record = true;
  retired.retired_at = now;
  retired.window_closes = now + window;

  if (auto renamed = rename_no_replace(token_file, retired.file); !renamed) {
    return renamed.error();
  }
  ::chmod(retired.file.c_str(), kSecretMode);
  // The rename comes first: if writing the record fails, the token is
  // already retired and only falls back to the default window.
  nlohmann::ordered_json record;
  record["retired_at"] = format_utc(retired.retired_at);
  record["window_closes"] = format_utc(retired.window_closes);
  auto written = util::write_file_atomic(retired.window_file, record.dump() + "\n",
                                         static_cast<fs::perms>(kSecretMode), true);
  if (!written) {
    return make_error(fmt::format("retired {} as {}, but writing {} failed: {}",
                                  token_file.string(), retired.file.string(),
                                  retired.window_file.string(), written.error().message));
  }
  if (auto synced = fsync_folder(folder_of(token_file)); !synced) {
    return synced.error();
  }
  return retired;
}

Result<RetiredToken> restore_token(const fs::path& token_file) {
  if (exists_no_follow(token_file)) {
    return make_error(fmt::format("{} exists, so bearer auth is already live: nothing to "
                                  "restore; `sanctum token status` shows the files",
                                  token_file.string()));
  }
  auto listing = list_retired(token_file);
  if (!listing) {
    return listing.error();
  }
  if (listing->retired.empty()) {
    return make_error(fmt::format("no retired token next to {} (expected {}{}YYYYMMDD): nothing "
                                  "to restore; create a new token with `sanctum token create`",
                                  token_file.string(), token_file.filename().string(),
                                  kRetiredInfix));
  }
  RetiredToken newest = listing->retired.back();
  if (auto renamed = rename_no_replace(newest.file, token_file); !renamed) {
    return renamed.error();
  }
  ::chmod(token_file.c_str(), kSecretMode);
  if (auto removed = remove_file(newest.window_file); !removed) {
    return removed.error();
  }
  if (auto synced = fsync_folder(folder_of(token_file)); !synced) {
    return synced.error();
  }
  return newest;
}

Result<PurgeOutcome> purge_tokens(const fs::path& token_file, TimePoint now, bool force) {
  auto listing = list_retired(token_file);
  if (!listing) {
    return listing.error();
  }
  PurgeOutcome outcome;
  for (auto& retired : listing->retired) {
    if (retired.window_open(now) && !force) {
      outcome.kept.push_back(std::move(retired));
      continue;
    }
    if (auto removed = remove_file(retired.file); !removed) {
      return removed.error();
    }
    if (auto removed = remove_file(retired.window_file); !removed) {
      return removed.error();
    }
    outcome.deleted.push_back(std::move(retired));
  }
  if (!outcome.deleted.empty()) {
    if (auto synced = fsync_folder(folder_of(token_file)); !synced) {
      return synced.error();
    }
  }
  return outcome;
}

Result<void> create_token(const fs::path& token_file, bool force) {
  fs::path folder = folder_of(token_file);
  std::error_code ec;
  // Only a folder this command creates is set to 0700: tightening an
  // existing folder such as /tmp would break other users of it.
  if (!fs::exists(folder, ec)) {
    if (auto made = util::ensure_private_dir(folder); !made) {
      return made.error();
    }
  }
  if (!force && exists_no_follow(token_file)) {
    return make_error(fmt::format("{} already exists; pass --force to replace it, or "
                                  "`sanctum token retire` it first",
                                  token_file.string()));
  }
  unsigned char random[32];
  if (RAND_bytes(random, sizeof random) != 1) {
    return make_error("the OpenSSL random generator failed; no token was written");
  }
  std::string token;
  for (unsigned char byte : random) {
    token += fmt::format("{:02x}", byte);
  }
  OPENSSL_cleanse(random, sizeof random);
  auto written = util::write_file_atomic(token_file, token + "\n",
                                         static_cast<fs::perms>(kSecretMode), force);
  OPENSSL_cleanse(token.data(), token.size());
  return written;
}

}  // namespace sanctum::ops
