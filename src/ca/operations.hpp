#pragma once

// Steps shared by the CA operations. Internal to src/ca. Functions named
// *_locked expect the caller to hold the IndexLock and to save the index.

#include <filesystem>
#include <string>

#include "ca/ca.hpp"
#include "ca/index.hpp"
#include "ca/openssl_handles.hpp"

namespace sanctum::ca {

// Certificates start this long before the moment they are issued, so a peer
// whose clock runs a little behind still accepts them.
inline constexpr std::chrono::minutes kBackdate{5};

inline const std::filesystem::perms kCertMode = std::filesystem::perms::owner_read |
                                                std::filesystem::perms::owner_write |
                                                std::filesystem::perms::group_read |
                                                std::filesystem::perms::others_read;
inline const std::filesystem::perms kKeyMode =
    std::filesystem::perms::owner_read | std::filesystem::perms::owner_write;

// A CA certificate with its private key.
struct LoadedCa {
  X509Ptr cert;
  PkeyPtr key;
  std::string fingerprint;  // sha256 of the certificate
  std::filesystem::path cert_file;
};

// Loads a CA certificate and key and checks that they belong together and
// that the certificate is a CA. Does not check the validity period.
Result<LoadedCa> load_ca(const std::filesystem::path& cert_file,
                         const std::filesystem::path& key_file);

// Creates a self-signed CA and writes its key and certificate (replacing
// existing files). Returns the new certificate's summary.
Result<CertificateInfo> create_ca(const std::filesystem::path& cert_file,
                                  const std::filesystem::path& key_file, KeyType key_type,
                                  const std::string& common_name, TimePoint not_before,
                                  TimePoint not_after);

// Issues a certificate as issue() does and, when `index` is not null,
// appends its entry there.
Result<IssuedCert> issue_locked(const IssueOptions& options, Index* index);

// Issues a successor of `entry` under the current CA (same name, role, key
// type, SANs and lifetime), after copying the current files to the ".prev"
// names.
Result<IssuedCert> renew_locked(const CaPaths& paths, const IndexEntry& entry, Index& index);

// Writes crl.pem from `index`, incrementing index.crl_number.
Result<CrlInfo> write_crl_locked(const CaPaths& paths, Index& index);

// Whether a rotation is in progress: ca-old.crt exists.
bool rotation_in_progress(const CaPaths& paths);

// The PEM text of every trusted CA: the current CA, then the old CA during a
// rotation.
Result<std::string> trusted_ca_pem(const CaPaths& paths);

}  // namespace sanctum::ca
