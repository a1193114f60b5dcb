#pragma once

// The bearer token's lifecycle after a move to mTLS: retire it with a dated
// rename, keep it for a rollback window, restore it to roll back, and purge
// it once the window has closed.
//
// Files, all in the token's folder and all mode 0600:
//   TOKEN                              the live token; bearer auth is on while it exists
//   TOKEN.retired-YYYYMMDD             a retired token; the date is the local date of
//                                      retirement, and a second retirement on the same
//                                      day gets TOKEN.retired-YYYYMMDD-2, and so on
//   TOKEN.retired-YYYYMMDD.window      JSON beside each retired token:
//                                      {"retired_at": "...Z", "window_closes": "...Z"}
// A retired file without its .window file (renamed by hand, say) is given the
// default 7-day window from the start of the date in its name.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ops/time_text.hpp"
#include "util/result.hpp"

namespace sanctum::ops {

inline constexpr std::chrono::seconds kDefaultRollbackWindow = std::chrono::days(7);

// ~/.sanctum/secrets/gateway.token ($HOME from the environment).
std::filesystem::path default_token_path();

// Returns `auth_token_file` of the first listener with auth = "bearer" in
// the TOML config at `config_file`, resolved as the gateway resolves it.
// Fails when the file does not load or has no bearer listener.
Result<std::filesystem::path> token_path_from_config(const std::filesystem::path& config_file);

// One retired token file.
struct RetiredToken {
  std::filesystem::path file;
  std::filesystem::path window_file;  // the .window record beside it
  bool has_window_record = false;     // false: window assumed from the name's date
  TimePoint retired_at;
  TimePoint window_closes;

  bool window_open(TimePoint now) const { return now < window_closes; }
};

// The state of a token file and its retired copies on disk.
struct TokenStatus {
  std::filesystem::path token_file;
  bool bearer_live = false;                 // the bare token file exists
  std::optional<unsigned> token_mode;       // permission bits, when the file exists
  std::optional<unsigned> folder_mode;      // permission bits of its folder, when it exists
  std::vector<RetiredToken> retired;        // oldest first
  std::vector<std::string> warnings;        // loose permissions, unreadable window records
};

// Reads the state of `token_file` and its retired copies. Does not read the
// token itself. Fails only when the folder exists but cannot be listed.
Result<TokenStatus> token_status(const std::filesystem::path& token_file);

// Renames `token_file` to TOKEN.retired-YYYYMMDD (local date of `now`) and
// writes its .window record, closing at `now + window`. The rename never
// replaces an existing file. Fails when there is no bare token.
Result<RetiredToken> retire_token(const std::filesystem::path& token_file, TimePoint now,
                                  std::chrono::seconds window = kDefaultRollbackWindow);

// Moves the newest retired token back to `token_file` and removes its
// .window record. Fails when `token_file` exists or nothing is retired.
Result<RetiredToken> restore_token(const std::filesystem::path& token_file);

struct PurgeOutcome {
  std::vector<RetiredToken> deleted;
  std::vector<RetiredToken> kept;  // window still open and no force
};

// Deletes every retired token whose window has closed at `now`, with its
// .window record; with `force`, deletes the ones still open too. Retired
// files it keeps are listed in `kept`. Fails on the first file it cannot
// delete.
Result<PurgeOutcome> purge_tokens(const std::filesystem::path& token_file, TimePoint now,
                                  bool force);

// Writes a new random token (32 bytes from the OpenSSL CSPRNG, as 64 hex
// digits) to `token_file` with mode 0600. A missing folder is created with
// mode 0700. Fails when the file exists, unless `force` is set.
Result<void> create_token(const std::filesystem::path& token_file, bool force);

}  // namespace sanctum::ops
