#pragma once

#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "proxy/runtime.hpp"
#include "tls/identity.hpp"

namespace sanctum::proxy {

// The client of one connection, decided once when the connection starts
// (after the handshake for TLS listeners).
struct Peer {
  Connection* connection = nullptr;
  std::optional<tls::PeerIdentity> identity;  // set on mTLS listeners
  boost::asio::ip::tcp::socket* socket = nullptr;  // the client's TCP socket
};

// Reads requests from `stream` until the client closes, the connection
// times out, a response cannot be kept alive, or the worker drains. Each
// request is authorised, forwarded to the listener's upstream, and its
// response relayed as it arrives. `buffer` may already hold bytes read from
// the stream. Instantiated for tcp::socket (plain listeners) and
// tls::ServerStream.
template <class Stream>
boost::asio::awaitable<void> serve_requests(Stream& stream, boost::beast::flat_buffer& buffer,
                                            const ListenerRuntime& listener, Worker& worker,
                                            Peer& peer);

}  // namespace sanctum::proxy
