#include "probe/target.hpp"

#include <cstdlib>

#include <fmt/format.h>

namespace sanctum::probe {

namespace fs = std::filesystem;

fs::path default_cert_dir() {
  if (const char* home = std::getenv("SANCTUM_HOME"); home != nullptr && *home != '\0') {
    return home;
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return fs::path(home) / ".sanctum" / "certs";
  }
  return ".sanctum/certs";
}

Result<Target> resolve_target(const TargetOptions& options) {
  auto url = client::parse_https_url(options.url);
  if (!url) {
    if (options.url.starts_with("http://")) {
      return make_error(fmt::format(
          "{} is plain HTTP; probes speak only mTLS and have no plain-HTTP or bearer-token "
          "mode, so give the gateway's https://HOST:PORT",
          options.url));
    }
    return url.error();
  }
  fs::path dir = options.cert_dir.empty() ? default_cert_dir() : options.cert_dir;
  bool needs_name = options.cert_file.empty() || options.key_file.empty();
  if (needs_name && options.client.empty()) {
    return make_error("no client name: give --client NAME for DIR/clients/NAME.crt and .key");
  }
  if (options.client.find('/') != std::string::npos) {
    return make_error(fmt::format("invalid client name \"{}\": it must not contain '/'",
                                  options.client));
  }
  Target target;
  target.url = std::move(*url);
  target.client_name = options.client;
  target.files.ca_file = options.ca_file.empty() ? dir / "ca.crt" : options.ca_file;
  target.files.cert_file =
      options.cert_file.empty() ? dir / "clients" / (options.client + ".crt") : options.cert_file;
  target.files.key_file =
      options.key_file.empty() ? dir / "clients" / (options.client + ".key") : options.key_file;
  return target;
}

Result<client::MtlsClient> load_client(const Target& target) {
  return client::MtlsClient::create(target.files);
}

}  // namespace sanctum::probe
