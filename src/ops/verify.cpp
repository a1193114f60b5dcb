#include "ops/verify.hpp"

#include <algorithm>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ops/token.hpp"
#include "util/port_owner.hpp"

namespace sanctum::ops {

namespace fs = std::filesystem;

namespace {

std::string endpoint_text(const std::string& host, std::uint16_t port) {
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                             : fmt::format("{}:{}", host, port);
}

CheckResult make_check(std::string id, std::string title) {
  CheckResult result;
  result.id = std::move(id);
  result.title = std::move(title);
  return result;
}

CheckResult& set(CheckResult& result, CheckStatus status, std::string summary) {
  result.status = status;
  result.summary = std::move(summary);
  return result;
}

// Up to five model ids from an OpenAI model list, or nothing when `body` is
// not one.
std::optional<std::vector<std::string>> model_ids(const std::string& body) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (!json.is_object() || !json.contains("data") || !json["data"].is_array()) {
    return std::nullopt;
  }
  std::vector<std::string> ids;
  for (const auto& model : json["data"]) {
    if (model.is_object() && model.contains("id") && model["id"].is_string() && ids.size() < 5) {
      ids.push_back(model["id"].get<std::string>());
    }
  }
  return ids;
}

// Returns the last non-empty line of `path`, or an error naming the file.
Result<std::string> last_line(const fs::path& path) {
  std::ifstream in(path);
  std::error_code ec;
  if (!in || fs::is_directory(path, ec)) {
    return make_error(fmt::format("cannot read probe log {}", path.string()));
  }
  std::string line;
  std::string last;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) {
      last = line;
    }
  }
  if (last.empty()) {
    return make_error(fmt::format("probe log {} is empty: the probe has not run yet", path.string()));
  }
  return last;
}

}  // namespace

std::string to_string(CheckStatus status) {
  switch (status) {
    case CheckStatus::pass: return "PASS";
    case CheckStatus::warn: return "WARN";
    case CheckStatus::fail: return "FAIL";
  }
  return "FAIL";
}

CheckResult check_mtls_serves(const VerifyOptions& options, const MtlsGet& get) {
  auto result = make_check("mtls-serves", fmt::format("mTLS serves on {}",
                                                      endpoint_text(options.host, options.mtls_port)));
  MtlsRequest request;
  request.host = options.host;
  request.port = options.mtls_port;
  request.ca_file = options.cert_dir / "ca.crt";
  request.cert_file = options.cert_dir / "clients" / (options.client + ".crt");
  request.key_file = options.cert_dir / "clients" / (options.client + ".key");
  request.timeout = options.timeout;
  result.evidence.emplace_back("client", options.client);
  result.evidence.emplace_back("client_certificate", request.cert_file.string());

  // A missing file is a hard failure, never a reason to try without it.
  std::error_code ec;
  if (!fs::is_regular_file(request.ca_file, ec)) {
    return set(result, CheckStatus::fail,
               fmt::format("{} is missing: pass --cert-dir with the folder that holds the CA "
                           "certificate, or create a CA with `sanctum ca init`",
                           request.ca_file.string()));
  }
  for (const auto& file : {request.cert_file, request.key_file}) {
    if (!fs::is_regular_file(file, ec)) {
      return set(result, CheckStatus::fail,
                 fmt::format("{} is missing: issue it with `sanctum ca issue {} --client`, or "
                             "pass --client with a name that has a certificate",
                             file.string(), options.client));
    }
  }
  auto response = get(request);
  if (!response) {
    return set(result, CheckStatus::fail, response.error().message);
  }
  result.evidence.emplace_back("status", std::to_string(response->status));
  result.evidence.emplace_back("tls_version", response->tls_version);
  result.evidence.emplace_back("server_sha256", response->server_fingerprint);
  if (response->status != 200) {
    return set(result, CheckStatus::fail,
               fmt::format("GET /v1/models returned HTTP {}, expected 200", response->status));
  }
  auto ids = model_ids(response->body);
  if (!ids) {
    return set(result, CheckStatus::fail,
               "GET /v1/models returned 200 but no JSON model list ({\"data\": [...]})");
  }
  result.evidence.emplace_back("models", fmt::format("{}", fmt::join(*ids, ", ")));
  return set(result, CheckStatus::pass,
             fmt::format("HTTP 200 with {} model(s) over {}", ids->size(), response->tls_version));
}

CheckResult check_plain_refused(const VerifyOptions& options) {
  auto result = make_check("plain-refused",
                           fmt::format("plain HTTP to {} gets no 2xx",
                                       endpoint_text(options.host, options.mtls_port)));
  PlainResult plain = plain_http_get(options.host, options.mtls_port, "/v1/models",
                                     options.timeout);
  result.evidence.emplace_back("refused_by", to_string(plain.outcome));
  result.evidence.emplace_back("detail", plain.detail);
  if (plain.outcome == PlainOutcome::http_response) {
    result.evidence.emplace_back("status", std::to_string(plain.http_status));
    if (plain.http_status >= 200 && plain.http_status < 300) {
      return set(result, CheckStatus::fail,
                 fmt::format("plain HTTP got {}: the port serves without TLS; check which "
                             "listener holds it",
                             plain.detail));
    }
    return set(result, CheckStatus::pass, fmt::format("refused with HTTP {}", plain.http_status));
  }
  if (plain.outcome == PlainOutcome::connection_refused) {
    return set(result, CheckStatus::warn,
               "nothing listens on the port, so there was nothing to test; see the mTLS check");
  }
  if (plain.outcome == PlainOutcome::error) {
    return set(result, CheckStatus::warn,
               fmt::format("the plain probe failed before an answer: {}", plain.detail));
  }
  return set(result, CheckStatus::pass, "refused: " + to_string(plain.outcome));
}

CheckResult check_old_port_closed(const VerifyOptions& options) {
  auto result = make_check("old-port-closed",
                           fmt::format("nothing listens on the retired port {}", options.old_port));
  auto listeners = util::find_port_listeners(options.old_port);
  if (!listeners.empty()) {
    std::vector<std::string> named;
    for (const auto& listener : listeners) {
      std::string where = endpoint_text(listener.address, listener.port);
      std::string who = listener.owner ? fmt::format("pid {} ({})", listener.owner->pid,
                                                     listener.owner->command_line)
                                       : "a process this user cannot see";
      result.evidence.emplace_back("listener", where + " held by " + who);
      named.push_back(where + " held by " + who);
    }
    return set(result, CheckStatus::fail,
               fmt::format("{}: stop that process, or remove its listener from the config",
                           fmt::join(named, "; ")));
  }
  PlainResult connect = plain_http_get(options.host, options.old_port, "/", options.timeout);
  result.evidence.emplace_back("connect", endpoint_text(options.host, options.old_port) + ": " +
                                              to_string(connect.outcome));
  if (connect.outcome == PlainOutcome::connection_refused) {
    return set(result, CheckStatus::pass, "no listening socket; connect was refused");
  }
  if (connect.outcome == PlainOutcome::timeout) {
    return set(result, CheckStatus::warn,
               "no listening socket in this network namespace, but connect timed out instead "
               "of being refused: a firewall or another namespace may hold the port");
  }
  return set(result, CheckStatus::fail,
             fmt::format("connect to {} was accepted ({}), but no listening socket is visible "
                         "here: check with `ss -ltnp` as root",
                         endpoint_text(options.host, options.old_port), connect.detail));
}

CheckResult check_probe_log(const VerifyOptions& options, const fs::path& log) {
  auto result = make_check("sidecar-mtls:" + log.filename().string(),
                           fmt::format("{} reports transport mtls", log.filename().string()));
  result.evidence.emplace_back("log", log.string());
  auto line = last_line(log);
  if (!line) {
    return set(result, CheckStatus::fail, line.error().message);
  }
  auto record = nlohmann::json::parse(*line, nullptr, false);
  if (!record.is_object()) {
    return set(result, CheckStatus::fail,
               fmt::format("the last line of {} is not a JSON object", log.string()));
  }
  std::string transport = record.value("transport", "");
  std::string time_text = record.contains("time") && record["time"].is_string()
                              ? record["time"].get<std::string>()
                              : std::string();

  result.evidence.emplace_back("transport", transport);
  result.evidence.emplace_back("time", time_text);
  if (transport != "mtls") {
    return set(result, CheckStatus::fail,
               fmt::format("last line has transport \"{}\": this probe is an old copy that does "
                           "not use its client certificate; replace it",
                           transport));
  }

  auto time = parse_timestamp(time_text);
  if (!time) {
    return set(result, CheckStatus::fail,
               fmt::format("the last line has no RFC 3339 \"time\" field (got \"{}\")", time_text));
  }
  auto age = std::chrono::duration_cast<std::chrono::seconds>(options.now - *time);
  result.evidence.emplace_back("age", format_age(age));
  if (age > options.max_age) {
    return set(result, CheckStatus::fail,
               fmt::format("the last line is {} old, more than {}: the probe is not running",
                           format_age(age), format_age(options.max_age)));
  }
  // A failed run that still used mTLS (the model server was down, say) is
  // worth a look, but it is no sign of a failed migration.
  if (record.contains("ok") && record["ok"].is_boolean() && !record["ok"].get<bool>()) {
    std::string error = record.contains("error") && record["error"].is_string()
                            ? record["error"].get<std::string>()
                            : std::string("no error given");
    result.evidence.emplace_back("error", error);
    return set(result, CheckStatus::warn,
               fmt::format("transport mtls, {} ago, but the run failed: {}", format_age(age),
                           error));
  }
  return set(result, CheckStatus::pass, fmt::format("transport mtls, {} ago", format_age(age)));
}

CheckResult check_bearer_retired(const VerifyOptions& options) {
  auto result = make_check("bearer-retired", "the bearer token is retired");
  result.evidence.emplace_back("token_file", options.token_file.string());
  auto status = token_status(options.token_file);
  if (!status) {
    return set(result, CheckStatus::fail, status.error().message);
  }
  if (status->bearer_live) {
    return set(result, CheckStatus::fail,
               fmt::format("{} exists, so bearer auth is live again; find what re-created it, "
                           "then run `sanctum token retire --token-file {}`",
                           options.token_file.string(), options.token_file.string()));
  }
  if (status->retired.empty()) {
    return set(result, CheckStatus::pass,
               "no token and no retired copy: purged, so no rollback to bearer is possible");
  }
  const RetiredToken& newest = status->retired.back();
  result.evidence.emplace_back("retired_file", newest.file.string());
  result.evidence.emplace_back("window_closes", format_utc(newest.window_closes));
  if (newest.window_open(options.now)) {
    return set(result, CheckStatus::pass,
               fmt::format("retired as {}; rollback window open until {}",
                           newest.file.filename().string(),
                           format_utc_minute(newest.window_closes)));
  }
  return set(result, CheckStatus::warn,
             fmt::format("retired as {}; rollback window closed {}: purge due, run `sanctum "
                         "token purge --token-file {}`",
                         newest.file.filename().string(), format_utc_minute(newest.window_closes),
                         options.token_file.string()));
}

std::vector<CheckResult> run_verify(const VerifyOptions& options, const MtlsGet& get) {
  std::vector<CheckResult> results;
  results.push_back(check_mtls_serves(options, get));
  results.push_back(check_plain_refused(options));
  results.push_back(check_old_port_closed(options));
  if (options.probe_logs.empty()) {
    auto none = make_check("sidecar-mtls", "probes report transport mtls");
    set(none, CheckStatus::warn, "no --probe-log given: the probes' transport was not checked");
    results.push_back(std::move(none));
  }
  for (const auto& log : options.probe_logs) {
    results.push_back(check_probe_log(options, log));
  }
  results.push_back(check_bearer_retired(options));
  return results;
}

bool verify_passed(const std::vector<CheckResult>& results) {
  return std::none_of(results.begin(), results.end(),
                      [](const CheckResult& r) { return r.status == CheckStatus::fail; });
}

nlohmann::ordered_json to_json(const std::vector<CheckResult>& results) {
  nlohmann::ordered_json json;
  json["passed"] = verify_passed(results);
  json["checks"] = nlohmann::ordered_json::array();
  for (const auto& result : results) {
    nlohmann::ordered_json check;
    check["id"] = result.id;
    check["title"] = result.title;
    check["status"] = to_string(result.status);
    check["summary"] = result.summary;
    check["evidence"] = nlohmann::ordered_json::object();
    for (const auto& [key, value] : result.evidence) {
      // A repeated key (several listeners) becomes an array.
      auto& slot = check["evidence"][key];
      if (slot.is_null()) {
        slot = value;
      } else {
        if (!slot.is_array()) {
          slot = nlohmann::ordered_json::array({slot});
        }
        slot.push_back(value);
      }
    }
    json["checks"].push_back(std::move(check));
  }
  return json;
}

}  // namespace sanctum::ops
