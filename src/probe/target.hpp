#pragma once

#include <filesystem>
#include <string>

#include "client/mtls_client.hpp"
#include "client/url.hpp"
#include "util/result.hpp"

namespace sanctum::probe {

// Command-line settings of one target: the URL a probe connects to and the
// certificate it presents.
struct TargetOptions {
  std::string url = "https://127.0.0.1:1337";
  std::filesystem::path cert_dir;  // empty: $SANCTUM_HOME, else ~/.sanctum/certs
  std::string client;              // NAME of cert_dir/clients/NAME.crt and .key
  // Single-file overrides of cert_dir/ca.crt, cert_dir/clients/NAME.crt and
  // cert_dir/clients/NAME.key.
  std::filesystem::path ca_file;
  std::filesystem::path cert_file;
  std::filesystem::path key_file;
};

// A target with its URL parsed and its certificate files located.
struct Target {
  client::HttpsUrl url;
  client::ClientFiles files;
  std::string client_name;  // the NAME from the options, for logs
};

// The folder `sanctum ca` writes: $SANCTUM_HOME, else ~/.sanctum/certs.
std::filesystem::path default_cert_dir();

// Parses the URL and works out the three file paths without opening them.
// An http:// URL is an error stating that probes speak only mTLS.
Result<Target> resolve_target(const TargetOptions& options);

// Reads the target's files and builds its client. No network traffic. The
// error names the missing or unreadable file.
Result<client::MtlsClient> load_client(const Target& target);

}  // namespace sanctum::probe
