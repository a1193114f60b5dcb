#include "util/port_owner.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <boost/asio/ip/address.hpp>

namespace sanctum::util {

namespace fs = std::filesystem;

namespace {

constexpr const char* kListenState = "0A";

// /proc/net/tcp prints each 32-bit word of the address in host byte order.
std::string proc_hex_address(const boost::asio::ip::address& address) {
  char out[33] = {};
  if (address.is_v4()) {
    auto bytes = address.to_v4().to_bytes();
    std::uint32_t word;
    std::memcpy(&word, bytes.data(), 4);
    std::snprintf(out, sizeof out, "%08X", word);
  } else {
    auto bytes = address.to_v6().to_bytes();
    for (int i = 0; i < 4; ++i) {
      std::uint32_t word;
      std::memcpy(&word, bytes.data() + i * 4, 4);
      std::snprintf(out + i * 8, 9, "%08X", word);
    }
  }
  return out;
}

// Collects the inodes of listening sockets on `port` whose local address is
// one of `addresses` (hex as /proc prints them).
void collect_inodes(const char* table, const std::set<std::string>& addresses, std::uint16_t port,
                    std::set<std::string>& inodes) {
  std::ifstream in(table);
  std::string line;
  std::getline(in, line);  // header
  char port_hex[5];
  std::snprintf(port_hex, sizeof port_hex, "%04X", port);
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >>
        inode;
    auto colon = local.find(':');
    if (colon == std::string::npos || state != kListenState) {
      continue;
    }
    bool address_matches = addresses.empty() || addresses.count(local.substr(0, colon)) > 0;
    if (local.substr(colon + 1) == port_hex && address_matches) {
      inodes.insert(inode);
    }
  }
}

// Decodes an address as /proc/net/tcp{,6} prints it: 8 or 32 hex digits,
// each 32-bit word in host byte order.
std::string address_from_proc_hex(const std::string& hex) {
  std::size_t words = hex.size() / 8;
  if ((words != 1 && words != 4) || hex.size() % 8 != 0) {
    return hex;
  }
  unsigned char bytes[16] = {};
  for (std::size_t i = 0; i < words; ++i) {
    std::uint32_t word = static_cast<std::uint32_t>(std::stoul(hex.substr(i * 8, 8), nullptr, 16));
    std::memcpy(bytes + i * 4, &word, 4);
  }
  if (words == 1) {
    boost::asio::ip::address_v4::bytes_type v4;
    std::memcpy(v4.data(), bytes, 4);
    return boost::asio::ip::address_v4(v4).to_string();
  }
  boost::asio::ip::address_v6::bytes_type v6;
  std::memcpy(v6.data(), bytes, 16);
  return boost::asio::ip::address_v6(v6).to_string();
}

// Collects (address, inode) of every listening socket on `port` in `table`.
void collect_listeners(const char* table, std::uint16_t port,
                       std::vector<std::pair<std::string, std::string>>& found) {
  std::ifstream in(table);
  std::string line;
  std::getline(in, line);  // header
  char port_hex[5];
  std::snprintf(port_hex, sizeof port_hex, "%04X", port);
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >>
        inode;
    auto colon = local.find(':');
    if (colon == std::string::npos || state != kListenState || local.substr(colon + 1) != port_hex) {
      continue;
    }
    found.emplace_back(address_from_proc_hex(local.substr(0, colon)), inode);
  }
}

std::string read_command_line(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!raw.empty() && raw.back() == '\0') {
    raw.pop_back();
  }
  for (char& c : raw) {
    if (c == '\0') {
      c = ' ';
    }
  }
  return raw;
}

// Maps each socket inode in `inodes` to the pid of the first process that
// has it open, by reading the /proc/PID/fd links. Processes whose fd folder
// this user cannot read are skipped.
std::map<std::string, int> socket_owners(const std::set<std::string>& inodes) {
  std::map<std::string, int> owners;
  std::error_code fs_ec;
  for (const auto& entry : fs::directory_iterator("/proc", fs_ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    std::error_code fd_ec;
    for (const auto& fd : fs::directory_iterator(entry.path() / "fd", fd_ec)) {
      std::error_code link_ec;
      std::string target = fs::read_symlink(fd.path(), link_ec).string();
      if (link_ec || target.rfind("socket:[", 0) != 0) {
        continue;
      }
      std::string inode = target.substr(8, target.size() - 9);
      if (inodes.count(inode) > 0 && owners.count(inode) == 0) {
        owners[inode] = std::stoi(name);
      }
    }
  }
  return owners;
}

}  // namespace

std::optional<PortOwner> find_port_owner(const std::string& host, std::uint16_t port) {
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(host, ec);
  if (ec) {
    return std::nullopt;
  }
  std::set<std::string> inodes;
  if (address.is_unspecified()) {
    // A wildcard bind collides with a listener on any address of the port.
    collect_inodes(address.is_v4() ? "/proc/net/tcp" : "/proc/net/tcp6", {}, port, inodes);
  } else if (address.is_v4()) {
    collect_inodes("/proc/net/tcp", {proc_hex_address(address), "00000000"}, port, inodes);
    // A dual-stack [::] listener also takes IPv4 ports.
    collect_inodes("/proc/net/tcp6", {std::string(32, '0')}, port, inodes);
  } else {
    collect_inodes("/proc/net/tcp6", {proc_hex_address(address), std::string(32, '0')}, port,
                   inodes);
  }
  if (inodes.empty()) {
    return std::nullopt;
  }
  auto owners = socket_owners(inodes);
  if (owners.empty()) {
    return std::nullopt;
  }
  int pid = owners.begin()->second;
  return PortOwner{pid, read_command_line(pid)};
}

std::vector<PortListener> find_port_listeners(std::uint16_t port) {
  std::vector<std::pair<std::string, std::string>> found;
  collect_listeners("/proc/net/tcp", port, found);
  collect_listeners("/proc/net/tcp6", port, found);
  std::vector<PortListener> listeners;
  for (const auto& [address, inode] : found) {
    listeners.push_back(PortListener{address, port, std::nullopt});
  }
  if (listeners.empty()) {
    return listeners;
  }
  std::set<std::string> inodes;
  for (const auto& [address, inode] : found) {
    inodes.insert(inode);
  }
  auto owners = socket_owners(inodes);
  for (std::size_t i = 0; i < found.size(); ++i) {
    auto owner = owners.find(found[i].second);
    if (owner != owners.end()) {
      listeners[i].owner = PortOwner{owner->second, read_command_line(owner->second)};
    }
  }
  return listeners;
}

}  // namespace sanctum::util
