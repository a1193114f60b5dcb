#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>

namespace sanctum::proxy {

// A Beast body type for relaying a response without copying its body. The
// reader keeps views of the body bytes where the parser found them, in the
// caller's read buffer, instead of copying them out. The views stay valid
// until the read buffer is read into again, so the caller sends them on
// before its next read. When all kMaxPieces views are in use, the reader
// stops the parser with http::error::need_buffer, as Beast's buffer_body
// does when its buffer is full.
struct BodyViews {
  struct value_type {
    static constexpr std::size_t kMaxPieces = 4;
    std::array<boost::asio::const_buffer, kMaxPieces> pieces;
    std::size_t count = 0;
    std::size_t bytes = 0;

    void clear() {
      count = 0;
      bytes = 0;
    }
  };

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(boost::beast::http::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>&, boost::beast::error_code& ec) { ec = {}; }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
      ec = {};
      std::size_t consumed = 0;
      for (auto it = boost::asio::buffer_sequence_begin(buffers);
           it != boost::asio::buffer_sequence_end(buffers); ++it) {
        boost::asio::const_buffer piece(*it);
        if (piece.size() == 0) {
          continue;
        }
        if (body_.count == value_type::kMaxPieces) {
          ec = boost::beast::http::error::need_buffer;
          break;
        }
        body_.pieces[body_.count++] = piece;
        body_.bytes += piece.size();
        consumed += piece.size();
      }
      return consumed;
    }

    void finish(boost::beast::error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

}  // namespace sanctum::proxy
