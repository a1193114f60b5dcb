#include "ca/index.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/fs.hpp"

namespace sanctum::ca {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kIndexVersion = 1;

json to_json(const IndexEntry& entry) {
  json value = {
      {"name", entry.name},
      {"role", to_string(entry.role)},
      {"serial", entry.serial},
      {"sha256", entry.sha256},
      {"not_before", format_time(entry.not_before)},
      {"not_after", format_time(entry.not_after)},
      {"status", entry.revoked ? "revoked" : "valid"},
      {"revoked_at", entry.revoked_at ? json(format_time(*entry.revoked_at)) : json(nullptr)},
      {"reason", entry.revoked ? json(to_string(entry.reason)) : json(nullptr)},
      {"sans", entry.sans},
      {"ca", entry.ca},
      {"key_type", to_string(entry.key_type)},
      {"file", entry.cert_file},
  };
  return value;
}

Result<IndexEntry> from_json(const json& value) {
  IndexEntry entry;
  try {
    entry.name = value.at("name").get<std::string>();
    std::string role = value.at("role").get<std::string>();
    if (role != "client" && role != "server") {
      return make_error(fmt::format("unknown role '{}'", role));
    }
    entry.role = role == "client" ? Role::client : Role::server;
    entry.serial = value.at("serial").get<std::string>();
    entry.sha256 = value.at("sha256").get<std::string>();
    auto not_before = parse_time(value.at("not_before").get<std::string>());
    auto not_after = parse_time(value.at("not_after").get<std::string>());
    if (!not_before || !not_after) {
      return not_before ? not_after.error() : not_before.error();
    }
    entry.not_before = *not_before;
    entry.not_after = *not_after;
    std::string status = value.at("status").get<std::string>();
    if (status != "valid" && status != "revoked") {
      return make_error(fmt::format("unknown status '{}'", status));
    }
    entry.revoked = status == "revoked";
    if (value.contains("revoked_at") && value.at("revoked_at").is_string()) {
      auto revoked_at = parse_time(value.at("revoked_at").get<std::string>());
      if (!revoked_at) {
        return revoked_at.error();
      }
      entry.revoked_at = *revoked_at;
    }
    if (value.contains("reason") && value.at("reason").is_string()) {
      auto reason = parse_revocation_reason(value.at("reason").get<std::string>());
      if (!reason) {
        return reason.error();
      }
      entry.reason = *reason;
    }
    entry.sans = value.at("sans").get<std::vector<std::string>>();
    entry.ca = value.at("ca").get<std::string>();
    auto key_type = parse_key_type(value.at("key_type").get<std::string>());
    if (!key_type) {
      return key_type.error();
    }
    entry.key_type = *key_type;
    entry.cert_file = value.value("file", "");
  } catch (const json::exception& e) {
    return make_error(e.what());
  }
  return entry;
}

}  // namespace

Result<IndexLock> IndexLock::acquire(const CaPaths& paths) {
  int fd = ::open(paths.index_lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return make_error(fmt::format("cannot open lock file {}: {}", paths.index_lock.string(),
                                  std::strerror(errno)));
  }
  int rc = 0;
  do {
    rc = ::flock(fd, LOCK_EX);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    std::string reason = std::strerror(errno);
    ::close(fd);
    return make_error(fmt::format("cannot lock {}: {}", paths.index_lock.string(), reason));
  }
  return IndexLock(fd);
}

IndexLock::IndexLock(IndexLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

IndexLock::~IndexLock() {
  if (fd_ >= 0) {
    // Closing the descriptor releases the flock.
    ::close(fd_);
  }
}

Result<Index> load_index(const CaPaths& paths) {
  std::error_code ec;
  if (!fs::exists(paths.index, ec)) {
    return Index{};
  }
  auto text = util::read_file(paths.index);
  if (!text) {
    return text.error();
  }
  Index index;
  try {
    json document = json::parse(*text);
    int version = document.at("version").get<int>();
    if (version != kIndexVersion) {
      return make_error(fmt::format("{} has version {}, but this sanctum reads version {}",
                                    paths.index.string(), version, kIndexVersion));
    }
    index.crl_number = document.value("crl_number", std::uint64_t{0});
    const json& certificates = document.at("certificates");
    for (size_t i = 0; i < certificates.size(); ++i) {
      auto entry = from_json(certificates.at(i));
      if (!entry) {
        return make_error(fmt::format("{}: certificates[{}]: {}", paths.index.string(), i,
                                      entry.error().message));
      }
      index.entries.push_back(std::move(*entry));
    }
  } catch (const json::exception& e) {
    return make_error(fmt::format("{} is not a valid sanctum index: {}", paths.index.string(),
                                  e.what()));
  }
  return index;
}

Result<void> save_index(const CaPaths& paths, const Index& index) {
  json certificates = json::array();
  for (const IndexEntry& entry : index.entries) {
    certificates.push_back(to_json(entry));
  }
  json document = {
      {"version", kIndexVersion},
      {"crl_number", index.crl_number},
      {"certificates", certificates},
  };
  return util::write_file_atomic(paths.index, document.dump(2) + "\n",
                                 fs::perms::owner_read | fs::perms::owner_write |
                                     fs::perms::group_read | fs::perms::others_read,
                                 true);
}

std::string entries_to_json(const std::vector<IndexEntry>& entries) {
  json array = json::array();
  for (const IndexEntry& entry : entries) {
    array.push_back(to_json(entry));
  }
  return array.dump(2);
}

std::vector<const IndexEntry*> current_entries(const Index& index) {
  std::map<std::pair<Role, std::string>, const IndexEntry*> newest;
  for (const IndexEntry& entry : index.entries) {
    if (!entry.revoked) {
      newest[{entry.role, entry.name}] = &entry;
    }
  }
  std::vector<const IndexEntry*> result;
  for (const IndexEntry& entry : index.entries) {
    auto found = newest.find({entry.role, entry.name});
    if (found != newest.end() && found->second == &entry) {
      result.push_back(&entry);
    }
  }
  return result;
}

Result<const IndexEntry*> find_current(const Index& index, const CaPaths& paths,
                                       const std::string& name, std::optional<Role> role) {
  std::vector<const IndexEntry*> matches;
  for (const IndexEntry* entry : current_entries(index)) {
    if (entry->name == name && (!role || entry->role == *role)) {
      matches.push_back(entry);
    }
  }
  if (matches.empty()) {
    return make_error(fmt::format(
        "no valid {}certificate named '{}' in {}: see `sanctum ca list --dir {}`",
        role ? to_string(*role) + " " : "", name, paths.index.string(), paths.dir.string()));
  }
  if (matches.size() > 1) {
    return make_error(fmt::format("'{}' names both a client and a server certificate in {}: "
                                  "add --client or --server",
                                  name, paths.index.string()));
  }
  return matches.front();
}

}  // namespace sanctum::ca
