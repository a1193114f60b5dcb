#pragma once

// index.json: what the CA has issued, and the lock that serialises every
// change to the state folder. Internal to src/ca.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "ca/ca.hpp"

namespace sanctum::ca {

struct Index {
  std::uint64_t crl_number = 0;  // crlNumber of the last CRL written
  std::vector<IndexEntry> entries;  // in issue order
};

// An exclusive flock on index.json.lock, held from acquire() until the
// object goes away. Other processes block in acquire() meanwhile.
class IndexLock {
 public:
  static Result<IndexLock> acquire(const CaPaths& paths);
  IndexLock(IndexLock&& other) noexcept;
  IndexLock& operator=(IndexLock&&) = delete;
  ~IndexLock();

 private:
  explicit IndexLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Reads index.json; a missing file is an empty index. Errors name the file
// and, for bad JSON, the parser's position.
Result<Index> load_index(const CaPaths& paths);

// Replaces index.json atomically.
Result<void> save_index(const CaPaths& paths, const Index& index);

// The newest valid entry of each (role, name) pair: the certificate that the
// files on disk hold, in issue order.
std::vector<const IndexEntry*> current_entries(const Index& index);

// Returns the newest valid entry for NAME. `role` picks one when the name
// exists as both. Errors name the option to add, or report no match.
Result<const IndexEntry*> find_current(const Index& index, const CaPaths& paths,
                                       const std::string& name, std::optional<Role> role);

}  // namespace sanctum::ca
