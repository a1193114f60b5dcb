#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>

#include "ca/ca.hpp"
#include "ca/certificate.hpp"

namespace sanctum::ca {
namespace fs = std::filesystem;

namespace {

fs::path home_dir() {
  const char* home = std::getenv("HOME");
  if (home != nullptr && *home != '\0') {
    return home;
  }
  const passwd* entry = ::getpwuid(::getuid());
  if (entry != nullptr && entry->pw_dir != nullptr) {
    return entry->pw_dir;
  }
  return ".";
}

bool is_default_server(Role role, const std::string& name) {
  return role == Role::server && name == "server";
}

}  // namespace

fs::path CaPaths::cert_file(Role role, const std::string& name) const {
  if (is_default_server(role, name)) {
    return server_cert;
  }
  return (role == Role::client ? clients_dir : servers_dir) / (name + ".crt");
}

fs::path CaPaths::key_file(Role role, const std::string& name) const {
  if (is_default_server(role, name)) {
    return server_key;
  }
  return (role == Role::client ? clients_dir : servers_dir) / (name + ".key");
}

fs::path CaPaths::previous_cert_file(Role role, const std::string& name) const {
  fs::path current = cert_file(role, name);
  return current.parent_path() / (current.stem().string() + ".prev.crt");
}

fs::path CaPaths::previous_key_file(Role role, const std::string& name) const {
  fs::path current = key_file(role, name);
  return current.parent_path() / (current.stem().string() + ".prev.key");
}

CaPaths paths_for(const fs::path& dir) {
  CaPaths paths;
  paths.dir = dir;
  paths.ca_cert = dir / "ca.crt";
  paths.ca_key = dir / "ca.key";
  paths.old_ca_cert = dir / "ca-old.crt";
  paths.old_ca_key = dir / "ca-old.key";
  paths.ca_bundle = dir / "ca-bundle.crt";
  paths.server_cert = dir / "server.crt";
  paths.server_key = dir / "server.key";
  paths.clients_dir = dir / "clients";
  paths.servers_dir = dir / "servers";
  paths.index = dir / "index.json";
  paths.index_lock = dir / "index.json.lock";
  paths.crl = dir / "crl.pem";
  return paths;
}

CaPaths resolve_state_dir(const std::optional<fs::path>& flag) {
  if (flag && !flag->empty()) {
    return paths_for(*flag);
  }
  const char* env = std::getenv("SANCTUM_HOME");
  if (env != nullptr && *env != '\0') {
    return paths_for(env);
  }
  return paths_for(home_dir() / ".sanctum" / "certs");
}

Result<void> require_ca(const CaPaths& paths) {
  for (const fs::path& file : {paths.ca_cert, paths.ca_key}) {
    if (::access(file.c_str(), R_OK) != 0) {
      std::error_code ec;
      bool exists = fs::exists(file, ec);
      return make_error(fmt::format(
          "{} {} in {}: run `sanctum ca init --dir {}` first{}", file.filename().string(),
          exists ? "is not readable" : "not found", paths.dir.string(), paths.dir.string(),
          exists ? ", or fix the file's owner and mode" : ""));
    }
  }
  return {};
}

Result<CertificateInfo> read_certificate_info(const fs::path& file) {
  auto cert = load_certificate(file);
  if (!cert) {
    return cert.error();
  }
  return describe(cert->get(), file);
}

}  // namespace sanctum::ca
