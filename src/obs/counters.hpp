#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sanctum::obs {

// Every counter the gateway keeps. The dotted names in kCounterNames are
// public surface (status document, metrics, tests): rename none of them.
#define SANCTUM_COUNTERS(X)                                        \
  X(tls_handshake_ok, "tls.handshake_ok")                          \
  X(tls_handshake_timeout, "tls.handshake_timeout")                \
  X(tls_fail_no_client_cert, "tls.fail_no_client_cert")            \
  X(tls_fail_unknown_ca, "tls.fail_unknown_ca")                    \
  X(tls_fail_expired, "tls.fail_expired")                          \
  X(tls_fail_not_yet_valid, "tls.fail_not_yet_valid")              \
  X(tls_fail_wrong_usage, "tls.fail_wrong_usage")                  \
  X(tls_fail_revoked, "tls.fail_revoked")                          \
  X(tls_fail_client_rejected_server, "tls.fail_client_rejected_server") \
  X(tls_fail_other, "tls.fail_other")                              \
  X(tls_plain_http_rejected, "tls.plain_http_rejected")            \
  X(auth_denied, "auth.denied")                                    \
  X(http_bad_request, "http.bad_request")                          \
  X(http_request_timeout, "http.request_timeout")                  \
  X(http_body_too_large, "http.body_too_large")                    \
  X(http_header_too_large, "http.header_too_large")                \
  X(proxy_requests, "proxy.requests")                              \
  X(proxy_upstream_connect_error, "proxy.upstream_connect_error")  \
  X(proxy_upstream_timeout, "proxy.upstream_timeout")              \
  X(proxy_upstream_error, "proxy.upstream_error")                  \
  X(proxy_upstream_reused, "proxy.upstream_reused")                \
  X(proxy_stream_complete, "proxy.stream_complete")                \
  X(proxy_stream_client_cancel, "proxy.stream_client_cancel")      \
  X(proxy_stream_upstream_cut, "proxy.stream_upstream_cut")        \
  X(proxy_stream_timeout, "proxy.stream_timeout")                  \
  X(proxy_session_error, "proxy.session_error")                    \
  X(proxy_connections_accepted, "proxy.connections_accepted")      \
  X(proxy_connections_rejected, "proxy.connections_rejected")      \
  X(reload_ok, "reload.ok")                                        \
  X(reload_failed, "reload.failed")

enum class Counter : std::size_t {
#define SANCTUM_COUNTER_ENUM(id, name) id,
  SANCTUM_COUNTERS(SANCTUM_COUNTER_ENUM)
#undef SANCTUM_COUNTER_ENUM
      count
};

inline constexpr std::array<std::string_view, static_cast<std::size_t>(Counter::count)>
    kCounterNames = {
#define SANCTUM_COUNTER_NAME(id, name) name,
        SANCTUM_COUNTERS(SANCTUM_COUNTER_NAME)
#undef SANCTUM_COUNTER_NAME
};

// Process-wide counters and gauges. Increments are relaxed atomics, so any
// thread may call them.
class Counters {
 public:
  void add(Counter c, std::uint64_t n = 1) {
    values_[static_cast<std::size_t>(c)].fetch_add(n, std::memory_order_relaxed);
  }
  std::uint64_t get(Counter c) const {
    return values_[static_cast<std::size_t>(c)].load(std::memory_order_relaxed);
  }

  std::atomic<std::int64_t> active_connections{0};
  std::atomic<std::int64_t> active_streams{0};

 private:
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(Counter::count)> values_{};
};

// The process's counters.
Counters& counters();

}  // namespace sanctum::obs
