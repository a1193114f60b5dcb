#pragma once

// A minimal writer for gzip-compressed POSIX ustar archives, enough to
// package a few small regular files. Internal to src/ca.

#include <string>
#include <string_view>
#include <vector>

#include "ca/ca.hpp"

namespace sanctum::ca {

struct TarMember {
  std::string name;  // at most 100 bytes, no folders
  unsigned mode = 0644;
  std::string data;
};

// Returns the ustar archive of `members`, all owned by uid and gid 0 and
// modified at `mtime`, ending with the two zero blocks the format requires.
// Fails when a name is longer than 100 bytes.
Result<std::string> make_ustar(const std::vector<TarMember>& members, TimePoint mtime);

// Compresses `data` into the gzip format with zlib.
Result<std::string> gzip_compress(std::string_view data);

}  // namespace sanctum::ca
