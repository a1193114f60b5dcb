// The guardian: GET /v1/models on every tick, and a restart command when the
// server keeps failing (see restart_policy.hpp for when).

#include <cctype>

#include <fmt/format.h>

#include "obs/log.hpp"
#include "probe/checks.hpp"
#include "probe/common.hpp"
#include "probe/probe.hpp"
#include "probe/schedule.hpp"
#include "probe/shell_command.hpp"

namespace sanctum::probe {

namespace {

using Clock = std::chrono::steady_clock;

std::string duration_text(Duration duration) {
  return fmt::format("{:g}s", std::chrono::duration<double>(duration).count());
}

class Guardian {
 public:
  Guardian(const GuardianOptions& options, Prepared& prepared)
      : options_(options), prepared_(prepared), state_(options.policy, Clock::now()),
        log_(obs::logger("probe")) {}

  // One tick: probe, decide, maybe restart, write the record.
  int tick(bool may_restart) {
    Record record;
    // A run that cannot read the client files is no evidence about the
    // server, and a restart would not fix it, so it is not counted.
    bool files_loaded = probe_once(record);
    bool ok = record["ok"].get<bool>();
    GuardianAction action = GuardianAction::none;
    if (may_restart && files_loaded) {
      action = state_.on_probe(ok, Clock::now());
    }
    // A single run (--once) keeps no state, but its own failure is one.
    record["consecutive_failures"] =
        may_restart ? state_.consecutive_failures() : (ok || !files_loaded ? 0 : 1);
    record["action"] = act(action, record);
    record["restarts_in_window"] = state_.restarts_in_window(Clock::now());
    prepared_.log.write(record);
    log_outcome("guardian", record);
    if (!files_loaded) {
      return kExitSetup;
    }
    return ok ? kExitOk : kExitFailed;
  }

 private:
  // Fills `record` with one probe of /v1/models. Returns false when the
  // client files could not be loaded.
  bool probe_once(Record& record) {
    auto client = load_client(prepared_.target);
    record = start_record("guardian", prepared_.target,
                                 client ? &client->certificate() : nullptr,
                                 options_.common.warn_days, false);
    if (!client) {
      record["error"] = "client-files: " + client.error().message;
      return false;
    }
    ModelsCheck check = check_models(*client, prepared_.target.url,
                                     timeouts_for(options_.common.timeout));
    record_response(record, check.response);
    record["models"] = check.models;
    record["ok"] = check.ok();
    if (!check.ok()) {
      record["error"] = check.error;
    }
    return true;
  }

  // Carries out `action` and returns its name for the record.
  std::string act(GuardianAction action, Record& record) {
    if (action != GuardianAction::budget_spent) {
      budget_reported_ = false;
    }
    if (action == GuardianAction::budget_spent) {
      report_budget_spent();
    }
    if (action != GuardianAction::restart) {
      return to_string(action);
    }
    if (options_.restart_command.empty()) {
      log_->warn("{} consecutive failures and no --restart-cmd: nothing to run",
                 state_.consecutive_failures());
      return "restart-needed";
    }
    restart(record);
    return to_string(action);
  }

  void report_budget_spent() {
    if (budget_reported_) {
      return;
    }
    budget_reported_ = true;
    log_->error(
        "restart budget spent: {} restart(s) in the last {}; the guardian keeps probing and "
        "restarts again only when an earlier restart is more than {} old",
        options_.policy.max_restarts, duration_text(options_.policy.window),
        duration_text(options_.policy.window));
  }

  void restart(Record& record) {
    log_->warn("{} consecutive failures: running the restart command: {}",
               state_.consecutive_failures(), options_.restart_command);
    CommandOutcome outcome = run_shell_command(options_.restart_command, options_.restart_timeout);
    std::string output = outcome.output;
    while (!output.empty() && std::isspace(static_cast<unsigned char>(output.back()))) {
      output.pop_back();
    }
    state_.on_restart(Clock::now());

    Record details;
    details["exit_code"] = outcome.started ? Record(outcome.exit_code) : Record();
    details["timed_out"] = outcome.timed_out;
    details["duration_ms"] = outcome.duration.count();
    details["output"] = outcome.output;
    if (!outcome.error.empty()) {
      details["error"] = outcome.error;
    }
    record["restart"] = details;

    if (!outcome.started) {
      log_->error("restart command not started: {}", outcome.error);
    } else if (outcome.timed_out) {
      log_->error("restart command killed after {}; output: {}",
                  duration_text(options_.restart_timeout), output);
    } else if (outcome.exit_code != 0) {
      log_->error("restart command exited with {}; output: {}", outcome.exit_code, output);
    } else {
      log_->info("restart command finished in {} ms; output: {}", outcome.duration.count(),
                 output);
    }
    log_->info("next restart allowed no sooner than {} from now, after the {} grace period",
               duration_text(state_.current_backoff()), duration_text(options_.policy.grace));
  }

  const GuardianOptions& options_;
  Prepared& prepared_;
  RestartState state_;
  std::shared_ptr<spdlog::logger> log_;
  bool budget_reported_ = false;
};

}  // namespace

int run_guardian(const GuardianOptions& options) {
  auto prepared = prepare("guardian", options.common);
  if (!prepared) {
    return kExitSetup;
  }
  Guardian guardian(options, *prepared);
  // A single run cannot see consecutive failures, so --once only reports.
  bool may_restart = options.common.every.has_value();
  return run_on_schedule(options.common.every, [&] { return guardian.tick(may_restart); });
}

}  // namespace sanctum::probe
