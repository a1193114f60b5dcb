// TOML file to Config. Debian's toml++ 3.3 is a shared library built with
// exceptions, and it exports only the exception ABI (toml::v3::ex), so every
// translation unit keeps the default TOML_EXCEPTIONS=1 and parse errors
// arrive as toml::parse_error.

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "config/config.hpp"
#include "config/table_reader.hpp"
#include "util/fs.hpp"

namespace sanctum::config {

namespace {

constexpr std::array kLogLevels = {"trace", "debug", "info", "warn", "error", "off"};

void read_tls(TableReader& reader, TlsConfig& tls) {
  reader.read_path("cert", tls.cert_file);
  reader.read_path("key", tls.key_file);
  reader.read_path("client_ca", tls.client_ca_file);
  reader.read_path("crl", tls.crl_file);
  reader.read_bool("session_tickets", tls.session_tickets);
}

void read_timeouts(TableReader& reader, Timeouts& timeouts) {
  reader.read_duration("handshake", timeouts.handshake);
  reader.read_duration("request_head", timeouts.request_head);
  reader.read_duration("request_body", timeouts.request_body);
  reader.read_duration("keepalive_idle", timeouts.keepalive_idle);
  reader.read_duration("upstream_connect", timeouts.upstream_connect);
  reader.read_duration("upstream_first_byte", timeouts.upstream_first_byte);
  reader.read_duration("stream_idle", timeouts.stream_idle);
  reader.read_duration("drain", timeouts.drain);
}

void read_limits(TableReader& reader, Limits& limits) {
  reader.read_size("max_body_bytes", limits.max_body_bytes);
  reader.read_size("max_header_bytes", limits.max_header_bytes);
  reader.read_count("max_connections", limits.max_connections);
  reader.read_count("upstream_pool_size", limits.upstream_pool_size);
}

void read_echo(TableReader& reader, EchoConfig& echo) {
  reader.read_duration("chunk_delay", echo.chunk_delay);
}

void read_log(TableReader& reader, LogConfig& log, LoadContext& context) {
  if (const toml::node* node = reader.find("level")) {
    const auto* level = node->as_string();
    bool known = level != nullptr && std::find(kLogLevels.begin(), kLogLevels.end(),
                                               level->get()) != kLogLevels.end();
    if (known) {
      log.level = level->get();
    } else {
      reader.report(*node, "level",
                    fmt::format("expected one of: \"{}\"", fmt::join(kLogLevels, "\", \"")));
    }
  }

  const toml::node* node = reader.find("access_log");
  if (node == nullptr) {
    return;
  }
  const auto* text = node->as_string();
  if (text == nullptr) {
    reader.report(*node, "access_log", "expected \"-\" for stdout, \"\" for none, or a file path");
  } else if (text->get() == "-" || text->get().empty()) {
    log.access_log = text->get();
  } else {
    log.access_log =
        context.resolve_path(text->get(), line_of(*node), reader.key_path("access_log")).string();
  }
}

void read_bind(TableReader& reader, ListenerConfig& listener, LoadContext& context) {
  for (const StringItem& item : reader.read_string_items("bind")) {
    auto address = parse_bind_address(item.value);
    if (address) {
      listener.bind.push_back(*address);
    } else {
      context.report(item.line, item.key, address.error().message);
    }
  }
}

void read_upstream(TableReader& reader, ListenerConfig& listener) {
  const toml::node* node = reader.find("upstream");
  if (node == nullptr) {
    return;
  }
  const auto* text = node->as_string();
  if (text == nullptr) {
    reader.report(*node, "upstream", "expected \"echo\" or a URL such as \"http://127.0.0.1:8080\"");
    return;
  }
  auto target = parse_upstream(text->get());
  if (target) {
    listener.upstream = *target;
  } else {
    reader.report(*node, "upstream", target.error().message);
  }
}

// Reads `auth`. When it is absent the mode follows `tls`: mtls for a TLS
// listener and none for a plain one, so `tls` must be read first.
void read_auth(TableReader& reader, ListenerConfig& listener) {
  listener.auth = listener.tls ? AuthMode::mtls : AuthMode::none;
  const toml::node* node = reader.find("auth");
  if (node == nullptr) {
    return;
  }
  const auto* text = node->as_string();
  std::string mode = text != nullptr ? text->get() : std::string();
  if (mode == "mtls") {
    listener.auth = AuthMode::mtls;
  } else if (mode == "bearer") {
    listener.auth = AuthMode::bearer;
  } else if (mode == "none") {
    listener.auth = AuthMode::none;
  } else {
    reader.report(*node, "auth", "expected \"mtls\", \"bearer\" or \"none\"");
  }
}

void read_allow(TableReader& reader, ListenerConfig& listener, LoadContext& context) {
  for (const StringItem& item : reader.read_string_items("allow")) {
    if (item.value.empty()) {
      context.report(item.line, item.key,
                     "expected a client name such as \"guardian\", not an empty string");
    } else {
      listener.allow.push_back(item.value);
    }
  }
}

ListenerConfig read_listener(TableReader& reader, LoadContext& context) {
  ListenerConfig listener;
  listener.source_line = reader.line();
  reader.read_string("name", listener.name);
  read_bind(reader, listener, context);
  reader.read_bool("tls", listener.tls);
  read_upstream(reader, listener);
  read_auth(reader, listener);
  read_allow(reader, listener, context);
  reader.read_path("auth_token_file", listener.auth_token_file);
  reader.read_bool("loopback_bypass", listener.loopback_bypass);
  reader.read_bool("unsafe_open", listener.unsafe_open);
  reader.report_unknown_keys();
  return listener;
}

void read_listeners(TableReader& root, std::vector<ListenerConfig>& listeners,
                    LoadContext& context) {
  const toml::node* node = root.find("listener");
  if (node == nullptr) {
    return;
  }
  const auto* array = node->as_array();
  if (array == nullptr) {
    root.report(*node, "listener", "expected [[listener]] tables, one per listener");
    return;
  }
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    std::string key = fmt::format("listener[{}]", i);
    const auto* table = element.as_table();
    if (table == nullptr) {
      context.report(line_of(element), key, "expected a [[listener]] table");
      continue;
    }
    TableReader reader(*table, key, context);
    listeners.push_back(read_listener(reader, context));
  }
}

// Calls `read` with a reader for the table under `key` when `key` is present.
template <class ReadFunction>
void read_section(TableReader& root, std::string_view key, LoadContext& context,
                  ReadFunction read) {
  const toml::node* node = root.find(key);
  if (node == nullptr) {
    return;
  }
  const auto* table = node->as_table();
  if (table == nullptr) {
    root.report(*node, key, fmt::format("expected a table, written [{}] on its own line", key));
    return;
  }
  TableReader reader(*table, std::string(key), context);
  read(reader);
  reader.report_unknown_keys();
}

void read_root(const toml::table& root_table, Config& config, LoadContext& context) {
  TableReader root(root_table, "", context);
  root.read_int("threads", config.threads);
  root.read_bool("plain", config.plain);
  root.read_string("identity_header", config.identity_header);
  read_section(root, "tls", context, [&](TableReader& reader) { read_tls(reader, config.tls); });
  read_section(root, "timeouts", context,
               [&](TableReader& reader) { read_timeouts(reader, config.timeouts); });
  read_section(root, "limits", context,
               [&](TableReader& reader) { read_limits(reader, config.limits); });
  read_section(root, "echo", context, [&](TableReader& reader) { read_echo(reader, config.echo); });
  read_section(root, "log", context,
               [&](TableReader& reader) { read_log(reader, config.log, context); });
  read_listeners(root, config.listeners, context);
  root.report_unknown_keys();
}

}  // namespace

Result<Config> load(const std::filesystem::path& path, std::vector<Problem>& problems) {
  const std::size_t problems_before = problems.size();
  std::error_code ec;
  std::filesystem::path absolute_path = std::filesystem::absolute(path, ec);
  LoadContext context{path.string(), absolute_path.parent_path(), &problems};
  if (ec) {
    context.report(0, "", fmt::format("cannot resolve the path: {}", ec.message()));
    return make_error(fmt::format("cannot load {}", path.string()));
  }

  auto text = util::read_file(path);
  if (!text) {
    context.report(0, "", text.error().message);
    return make_error(fmt::format("cannot load {}", path.string()));
  }

  toml::table root;
  try {
    root = toml::parse(*text, path.string());
  } catch (const toml::parse_error& error) {
    context.report(static_cast<int>(error.source().begin.line), "",
                   fmt::format("invalid TOML: {}", error.description()));
    return make_error(fmt::format("1 problem in {}", path.string()));
  }

  Config config;
  config.source_file = path;
  read_root(root, config, context);

  const std::size_t count = problems.size() - problems_before;
  if (count > 0) {
    return make_error(
        fmt::format("{} problem{} in {}", count, count == 1 ? "" : "s", path.string()));
  }
  return config;
}

}  // namespace sanctum::config
