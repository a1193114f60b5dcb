#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sanctum::client {

// Splits a text/event-stream body into events as its pieces arrive, in any
// split. Lines may end in LF, CRLF or CR. Only the "data" field is kept:
// the data lines of one event are joined with "\n", and an event without
// data lines (a comment or a bare "event:" line) yields nothing. Follows the
// HTML Living Standard's "Parsing an event stream" section, minus the id,
// event and retry fields.
class SseParser {
 public:
  // Feeds one piece and returns the data of each event it completed.
  std::vector<std::string> feed(std::string_view piece);

 private:
  void end_line(std::vector<std::string>& events);

  std::string line_;
  std::string data_;
  bool has_data_ = false;
  bool after_cr_ = false;  // the last character was CR, so a following LF is part of it
};

}  // namespace sanctum::client
