#include "support/server_cert.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

#include "ca/ca.hpp"

namespace sanctum::test {

CertPair issue_server_cert(const TestPki& pki, const std::string& name,
                           const std::vector<std::string>& sans) {
  ca::IssueOptions options;
  options.paths = ca::paths_for(pki.dir() / "root");
  options.name = name;
  options.role = ca::Role::server;
  options.sans = sans;
  options.days = 3;
  auto issued = ca::issue(options);
  if (!issued) {
    throw std::runtime_error("issue server certificate " + name + ": " + issued.error().message);
  }
  return {options.paths.cert_file(ca::Role::server, name),
          options.paths.key_file(ca::Role::server, name)};
}

std::uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("cannot bind a loopback socket");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

}  // namespace sanctum::test
