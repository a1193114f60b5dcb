#include <arpa/inet.h>

#include <algorithm>

#include <fmt/format.h>

#include "ca/certificate.hpp"
#include "ca/operations.hpp"
#include "util/fs.hpp"

namespace sanctum::ca {
namespace fs = std::filesystem;

namespace {

constexpr int kMaxDays = 36500;

bool is_ipv4(const std::string& text) {
  unsigned char address[4];
  return inet_pton(AF_INET, text.c_str(), address) == 1;
}

// The SANs from the options, normalised, plus the ones a server gets from
// its name; duplicates are dropped and order is kept.
Result<std::vector<std::string>> effective_sans(const IssueOptions& options) {
  std::vector<std::string> sans;
  auto add = [&](const std::string& san) {
    if (std::find(sans.begin(), sans.end(), san) == sans.end()) {
      sans.push_back(san);
    }
  };
  if (options.role == Role::server && !options.intermediate_ca) {
    if (options.name != "server") {
      add(is_ipv4(options.name) ? "IP:" + options.name : "DNS:" + options.name);
    } else if (options.sans.empty()) {
      add("DNS:localhost");
      add("IP:127.0.0.1");
      add("IP:::1");
    }
  }
  for (const std::string& text : options.sans) {
    auto san = normalize_san(text);
    if (!san) {
      return san.error();
    }
    add(*san);
  }
  return sans;
}

Result<void> check_ca_validity(const LoadedCa& ca, const CaPaths& paths, TimePoint now) {
  TimePoint not_before = not_before_of(ca.cert.get());
  TimePoint not_after = not_after_of(ca.cert.get());
  if (now > not_after) {
    return make_error(fmt::format(
        "the CA certificate {} expired on {}: start a new CA with `sanctum ca rotate --dir {}`",
        ca.cert_file.string(), format_time(not_after), paths.dir.string()));
  }
  if (now < not_before) {
    return make_error(fmt::format(
        "the CA certificate {} is not valid before {}: check the system clock",
        ca.cert_file.string(), format_time(not_before)));
  }
  return {};
}

ExtendedKeyUsage resolve_usage(const IssueOptions& options) {
  if (options.extended_key_usage != ExtendedKeyUsage::by_role) {
    return options.extended_key_usage;
  }
  return options.role == Role::client ? ExtendedKeyUsage::client_auth
                                      : ExtendedKeyUsage::server_auth;
}

Result<void> write_outputs(const fs::path& cert_out, const fs::path& key_out, X509* cert,
                           EVP_PKEY* key, bool force) {
  for (const fs::path& file : {cert_out, key_out}) {
    if (auto made = util::ensure_private_dir(file.parent_path()); !made) {
      return made.error();
    }
  }
  auto key_pem = private_key_pem(key);
  auto cert_pem = certificate_pem(cert);
  if (!key_pem || !cert_pem) {
    return key_pem ? cert_pem.error() : key_pem.error();
  }
  auto key_written = util::write_file_atomic(key_out, *key_pem, kKeyMode, force);
  wipe_secret(*key_pem);
  if (!key_written) {
    return key_written.error();
  }
  return util::write_file_atomic(cert_out, *cert_pem, kCertMode, force);
}

std::string relative_to(const fs::path& file, const fs::path& dir) {
  fs::path relative = file.lexically_relative(dir);
  if (relative.empty() || *relative.begin() == "..") {
    return file.string();
  }
  return relative.string();
}

// Builds the error for an output file that already exists. `sanctum ca renew`
// is offered only when the index has a valid certificate of that name to
// renew; after a revocation, only --force replaces the files.
std::string existing_file_error(const fs::path& file, const IssueOptions& options) {
  const CaPaths& paths = options.paths;
  bool renewable = false;
  if (auto index = load_index(paths)) {
    for (const IndexEntry* entry : current_entries(*index)) {
      renewable = renewable || (entry->name == options.name && entry->role == options.role);
    }
  }
  if (renewable) {
    return fmt::format(
        "{} already exists: pass --force to replace it, or run `sanctum ca renew {} --dir {}`",
        file.string(), options.name, paths.dir.string());
  }
  return fmt::format(
      "{} already exists, and the index has no unrevoked certificate named '{}' (so `sanctum "
      "ca renew` does not apply): pass --force to replace it",
      file.string(), options.name);
}

}  // namespace

Result<LoadedCa> load_ca(const fs::path& cert_file, const fs::path& key_file) {
  auto cert = load_certificate(cert_file);
  if (!cert) {
    return cert.error();
  }
  auto key = load_private_key(key_file);
  if (!key) {
    return key.error();
  }
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    drain_openssl_errors();
    return make_error(fmt::format("{} is not the private key of {}: restore the matching pair",
                                  key_file.string(), cert_file.string()));
  }
  if (X509_check_ca(cert->get()) < 1) {
    return make_error(fmt::format("{} is not a CA certificate (basicConstraints CA:TRUE missing)",
                                  cert_file.string()));
  }
  std::string fingerprint = sha256_fingerprint(cert->get());
  return LoadedCa{std::move(*cert), std::move(*key), fingerprint, cert_file};
}

Result<IssuedCert> issue_locked(const IssueOptions& options, Index* index) {
  if (auto valid = validate_name(options.name); !valid) {
    return valid.error();
  }
  auto sans = effective_sans(options);
  if (!sans) {
    return sans.error();
  }
  int days = options.days.value_or(options.role == Role::client ? kDefaultClientDays
                                                                : kDefaultServerDays);
  if (days < 1 || days > kMaxDays) {
    return make_error(fmt::format("invalid validity of {} days: use 1 to {}", days, kMaxDays));
  }
  const CaPaths& paths = options.paths;
  fs::path cert_out = options.cert_out.value_or(paths.cert_file(options.role, options.name));
  fs::path key_out = options.key_out.value_or(paths.key_file(options.role, options.name));
  if (!options.force) {
    for (const fs::path& file : {cert_out, key_out}) {
      std::error_code ec;
      if (fs::exists(file, ec)) {
        return make_error(existing_file_error(file, options));
      }
    }
  }

  bool default_issuer = !options.issuer_cert && !options.issuer_key;
  if (default_issuer) {
    if (auto present = require_ca(paths); !present) {
      return present.error();
    }
  }
  auto ca = load_ca(options.issuer_cert.value_or(paths.ca_cert),
                    options.issuer_key.value_or(paths.ca_key));
  if (!ca) {
    return ca.error();
  }
  TimePoint now = Clock::now();
  if (auto valid = check_ca_validity(*ca, paths, now); !valid) {
    return valid.error();
  }

  IssuedCert issued;
  TimePoint not_before = options.not_before.value_or(now - kBackdate);
  TimePoint not_after = options.not_after.value_or(now + std::chrono::days(days));
  TimePoint ca_not_after = not_after_of(ca->cert.get());
  if (not_after > ca_not_after) {
    not_after = ca_not_after;
    issued.not_after_cut = true;
  }
  if (not_after <= not_before) {
    return make_error(fmt::format("the certificate for '{}' would expire ({}) before it becomes "
                                  "valid ({})",
                                  options.name, format_time(not_after), format_time(not_before)));
  }

  CertificateSpec spec;
  spec.common_name = options.name;
  spec.sans = *sans;
  spec.not_before = not_before;
  spec.not_after = not_after;
  spec.is_ca = options.intermediate_ca;
  if (options.intermediate_ca) {
    spec.path_length = 0;
  } else {
    spec.extended_key_usage = resolve_usage(options);
  }

  auto key = generate_key(options.key_type);
  if (!key) {
    return key.error();
  }
  // A serial already in the index is drawn again; with 128 random bits this
  // guards against a broken random source, not against chance.
  Result<X509Ptr> cert = make_error("no certificate built");
  for (int attempt = 0; attempt < 3; ++attempt) {
    cert = build_certificate(spec, key->get(), ca->cert.get(), ca->key.get());
    if (!cert) {
      return cert.error();
    }
    std::string serial = serial_hex(cert->get());
    bool serial_in_use = index != nullptr &&
                 std::any_of(index->entries.begin(), index->entries.end(),
                             [&](const IndexEntry& entry) { return entry.serial == serial; });
    if (!serial_in_use) {
      break;
    }
    if (attempt == 2) {
      return make_error("drew a serial already in the index three times: check the random source");
    }
  }
  if (auto written = write_outputs(cert_out, key_out, cert->get(), key->get(), options.force);
      !written) {
    return written.error();
  }

  IndexEntry& entry = issued.entry;
  entry.name = options.name;
  entry.role = options.role;
  entry.serial = serial_hex(cert->get());
  entry.sha256 = sha256_fingerprint(cert->get());
  entry.not_before = not_before_of(cert->get());
  entry.not_after = not_after_of(cert->get());
  entry.sans = *sans;
  entry.ca = ca->fingerprint;
  entry.key_type = options.key_type;
  entry.cert_file = relative_to(cert_out, paths.dir);
  issued.cert_file = cert_out;
  issued.key_file = key_out;
  if (index != nullptr) {
    index->entries.push_back(entry);
  }
  return issued;
}

Result<IssuedCert> issue(const IssueOptions& options) {
  // An intermediate CA is not a leaf that renew or rotate could re-issue,
  // so it never goes into the index.
  bool record = options.record_in_index && !options.intermediate_ca;
  if (!record) {
    return issue_locked(options, nullptr);
  }
  if (auto valid = validate_name(options.name); !valid) {
    return valid.error();
  }
  if (auto present = require_ca(options.paths); !present && !options.issuer_cert) {
    return present.error();
  }
  auto lock = IndexLock::acquire(options.paths);
  if (!lock) {
    return lock.error();
  }
  auto index = load_index(options.paths);
  if (!index) {
    return index.error();
  }
  auto issued = issue_locked(options, &*index);
  if (!issued) {
    return issued;
  }
  if (auto saved = save_index(options.paths, *index); !saved) {
    return saved.error();
  }
  return issued;
}

}  // namespace sanctum::ca
