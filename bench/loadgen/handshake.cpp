#include <boost/system/system_error.hpp>

#include "run.hpp"

namespace sanctum::bench {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using net::awaitable;

namespace {

struct SessionFree {
  void operator()(SSL_SESSION* session) const { SSL_SESSION_free(session); }
};
using SessionPtr = std::unique_ptr<SSL_SESSION, SessionFree>;

struct HandshakeState {
  explicit HandshakeState(Run& r) : run(r) {}

  Run& run;
  Samples handshake;  // TCP connect start to TLS handshake done
  Samples total;      // connect start to the response read
  std::uint64_t resumed = 0;
  std::uint64_t non_200 = 0;
};

double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// Opens one connection per request: TCP connect, TLS 1.3 handshake, GET
// /v1/models with "Connection: close", then closes. With --resume the
// session ticket of the previous connection is offered on the next.
awaitable<void> handshake_worker(HandshakeState& state) {
  Run& run = state.run;
  SessionPtr session;
  Request request = models_request();
  request.keep_alive(false);
  while (run.running()) {
    ++run.started_operations;
    auto start = Clock::now();
    try {
      auto stream = co_await connect_tls(run.dialer, session.get());
      auto handshake_done = Clock::now();
      bool resumed = SSL_session_reused(stream->native_handle()) == 1;
      beast::flat_buffer buffer;
      unsigned status = co_await exchange(*stream, buffer, request, run.options.io_timeout);
      auto done = Clock::now();
      if (run.options.resume) {
        // TLS 1.3 tickets arrive after the handshake; reading the response
        // has processed them, so this session carries the newest ticket.
        session.reset(SSL_get1_session(stream->native_handle()));
      }
      // The server closes after the response; close without waiting for
      // its close_notify. Marking the TLS shutdown as done keeps SSL_free
      // from flagging the session as not resumable, which OpenSSL does to
      // any session whose connection ends without a shutdown.
      SSL_set_shutdown(stream->native_handle(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
      beast::error_code ignored;
      beast::get_lowest_layer(*stream).socket().close(ignored);
      if (!run.measuring(start)) {
        continue;
      }
      ++run.operations;
      state.handshake.add(micros(handshake_done - start));
      state.total.add(micros(done - start));
      state.resumed += resumed ? 1 : 0;
      state.non_200 += status == 200 ? 0 : 1;
    } catch (const boost::system::system_error&) {
      session.reset();
      if (run.measuring(start)) {
        ++run.errors;
      }
    }
  }
}

}  // namespace

nlohmann::json run_handshake(const Options& options) {
  if (options.plain) {
    throw std::runtime_error("handshake mode needs TLS: drop --plain");
  }
  Run run(options, options.resume);
  HandshakeState state(run);
  run.start_cpu_sampling();
  run.run_workers(options.connections, [&](int) { return handshake_worker(state); });
  nlohmann::json out;
  run.report(out);
  out["resume"] = options.resume;
  out["resumed"] = state.resumed;
  out["non_200"] = state.non_200;
  out["handshake_us"] = state.handshake.summary();
  out["connection_us"] = state.total.summary();
  return out;
}

}  // namespace sanctum::bench
