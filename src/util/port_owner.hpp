#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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

// A listening TCP socket and, when /proc shows it, the process that owns it.
struct PortListener {
  std::string address;  // local address as an IP literal: "127.0.0.1", "::", ...
  std::uint16_t port = 0;
  std::optional<PortOwner> owner;  // empty when the holder's /proc entries are not readable
};

// Lists every listening TCP socket on `port`, on any local address of this
// network namespace, from /proc/net/tcp and /proc/net/tcp6. Linux only;
// returns an empty list elsewhere.
std::vector<PortListener> find_port_listeners(std::uint16_t port);

}  // namespace sanctum::util
