#include "support/gateway.hpp"

#include <sstream>

namespace sanctum::test {

std::string sanctum_binary() { return SANCTUM_BINARY; }

CommandResult run_ca(const std::filesystem::path& state, const std::vector<std::string>& args,
                     std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{sanctum_binary(), "ca"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--dir", state.string()});
  return run_command(argv, timeout);
}

GatewayProcess::GatewayProcess(const std::filesystem::path& dir, std::vector<std::string> args)
    : dir_(dir),
      process_([&] {
        std::filesystem::remove(dir / "ready.json");
        std::vector<std::string> argv{sanctum_binary(), "serve"};
        argv.insert(argv.end(), args.begin(), args.end());
        argv.insert(argv.end(), {"--ready-file", (dir / "ready.json").string(), "--access-log",
                                 (dir / "access.log").string()});
        return Process::start(argv, dir / "serve.out", dir / "serve.log");
      }()) {}

bool GatewayProcess::wait_ready(std::chrono::milliseconds timeout) {
  auto ready_file = dir_ / "ready.json";
  bool appeared = wait_until(
      [&] { return std::filesystem::exists(ready_file) || !process_.running(); }, timeout);
  if (!appeared || !std::filesystem::exists(ready_file)) {
    return false;
  }
  ready_ = nlohmann::json::parse(read_text(ready_file));
  return true;
}

std::uint16_t GatewayProcess::port(std::size_t n) const {
  return ready_.at("listeners").at(n).at("port").get<std::uint16_t>();
}

std::uint16_t GatewayProcess::port_of(const std::string& name) const {
  for (const auto& listener : ready_.at("listeners")) {
    if (listener.at("name") == name) {
      return listener.at("port").get<std::uint16_t>();
    }
  }
  throw std::runtime_error("no listener named " + name + " in the ready file");
}

std::string GatewayProcess::https_url(const std::string& path, std::size_t n) const {
  return "https://127.0.0.1:" + std::to_string(port(n)) + path;
}

std::string GatewayProcess::http_url(const std::string& path, std::size_t n) const {
  return "http://127.0.0.1:" + std::to_string(port(n)) + path;
}

std::string GatewayProcess::log() const { return read_text(dir_ / "serve.log"); }

std::vector<nlohmann::json> GatewayProcess::access_records() const {
  std::vector<nlohmann::json> records;
  std::istringstream lines(read_text(dir_ / "access.log"));
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty()) {
      records.push_back(nlohmann::json::parse(line));
    }
  }
  return records;
}

CommandResult curl(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{"curl", "-sS", "--max-time", "10"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, timeout);
}

}  // namespace sanctum::test
