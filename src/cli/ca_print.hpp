#pragma once

// Human and JSON output of the `sanctum ca` subcommands, on stdout.

#include <filesystem>
#include <vector>

#include "ca/ca.hpp"

namespace sanctum::cli {

void print_ca_created(const ca::CertificateInfo& info, const ca::CaPaths& paths,
                      ca::KeyType key_type);

// `verb` starts the first line: "Issued" or "Renewed".
void print_issued(const char* verb, const ca::IssuedCert& issued);

void print_rotated(const ca::RotateResult& result, const ca::CaPaths& paths);

// A table with name, role, serial, expiry date, whole days left and status
// (valid, expired or revoked) as of `now`.
void print_table(const std::vector<ca::IndexEntry>& entries, ca::TimePoint now);

// The check result as lines or, with `json`, as an object with "warn_days",
// "crl_warn_days" and "expiring". A due CRL's line names the command that
// rewrites it for the state folder `dir`.
void print_check(const std::vector<ca::ExpiryStatus>& expiring, int warn_days,
                 int crl_warn_days, const std::filesystem::path& dir, bool json);

}  // namespace sanctum::cli
