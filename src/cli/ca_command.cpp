// `sanctum ca ...`: parses flags into ca:: option structs, calls src/ca and
// prints the outcome. Exit codes: 0 done, 1 the operation or check failed,
// 2 bad usage or unreadable input (including a missing CA).

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "ca/ca.hpp"
#include "cli/ca_print.hpp"
#include "cli/commands.hpp"

namespace sanctum::cli {

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// Flags that several subcommands share.
struct CommonFlags {
  std::string dir;
  bool client = false;
  bool server = false;
};

ca::CaPaths state_paths(const CommonFlags& flags) {
  return ca::resolve_state_dir(flags.dir.empty() ? std::nullopt
                                                 : std::optional<std::filesystem::path>(flags.dir));
}

std::optional<ca::Role> chosen_role(const CommonFlags& flags) {
  if (flags.client) {
    return ca::Role::client;
  }
  if (flags.server) {
    return ca::Role::server;
  }
  return std::nullopt;
}

int report(const std::string& command, const Error& error, int code) {
  std::cerr << "sanctum ca " << command << ": " << error.message << "\n";
  return code;
}

void add_dir_option(CLI::App* command, CommonFlags& flags) {
  command->add_option("--dir", flags.dir,
                      "State folder with ca.crt, ca.key and the issued files "
                      "(default: $SANCTUM_HOME, else ~/.sanctum/certs)");
}

void add_role_flags(CLI::App* command, CommonFlags& flags, const std::string& purpose) {
  auto* client = command->add_flag("--client", flags.client, "Select the client " + purpose);
  auto* server = command->add_flag("--server", flags.server, "Select the server " + purpose);
  client->excludes(server);
}

// Turns --days / --not-after into an optional absolute end, or an error.
Result<std::optional<ca::TimePoint>> not_after_from(const std::string& date) {
  if (date.empty()) {
    return std::optional<ca::TimePoint>();
  }
  auto end = ca::parse_end_of_day(date);
  if (!end) {
    return end.error();
  }
  if (*end <= ca::Clock::now()) {
    return make_error(fmt::format("--not-after {} is in the past: give a future date", date));
  }
  return std::optional<ca::TimePoint>(*end);
}

void add_init(CLI::App& ca_app, int& exit_code) {
  struct Flags {
    CommonFlags common;
    std::string key = "ecdsa-p256";
    int days = ca::kDefaultCaDays;
    std::string not_after;
    std::string name = "sanctum CA";
    bool force = false;
  };
  auto flags = std::make_shared<Flags>();
  auto* init = ca_app.add_subcommand(
      "init", "Create a self-signed CA, an empty index.json and an empty crl.pem");
  add_dir_option(init, flags->common);
  init->add_option("--key", flags->key,
                   "CA key algorithm: ecdsa-p256 (default), ed25519 or rsa-3072");
  auto* days = init->add_option("--days", flags->days,
                                "CA validity in days from now (default 3650)");
  days->check(CLI::Range(1, 36500));
  init->add_option("--not-after", flags->not_after,
                   "Last day of CA validity as YYYY-MM-DD, in UTC (instead of --days)")
      ->excludes(days);
  init->add_option("--name", flags->name, "CA subject common name (default \"sanctum CA\")");
  init->add_flag("--force", flags->force,
                 "Replace an existing CA, index and CRL; certificates it issued stop verifying");
  init->callback([flags, &exit_code] {
    ca::InitOptions options;
    options.paths = state_paths(flags->common);
    auto key = ca::parse_key_type(flags->key);
    auto not_after = not_after_from(flags->not_after);
    if (!key || !not_after) {
      exit_code = report("init", !key ? key.error() : not_after.error(), kExitUsage);
      return;
    }
    options.key_type = *key;
    options.days = flags->days;
    options.not_after = *not_after;
    options.common_name = flags->name;
    options.force = flags->force;
    auto created = ca::init_ca(options);
    if (!created) {
      exit_code = report("init", created.error(), kExitFailed);
      return;
    }
    print_ca_created(*created, options.paths, *key);
    exit_code = 0;
  });
}

struct IssueFlags {
  CommonFlags common;
  std::string name;
  std::vector<std::string> sans;
  std::string key = "ecdsa-p256";
  int days = 0;  // 0: the role's default
  std::string not_after;
  bool force = false;
};

// Checks the issue flags and turns them into options. Errors are usage
// errors: the CA is not read yet.
Result<ca::IssueOptions> issue_options_from(const IssueFlags& flags) {
  auto key = ca::parse_key_type(flags.key);
  if (!key) {
    return key.error();
  }
  auto not_after = not_after_from(flags.not_after);
  if (!not_after) {
    return not_after.error();
  }
  if (auto valid = ca::validate_name(flags.name); !valid) {
    return valid.error();
  }
  for (const std::string& san : flags.sans) {
    if (auto valid = ca::normalize_san(san); !valid) {
      return valid.error();
    }
  }
  auto role = chosen_role(flags.common);
  if (!role) {
    return make_error("choose the role with --client or --server");
  }

  ca::IssueOptions options;
  options.paths = state_paths(flags.common);
  options.name = flags.name;
  options.role = *role;
  options.sans = flags.sans;
  options.key_type = *key;
  if (flags.days > 0) {
    options.days = flags.days;
  }
  options.not_after = *not_after;
  options.force = flags.force;
  return options;
}

void add_issue(CLI::App& ca_app, int& exit_code) {
  auto flags = std::make_shared<IssueFlags>();
  auto* issue = ca_app.add_subcommand(
      "issue",
      "Issue a client or server certificate. Clients go to clients/NAME.crt and .key; a server "
      "named \"server\" goes to server.crt and server.key, other servers to servers/NAME.*");
  add_dir_option(issue, flags->common);
  issue->add_option("NAME", flags->name,
                    "Subject common name and file name: letters, digits, '.', '_' and '-'")
      ->required();
  add_role_flags(issue, flags->common, "role");
  issue->get_option("--client")->description(
      "Issue a client certificate (clientAuth extended key usage) into clients/NAME.crt");
  issue->get_option("--server")->description(
      "Issue a server certificate (serverAuth extended key usage) into server.crt, or "
      "servers/NAME.crt for a NAME other than \"server\"");
  issue
      ->add_option("--san", flags->sans,
                   "Extra subjectAltName, DNS:host, IP:address or URI:value; repeat for more. "
                   "A server also gets DNS:NAME (IP:NAME for an IPv4 name); \"server\" without "
                   "--san gets DNS:localhost, IP:127.0.0.1 and IP:::1")
      ->allow_extra_args(false);
  issue->add_option("--key", flags->key,
                    "Key algorithm: ecdsa-p256 (default), ed25519 or rsa-3072");
  auto* days = issue->add_option(
      "--days", flags->days,
      "Validity in days from now (default 365 for clients, 825 for servers), cut to the "
      "CA's expiry");
  days->check(CLI::Range(1, 36500));
  issue->add_option("--not-after", flags->not_after,
                    "Last day of validity as YYYY-MM-DD, in UTC (instead of --days)")
      ->excludes(days);
  issue->add_flag("--force", flags->force, "Replace existing certificate and key files");

  issue->callback([flags, &exit_code] {
    auto options = issue_options_from(*flags);
    if (!options) {
      exit_code = report("issue", options.error(), kExitUsage);
      return;
    }
    if (auto present = ca::require_ca(options->paths); !present) {
      exit_code = report("issue", present.error(), kExitUsage);
      return;
    }
    auto issued = ca::issue(*options);
    if (!issued) {
      exit_code = report("issue", issued.error(), kExitFailed);
      return;
    }
    print_issued("Issued", *issued);
    exit_code = 0;
  });
}

void add_list(CLI::App& ca_app, int& exit_code) {
  struct Flags {
    CommonFlags common;
    bool json = false;
  };
  auto flags = std::make_shared<Flags>();
  auto* list = ca_app.add_subcommand("list", "List every certificate in index.json");
  add_dir_option(list, flags->common);
  list->add_flag("--json", flags->json, "Print a JSON array with the index.json fields");
  list->callback([flags, &exit_code] {
    auto entries = ca::list(state_paths(flags->common));
    if (!entries) {
      exit_code = report("list", entries.error(), kExitUsage);
      return;
    }
    if (flags->json) {
      std::cout << ca::entries_to_json(*entries) << "\n";
    } else {
      print_table(*entries, ca::Clock::now());
    }
    exit_code = 0;
  });
}

void add_revoke(CLI::App& ca_app, int& exit_code) {
  struct Flags {
    CommonFlags common;
    std::string target;
    std::string reason = "unspecified";
  };
  auto flags = std::make_shared<Flags>();
  auto* revoke = ca_app.add_subcommand(
      "revoke", "Revoke certificates by name (every valid one) or by serial, and rewrite crl.pem");
  add_dir_option(revoke, flags->common);
  revoke->add_option("TARGET", flags->target, "Certificate name, or serial in hex")->required();
  revoke->add_option("--reason", flags->reason,
                     "CRL reason: unspecified (default), keyCompromise, cACompromise, "
                     "affiliationChanged, superseded, cessationOfOperation or privilegeWithdrawn");
  add_role_flags(revoke, flags->common, "certificate when NAME is both a client and a server");
  revoke->callback([flags, &exit_code] {
    ca::RevokeOptions options;
    options.paths = state_paths(flags->common);
    options.target = flags->target;
    options.role = chosen_role(flags->common);
    auto reason = ca::parse_revocation_reason(flags->reason);
    if (!reason) {
      exit_code = report("revoke", reason.error(), kExitUsage);
      return;
    }
    if (auto present = ca::require_ca(options.paths); !present) {
      exit_code = report("revoke", present.error(), kExitUsage);
      return;
    }
    options.reason = *reason;
    auto revoked = ca::revoke(options);
    if (!revoked) {
      exit_code = report("revoke", revoked.error(), kExitFailed);
      return;
    }
    for (const ca::IndexEntry& entry : *revoked) {
      std::cout << fmt::format("Revoked {} certificate '{}' (serial {}, reason {})\n",
                               ca::to_string(entry.role), entry.name, entry.serial,
                               ca::to_string(entry.reason));
    }
    std::cout << "Wrote " << options.paths.crl.string() << "\n";
    exit_code = 0;
  });
}

void add_crl(CLI::App& ca_app, int& exit_code) {
  auto flags = std::make_shared<CommonFlags>();
  auto* crl = ca_app.add_subcommand(
      "crl", fmt::format("Rewrite crl.pem from index.json with nextUpdate {} days from now",
                         ca::kCrlValidityDays));
  add_dir_option(crl, *flags);
  crl->callback([flags, &exit_code] {
    ca::CaPaths paths = state_paths(*flags);
    if (auto present = ca::require_ca(paths); !present) {
      exit_code = report("crl", present.error(), kExitUsage);
      return;
    }
    auto info = ca::write_crl(paths);
    if (!info) {
      exit_code = report("crl", info.error(), kExitFailed);
      return;
    }
    std::cout << fmt::format("Wrote {} (crlNumber {}, {} revoked, next update {})\n",
                             paths.crl.string(), info->crl_number, info->revoked_count,
                             ca::format_time(info->next_update));
    exit_code = 0;
  });
}

void add_renew(CLI::App& ca_app, int& exit_code) {
  struct Flags {
    CommonFlags common;
    std::string name;
    bool due = false;
  };
  auto flags = std::make_shared<Flags>();
  auto* renew = ca_app.add_subcommand(
      "renew",
      "Issue a new key and certificate with the same name, role, SANs and lifetime; the "
      "replaced files move to NAME.prev.crt and NAME.prev.key");
  add_dir_option(renew, flags->common);
  auto* name = renew->add_option("NAME", flags->name, "Certificate name to renew");
  renew->add_flag("--due", flags->due,
                  "Renew every current certificate past two thirds of its lifetime")
      ->excludes(name);
  add_role_flags(renew, flags->common, "certificate when NAME is both a client and a server");
  renew->callback([flags, &exit_code] {
    ca::CaPaths paths = state_paths(flags->common);
    if (!flags->due && flags->name.empty()) {
      exit_code = report("renew", make_error("give a NAME or --due"), kExitUsage);
      return;
    }
    if (auto present = ca::require_ca(paths); !present) {
      exit_code = report("renew", present.error(), kExitUsage);
      return;
    }
    if (flags->due) {
      auto renewed = ca::renew_due(paths);
      if (!renewed) {
        exit_code = report("renew", renewed.error(), kExitFailed);
        return;
      }
      for (const ca::IssuedCert& issued : *renewed) {
        print_issued("Renewed", issued);
      }
      std::cout << fmt::format("{} certificates renewed\n", renewed->size());
      exit_code = 0;
      return;
    }
    auto renewed = ca::renew({paths, flags->name, chosen_role(flags->common)});
    if (!renewed) {
      exit_code = report("renew", renewed.error(), kExitFailed);
      return;
    }
    print_issued("Renewed", *renewed);
    exit_code = 0;
  });
}

void add_rotate(CLI::App& ca_app, int& exit_code) {
  struct Flags {
    CommonFlags common;
    bool finish = false;
    std::string key = "ecdsa-p256";
    std::string name;
    int days = ca::kDefaultCaDays;
    std::vector<std::string> skip;
  };
  auto flags = std::make_shared<Flags>();
  auto* rotate = ca_app.add_subcommand(
      "rotate",
      "Replace the CA: the old one moves to ca-old.*, ca-bundle.crt trusts both, and every "
      "current certificate is re-issued under the new CA. --finish drops the old CA");
  add_dir_option(rotate, flags->common);
  auto* finish = rotate->add_flag(
      "--finish", flags->finish,
      "End the rotation: ca-bundle.crt keeps only the new CA and ca-old.* are deleted");
  rotate->add_option("--key", flags->key,
                     "New CA key algorithm: ecdsa-p256 (default), ed25519 or rsa-3072")
      ->excludes(finish);
  rotate->add_option("--name", flags->name,
                     "New CA common name (default: the old name with today's date)")
      ->excludes(finish);
  rotate->add_option("--days", flags->days, "New CA validity in days from now (default 3650)")
      ->check(CLI::Range(1, 36500))
      ->excludes(finish);
  rotate->add_option("--skip", flags->skip, "Name not to re-issue under the new CA; repeatable")
      ->allow_extra_args(false)
      ->excludes(finish);
  rotate->callback([flags, &exit_code] {
    ca::CaPaths paths = state_paths(flags->common);
    auto key = ca::parse_key_type(flags->key);
    if (!key) {
      exit_code = report("rotate", key.error(), kExitUsage);
      return;
    }
    if (auto present = ca::require_ca(paths); !present) {
      exit_code = report("rotate", present.error(), kExitUsage);
      return;
    }
    if (flags->finish) {
      if (auto finished = ca::rotate_finish(paths); !finished) {
        exit_code = report("rotate", finished.error(), kExitFailed);
        return;
      }
      std::cout << fmt::format("Rotation finished: {} now holds only {}\n",
                               paths.ca_bundle.string(), paths.ca_cert.string());
      exit_code = 0;
      return;
    }
    ca::RotateOptions options{paths, *key, std::nullopt, flags->days, flags->skip};
    if (!flags->name.empty()) {
      options.common_name = flags->name;
    }
    auto rotated = ca::rotate(options);
    if (!rotated) {
      exit_code = report("rotate", rotated.error(), kExitFailed);
      return;
    }
    print_rotated(*rotated, paths);
    exit_code = 0;
  });
}

void add_check(CLI::App& ca_app, int& exit_code) {
  struct Flags {
    CommonFlags common;
    int warn_days = 30;
    int crl_warn_days = 7;
    bool json = false;
  };
  auto flags = std::make_shared<Flags>();
  auto* check = ca_app.add_subcommand(
      "check",
      "Exit 1 naming every CA and current certificate that expires within --warn-days, and "
      "crl.pem when its next update is due within --crl-warn-days; 0 when there is none, 2 "
      "when the state folder cannot be read");
  add_dir_option(check, flags->common);
  check->add_option("--warn-days", flags->warn_days,
                    "Warning window in days from now (default 30)")
      ->check(CLI::Range(0, 36500));
  check->add_option("--crl-warn-days", flags->crl_warn_days,
                    "Warning window in days for crl.pem's next update (default 7; a CRL is "
                    "written valid for 30 days)")
      ->check(CLI::Range(0, 36500));
  check->add_flag("--json", flags->json, "Print the result as a JSON object");
  check->callback([flags, &exit_code] {
    ca::CaPaths paths = state_paths(flags->common);
    auto expiring = ca::check_expiry(paths, std::chrono::days(flags->warn_days));
    if (!expiring) {
      exit_code = report("check", expiring.error(), kExitUsage);
      return;
    }
    auto crl = ca::check_crl_due(paths, std::chrono::days(flags->crl_warn_days));
    if (!crl) {
      exit_code = report("check", crl.error(), kExitUsage);
      return;
    }
    if (*crl) {
      expiring->push_back(**crl);
    }
    print_check(*expiring, flags->warn_days, flags->crl_warn_days, paths.dir, flags->json);
    exit_code = expiring->empty() ? 0 : kExitFailed;
  });
}

void add_export(CLI::App& ca_app, int& exit_code) {
  struct Flags {
    CommonFlags common;
    std::string name;
    std::string out;
    std::string format;
    bool force = false;
  };
  auto flags = std::make_shared<Flags>();
  auto* exported = ca_app.add_subcommand(
      "export", "Package ca.crt, NAME.crt and NAME.key for another machine");
  add_dir_option(exported, flags->common);
  exported->add_option("NAME", flags->name, "Certificate name to export")->required();
  exported
      ->add_option("--out", flags->out,
                   "Output .tar.gz file (mode 0600), or a folder when the path ends with '/'")
      ->required();
  exported->add_option("--format", flags->format,
                       "tar.gz (default) or dir; dir writes the files into the --out folder");
  exported->add_flag("--force", flags->force, "Replace an existing archive or files");
  add_role_flags(exported, flags->common, "certificate when NAME is both a client and a server");
  exported->callback([flags, &exit_code] {
    ca::ExportOptions options;
    options.paths = state_paths(flags->common);
    options.name = flags->name;
    options.role = chosen_role(flags->common);
    options.out = flags->out;
    options.force = flags->force;
    bool folder = !flags->out.empty() && flags->out.back() == '/';
    if (flags->format == "dir" || (flags->format.empty() && folder)) {
      options.format = ca::ExportFormat::directory;
    } else if (!flags->format.empty() && flags->format != "tar.gz") {
      exit_code = report("export",
                         make_error(fmt::format("unknown --format '{}': use tar.gz or dir",
                                                flags->format)),
                         kExitUsage);
      return;
    }
    if (auto valid = ca::validate_name(flags->name); !valid) {
      exit_code = report("export", valid.error(), kExitUsage);
      return;
    }
    if (auto present = ca::require_ca(options.paths); !present) {
      exit_code = report("export", present.error(), kExitUsage);
      return;
    }
    auto written = ca::export_credentials(options);
    if (!written) {
      exit_code = report("export", written.error(), kExitFailed);
      return;
    }
    std::cout << fmt::format("Wrote ca.crt, {0}.crt and {0}.key to {1}\n", flags->name,
                             written->string());
    exit_code = 0;
  });
}

}  // namespace

void add_ca_command(CLI::App& app, int& exit_code) {
  auto* ca_app = app.add_subcommand("ca", "Manage the internal certificate authority");
  ca_app->require_subcommand(1);
  add_init(*ca_app, exit_code);
  add_issue(*ca_app, exit_code);
  add_list(*ca_app, exit_code);
  add_revoke(*ca_app, exit_code);
  add_crl(*ca_app, exit_code);
  add_renew(*ca_app, exit_code);
  add_rotate(*ca_app, exit_code);
  add_check(*ca_app, exit_code);
  add_export(*ca_app, exit_code);
}

}  // namespace sanctum::cli
