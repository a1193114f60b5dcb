#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "config/config.hpp"
#include "obs/log.hpp"
#include "probe/probe.hpp"

namespace sanctum::cli {

namespace {

// Flags whose values need parsing after CLI11 is done: durations and the
// compare mode.
struct ScheduleFlags {
  std::string every;
  bool once = false;
  std::string timeout = "60s";
  std::string log_level = "info";
};

struct GuardianFlags {
  probe::GuardianOptions options;
  ScheduleFlags schedule{"30s"};
  std::string grace = "60s";
  std::string window = "1h";
  std::string backoff = "30s";
  std::string restart_timeout = "120s";
};

struct CanaryFlags {
  probe::CanaryOptions options;
  ScheduleFlags schedule{"10m"};
};

struct ParityFlags {
  probe::ParityOptions options;
  ScheduleFlags schedule{""};
  std::string compare = "normalized";
};

// Parses `text` into `out`, or prints "sanctum probe KIND: FLAG: MESSAGE".
bool parse_duration_flag(const char* kind, const char* flag, const std::string& text,
                         probe::Duration& out, bool allow_zero = false) {
  auto parsed = config::parse_duration(text);
  if (!parsed) {
    std::cerr << "sanctum probe " << kind << ": " << flag << ": " << parsed.error().message
              << "\n";
    return false;
  }
  if (parsed->count() <= 0 && !allow_zero) {
    std::cerr << "sanctum probe " << kind << ": " << flag << " must be longer than 0\n";
    return false;
  }
  out = *parsed;
  return true;
}

// Applies the schedule flags to `common`. Returns false after printing the
// error.
bool apply_schedule(const char* kind, const ScheduleFlags& flags, probe::CommonOptions& common) {
  if (!obs::setup_logging(flags.log_level)) {
    std::cerr << "sanctum probe " << kind << ": invalid --log-level \"" << flags.log_level
              << "\": use trace, debug, info, warn, error or off\n";
    return false;
  }
  if (!parse_duration_flag(kind, "--timeout", flags.timeout, common.timeout)) {
    return false;
  }
  if (flags.once || flags.every.empty()) {
    common.every.reset();
    return true;
  }
  probe::Duration every{};
  if (!parse_duration_flag(kind, "--every", flags.every, every)) {
    return false;
  }
  common.every = every;
  return true;
}

// Help text for the defaults of --cert-dir and --client.
struct TargetDefaults {
  std::string cert_dir;
  std::string client;
};

void add_target_flags(CLI::App& command, probe::TargetOptions& target, const std::string& prefix,
                      const std::string& which, const TargetDefaults& defaults) {
  command.add_option("--" + prefix + "url", target.url,
                     "URL of the " + which + ", https://HOST[:PORT][/PREFIX]; the server "
                     "certificate must be valid for HOST")
      ->capture_default_str();
  command.add_option("--" + prefix + "cert-dir", target.cert_dir,
                     "Folder with ca.crt and clients/NAME.crt and .key for the " + which +
                         " (default: " + defaults.cert_dir + ")");
  command.add_option("--" + prefix + "client", target.client,
                     "Client certificate NAME presented to the " + which + " (default: " +
                         defaults.client + ")");
  command.add_option("--" + prefix + "ca", target.ca_file,
                     "CA bundle that the " + which + "'s certificate must chain to, PEM "
                     "(default: DIR/ca.crt)");
  command.add_option("--" + prefix + "cert", target.cert_file,
                     "Client certificate for the " + which + ", PEM (default: "
                     "DIR/clients/NAME.crt)");
  command.add_option("--" + prefix + "key", target.key_file,
                     "Client private key for the " + which + ", PEM (default: "
                     "DIR/clients/NAME.key)");
}

void add_common_flags(CLI::App& command, probe::CommonOptions& common, ScheduleFlags& schedule) {
  add_target_flags(command, common.target, "", "target",
                   {"$SANCTUM_HOME, else ~/.sanctum/certs", common.target.client});
  auto* every = command.add_option(
      "--every", schedule.every,
      "Run at this interval until SIGTERM or SIGINT, e.g. 30s, 10m, 1h" +
          (schedule.every.empty() ? std::string(" (default: run once)")
                                  : " (default " + schedule.every + ")"));
  command.add_flag("--once", schedule.once, "Run once and exit 0 (ok), 1 (failed) or 2 (set-up error)")
      ->excludes(every);
  command.add_option("--timeout", schedule.timeout,
                     "Limit for each request, from connect to the last byte, e.g. 60s")
      ->capture_default_str();
  command.add_option("--log", common.log_file,
                     "Append one JSON line per run to this file (default: stdout)");
  command.add_option("--warn-days", common.warn_days,
                     "Add a warning to the JSON line when the client certificate has fewer "
                     "days left than this")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  command.add_option("--log-level", schedule.log_level,
                     "Level of the diagnostics on stderr: trace, debug, info, warn, error or off")
      ->capture_default_str();
}

void add_guardian(CLI::App& probe_app, int& exit_code) {
  auto flags = std::make_shared<GuardianFlags>();
  flags->options.common.target.client = "guardian";
  auto* command = probe_app.add_subcommand(
      "guardian",
      "GET /v1/models on every tick; run a restart command after consecutive failures");
  add_common_flags(*command, flags->options.common, flags->schedule);

  auto& policy = flags->options.policy;
  command->add_option("--failures", policy.failures,
                      "Consecutive failed probes that trigger the restart command")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  command->add_option("--grace", flags->grace,
                      "After start-up and after each restart, failures in this period are not "
                      "counted, e.g. 60s")
      ->capture_default_str();
  command->add_option("--restart-cmd", flags->options.restart_command,
                      "Command run with /bin/sh -c to restart the server; its output is logged. "
                      "Without it the guardian only reports");
  command->add_option("--max-restarts", policy.max_restarts,
                      "Restarts allowed within --restart-window; once spent the guardian logs an "
                      "error and keeps probing without restarting")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  command->add_option("--restart-window", flags->window,
                      "Sliding window for --max-restarts, e.g. 1h")
      ->capture_default_str();
  command->add_option("--backoff", flags->backoff,
                      "Minimum time between two restarts with no successful probe between them; "
                      "doubles after each such restart, up to 30m")
      ->capture_default_str();
  command->add_option("--restart-timeout", flags->restart_timeout,
                      "Kill the restart command (SIGKILL to its shell) after this, e.g. 120s")
      ->capture_default_str();

  command->callback([flags, &exit_code] {
    auto& options = flags->options;
    if (!apply_schedule("guardian", flags->schedule, options.common) ||
        !parse_duration_flag("guardian", "--grace", flags->grace, options.policy.grace, true) ||
        !parse_duration_flag("guardian", "--restart-window", flags->window,
                             options.policy.window) ||
        !parse_duration_flag("guardian", "--backoff", flags->backoff, options.policy.backoff,
                             true) ||
        !parse_duration_flag("guardian", "--restart-timeout", flags->restart_timeout,
                             options.restart_timeout)) {
      exit_code = probe::kExitSetup;
      return;
    }
    exit_code = probe::run_guardian(options);
  });
}

void add_canary(CLI::App& probe_app, int& exit_code) {
  auto flags = std::make_shared<CanaryFlags>();
  flags->options.common.target.client = "canary";
  auto* command = probe_app.add_subcommand(
      "canary", "A tiny streamed chat completion; passes on a non-empty answer and data: [DONE]");
  add_common_flags(*command, flags->options.common, flags->schedule);
  command->add_option("--model", flags->options.model,
                      "Model to ask (default: the first model that /v1/models lists)");
  command->add_option("--max-tokens", flags->options.max_tokens,
                      "max_tokens of the completion")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  command->add_option("--prompt", flags->options.prompt, "The user message sent")
      ->capture_default_str();
  command->callback([flags, &exit_code] {
    if (!apply_schedule("canary", flags->schedule, flags->options.common)) {
      exit_code = probe::kExitSetup;
      return;
    }
    exit_code = probe::run_canary(flags->options);
  });
}

void add_parity(CLI::App& probe_app, int& exit_code) {
  auto flags = std::make_shared<ParityFlags>();
  auto& options = flags->options;
  options.common.target.client = "parity-smoke";
  options.reference.url.clear();
  auto* command = probe_app.add_subcommand(
      "parity",
      "Send the same prompts at temperature 0 to a target and a reference and compare the "
      "model lists and answers; exit 1 on any difference");
  add_common_flags(*command, options.common, flags->schedule);
  add_target_flags(*command, options.reference, "reference-", "reference",
                   {"--cert-dir", "--client"});
  command->get_option("--reference-url")->required();

  command->add_option("--prompts", options.prompts_file,
                      "File with one prompt per line, or JSON lines with \"prompt\" or "
                      "\"messages\" (see docs/probes.md)")
      ->required();
  command->add_option("--compare", flags->compare,
                      "How answers must agree: exact, normalized (case and whitespace folded) "
                      "or similarity:R (word-level ratio >= R, 0 < R <= 1)")
      ->capture_default_str();
  command->add_option("--model", options.model,
                      "Model at the target (default: its first model in /v1/models)");
  command->add_option("--reference-model", options.reference_model,
                      "Model at the reference (default: --model, else its first model)");
  command->add_option("--max-tokens", options.max_tokens, "max_tokens of each completion")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));

  command->callback([flags, &exit_code] {
    auto& options = flags->options;
    if (!apply_schedule("parity", flags->schedule, options.common)) {
      exit_code = probe::kExitSetup;
      return;
    }
    auto compare = probe::parse_compare_mode(flags->compare);
    if (!compare) {
      std::cerr << "sanctum probe parity: --compare: " << compare.error().message << "\n";
      exit_code = probe::kExitSetup;
      return;
    }
    options.compare = *compare;
    if (options.reference.cert_dir.empty()) {
      options.reference.cert_dir = options.common.target.cert_dir;
    }
    if (options.reference.client.empty()) {
      options.reference.client = options.common.target.client;
    }
    exit_code = probe::run_parity(options);
  });
}

}  // namespace

void add_probe_command(CLI::App& app, int& exit_code) {
  auto* probe_app = app.add_subcommand(
      "probe",
      "Probe an OpenAI-compatible server over mTLS only and log one JSON line per run");
  probe_app->require_subcommand(1);
  add_guardian(*probe_app, exit_code);
  add_canary(*probe_app, exit_code);
  add_parity(*probe_app, exit_code);
}

}  // namespace sanctum::cli
