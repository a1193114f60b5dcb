// Works out what a service's command line would bind: the flag forms,
// the defaults of the model servers sanctum fronts, and sanctum's own
// listeners.

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "config/config.hpp"
#include "ops/service_conflicts.hpp"
#include "ops/unit_file.hpp"

namespace sanctum::ops {

namespace {

namespace fs = std::filesystem;

// mlx_lm.server and llama-server both default to 127.0.0.1:8080 (mlx-lm
// 0.19 server.py and llama.cpp tools/server README).
constexpr std::uint16_t kModelServerDefaultPort = 8080;
// Ollama reads OLLAMA_HOST and defaults to 127.0.0.1:11434.
constexpr std::uint16_t kOllamaDefaultPort = 11434;
constexpr std::uint16_t kGatewayDefaultPort = 1337;
constexpr std::string_view kLoopback = "127.0.0.1";

// A host and port read from one value; either may be missing.
struct AddressParts {
  std::optional<std::string> host;
  std::optional<std::uint16_t> port;
};

std::optional<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value == 0 ||
      value > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

std::optional<std::string> host_part(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  if (text == "*") {
    return std::string("0.0.0.0");
  }
  return std::string(text);
}

// Parses "HOST:PORT", "[V6]:PORT", ":PORT", "PORT", "HOST", "V6" or a URL
// with one of those as its authority.
AddressParts parse_address(std::string_view text) {
  if (std::size_t scheme = text.find("://"); scheme != std::string_view::npos) {
    text.remove_prefix(scheme + 3);
    text = text.substr(0, text.find('/'));
  }
  AddressParts parts;
  if (!text.empty() && text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return parts;
    }
    parts.host = std::string(text.substr(1, close - 1));
    if (close + 1 < text.size() && text[close + 1] == ':') {
      parts.port = parse_port(text.substr(close + 2));
    }
    return parts;
  }
  std::size_t colons = static_cast<std::size_t>(std::count(text.begin(), text.end(), ':'));
  if (colons == 1) {
    std::size_t colon = text.find(':');
    parts.host = host_part(text.substr(0, colon));
    parts.port = parse_port(text.substr(colon + 1));
  } else if (colons > 1) {
    parts.host = std::string(text);
  } else if (auto port = parse_port(text)) {
    parts.port = port;
  } else {
    parts.host = host_part(text);
  }
  return parts;
}

std::string base_name(const std::string& program) { return fs::path(program).filename().string(); }

bool is_shell(const std::string& name) {
  return name == "sh" || name == "bash" || name == "zsh" || name == "dash";
}

// Removes `env VAR=VALUE` and `sh -c "…"` wrappers, adding the variables
// that `env` sets to `environment`.
std::vector<std::string> unwrap(std::vector<std::string> argv,
                                std::map<std::string, std::string>& environment) {
  for (int depth = 0; depth < 4 && !argv.empty(); ++depth) {
    std::string name = base_name(argv.front());
    if (name == "env") {
      std::size_t i = 1;
      while (i < argv.size() && (argv[i].starts_with("-") || argv[i].find('=') != std::string::npos)) {
        if (std::size_t equals = argv[i].find('='); equals != std::string::npos &&
                                                      !argv[i].starts_with("-")) {
          environment[argv[i].substr(0, equals)] = argv[i].substr(equals + 1);
        }
        ++i;
      }
      argv.erase(argv.begin(), argv.begin() + static_cast<std::ptrdiff_t>(i));
      continue;
    }
    if (is_shell(name)) {
      auto flag = std::find_if(argv.begin() + 1, argv.end(), [](const std::string& arg) {
        return arg.size() >= 2 && arg[0] == '-' && arg[1] != '-' &&
               arg.find('c') != std::string::npos;
      });
      if (flag == argv.end() || flag + 1 == argv.end()) {
        return argv;
      }
      argv = split_command_line(*(flag + 1));
      if (!argv.empty() && argv.front() == "exec") {
        argv.erase(argv.begin());
      }
      continue;
    }
    if (name == "nohup" || name == "exec") {
      argv.erase(argv.begin());
      continue;
    }
    break;
  }
  return argv;
}

// Collects the values of the bind flags in both `--flag VALUE` and
// `--flag=VALUE` forms.
struct BindFlags {
  std::vector<std::string> host;
  std::vector<std::string> port;
  std::vector<std::string> listen;  // --listen and --bind
  std::optional<std::string> config;
  bool no_plain = false;
};

BindFlags read_bind_flags(const std::vector<std::string>& args) {
  BindFlags flags;
  auto target_of = [&](std::string_view name) -> std::vector<std::string>* {
    if (name == "--host") {
      return &flags.host;
    }
    if (name == "--port") {
      return &flags.port;
    }
    if (name == "--listen" || name == "--bind") {
      return &flags.listen;
    }
    return nullptr;
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--no-plain") {
      flags.no_plain = true;
      continue;
    }
    std::size_t equals = arg.find('=');
    std::string name = arg.substr(0, equals);
    std::optional<std::string> value;
    if (equals != std::string::npos) {
      value = arg.substr(equals + 1);
    } else if (i + 1 < args.size()) {
      value = args[i + 1];
    }
    bool inline_value = equals != std::string::npos;
    if (name == "--config" && value) {
      flags.config = *value;
    } else if (auto* target = target_of(name); target != nullptr && value) {
      target->push_back(*value);
    } else {
      continue;
    }
    if (!inline_value) {
      ++i;
    }
  }
  return flags;
}

void add_claim(CommandBinds& binds, std::optional<std::string> host, std::uint16_t port,
               std::string evidence) {
  binds.claims.push_back(BindClaim{std::move(host), port, std::move(evidence)});
}

// mlx_lm.server and llama-server: --host and --port with fixed defaults.
void model_server_binds(const BindFlags& flags, CommandBinds& binds) {
  std::string host = flags.host.empty() ? std::string(kLoopback) : flags.host.back();
  std::uint16_t port = kModelServerDefaultPort;
  std::vector<std::string> evidence;
  if (!flags.port.empty()) {
    auto parsed = parse_port(flags.port.back());
    if (!parsed) {
      binds.notes.push_back(fmt::format("--port \"{}\" is not a port number", flags.port.back()));
      return;
    }
    port = *parsed;
    evidence.push_back("--port " + flags.port.back());
  } else {
    evidence.push_back(fmt::format("port defaults to {}", kModelServerDefaultPort));
  }
  evidence.push_back(flags.host.empty() ? fmt::format("host defaults to {}", kLoopback)
                                        : "--host " + host);
  add_claim(binds, host, port, fmt::format("{}", fmt::join(evidence, ", ")));
}

void ollama_binds(const std::map<std::string, std::string>& environment, CommandBinds& binds) {
  auto found = environment.find("OLLAMA_HOST");
  if (found == environment.end() || found->second.empty()) {
    add_claim(binds, std::string(kLoopback), kOllamaDefaultPort,
              fmt::format("OLLAMA_HOST unset, default {}:{}", kLoopback, kOllamaDefaultPort));
    return;
  }
  AddressParts parts = parse_address(found->second);
  add_claim(binds, parts.host.value_or(std::string(kLoopback)),
            parts.port.value_or(kOllamaDefaultPort), "OLLAMA_HOST=" + found->second);
}

void gateway_config_binds(const fs::path& file, bool no_plain, CommandBinds& binds) {
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    binds.notes.push_back(fmt::format("config {} not found, so its listeners are unknown",
                                      file.string()));
    return;
  }
  std::vector<config::Problem> problems;
  auto loaded = config::load(file, problems);
  if (!loaded) {
    binds.notes.push_back(fmt::format("config {} could not be loaded: {}", file.string(),
                                      loaded.error().message));
    return;
  }
  bool skip_plain = no_plain || !loaded->plain;
  for (const config::ListenerConfig& listener : loaded->listeners) {
    if (skip_plain && !listener.tls) {
      continue;
    }
    for (const config::BindAddress& address : listener.bind) {
      add_claim(binds, address.host, address.port,
                fmt::format("listener \"{}\" in {}", listener.name, file.string()));
    }
  }
}

void gateway_binds(const BindFlags& flags, const fs::path& base_dir, CommandBinds& binds) {
  if (flags.config) {
    fs::path file = *flags.config;
    gateway_config_binds(file.is_absolute() ? file : base_dir / file, flags.no_plain, binds);
    return;
  }
  if (flags.listen.empty()) {
    add_claim(binds, std::string(kLoopback), kGatewayDefaultPort,
              fmt::format("no --listen, default {}:{}", kLoopback, kGatewayDefaultPort));
    return;
  }
  for (const std::string& value : flags.listen) {
    AddressParts parts = parse_address(value);
    if (parts.port) {
      add_claim(binds, parts.host, *parts.port, "--listen " + value);
    }
  }
}

// Any other program: --listen/--bind values, completed by --host and
// --port, or --port alone.
void generic_binds(const BindFlags& flags, CommandBinds& binds) {
  std::optional<std::string> host;
  if (!flags.host.empty()) {
    host = host_part(flags.host.back());
  }
  std::optional<std::uint16_t> port;
  if (!flags.port.empty()) {
    port = parse_port(flags.port.back());
    if (!port) {
      binds.notes.push_back(fmt::format("--port \"{}\" is not a port number", flags.port.back()));
    }
  }
  for (const std::string& value : flags.listen) {
    AddressParts parts = parse_address(value);
    std::optional<std::uint16_t> bound_port = parts.port ? parts.port : port;
    if (!bound_port) {
      binds.notes.push_back(fmt::format("bind value \"{}\" has no port", value));
      continue;
    }
    add_claim(binds, parts.host ? parts.host : host, *bound_port, "bind flag " + value);
  }
  if (flags.listen.empty() && port) {
    std::string evidence = "--port " + flags.port.back();
    if (host) {
      evidence = "--host " + flags.host.back() + " " + evidence;
    } else {
      evidence += ", no --host given";
    }
    add_claim(binds, host, *port, evidence);
  }
}

}  // namespace

CommandBinds extract_binds(const std::vector<std::string>& original_argv,
                           const std::map<std::string, std::string>& original_environment,
                           const fs::path& base_dir) {
  std::map<std::string, std::string> environment = original_environment;
  std::vector<std::string> argv = unwrap(original_argv, environment);
  CommandBinds binds;
  if (argv.empty()) {
    return binds;
  }
  std::string name = base_name(argv.front());
  std::vector<std::string> args(argv.begin() + 1, argv.end());

  // `python -m MODULE ARGS`: the module is the program.
  if (name.starts_with("python")) {
    auto module = std::find(args.begin(), args.end(), "-m");
    if (module != args.end() && module + 1 != args.end()) {
      name = *(module + 1);
      args.erase(args.begin(), module + 2);
    }
  }
  bool subcommand_server = !args.empty() && args.front() == "server";
  bool subcommand_serve = !args.empty() && args.front() == "serve";
  BindFlags flags = read_bind_flags(args);

  if (name == "mlx_lm.server" || (name == "mlx_lm" && subcommand_server)) {
    binds.program = "mlx_lm.server";
    model_server_binds(flags, binds);
  } else if (name == "llama-server") {
    binds.program = "llama-server";
    model_server_binds(flags, binds);
  } else if (name == "ollama" && subcommand_serve) {
    binds.program = "ollama serve";
    ollama_binds(environment, binds);
  } else if (name == "sanctum" && subcommand_serve) {
    binds.program = "sanctum serve";
    binds.gateway = true;
    gateway_binds(flags, base_dir, binds);
  } else {
    binds.program = name;
    generic_binds(flags, binds);
  }
  return binds;
}

bool hosts_overlap(const std::optional<std::string>& claimed, const std::string& target) {
  if (!claimed) {
    return true;
  }
  auto normalize = [](std::string host) {
    std::transform(host.begin(), host.end(), host.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    return host == "localhost" ? std::string(kLoopback) : host;
  };
  std::string a = normalize(*claimed);
  std::string b = normalize(target);
  auto wildcard = [](const std::string& host) {
    return host == "0.0.0.0" || host == "::" || host.empty();
  };
  return wildcard(a) || wildcard(b) || a == b;
}

}  // namespace sanctum::ops
