// Read-only views of the state folder: the index listing and the expiry check.

#include <algorithm>
#include <set>

#include <openssl/err.h>
#include <openssl/pem.h>

#include <fmt/format.h>

#include "ca/certificate.hpp"
#include "ca/operations.hpp"
#include "util/fs.hpp"

namespace sanctum::ca {
namespace fs = std::filesystem;

namespace {

Result<void> require_dir(const CaPaths& paths) {
  std::error_code ec;
  if (!fs::is_directory(paths.dir, ec)) {
    return make_error(fmt::format("state folder {} not found: run `sanctum ca init --dir {}` first",
                                  paths.dir.string(), paths.dir.string()));
  }
  return {};
}

ExpiryStatus expiry_status(std::string name, std::string kind, std::string serial,
                           TimePoint not_after, TimePoint now) {
  ExpiryStatus status;
  status.name = std::move(name);
  status.kind = std::move(kind);
  status.serial = std::move(serial);
  status.not_after = not_after;
  status.expired = not_after <= now;
  status.days_left = std::chrono::floor<std::chrono::days>(not_after - now).count();
  return status;
}

}  // namespace

Result<std::vector<IndexEntry>> list(const CaPaths& paths) {
  if (auto present = require_dir(paths); !present) {
    return present.error();
  }
  auto index = load_index(paths);
  if (!index) {
    return index.error();
  }
  return std::move(index->entries);
}

Result<std::vector<ExpiryStatus>> check_expiry(const CaPaths& paths,
                                               std::chrono::hours warn_within, TimePoint now) {
  if (auto present = require_dir(paths); !present) {
    return present.error();
  }
  std::vector<ExpiryStatus> expiring;
  std::set<std::string> trusted;
  auto check_ca = [&](const fs::path& file, const std::string& name) -> Result<void> {
    auto info = read_certificate_info(file);
    if (!info) {
      return info.error();
    }
    trusted.insert(info->sha256);
    if (info->not_after - now <= warn_within) {
      expiring.push_back(expiry_status(name, "ca", info->serial, info->not_after, now));
    }
    return {};
  };
  if (auto checked = check_ca(paths.ca_cert, "ca"); !checked) {
    return checked.error();
  }
  if (rotation_in_progress(paths)) {
    if (auto checked = check_ca(paths.old_ca_cert, "ca-old"); !checked) {
      return checked.error();
    }
  }

  auto index = load_index(paths);
  if (!index) {
    return index.error();
  }
  for (const IndexEntry* entry : current_entries(*index)) {
    if (trusted.count(entry->ca) != 0 && entry->not_after - now <= warn_within) {
      expiring.push_back(
          expiry_status(entry->name, to_string(entry->role), entry->serial, entry->not_after, now));
    }
  }
  return expiring;
}

Result<std::optional<ExpiryStatus>> check_crl_due(const CaPaths& paths,
                                                  std::chrono::hours warn_within, TimePoint now) {
  if (auto present = require_dir(paths); !present) {
    return present.error();
  }
  std::error_code ec;
  if (!fs::exists(paths.crl, ec)) {
    return std::optional<ExpiryStatus>{};
  }
  auto text = util::read_file(paths.crl);
  if (!text) {
    return text.error();
  }
  BioPtr bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  std::optional<TimePoint> earliest;
  bool any = false;
  while (X509_CRL* read = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)) {
    X509CrlPtr crl(read);
    any = true;
    if (const ASN1_TIME* next_update = X509_CRL_get0_nextUpdate(crl.get())) {
      TimePoint due = to_time_point(next_update);
      earliest = earliest ? std::min(*earliest, due) : due;
    }
  }
  ERR_clear_error();  // the loop ends on a "no start line" error
  if (!any) {
    return make_error(fmt::format(
        "{} holds no PEM CRL: rewrite it with `sanctum ca crl --dir {}`", paths.crl.string(),
        paths.dir.string()));
  }
  if (!earliest || *earliest - now > warn_within) {
    return std::optional<ExpiryStatus>{};
  }
  return std::optional<ExpiryStatus>{expiry_status("crl.pem", "crl", "", *earliest, now)};
}

}  // namespace sanctum::ca
