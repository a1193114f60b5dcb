#include <string>
#include <utility>
#include <vector>

#include <boost/beast/http/fields.hpp>
#include <gtest/gtest.h>

#include "http/messages.hpp"

namespace {

namespace http = boost::beast::http;

using Lines = std::vector<std::string>;

// Builds fields from (name, value) pairs in order, removes the hop-by-hop
// ones, and returns the rest in order as "Name: value".
Lines stripped(const std::vector<std::pair<std::string, std::string>>& input) {
  http::fields fields;
  for (const auto& [name, value] : input) {
    fields.insert(name, value);
  }
  sanctum::http::remove_hop_by_hop(fields);
  Lines out;
  for (const auto& field : fields) {
    out.push_back(std::string(field.name_string()) + ": " + std::string(field.value()));
  }
  return out;
}

TEST(HopByHop, FixedNamesGoOrderKept) {
  EXPECT_EQ(stripped({{"Host", "example"},
                      {"Keep-Alive", "timeout=5"},
                      {"TE", "trailers"},
                      {"X-First", "1"},
                      {"Proxy-Connection", "keep-alive"},
                      {"Trailer", "X-Sum"},
                      {"Transfer-Encoding", "chunked"},
                      {"Upgrade", "h2c"},
                      {"X-Second", "2"}}),
            (Lines{"Host: example", "X-First: 1", "X-Second: 2"}));
}

TEST(HopByHop, ListedNamesGoInAnyCase) {
  EXPECT_EQ(stripped({{"Connection", " x-trace ,\tKeep-Alive,,close "},
                      {"X-Trace", "abc"},
                      {"x-TRACE", "def"},
                      {"X-Tracer", "kept"},
                      {"Connection", "X-Other"},
                      {"X-Other", "gone"},
                      {"Content-Type", "application/json"}}),
            (Lines{"X-Tracer: kept", "Content-Type: application/json"}));
}

TEST(HopByHop, ConnectionListingItself) {
  EXPECT_EQ(stripped({{"Connection", "connection, X-Hop"}, {"X-Hop", "1"}, {"X-Kept", "1"}}),
            (Lines{"X-Kept: 1"}));
}

// More listed names than one pass compares take the lookup path, with the
// same result.
TEST(HopByHop, LongConnectionListUsesLookups) {
  std::vector<std::pair<std::string, std::string>> input;
  std::string list = "connection";
  for (int i = 0; i < 20; ++i) {
    list += ", X-Hop-" + std::to_string(i);
  }
  input.emplace_back("Connection", list);
  for (int i = 0; i < 20; ++i) {
    input.emplace_back("X-Hop-" + std::to_string(i), "gone");
  }
  input.emplace_back("X-Kept", "1");
  input.emplace_back("Upgrade", "h2c");
  EXPECT_EQ(stripped(input), (Lines{"X-Kept: 1"}));
}

TEST(HopByHop, OtherFieldsAreLeftAlone) {
  EXPECT_EQ(stripped({{"Host", "example"}, {"Authorization", "Bearer x"}, {"Content-Length", "2"}}),
            (Lines{"Host: example", "Authorization: Bearer x", "Content-Length: 2"}));
}

}  // namespace
