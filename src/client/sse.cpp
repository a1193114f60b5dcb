#include "client/sse.hpp"

namespace sanctum::client {

std::vector<std::string> SseParser::feed(std::string_view piece) {
  std::vector<std::string> events;
  for (char c : piece) {
    if (after_cr_) {
      after_cr_ = false;
      if (c == '\n') {
        continue;
      }
    }
    if (c == '\r' || c == '\n') {
      after_cr_ = c == '\r';
      end_line(events);
      continue;
    }
    line_.push_back(c);
  }
  return events;
}

void SseParser::end_line(std::vector<std::string>& events) {
  if (line_.empty()) {
    if (has_data_) {
      events.push_back(std::move(data_));
    }
    data_.clear();
    has_data_ = false;
    return;
  }
  std::string_view line = line_;
  auto colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (value.starts_with(' ')) {
      value.remove_prefix(1);
    }
  }
  if (field == "data") {
    if (has_data_) {
      data_.push_back('\n');
    }
    data_.append(value);
    has_data_ = true;
  }
  line_.clear();
}

}  // namespace sanctum::client
