#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/process.hpp"

namespace sanctum::test {

// The real sanctum binary run by a test. Its stderr goes to DIR/serve.log,
// its access log to DIR/access.log, and it writes DIR/ready.json once bound.
class GatewayProcess {
 public:
  // Starts `sanctum serve ARGS --ready-file … --access-log …`.
  GatewayProcess(const std::filesystem::path& dir, std::vector<std::string> args);

  // Waits until the ready file appears (true) or the process exits (false).
  bool wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(15));

  // Port of the n-th bound address, in the order the ready file lists them.
  std::uint16_t port(std::size_t n = 0) const;
  // Port of the first address of the listener called `name`.
  std::uint16_t port_of(const std::string& name) const;
  std::string https_url(const std::string& path, std::size_t n = 0) const;
  std::string http_url(const std::string& path, std::size_t n = 0) const;

  std::string log() const;
  std::vector<nlohmann::json> access_records() const;
  Process& process() { return process_; }

 private:
  std::filesystem::path dir_;
  Process process_;
  nlohmann::json ready_;
};

// Runs curl with `args`, adding -sS and a 10 s limit. Its stdout holds the
// body; with "-w %{http_code}" the status comes last.
CommandResult curl(const std::vector<std::string>& args,
                   std::chrono::milliseconds timeout = std::chrono::seconds(20));

// The path of the sanctum binary under test.
std::string sanctum_binary();

// Runs `sanctum ca ARGS --dir STATE` to completion.
CommandResult run_ca(const std::filesystem::path& state, const std::vector<std::string>& args,
                     std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace sanctum::test
