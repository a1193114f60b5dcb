// `sanctum migration-report`: who still uses the plain listener, from the
// gateway's access log. Exit codes: 0 no plain-listener request was
// accepted in the window (--no-plain is safe), 1 some were, 2 bad usage or
// an unreadable access log.

#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.hpp"
#include "ops/migration_report.hpp"

namespace sanctum::cli {

namespace {

constexpr int kExitPlainInUse = 1;
constexpr int kExitUsage = 2;

struct Flags {
  std::string access_log;
  std::string since = "7d";
  std::string now;  // hidden: a fixed current time for tests
  bool json = false;
};

// --since is a duration back from now ("7d") or an RFC 3339 timestamp.
Result<ops::TimePoint> window_start(const std::string& since, ops::TimePoint now) {
  if (auto at = ops::parse_timestamp(since)) {
    return *at;
  }
  auto age = ops::parse_age(since);
  if (!age) {
    return make_error(fmt::format("--since: invalid value \"{}\": give a duration such as 24h or "
                                  "7d, or a time such as 2026-04-22T10:00:00Z",
                                  since));
  }
  return now - *age;
}

void print_report(const ops::MigrationReport& report, const std::string& access_log) {
  std::cout << "access log: " << access_log << "\n";
  std::cout << fmt::format("window:     since {}: {} records in the window, {} before it\n",
                           ops::format_utc_minute(report.since), report.in_window,
                           report.before_window);
  if (report.malformed > 0) {
    std::cout << fmt::format("skipped:    {} malformed line(s), the first at line {}\n",
                             report.malformed, report.first_malformed_line.value_or(0));
  }
  std::cout << "\n";
  if (report.callers.empty()) {
    std::cout << "No requests in the window. Check that this is the gateway's access log "
                 "and that the window is long enough.\n\n";
  } else {
    std::cout << fmt::format("{:<28} {:<8} {:<15} {:<21} {:>8} {:>7}\n", "CALLER", "KIND",
                             "TRANSPORT", "LAST SEEN", "ACCEPTED", "DENIED");
    for (const auto& caller : report.callers) {
      for (const auto& [transport, use] : caller.transports) {
        std::cout << fmt::format("{:<28} {:<8} {:<15} {:<21} {:>8} {:>7}\n", caller.identity,
                                 caller.kind, transport, ops::format_utc_minute(use.last_seen),
                                 use.accepted, use.denied);
      }
    }
    std::cout << "\n";
  }
  std::vector<std::string> plain_users;
  for (const auto& caller : report.callers) {
    if (caller.uses_plain_listener()) {
      plain_users.push_back(caller.identity);
    }
  }
  std::string since_text = fmt::format(
      "{:%Y-%m-%d %H:%M:%S} UTC", std::chrono::floor<std::chrono::seconds>(report.since));
  if (report.in_window == 0) {
    std::cout << "plain listener: no request at all since " << since_text
              << ", so this report cannot tell whether --no-plain is safe; widen --since.\n";
  } else if (plain_users.empty()) {
    std::cout << "plain listener: no accepted request since " << since_text
              << ".\n--no-plain is safe to turn on for these callers.\n";
  } else {
    std::cout << fmt::format("plain listener: still used by {} caller(s): {}.\nMove them to "
                             "client certificates before turning on --no-plain.\n",
                             plain_users.size(), fmt::join(plain_users, ", "));
  }
}

}  // namespace

void add_migration_report_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<Flags>();
  auto* command = app.add_subcommand(
      "migration-report",
      "Show, from the access log, which callers used which transport, and whether anyone "
      "still uses the plain listener (exit 0: --no-plain is safe, 1: plain traffic remains)");
  command->add_option("--access-log", flags->access_log, "The gateway's JSON access log")
      ->required();
  command->add_option("--since", flags->since,
                      "Window start: a duration back from now (s, m, h or d units, e.g. 24h) or "
                      "an RFC 3339 time (default 7d)");
  command->add_flag("--json", flags->json, "Print one JSON object instead of a table");
  // Hidden: lets tests fix the current time.
  command->add_option("--now", flags->now, "")->group("");
  command->callback([flags, &exit_code] {
    ops::TimePoint now = ops::Clock::now();
    if (!flags->now.empty()) {
      auto parsed = ops::parse_now(flags->now);
      if (!parsed) {
        std::cerr << "sanctum migration-report: --now: " << parsed.error().message << "\n";
        exit_code = kExitUsage;
        return;
      }
      now = *parsed;
    }
    auto since = window_start(flags->since, now);
    if (!since) {
      std::cerr << "sanctum migration-report: " << since.error().message << "\n";
      exit_code = kExitUsage;
      return;
    }
    if (*since > now) {
      std::cerr << "sanctum migration-report: --since " << flags->since
                << " is in the future, so the window would be empty; give a past time or a "
                   "duration such as 24h\n";
      exit_code = kExitUsage;
      return;
    }
    auto report = ops::read_migration_report(flags->access_log, *since, now);
    if (!report) {
      std::cerr << "sanctum migration-report: " << report.error().message << "\n";
      exit_code = kExitUsage;
      return;
    }
    if (flags->json) {
      std::cout << ops::to_json(*report).dump(2) << "\n";
    } else {
      print_report(*report, flags->access_log);
    }
    // An empty window proves nothing, so it is not reported as safe.
    exit_code = report->plain_in_use() || report->in_window == 0 ? kExitPlainInUse : 0;
  });
}

}  // namespace sanctum::cli
