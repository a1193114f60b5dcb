#include "util/fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>

namespace sanctum::util {
namespace fs = std::filesystem;

namespace {

std::string os_reason() { return std::strerror(errno); }

Result<void> fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return make_error(fmt::format("cannot open folder {}: {}", dir.string(), os_reason()));
  }
  ::fsync(fd);
  ::close(fd);
  return {};
}

std::string temp_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format(".tmp-{}-{:x}", ::getpid(), rng());
}

}  // namespace

Result<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(fmt::format("cannot read {}: {}", path.string(), os_reason()));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    return make_error(fmt::format("cannot read {}: {}", path.string(), os_reason()));
  }
  return buffer.str();
}

Result<void> write_file_atomic(const fs::path& path, std::string_view data, fs::perms mode,
                               bool overwrite) {
  std::error_code ec;
  if (!overwrite && fs::exists(path, ec)) {
    return make_error(fmt::format("{} already exists; pass --force to overwrite it", path.string()));
  }
  fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  fs::path temp = dir / (path.filename().string() + temp_suffix());

  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                  static_cast<mode_t>(mode));
  if (fd < 0) {
    return make_error(fmt::format("cannot create {}: {}", temp.string(), os_reason()));
  }
  // open() applies the umask; fchmod sets exactly the requested bits.
  ::fchmod(fd, static_cast<mode_t>(mode));

  const char* cursor = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, cursor, left);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      std::string reason = os_reason();
      ::close(fd);
      ::unlink(temp.c_str());
      return make_error(fmt::format("cannot write {}: {}", temp.string(), reason));
    }
    cursor += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    std::string reason = os_reason();
    ::unlink(temp.c_str());
    return make_error(fmt::format("cannot flush {}: {}", temp.string(), reason));
  }
  if (!overwrite) {
    // link() fails if the target appeared meanwhile, so a concurrent writer
    // cannot be overwritten between the exists() check and here.
    if (::link(temp.c_str(), path.c_str()) != 0) {
      std::string reason = os_reason();
      ::unlink(temp.c_str());
      return make_error(fmt::format("cannot create {}: {}", path.string(), reason));
    }
    ::unlink(temp.c_str());
  } else if (::rename(temp.c_str(), path.c_str()) != 0) {
    std::string reason = os_reason();
    ::unlink(temp.c_str());
    return make_error(fmt::format("cannot replace {}: {}", path.string(), reason));
  }
  return fsync_dir(dir);
}

Result<void> ensure_private_dir(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
    return make_error(fmt::format("{} exists but is not a folder", dir.string()));
  }
  fs::create_directories(dir, ec);
  if (ec) {
    return make_error(fmt::format("cannot create folder {}: {}", dir.string(), ec.message()));
  }
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) {
    return make_error(fmt::format("cannot set 0700 on {}: {}", dir.string(), ec.message()));
  }
  return {};
}

Result<fs::perms> file_mode(const fs::path& path) {
  std::error_code ec;
  fs::file_status status = fs::status(path, ec);
  if (ec) {
    return make_error(fmt::format("cannot stat {}: {}", path.string(), ec.message()));
  }
  return status.permissions();
}

}  // namespace sanctum::util
