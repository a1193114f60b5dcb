#include "obs/status.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "obs/counters.hpp"

namespace sanctum::obs {

namespace {

// Client names come from certificates and could hold any character; the
// exposition format needs backslash, quote and newline escaped.
std::string label_value(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string metric_name(std::string_view dotted) {
  std::string name = "sanctum_";
  for (char c : dotted) {
    name += c == '.' ? '_' : c;
  }
  return name + "_total";
}

std::string iso_time(std::chrono::system_clock::time_point t) {
  if (t == std::chrono::system_clock::time_point{}) {
    return "";
  }
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", std::chrono::time_point_cast<std::chrono::seconds>(t));
}

std::string iso_time(std::time_t t) { return iso_time(std::chrono::system_clock::from_time_t(t)); }

double unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

void GatewayStatus::set_listeners(nlohmann::json listeners) {
  std::lock_guard lock(mutex_);
  listeners_ = std::move(listeners);
}

void GatewayStatus::record_reload(const ReloadStatus& reload, std::vector<CertExpiry> loaded) {
  std::lock_guard lock(mutex_);
  last_reload_ = reload;
  if (reload.ok) {
    loaded_ = std::move(loaded);
  }
}

void GatewayStatus::record_upstream_check(const std::string& upstream, const UpstreamCheck& check) {
  std::lock_guard lock(mutex_);
  upstream_checks_[upstream] = check;
}

std::atomic<std::uint64_t>& GatewayStatus::exchange_counter(const std::string& listener,
                                                            const std::string& transport,
                                                            const std::string& client,
                                                            unsigned status) {
  std::lock_guard lock(mutex_);
  return requests_[{listener, transport, client, status}];
}

void GatewayStatus::record_client_certificate(const std::string& name,
                                              const std::string& serial_hex,
                                              std::time_t not_after) {
  std::lock_guard lock(mutex_);
  auto& entry = clients_[name];
  if (entry.serial_hex != serial_hex) {
    entry = CertExpiry{"client", name, serial_hex, not_after};
  }
}

nlohmann::json GatewayStatus::to_json() const {
  std::lock_guard lock(mutex_);
  nlohmann::ordered_json doc;
  doc["listeners"] = listeners_;
  doc["last_reload"] = {{"time", iso_time(last_reload_.time)},
                        {"ok", last_reload_.ok},
                        {"trigger", last_reload_.trigger},
                        {"error", last_reload_.error}};
  nlohmann::ordered_json certificates = nlohmann::ordered_json::array();
  for (const auto& cert : loaded_) {
    certificates.push_back({{"kind", cert.kind},
                            {"name", cert.name},
                            {"serial", cert.serial_hex},
                            {"not_after", iso_time(cert.not_after)}});
  }
  doc["certificates"] = certificates;
  nlohmann::ordered_json clients = nlohmann::ordered_json::array();
  for (const auto& [name, cert] : clients_) {
    clients.push_back({{"name", name}, {"serial", cert.serial_hex}, {"not_after", iso_time(cert.not_after)}});
  }
  doc["clients_seen"] = clients;
  nlohmann::ordered_json upstreams = nlohmann::ordered_json::object();
  for (const auto& [name, check] : upstream_checks_) {
    upstreams[name] = {{"time", iso_time(check.time)}, {"ok", check.ok}, {"error", check.error}};
  }
  doc["upstream_checks"] = upstreams;
  nlohmann::ordered_json counter_values;
  for (std::size_t i = 0; i < kCounterNames.size(); ++i) {
    counter_values[std::string(kCounterNames[i])] = counters().get(static_cast<Counter>(i));
  }
  counter_values["proxy.active_connections"] = counters().active_connections.load();
  counter_values["proxy.active_streams"] = counters().active_streams.load();
  doc["counters"] = counter_values;
  return nlohmann::json::parse(doc.dump());
}

std::string GatewayStatus::to_prometheus() const {
  std::string out;
  for (std::size_t i = 0; i < kCounterNames.size(); ++i) {
    std::string name = metric_name(kCounterNames[i]);
    out += fmt::format("# TYPE {} counter\n{} {}\n", name, name,
                       counters().get(static_cast<Counter>(i)));
  }
  out += fmt::format("# TYPE sanctum_active_connections gauge\nsanctum_active_connections {}\n",
                     counters().active_connections.load());
  out += fmt::format("# TYPE sanctum_active_streams gauge\nsanctum_active_streams {}\n",
                     counters().active_streams.load());

  std::lock_guard lock(mutex_);
  out += "# TYPE sanctum_requests_total counter\n";
  for (const auto& [labels, value] : requests_) {
    const auto& [listener, transport, client, status] = labels;
    out += fmt::format(
        "sanctum_requests_total{{listener=\"{}\",transport=\"{}\",client=\"{}\",status=\"{}\"}} "
        "{}\n",
        label_value(listener), label_value(transport), label_value(client), status,
        value.load(std::memory_order_relaxed));
  }
  out += "# TYPE sanctum_last_reload_timestamp_seconds gauge\n";
  out += fmt::format("sanctum_last_reload_timestamp_seconds {:.0f}\n", unix_seconds(last_reload_.time));
  out += "# TYPE sanctum_certificate_expiry_timestamp_seconds gauge\n";
  auto expiry_line = [&](const CertExpiry& cert) {
    out += fmt::format(
        "sanctum_certificate_expiry_timestamp_seconds{{kind=\"{}\",name=\"{}\",serial=\"{}\"}} "
        "{}\n",
        cert.kind, label_value(cert.name), cert.serial_hex, static_cast<long long>(cert.not_after));
  };
  for (const auto& cert : loaded_) {
    expiry_line(cert);
  }
  for (const auto& [name, cert] : clients_) {
    expiry_line(cert);
  }
  out += "# TYPE sanctum_upstream_up gauge\n";
  for (const auto& [name, check] : upstream_checks_) {
    out += fmt::format("sanctum_upstream_up{{upstream=\"{}\"}} {}\n", label_value(name),
                       check.ok ? 1 : 0);
  }
  return out;
}

GatewayStatus& gateway_status() {
  static GatewayStatus instance;
  return instance;
}

}  // namespace sanctum::obs
