// `sanctum token ...`: the bearer token's status, retirement, rollback and
// purge (src/ops/token.hpp). Exit codes: 0 done, 1 the operation was
// refused or failed, 2 bad usage or an unloadable --config.

#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "ops/token.hpp"

namespace sanctum::cli {

namespace fs = std::filesystem;

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// Flags every token subcommand takes.
struct LocationFlags {
  std::string token_file;
  std::string config_file;
  std::string now;  // hidden: a fixed current time for tests
};

void add_location_options(CLI::App* command, LocationFlags& flags) {
  auto* file = command->add_option(
      "--token-file", flags.token_file,
      "Bearer token file (default: auth_token_file of --config, else "
      "~/.sanctum/secrets/gateway.token)");
  command->add_option("--config", flags.config_file,
                      "Gateway config whose first auth = \"bearer\" listener names the token file")
      ->excludes(file);
  // Hidden: lets tests and what-if runs fix the current time.
  command->add_option("--now", flags.now, "")->group("");
}

struct Location {
  fs::path token_file;
  ops::TimePoint now;
};

Result<Location> resolve_location(const LocationFlags& flags) {
  Location location;
  location.now = ops::Clock::now();
  if (!flags.now.empty()) {
    auto now = ops::parse_now(flags.now);
    if (!now) {
      return make_error("--now: " + now.error().message);
    }
    location.now = *now;
  }
  if (!flags.token_file.empty()) {
    location.token_file = fs::absolute(flags.token_file);
  } else if (!flags.config_file.empty()) {
    auto path = ops::token_path_from_config(flags.config_file);
    if (!path) {
      return path.error();
    }
    location.token_file = *path;
  } else {
    location.token_file = ops::default_token_path();
  }
  return location;
}

int report(const std::string& command, const std::string& message, int code) {
  std::cerr << "sanctum token " << command << ": " << message << "\n";
  return code;
}

// The command line of the next step, with the token file spelled out.
std::string next(const std::string& subcommand, const fs::path& token_file) {
  return fmt::format("sanctum token {} --token-file {}", subcommand, token_file.string());
}

std::string window_text(const ops::RetiredToken& retired, ops::TimePoint now) {
  if (retired.window_open(now)) {
    auto left = std::chrono::duration_cast<std::chrono::seconds>(retired.window_closes - now);
    return fmt::format("rollback window open until {} ({} left)",
                       ops::format_utc_minute(retired.window_closes), ops::format_age(left));
  }
  return fmt::format("rollback window closed {}: purge due",
                     ops::format_utc_minute(retired.window_closes));
}

nlohmann::ordered_json status_json(const ops::TokenStatus& status, ops::TimePoint now) {
  nlohmann::ordered_json json;
  json["token_file"] = status.token_file.string();
  json["bearer_live"] = status.bearer_live;
  auto mode_text = [](std::optional<unsigned> mode) {
    return mode ? nlohmann::ordered_json(fmt::format("{:04o}", *mode))
                : nlohmann::ordered_json(nullptr);
  };
  json["token_mode"] = mode_text(status.token_mode);
  json["folder_mode"] = mode_text(status.folder_mode);
  json["now"] = ops::format_utc(now);
  json["retired"] = nlohmann::ordered_json::array();
  for (const auto& retired : status.retired) {
    bool open = retired.window_open(now);
    json["retired"].push_back({{"file", retired.file.string()},
                               {"retired_at", ops::format_utc(retired.retired_at)},
                               {"window_closes", ops::format_utc(retired.window_closes)},
                               {"window", open ? "open" : "closed"},
                               {"purge_due", !open},
                               {"window_record", retired.has_window_record}});
  }
  json["warnings"] = status.warnings;
  return json;
}

void print_status(const ops::TokenStatus& status, ops::TimePoint now) {
  std::cout << "token file:  " << status.token_file.string() << "\n";
  if (status.bearer_live) {
    std::cout << fmt::format("bearer auth: live (file present, mode {:04o})\n",
                             status.token_mode.value_or(0));
  } else {
    std::cout << "bearer auth: off (no file at that path)\n";
  }
  if (status.retired.empty()) {
    std::cout << "retired:     none\n";
  }
  for (const auto& retired : status.retired) {
    std::cout << fmt::format("retired:     {}\n             retired {}, {}{}\n",
                             retired.file.string(), ops::format_utc_minute(retired.retired_at),
                             window_text(retired, now),
                             retired.has_window_record ? "" : " (no .window record: assumed 7 days)");
  }
  for (const auto& warning : status.warnings) {
    std::cout << "warning:     " << warning << "\n";
  }
  bool purge_due = std::any_of(status.retired.begin(), status.retired.end(),
                               [&](const auto& r) { return !r.window_open(now); });
  if (status.bearer_live) {
    std::cout << "next:        once every client uses mTLS, run `"
              << next("retire", status.token_file) << "`\n";
  } else if (purge_due) {
    std::cout << "next:        `" << next("purge", status.token_file) << "`\n";
  } else if (!status.retired.empty()) {
    std::cout << "next:        to roll back, `" << next("restore", status.token_file) << "`\n";
  }
}

void add_status(CLI::App& token_app, int& exit_code) {
  struct Flags {
    LocationFlags location;
    bool json = false;
  };
  auto flags = std::make_shared<Flags>();
  auto* command = token_app.add_subcommand(
      "status", "Show where the token lives, whether bearer auth is live, and the retired "
                "copies with their rollback windows");
  add_location_options(command, flags->location);
  command->add_flag("--json", flags->json, "Print one JSON object instead of text");
  command->callback([flags, &exit_code] {
    auto location = resolve_location(flags->location);
    if (!location) {
      exit_code = report("status", location.error().message, kExitUsage);
      return;
    }
    auto status = ops::token_status(location->token_file);
    if (!status) {
      exit_code = report("status", status.error().message, kExitUsage);
      return;
    }
    if (flags->json) {
      std::cout << status_json(*status, location->now).dump(2) << "\n";
    } else {
      print_status(*status, location->now);
    }
    exit_code = 0;
  });
}

void add_retire(CLI::App& token_app, int& exit_code) {
  struct Flags {
    LocationFlags location;
    std::string window = "7d";
  };
  auto flags = std::make_shared<Flags>();
  auto* command = token_app.add_subcommand(
      "retire", "Rename the token to TOKEN.retired-YYYYMMDD (local date) so no gateway can "
                "start a bearer listener with it, and open a rollback window");
  add_location_options(command, flags->location);
  command->add_option("--window", flags->window,
                      "How long the retired token is kept for a rollback: s, m, h or d units, "
                      "e.g. 7d (default 7d)");
  command->callback([flags, &exit_code] {
    auto location = resolve_location(flags->location);
    if (!location) {
      exit_code = report("retire", location.error().message, kExitUsage);
      return;
    }
    auto window = ops::parse_age(flags->window);
    if (!window) {
      exit_code = report("retire", "--window: " + window.error().message, kExitUsage);
      return;
    }
    auto retired = ops::retire_token(location->token_file, location->now, *window);
    if (!retired) {
      exit_code = report("retire", retired.error().message, kExitFailed);
      return;
    }
    std::cout << fmt::format(
        "retired {}\n     as {}\nrollback window open until {}\n"
        "A running gateway keeps the token it read at start-up: restart it without the bearer "
        "listener (--no-plain).\nTo roll back: `{}`. After the window: `{}`.\n",
        location->token_file.string(), retired->file.string(),
        ops::format_utc_minute(retired->window_closes), next("restore", location->token_file),
        next("purge", location->token_file));
    exit_code = 0;
  });
}

void add_restore(CLI::App& token_app, int& exit_code) {
  auto flags = std::make_shared<LocationFlags>();
  auto* command = token_app.add_subcommand(
      "restore", "Roll back: move the newest retired token back to the token file");
  add_location_options(command, *flags);
  command->callback([flags, &exit_code] {
    auto location = resolve_location(*flags);
    if (!location) {
      exit_code = report("restore", location.error().message, kExitUsage);
      return;
    }
    auto restored = ops::restore_token(location->token_file);
    if (!restored) {
      exit_code = report("restore", restored.error().message, kExitFailed);
      return;
    }
    std::cout << fmt::format(
        "restored {}\n      to {}\nBearer auth is live again once the gateway starts with its "
        "bearer listener (the dual-port config, without --no-plain).\n"
        "To move forward again later: `{}`.\n",
        restored->file.string(), location->token_file.string(),
        next("retire", location->token_file));
    exit_code = 0;
  });
}

void add_purge(CLI::App& token_app, int& exit_code) {
  struct Flags {
    LocationFlags location;
    bool force = false;
  };
  auto flags = std::make_shared<Flags>();
  auto* command = token_app.add_subcommand(
      "purge", "Delete retired tokens whose rollback window has closed");
  add_location_options(command, flags->location);
  command->add_flag("--force", flags->force,
                    "Also delete retired tokens whose window is still open; no rollback is "
                    "possible afterwards");
  command->callback([flags, &exit_code] {
    auto location = resolve_location(flags->location);
    if (!location) {
      exit_code = report("purge", location.error().message, kExitUsage);
      return;
    }
    auto outcome = ops::purge_tokens(location->token_file, location->now, flags->force);
    if (!outcome) {
      exit_code = report("purge", outcome.error().message, kExitFailed);
      return;
    }
    for (const auto& deleted : outcome->deleted) {
      std::cout << "deleted " << deleted.file.string() << "\n";
    }
    if (outcome->deleted.empty() && outcome->kept.empty()) {
      std::cout << "no retired token next to " << location->token_file.string()
                << ": nothing to purge\n";
    }
    for (const auto& kept : outcome->kept) {
      std::cerr << fmt::format(
          "sanctum token purge: kept {}: its rollback window is open until {}; run the purge "
          "again after that, or add --force to delete it now\n",
          kept.file.string(), ops::format_utc_minute(kept.window_closes));
    }
    exit_code = outcome->kept.empty() ? 0 : kExitFailed;
  });
}

void add_create(CLI::App& token_app, int& exit_code) {
  struct Flags {
    LocationFlags location;
    bool force = false;
  };
  auto flags = std::make_shared<Flags>();
  auto* command = token_app.add_subcommand(
      "create", "Write a new random 256-bit token (64 hex digits) with mode 0600");
  add_location_options(command, flags->location);
  command->add_flag("--force", flags->force, "Replace an existing token file");
  command->callback([flags, &exit_code] {
    auto location = resolve_location(flags->location);
    if (!location) {
      exit_code = report("create", location.error().message, kExitUsage);
      return;
    }
    auto created = ops::create_token(location->token_file, flags->force);
    if (!created) {
      exit_code = report("create", created.error().message, kExitFailed);
      return;
    }
    std::cout << "wrote a new token to " << location->token_file.string()
              << " (mode 0600); clients read it from that file\n";
    exit_code = 0;
  });
}

}  // namespace

void add_token_command(CLI::App& app, int& exit_code) {
  auto* token = app.add_subcommand(
      "token", "Bearer token lifecycle: status, retire, restore (rollback), purge, create");
  token->require_subcommand(1);
  add_status(*token, exit_code);
  add_retire(*token, exit_code);
  add_restore(*token, exit_code);
  add_purge(*token, exit_code);
  add_create(*token, exit_code);
}

}  // namespace sanctum::cli
