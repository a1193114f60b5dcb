#pragma once

// The guardian, canary and parity probes. Each run sends its requests over
// mTLS only and appends one JSON line to the probe log (see record.hpp).
// There is no plain-HTTP or bearer-token path: missing certificate files are
// a set-up error, never a reason to try another transport.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "probe/compare.hpp"
#include "probe/restart_policy.hpp"
#include "probe/target.hpp"

namespace sanctum::probe {

// Process exit codes of `sanctum probe`. 2 for a set-up error matches the
// Nagios plugin convention, where 2 is CRITICAL.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the probe ran and failed
inline constexpr int kExitSetup = 2;   // bad flags, missing files: nothing was sent

struct CommonOptions {
  TargetOptions target;
  // Unset: run once and exit with the result. Set: run at this interval
  // until SIGTERM or SIGINT, then exit 0.
  std::optional<Duration> every;
  std::string log_file;       // JSON lines appended here; "" or "-" is stdout
  Duration timeout{60'000};   // limit for each request, connection to last byte
  int warn_days = 14;         // warn when the client certificate has fewer days left
};

struct GuardianOptions {
  CommonOptions common;
  RestartPolicy policy;
  std::string restart_command;      // run with /bin/sh -c; empty: only report
  Duration restart_timeout{120'000};  // the command is killed after this
};

struct CanaryOptions {
  CommonOptions common;
  std::string model;  // empty: the first model that /v1/models lists
  std::string prompt = "Reply with the single word OK.";
  int max_tokens = 8;
};

struct ParityOptions {
  CommonOptions common;    // common.target is the target under test
  TargetOptions reference;  // the target whose answers are taken as correct
  std::string model;            // empty: the target's first model
  std::string reference_model;  // empty: `model`, else the reference's first model
  std::filesystem::path prompts_file;
  CompareMode compare;
  int max_tokens = 64;
};

// Each returns the process exit code. Set-up errors are printed to stderr.
int run_guardian(const GuardianOptions& options);
int run_canary(const CanaryOptions& options);
int run_parity(const ParityOptions& options);

}  // namespace sanctum::probe
