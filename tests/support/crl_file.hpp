#pragma once

#include <chrono>
#include <filesystem>
#include <vector>

namespace sanctum::test {

// Writes a v2 CRL in PEM to `out`, issued by the subject of `ca_cert`, signed
// with `ca_key` and listing the serial of every certificate in
// `revoked_certs`. Its nextUpdate is `next_update` from now (negative for a
// CRL that has already expired), and its lastUpdate one day before the
// earlier of now and nextUpdate.
// Throws std::runtime_error naming the file that could not be read or
// written.
void write_crl(const std::filesystem::path& ca_cert, const std::filesystem::path& ca_key,
               const std::vector<std::filesystem::path>& revoked_certs,
               std::chrono::seconds next_update, const std::filesystem::path& out);

}  // namespace sanctum::test
