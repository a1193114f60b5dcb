#include <cmath>

#include <fmt/format.h>

#include "ca/operations.hpp"
#include "util/fs.hpp"

namespace sanctum::ca {
namespace fs = std::filesystem;

namespace {

// Copies a file to `target` with `mode`, replacing `target`. A missing
// source is not an error: there is nothing to keep.
Result<void> keep_copy(const fs::path& source, const fs::path& target, fs::perms mode) {
  std::error_code ec;
  if (!fs::exists(source, ec)) {
    return {};
  }
  auto contents = util::read_file(source);
  if (!contents) {
    return contents.error();
  }
  return util::write_file_atomic(target, *contents, mode, true);
}

int lifetime_days(const IndexEntry& entry) {
  auto lifetime = std::chrono::duration_cast<std::chrono::seconds>(
      entry.not_after - entry.not_before - kBackdate);
  double days = static_cast<double>(lifetime.count()) / 86400.0;
  return std::max(1, static_cast<int>(std::lround(days)));
}

}  // namespace

Result<IssuedCert> renew_locked(const CaPaths& paths, const IndexEntry& entry, Index& index) {
  Role role = entry.role;
  if (auto kept = keep_copy(paths.cert_file(role, entry.name),
                            paths.previous_cert_file(role, entry.name), kCertMode);
      !kept) {
    return kept.error();
  }
  if (auto kept = keep_copy(paths.key_file(role, entry.name),
                            paths.previous_key_file(role, entry.name), kKeyMode);
      !kept) {
    return kept.error();
  }
  IssueOptions options;
  options.paths = paths;
  options.name = entry.name;
  options.role = role;
  options.key_type = entry.key_type;
  options.sans = entry.sans;
  options.days = lifetime_days(entry);
  options.force = true;
  return issue_locked(options, &index);
}

Result<IssuedCert> renew(const RenewOptions& options) {
  const CaPaths& paths = options.paths;
  if (auto valid = validate_name(options.name); !valid) {
    return valid.error();
  }
  if (auto present = require_ca(paths); !present) {
    return present.error();
  }
  auto lock = IndexLock::acquire(paths);
  if (!lock) {
    return lock.error();
  }
  auto index = load_index(paths);
  if (!index) {
    return index.error();
  }
  auto current = find_current(*index, paths, options.name, options.role);
  if (!current) {
    return current.error();
  }
  IndexEntry entry = **current;  // issue_locked appends, which moves the entries
  auto issued = renew_locked(paths, entry, *index);
  if (!issued) {
    return issued;
  }
  if (auto saved = save_index(paths, *index); !saved) {
    return saved.error();
  }
  return issued;
}

Result<std::vector<IssuedCert>> renew_due(const CaPaths& paths, TimePoint now) {
  if (auto present = require_ca(paths); !present) {
    return present.error();
  }
  auto lock = IndexLock::acquire(paths);
  if (!lock) {
    return lock.error();
  }
  auto index = load_index(paths);
  if (!index) {
    return index.error();
  }
  std::vector<IndexEntry> due;
  for (const IndexEntry* entry : current_entries(*index)) {
    auto lifetime = entry->not_after - entry->not_before;
    if ((now - entry->not_before) * 3 > lifetime * 2) {
      due.push_back(*entry);
    }
  }
  std::vector<IssuedCert> renewed;
  for (const IndexEntry& entry : due) {
    auto issued = renew_locked(paths, entry, *index);
    if (!issued) {
      // Keep the index in step with the files already replaced.
      save_index(paths, *index);
      return make_error(fmt::format("renewed {} of {} due certificates, then failed on '{}': {}",
                                    renewed.size(), due.size(), entry.name,
                                    issued.error().message));
    }
    renewed.push_back(std::move(*issued));
  }
  if (auto saved = save_index(paths, *index); !saved) {
    return saved.error();
  }
  return renewed;
}

}  // namespace sanctum::ca
