#pragma once

#include <filesystem>
#include <string>

#include "util/result.hpp"

namespace sanctum::auth {

// Reads a bearer token file. Refuses a file that is missing, empty (after
// trimming whitespace), or has any group or other permission bit set; each
// error names the file and the fix. The token itself never appears in an
// error message.
Result<std::string> read_token_file(const std::filesystem::path& path);

}  // namespace sanctum::auth
