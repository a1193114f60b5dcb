#include <fmt/format.h>

#include "ca/certificate.hpp"
#include "ca/operations.hpp"
#include "util/fs.hpp"

namespace sanctum::ca {
namespace fs = std::filesystem;

namespace {

Result<void> validate_common_name(const std::string& name) {
  if (name.empty() || name.size() > 64) {
    return make_error(fmt::format("invalid CA name '{}': use 1 to 64 characters", name));
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      return make_error(fmt::format("invalid CA name '{}': control characters are not allowed",
                                    name));
    }
  }
  return {};
}

}  // namespace

Result<CertificateInfo> create_ca(const fs::path& cert_file, const fs::path& key_file,
                                  KeyType key_type, const std::string& common_name,
                                  TimePoint not_before, TimePoint not_after) {
  if (auto valid = validate_common_name(common_name); !valid) {
    return valid.error();
  }
  if (not_after <= not_before) {
    return make_error(fmt::format("the CA would expire ({}) before it becomes valid ({})",
                                  format_time(not_after), format_time(not_before)));
  }
  auto key = generate_key(key_type);
  if (!key) {
    return key.error();
  }
  CertificateSpec spec;
  spec.common_name = common_name;
  spec.not_before = not_before;
  spec.not_after = not_after;
  spec.is_ca = true;
  auto cert = build_certificate(spec, key->get(), nullptr, key->get());
  if (!cert) {
    return cert.error();
  }
  auto key_pem = private_key_pem(key->get());
  auto cert_pem = certificate_pem(cert->get());
  if (!key_pem || !cert_pem) {
    return key_pem ? cert_pem.error() : key_pem.error();
  }
  auto key_written = util::write_file_atomic(key_file, *key_pem, kKeyMode, true);
  wipe_secret(*key_pem);
  if (!key_written) {
    return key_written.error();
  }
  // NOTE: the key and the certificate are two separate renames. A crash
  // between them leaves a new ca.key beside the old ca.crt, which load_ca()
  // then reports as a mismatched pair.
  if (auto written = util::write_file_atomic(cert_file, *cert_pem, kCertMode, true); !written) {
    return written.error();
  }
  return describe(cert->get(), cert_file);
}

Result<CertificateInfo> init_ca(const InitOptions& options) {
  const CaPaths& paths = options.paths;
  if (auto valid = validate_common_name(options.common_name); !valid) {
    return valid.error();
  }
  if (auto created = util::ensure_private_dir(paths.dir); !created) {
    return created.error();
  }
  auto lock = IndexLock::acquire(paths);
  if (!lock) {
    return lock.error();
  }
  if (!options.force) {
    for (const fs::path& file : {paths.ca_cert, paths.ca_key, paths.index}) {
      std::error_code ec;
      if (fs::exists(file, ec)) {
        return make_error(fmt::format(
            "{} already holds a CA ({} exists): pass --force to replace it, which leaves "
            "every certificate it issued untrusted",
            paths.dir.string(), file.filename().string()));
      }
    }
  }

  TimePoint now = Clock::now();
  TimePoint not_before = options.not_before.value_or(now - kBackdate);
  TimePoint not_after =
      options.not_after.value_or(now + std::chrono::days(options.days));
  auto info = create_ca(paths.ca_cert, paths.ca_key, options.key_type, options.common_name,
                        not_before, not_after);
  if (!info) {
    return info.error();
  }

  // A fresh CA starts a fresh index; leftovers of an earlier rotation would
  // make the folder look mid-rotation.
  std::error_code ec;
  fs::remove(paths.old_ca_cert, ec);
  fs::remove(paths.old_ca_key, ec);
  // ca-bundle.crt is the trust file for the gateway and its clients. It
  // holds this CA alone until a rotation adds the next one, so configs that
  // point at it need no change when the CA rotates.
  auto ca_pem = util::read_file(paths.ca_cert);
  if (!ca_pem) {
    return ca_pem.error();
  }
  if (auto bundle = util::write_file_atomic(paths.ca_bundle, *ca_pem, kCertMode, true); !bundle) {
    return bundle.error();
  }
  Index index;
  if (auto crl = write_crl_locked(paths, index); !crl) {
    return crl.error();
  }
  if (auto saved = save_index(paths, index); !saved) {
    return saved.error();
  }
  return info;
}

}  // namespace sanctum::ca
