#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

namespace sanctum::obs {

// A certificate the gateway loaded or saw, for expiry reporting.
struct CertExpiry {
  std::string kind;  // server, ca, client
  std::string name;  // subject or client name
  std::string serial_hex;
  std::time_t not_after = 0;
};

struct ReloadStatus {
  std::chrono::system_clock::time_point time{};
  bool ok = true;
  std::string trigger;  // start, SIGHUP, TLS file change
  std::string error;
};

struct UpstreamCheck {
  std::chrono::system_clock::time_point time{};
  bool ok = false;
  std::string error;
};

// State for the status document and /metrics beyond the plain counters.
// Thread-safe: every member function takes the lock.
class GatewayStatus {
 public:
  void set_listeners(nlohmann::json listeners);
  void record_reload(const ReloadStatus& reload, std::vector<CertExpiry> loaded);
  void record_upstream_check(const std::string& upstream, const UpstreamCheck& check);

  // The counter of finished exchanges with these labels. The reference
  // stays valid for the life of the process, so a connection can keep it and
  // count its next exchanges with one atomic increment, without the lock.
  std::atomic<std::uint64_t>& exchange_counter(const std::string& listener,
                                               const std::string& transport,
                                               const std::string& client, unsigned status);
  void record_client_certificate(const std::string& name, const std::string& serial_hex,
                                 std::time_t not_after);

  nlohmann::json to_json() const;

  // Renders every counter, gauge and expiry in the Prometheus text format
  // (version 0.0.4).
  std::string to_prometheus() const;

 private:
  mutable std::mutex mutex_;
  nlohmann::json listeners_ = nlohmann::json::array();
  ReloadStatus last_reload_;
  std::vector<CertExpiry> loaded_;
  std::map<std::string, UpstreamCheck> upstream_checks_;
  std::map<std::tuple<std::string, std::string, std::string, unsigned>, std::atomic<std::uint64_t>>
      requests_;
  // Client certificates seen, by name: the newest serial and its expiry.
  std::map<std::string, CertExpiry> clients_;
};

// The process's status.
GatewayStatus& gateway_status();

}  // namespace sanctum::obs
