#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace sanctum::util {

// Reads a whole file. The error names the path and the OS reason.
Result<std::string> read_file(const std::filesystem::path& path);

// Writes `data` to `path` atomically: a temporary file in the same folder is
// written with `mode`, fsync'd, renamed over `path`, and the folder is
// fsync'd. Readers see either the old or the new content, never a mix.
// Fails without touching `path` when it exists and `overwrite` is false.
Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view data,
                               std::filesystem::perms mode, bool overwrite);

// Creates `dir` (and parents) when missing and sets it to 0700. Fails when
// `dir` exists but is not a folder.
Result<void> ensure_private_dir(const std::filesystem::path& dir);

// Returns the permission bits of `path`, or an error naming it.
Result<std::filesystem::perms> file_mode(const std::filesystem::path& path);

}  // namespace sanctum::util
