#include <algorithm>

#include <fmt/format.h>
#include <openssl/pem.h>

#include "ca/certificate.hpp"
#include "ca/operations.hpp"
#include "util/fs.hpp"

namespace sanctum::ca {
namespace fs = std::filesystem;

namespace {

// CRLReason codes from RFC 5280 section 5.3.1.
int reason_code(RevocationReason reason) {
  switch (reason) {
    case RevocationReason::unspecified:
      return 0;
    case RevocationReason::key_compromise:
      return 1;
    case RevocationReason::ca_compromise:
      return 2;
    case RevocationReason::affiliation_changed:
      return 3;
    case RevocationReason::superseded:
      return 4;
    case RevocationReason::cessation_of_operation:
      return 5;
    case RevocationReason::privilege_withdrawn:
      return 9;
  }
  return 0;
}

Result<void> add_revoked(X509_CRL* crl, const IndexEntry& entry) {
  BIGNUM* raw_serial = nullptr;
  if (BN_hex2bn(&raw_serial, entry.serial.c_str()) == 0) {
    return make_error(fmt::format("index entry '{}' has an invalid serial '{}'", entry.name,
                                  entry.serial));
  }
  BignumPtr serial(raw_serial);
  Asn1IntegerPtr serial_number(BN_to_ASN1_INTEGER(serial.get(), nullptr));
  Asn1TimePtr revoked_at = to_asn1_time(entry.revoked_at.value_or(entry.not_before));
  X509RevokedPtr revoked(X509_REVOKED_new());
  bool ok = serial_number && revoked_at && revoked &&
            X509_REVOKED_set_serialNumber(revoked.get(), serial_number.get()) == 1 &&
            X509_REVOKED_set_revocationDate(revoked.get(), revoked_at.get()) == 1;
  if (ok && entry.reason != RevocationReason::unspecified) {
    Asn1EnumeratedPtr code(ASN1_ENUMERATED_new());
    ok = code && ASN1_ENUMERATED_set(code.get(), reason_code(entry.reason)) == 1 &&
         X509_REVOKED_add1_ext_i2d(revoked.get(), NID_crl_reason, code.get(), 0, 0) == 1;
  }
  if (!ok || X509_CRL_add0_revoked(crl, revoked.get()) != 1) {
    return make_error(fmt::format("cannot add serial {} to the CRL: {}", entry.serial,
                                  drain_openssl_errors()));
  }
  revoked.release();  // the CRL owns it now
  return {};
}

Result<void> add_crl_extensions(X509_CRL* crl, X509* ca_cert, std::uint64_t number) {
  Asn1IntegerPtr crl_number(ASN1_INTEGER_new());
  if (!crl_number || ASN1_INTEGER_set_uint64(crl_number.get(), number) != 1 ||
      X509_CRL_add1_ext_i2d(crl, NID_crl_number, crl_number.get(), 0, 0) != 1) {
    return make_error("cannot add the crlNumber extension: " + drain_openssl_errors());
  }
  X509V3_CTX context;
  X509V3_set_ctx(&context, ca_cert, nullptr, nullptr, crl, 0);
  X509ExtensionPtr key_id(
      X509V3_EXT_conf_nid(nullptr, &context, NID_authority_key_identifier, "keyid:always"));
  if (!key_id || X509_CRL_add_ext(crl, key_id.get(), -1) != 1) {
    return make_error("cannot add the authorityKeyIdentifier to the CRL: " +
                      drain_openssl_errors());
  }
  return {};
}

// Builds a v2 CRL signed by `ca` that lists the revoked entries it issued.
Result<std::string> build_crl_pem(const LoadedCa& ca, const Index& index, TimePoint now,
                                  std::size_t& revoked_count) {
  X509CrlPtr crl(X509_CRL_new());
  Asn1TimePtr last_update = to_asn1_time(now);
  Asn1TimePtr next_update = to_asn1_time(now + std::chrono::days(kCrlValidityDays));
  bool ok = crl && last_update && next_update &&
            X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) == 1 &&
            X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca.cert.get())) == 1 &&
            X509_CRL_set1_lastUpdate(crl.get(), last_update.get()) == 1 &&
            X509_CRL_set1_nextUpdate(crl.get(), next_update.get()) == 1;
  if (!ok) {
    return make_error("cannot fill in the CRL: " + drain_openssl_errors());
  }
  revoked_count = 0;
  for (const IndexEntry& entry : index.entries) {
    if (entry.revoked && entry.ca == ca.fingerprint) {
      if (auto added = add_revoked(crl.get(), entry); !added) {
        return added.error();
      }
      ++revoked_count;
    }
  }
  X509_CRL_sort(crl.get());
  if (auto added = add_crl_extensions(crl.get(), ca.cert.get(), index.crl_number); !added) {
    return added.error();
  }
  if (X509_CRL_sign(crl.get(), ca.key.get(), signature_digest(ca.key.get())) <= 0) {
    return make_error(fmt::format("cannot sign the CRL with {}: {}", ca.cert_file.string(),
                                  drain_openssl_errors()));
  }
  BioPtr bio(BIO_new(BIO_s_mem()));
  char* data = nullptr;
  if (!bio || PEM_write_bio_X509_CRL(bio.get(), crl.get()) != 1) {
    return make_error("cannot encode the CRL as PEM: " + drain_openssl_errors());
  }
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

// The entries that `target` selects: every valid certificate with that name
// (in `role` when given) or, when no certificate has that name, the one with
// that serial.
Result<std::vector<IndexEntry*>> select_for_revocation(Index& index, const RevokeOptions& options) {
  const std::string& target = options.target;
  std::vector<IndexEntry*> by_name;
  bool name_known = false;
  bool roles_seen[2] = {false, false};
  for (IndexEntry& entry : index.entries) {
    if (entry.name != target) {
      continue;
    }
    name_known = true;
    if (!entry.revoked && (!options.role || entry.role == *options.role)) {
      by_name.push_back(&entry);
      roles_seen[entry.role == Role::client ? 0 : 1] = true;
    }
  }
  if (name_known) {
    if (by_name.empty()) {
      return make_error(fmt::format("no valid {}certificate named '{}' is left to revoke in {}",
                                    options.role ? to_string(*options.role) + " " : "", target,
                                    options.paths.index.string()));
    }
    if (roles_seen[0] && roles_seen[1]) {
      return make_error(fmt::format(
          "'{}' names both a client and a server certificate: add --client or --server", target));
    }
    return by_name;
  }

  std::string serial;
  for (char c : target) {
    if (c != ':') {
      serial += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  // Serials compare as numbers: "0a1f", "A1F" and "0a:1f" name the same
  // certificate, whatever leading zeros index.json or the caller wrote.
  auto without_leading_zeros = [](std::string text) {
    text.erase(0, std::min(text.find_first_not_of('0'), text.size()));
    return text;
  };
  serial = without_leading_zeros(serial);
  for (IndexEntry& entry : index.entries) {
    if (!serial.empty() && without_leading_zeros(entry.serial) == serial) {
      if (entry.revoked) {
        return make_error(fmt::format("certificate {} ('{}') is already revoked", entry.serial,
                                      entry.name));
      }
      return std::vector<IndexEntry*>{&entry};
    }
  }
  return make_error(fmt::format(
      "no certificate named or with serial '{}' in {}: see `sanctum ca list --dir {}`", target,
      options.paths.index.string(), options.paths.dir.string()));
}

}  // namespace

bool rotation_in_progress(const CaPaths& paths) {
  std::error_code ec;
  return fs::exists(paths.old_ca_cert, ec);
}

Result<CrlInfo> write_crl_locked(const CaPaths& paths, Index& index) {
  auto ca = load_ca(paths.ca_cert, paths.ca_key);
  if (!ca) {
    return ca.error();
  }
  TimePoint now = std::chrono::floor<std::chrono::seconds>(Clock::now());
  index.crl_number += 1;
  CrlInfo info;
  info.crl_number = index.crl_number;
  info.last_update = now;
  info.next_update = now + std::chrono::days(kCrlValidityDays);

  auto pem = build_crl_pem(*ca, index, now, info.revoked_count);
  if (!pem) {
    return pem.error();
  }
  // During a rotation the old CA's certificates can only be revoked by a CRL
  // that the old CA signs, so crl.pem carries one CRL per CA.
  if (rotation_in_progress(paths)) {
    auto old_ca = load_ca(paths.old_ca_cert, paths.old_ca_key);
    if (!old_ca) {
      return old_ca.error();
    }
    std::size_t old_count = 0;
    auto old_pem = build_crl_pem(*old_ca, index, now, old_count);
    if (!old_pem) {
      return old_pem.error();
    }
    *pem += *old_pem;
  }
  if (auto written = util::write_file_atomic(paths.crl, *pem, kCertMode, true); !written) {
    return written.error();
  }
  return info;
}

Result<CrlInfo> write_crl(const CaPaths& paths) {
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
  auto info = write_crl_locked(paths, *index);
  if (!info) {
    return info;
  }
  if (auto saved = save_index(paths, *index); !saved) {
    return saved.error();
  }
  return info;
}

Result<std::vector<IndexEntry>> revoke(const RevokeOptions& options) {
  const CaPaths& paths = options.paths;
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
  auto selected = select_for_revocation(*index, options);
  if (!selected) {
    return selected.error();
  }

  TimePoint now = std::chrono::floor<std::chrono::seconds>(Clock::now());
  std::vector<IndexEntry> revoked;
  for (IndexEntry* entry : *selected) {
    entry->revoked = true;
    entry->revoked_at = now;
    entry->reason = options.reason;
    revoked.push_back(*entry);
  }

  // The CRL goes first: if the index cannot be saved afterwards, the
  // certificate is still revoked for every verifier that reads crl.pem.
  if (auto crl = write_crl_locked(paths, *index); !crl) {
    return crl.error();
  }
  if (auto saved = save_index(paths, *index); !saved) {
    return saved.error();
  }
  return revoked;
}

}  // namespace sanctum::ca
