#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "ca/certificate.hpp"
#include "ca/operations.hpp"
#include "util/fs.hpp"

namespace sanctum::ca {
namespace fs = std::filesystem;

namespace {

// The old name with its trailing " YYYY-MM-DD" (from an earlier rotation)
// replaced by today's date.
std::string dated_name(const std::string& old_name, TimePoint now) {
  std::string base = old_name;
  if (base.size() > 11 && base[base.size() - 11] == ' ' &&
      parse_end_of_day(base.substr(base.size() - 10))) {
    base.resize(base.size() - 11);
  }
  std::string date = format_time(now).substr(0, 10);
  return base.substr(0, 64 - 11) + " " + date;
}

Result<void> copy_file(const fs::path& source, const fs::path& target, fs::perms mode) {
  auto contents = util::read_file(source);
  if (!contents) {
    return contents.error();
  }
  return util::write_file_atomic(target, *contents, mode, false);
}

Result<void> write_bundle(const CaPaths& paths, bool include_old) {
  auto bundle = util::read_file(paths.ca_cert);
  if (!bundle) {
    return bundle.error();
  }
  if (include_old) {
    auto old_pem = util::read_file(paths.old_ca_cert);
    if (!old_pem) {
      return old_pem.error();
    }
    *bundle += *old_pem;
  }
  return util::write_file_atomic(paths.ca_bundle, *bundle, kCertMode, true);
}

// Moves the current CA to ca-old.* and creates the new one in its place.
Result<CertificateInfo> replace_ca(const RotateOptions& options, TimePoint now) {
  const CaPaths& paths = options.paths;
  auto old_ca = load_ca(paths.ca_cert, paths.ca_key);
  if (!old_ca) {
    return old_ca.error();
  }
  std::string old_name = common_name(old_ca->cert.get());
  std::string new_name = options.common_name.value_or(dated_name(old_name, now));
  if (new_name == old_name) {
    return make_error(fmt::format(
        "the new CA would have the same name as the old one ('{}'): pass --name with a "
        "different name, because two CAs with one subject name make CRL lookups ambiguous",
        old_name));
  }
  // Copy rather than rename, so ca.crt and ca.key stay usable until the new
  // pair is written.
  if (auto copied = copy_file(paths.ca_cert, paths.old_ca_cert, kCertMode); !copied) {
    return copied.error();
  }
  if (auto copied = copy_file(paths.ca_key, paths.old_ca_key, kKeyMode); !copied) {
    return copied.error();
  }
  return create_ca(paths.ca_cert, paths.ca_key, options.key_type, new_name, now - kBackdate,
                   now + std::chrono::days(options.days));
}

}  // namespace

Result<std::string> trusted_ca_pem(const CaPaths& paths) {
  auto pem = util::read_file(paths.ca_cert);
  if (!pem) {
    return pem;
  }
  if (rotation_in_progress(paths)) {
    auto old_pem = util::read_file(paths.old_ca_cert);
    if (!old_pem) {
      return old_pem;
    }
    *pem += *old_pem;
  }
  return pem;
}

Result<RotateResult> rotate(const RotateOptions& options) {
  const CaPaths& paths = options.paths;
  if (auto present = require_ca(paths); !present) {
    return present.error();
  }
  for (const std::string& name : options.skip) {
    if (auto valid = validate_name(name); !valid) {
      return valid.error();
    }
  }
  auto lock = IndexLock::acquire(paths);
  if (!lock) {
    return lock.error();
  }
  if (rotation_in_progress(paths)) {
    return make_error(fmt::format(
        "a CA rotation is already in progress in {} ({} exists): end it with "
        "`sanctum ca rotate --finish --dir {}` first",
        paths.dir.string(), paths.old_ca_cert.filename().string(), paths.dir.string()));
  }
  auto index = load_index(paths);
  if (!index) {
    return index.error();
  }
  auto old_info = read_certificate_info(paths.ca_cert);
  if (!old_info) {
    return old_info.error();
  }

  TimePoint now = Clock::now();
  RotateResult result;
  auto new_ca = replace_ca(options, now);
  if (!new_ca) {
    return new_ca.error();
  }
  result.new_ca = *new_ca;
  if (auto written = write_bundle(paths, true); !written) {
    return written.error();
  }

  std::vector<IndexEntry> to_reissue;
  for (const IndexEntry* entry : current_entries(*index)) {
    bool skipped =
        std::find(options.skip.begin(), options.skip.end(), entry->name) != options.skip.end();
    if (!skipped && entry->ca == old_info->sha256 && entry->not_after > now) {
      to_reissue.push_back(*entry);
    }
  }
  for (const IndexEntry& entry : to_reissue) {
    auto issued = renew_locked(paths, entry, *index);
    if (!issued) {
      save_index(paths, *index);
      return make_error(fmt::format(
          "the new CA is in place, but re-issuing '{}' failed: {}. Run `sanctum ca renew {} "
          "--dir {}` for it and every later name",
          entry.name, issued.error().message, entry.name, paths.dir.string()));
    }
    result.reissued.push_back(std::move(*issued));
  }
  if (auto crl = write_crl_locked(paths, *index); !crl) {
    return crl.error();
  }
  if (auto saved = save_index(paths, *index); !saved) {
    return saved.error();
  }
  return result;
}

Result<void> rotate_finish(const CaPaths& paths, TimePoint now) {
  if (auto present = require_ca(paths); !present) {
    return present.error();
  }
  auto lock = IndexLock::acquire(paths);
  if (!lock) {
    return lock.error();
  }
  if (!rotation_in_progress(paths)) {
    return make_error(fmt::format("no CA rotation is in progress in {} ({} not found)",
                                  paths.dir.string(), paths.old_ca_cert.filename().string()));
  }
  auto index = load_index(paths);
  if (!index) {
    return index.error();
  }
  auto old_info = read_certificate_info(paths.old_ca_cert);
  if (!old_info) {
    return old_info.error();
  }
  auto new_info = read_certificate_info(paths.ca_cert);
  if (!new_info) {
    return new_info.error();
  }

  // A (role, name) blocks the finish when its only usable certificates come
  // from the old CA: dropping that CA would lock its holder out.
  std::map<std::pair<Role, std::string>, const IndexEntry*> old_only;
  std::set<std::pair<Role, std::string>> has_new;
  for (const IndexEntry& entry : index->entries) {
    if (entry.revoked || entry.not_after <= now) {
      continue;
    }
    if (entry.ca == new_info->sha256) {
      has_new.insert({entry.role, entry.name});
    } else if (entry.ca == old_info->sha256) {
      old_only[{entry.role, entry.name}] = &entry;
    }
  }
  std::string blocking;
  for (const auto& [key, entry] : old_only) {
    if (has_new.count(key) == 0) {
      blocking += fmt::format("\n  {} {} (serial {}, expires {})", to_string(entry->role),
                              entry->name, entry->serial, format_time(entry->not_after));
    }
  }
  if (!blocking.empty()) {
    return make_error(fmt::format(
        "these certificates chain only to the old CA {}:{}\nrenew them with `sanctum ca renew "
        "NAME --dir {}` or revoke them, then run `sanctum ca rotate --finish` again",
        paths.old_ca_cert.string(), blocking, paths.dir.string()));
  }

  // The bundle stays (with the new CA only), so a gateway that reads
  // ca-bundle.crt keeps loading it.
  if (auto written = write_bundle(paths, false); !written) {
    return written.error();
  }
  std::error_code ec;
  fs::remove(paths.old_ca_key, ec);
  if (ec) {
    return make_error(fmt::format("cannot delete {}: {}", paths.old_ca_key.string(),
                                  ec.message()));
  }
  fs::remove(paths.old_ca_cert, ec);
  if (ec) {
    return make_error(fmt::format("cannot delete {}: {}", paths.old_ca_cert.string(),
                                  ec.message()));
  }
  if (auto crl = write_crl_locked(paths, *index); !crl) {
    return crl.error();
  }
  return save_index(paths, *index);
}

}  // namespace sanctum::ca
