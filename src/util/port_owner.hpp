#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace sanctum::util {

// A process that owns a listening TCP socket.
struct PortOwner {
  int pid = 0;
  std::string command_line;  // arguments joined by spaces; "" when unreadable
};

// Finds the process listening on `port` at `host` (an IP literal; a wildcard
// listener on the same port also counts, and a wildcard `host` matches a
// listener on any address) by matching the socket inode from
// /proc/net/tcp and /proc/net/tcp6 against /proc/PID/fd. Linux only; returns
// nothing elsewhere, when no listener is found, or when the holder's /proc
// entries are not readable by this user.
std::optional<PortOwner> find_port_owner(const std::string& host, std::uint16_t port);

}  // namespace sanctum::util
