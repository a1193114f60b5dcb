#pragma once

// The post-migration checks of `sanctum verify`. Each check returns PASS,
// WARN or FAIL with the evidence it saw; only FAIL makes the run fail.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ops/https_probe.hpp"
#include "ops/time_text.hpp"
#include "util/result.hpp"

namespace sanctum::ops {

enum class CheckStatus { pass, warn, fail };

std::string to_string(CheckStatus status);  // "PASS", "WARN", "FAIL"

struct CheckResult {
  std::string id;       // stable name for scripts: mtls-serves, plain-refused, ...
  std::string title;    // what the check asserts, for people
  CheckStatus status = CheckStatus::fail;
  std::string summary;  // one line: what was seen and, on FAIL or WARN, what to do
  std::vector<std::pair<std::string, std::string>> evidence;  // ordered key, value
};

// Targets and limits of one verify run. Defaults match examples/mtls-only.toml.
struct VerifyOptions {
  std::string host = "127.0.0.1";  // address the mTLS and plain probes connect to
  std::uint16_t mtls_port = 1337;
  std::uint16_t old_port = 1338;   // the retired port, which must be unbound
  std::filesystem::path cert_dir;  // DIR/ca.crt and DIR/clients/NAME.crt, .key
  std::string client = "sanctum-server";
  std::filesystem::path token_file;
  std::vector<std::filesystem::path> probe_logs;
  std::chrono::seconds max_age{15 * 60};   // newest probe line may be this old
  std::chrono::milliseconds timeout{5000};  // per network probe
  TimePoint now;
};

// 1. GET /v1/models over mTLS with DIR/clients/NAME.crt returns 200 and a
// JSON model list. Records the TLS version and the server certificate's
// SHA-256 fingerprint. Missing certificate files fail the check without a
// request, naming the file.
CheckResult check_mtls_serves(const VerifyOptions& options, const MtlsGet& get);

// 2. Plain HTTP to the mTLS port gets no 2xx. Records how it was refused.
CheckResult check_plain_refused(const VerifyOptions& options);

// 3. Nothing listens on the retired port, on any local address. A listener
// fails the check, named by pid and command line when /proc shows them.
CheckResult check_old_port_closed(const VerifyOptions& options);

// 4. The last JSON line of a probe log has "transport": "mtls" and a "time"
// no older than `max_age`. A line with "ok": false is a WARN.
CheckResult check_probe_log(const VerifyOptions& options, const std::filesystem::path& log);

// 5. The bare token file is absent. With a retired copy, reports its rollback
// window: open (PASS) or closed (WARN: purge due).
CheckResult check_bearer_retired(const VerifyOptions& options);

// Runs every check in order; with no probe log, the sidecar check is a WARN.
std::vector<CheckResult> run_verify(const VerifyOptions& options, const MtlsGet& get);

// True when no check failed.
bool verify_passed(const std::vector<CheckResult>& results);

nlohmann::ordered_json to_json(const std::vector<CheckResult>& results);

}  // namespace sanctum::ops
