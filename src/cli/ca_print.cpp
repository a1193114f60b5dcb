#include "cli/ca_print.hpp"

#include <algorithm>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace sanctum::cli {

namespace {

std::string date_of(ca::TimePoint time) { return ca::format_time(time).substr(0, 10); }

std::string status_of(const ca::IndexEntry& entry, ca::TimePoint now) {
  if (entry.revoked) {
    return "revoked";
  }
  return entry.not_after <= now ? "expired" : "valid";
}

}  // namespace

void print_ca_created(const ca::CertificateInfo& info, const ca::CaPaths& paths,
                      ca::KeyType key_type) {
  std::cout << fmt::format("Created CA '{}' ({}) in {}\n", info.subject_cn,
                           ca::to_string(key_type), paths.dir.string());
  std::cout << fmt::format("  certificate  {}\n", paths.ca_cert.string());
  std::cout << fmt::format("  key          {} (mode 0600, unencrypted)\n",
                           paths.ca_key.string());
  std::cout << fmt::format("  CRL          {}\n", paths.crl.string());
  std::cout << fmt::format("  valid until  {}\n", ca::format_time(info.not_after));
  std::cout << fmt::format("  sha256       {}\n", info.sha256);
}

void print_issued(const char* verb, const ca::IssuedCert& issued) {
  const ca::IndexEntry& entry = issued.entry;
  std::cout << fmt::format("{} {} certificate '{}' (serial {})\n", verb, ca::to_string(entry.role),
                           entry.name, entry.serial);
  std::cout << fmt::format("  certificate  {}\n", issued.cert_file.string());
  std::cout << fmt::format("  key          {} (mode 0600)\n", issued.key_file.string());
  std::string sans;
  for (const std::string& san : entry.sans) {
    sans += (sans.empty() ? "" : ", ") + san;
  }
  std::cout << fmt::format("  SANs         {}\n", sans.empty() ? "none" : sans);
  std::cout << fmt::format("  valid until  {}{}\n", ca::format_time(entry.not_after),
                           issued.not_after_cut ? " (cut to the CA's expiry)" : "");
}

void print_rotated(const ca::RotateResult& result, const ca::CaPaths& paths) {
  std::cout << fmt::format("New CA '{}' in {}; the old CA is kept as {}\n",
                           result.new_ca.subject_cn, paths.ca_cert.string(),
                           paths.old_ca_cert.string());
  std::cout << fmt::format("Trust {} on the gateway and on clients until the rotation ends\n",
                           paths.ca_bundle.string());
  for (const ca::IssuedCert& issued : result.reissued) {
    std::cout << fmt::format("Re-issued {} '{}' (serial {}) in {}\n",
                             ca::to_string(issued.entry.role), issued.entry.name,
                             issued.entry.serial, issued.cert_file.string());
  }
  std::cout << "When every client uses its new files, run `sanctum ca rotate --finish`\n";
}

void print_table(const std::vector<ca::IndexEntry>& entries, ca::TimePoint now) {
  size_t name_width = 4;
  for (const ca::IndexEntry& entry : entries) {
    name_width = std::max(name_width, entry.name.size());
  }
  std::cout << fmt::format("{:<{}}  {:<6}  {:<32}  {:<10}  {:>9}  {}\n", "NAME", name_width,
                           "ROLE", "SERIAL", "EXPIRES", "DAYS LEFT", "STATUS");
  for (const ca::IndexEntry& entry : entries) {
    auto days_left = std::chrono::floor<std::chrono::days>(entry.not_after - now).count();
    std::cout << fmt::format("{:<{}}  {:<6}  {:<32}  {:<10}  {:>9}  {}\n", entry.name, name_width,
                             ca::to_string(entry.role), entry.serial, date_of(entry.not_after),
                             days_left, status_of(entry, now));
  }
}

void print_check(const std::vector<ca::ExpiryStatus>& expiring, int warn_days,
                 int crl_warn_days, const std::filesystem::path& dir, bool json) {
  if (json) {
    nlohmann::json items = nlohmann::json::array();
    for (const ca::ExpiryStatus& status : expiring) {
      items.push_back({{"name", status.name},
                       {"kind", status.kind},
                       {"serial", status.serial},
                       {"not_after", ca::format_time(status.not_after)},
                       {"days_left", status.days_left},
                       {"expired", status.expired}});
    }
    nlohmann::json result = {
        {"warn_days", warn_days}, {"crl_warn_days", crl_warn_days}, {"expiring", items}};
    std::cout << result.dump(2) << "\n";
    return;
  }
  if (expiring.empty()) {
    std::cout << fmt::format(
        "No certificate expires within {} days and no CRL update is due within {} days\n",
        warn_days, crl_warn_days);
    return;
  }
  for (const ca::ExpiryStatus& status : expiring) {
    if (status.kind == "crl") {
      std::cout << fmt::format("crl {}: next update {} {}{}; run `sanctum ca crl --dir {}`\n",
                               status.name, status.expired ? "was due on" : "due on",
                               ca::format_time(status.not_after),
                               status.expired
                                   ? ""
                                   : fmt::format(" ({} days left)", status.days_left),
                               dir.string());
    } else if (status.expired) {
      std::cout << fmt::format("{} {}: expired on {}\n", status.kind, status.name,
                               ca::format_time(status.not_after));
    } else {
      std::cout << fmt::format("{} {}: expires on {} ({} days left)\n", status.kind, status.name,
                               ca::format_time(status.not_after), status.days_left);
    }
  }
}

}  // namespace sanctum::cli
