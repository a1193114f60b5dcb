#include <fmt/format.h>

#include "ca/certificate.hpp"
#include "ca/operations.hpp"
#include "ca/tar.hpp"
#include "util/fs.hpp"

namespace sanctum::ca {
namespace fs = std::filesystem;

namespace {

Result<fs::path> write_folder(const ExportOptions& options, const std::vector<TarMember>& members) {
  if (auto made = util::ensure_private_dir(options.out); !made) {
    return made.error();
  }
  for (const TarMember& member : members) {
    fs::perms mode = member.mode == 0600 ? kKeyMode : kCertMode;
    auto written = util::write_file_atomic(options.out / member.name, member.data, mode,
                                           options.force);
    if (!written) {
      return written.error();
    }
  }
  return options.out;
}

Result<fs::path> write_archive(const ExportOptions& options,
                               const std::vector<TarMember>& members) {
  std::error_code ec;
  fs::path parent = options.out.has_parent_path() ? options.out.parent_path() : fs::path(".");
  if (!fs::is_directory(parent, ec)) {
    return make_error(fmt::format("folder {} for the archive {} not found: create it first",
                                  parent.string(), options.out.string()));
  }
  if (!options.force && fs::exists(options.out, ec)) {
    return make_error(fmt::format("{} already exists: pass --force to replace it",
                                  options.out.string()));
  }
  auto archive = make_ustar(members, Clock::now());
  if (!archive) {
    return archive.error();
  }
  auto compressed = gzip_compress(*archive);
  wipe_secret(*archive);
  if (!compressed) {
    return compressed.error();
  }
  auto written = util::write_file_atomic(options.out, *compressed, kKeyMode, options.force);
  wipe_secret(*compressed);
  if (!written) {
    return written.error();
  }
  return options.out;
}

}  // namespace

Result<fs::path> export_credentials(const ExportOptions& options) {
  const CaPaths& paths = options.paths;
  if (auto valid = validate_name(options.name); !valid) {
    return valid.error();
  }
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
  auto current = find_current(*index, paths, options.name, options.role);
  if (!current) {
    return current.error();
  }
  Role role = (*current)->role;

  auto ca_pem = trusted_ca_pem(paths);
  auto cert_pem = util::read_file(paths.cert_file(role, options.name));
  auto key_pem = util::read_file(paths.key_file(role, options.name));
  for (const Result<std::string>* read : {&ca_pem, &cert_pem, &key_pem}) {
    if (!*read) {
      return read->error();
    }
  }
  std::vector<TarMember> members = {
      {"ca.crt", 0644, std::move(*ca_pem)},
      {options.name + ".crt", 0644, std::move(*cert_pem)},
      {options.name + ".key", 0600, std::move(*key_pem)},
  };
  auto result = options.format == ExportFormat::directory ? write_folder(options, members)
                                                          : write_archive(options, members);
  wipe_secret(members.back().data);
  return result;
}

}  // namespace sanctum::ca
