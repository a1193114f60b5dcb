#include <string>
#include <vector>

#include <boost/beast/http/fields.hpp>
#include <gtest/gtest.h>

#include "http/messages.hpp"

namespace {

namespace http = boost::beast::http;

// The fields left, in order, as "Name: value".
std::vector<std::string> remaining(const http::fields& fields) {
  std::vector<std::string> out;
  for (const auto& field : fields) {
    out.push_back(std::string(field.name_string()) + ": " + std::string(field.value()));
  }
  return out;
}

TEST(HopByHop, FixedNamesGoAndOthersKeepTheirOrder) {
  http::fields fields;
  fields.insert("Host", "example");
  fields.insert("Keep-Alive", "timeout=5");
  fields.insert("TE", "trailers");
  fields.insert("X-First", "1");
  fields.insert("Proxy-Connection", "keep-alive");
  fields.insert("Trailer", "X-Sum");
  fields.insert("Transfer-Encoding", "chunked");
  fields.insert("Upgrade", "h2c");
  fields.insert("X-Second", "2");
  sanctum::http::remove_hop_by_hop(fields);
  EXPECT_EQ(remaining(fields),
            (std::vector<std::string>{"Host: example", "X-First: 1", "X-Second: 2"}));
}

TEST(HopByHop, NamesListedInConnectionGoWhateverTheirCase) {
  http::fields fields;
  fields.insert("Connection", " x-trace ,\tKeep-Alive,,close ");
  fields.insert("X-Trace", "abc");
  fields.insert("x-TRACE", "def");
  fields.insert("X-Tracer", "kept");
  fields.insert("Connection", "X-Other");
  fields.insert("X-Other", "gone");
  fields.insert("Content-Type", "application/json");
  sanctum::http::remove_hop_by_hop(fields);
  EXPECT_EQ(remaining(fields),
            (std::vector<std::string>{"X-Tracer: kept", "Content-Type: application/json"}));
}

TEST(HopByHop, ConnectionNamingItselfRemovesOnlyWhatItLists) {
  http::fields fields;
  fields.insert("Connection", "connection, X-Hop");
  fields.insert("X-Hop", "1");
  fields.insert("X-Kept", "1");
  sanctum::http::remove_hop_by_hop(fields);
  EXPECT_EQ(remaining(fields), (std::vector<std::string>{"X-Kept: 1"}));
}

// More listed names than one pass compares takes the lookup path; the
// result is the same.
TEST(HopByHop, LongConnectionListRemovesEveryListedName) {
  http::fields fields;
  std::string list = "connection";
  for (int i = 0; i < 20; ++i) {
    list += ", X-Hop-" + std::to_string(i);
  }
  fields.insert("Connection", list);
  for (int i = 0; i < 20; ++i) {
    fields.insert("X-Hop-" + std::to_string(i), "gone");
  }
  fields.insert("X-Kept", "1");
  fields.insert("Upgrade", "h2c");
  sanctum::http::remove_hop_by_hop(fields);
  EXPECT_EQ(remaining(fields), (std::vector<std::string>{"X-Kept: 1"}));
}

TEST(HopByHop, OtherFieldsAreLeftAlone) {
  http::fields fields;
  fields.insert("Host", "example");
  fields.insert("Authorization", "Bearer x");
  fields.insert("Content-Length", "2");
  sanctum::http::remove_hop_by_hop(fields);
  EXPECT_EQ(remaining(fields), (std::vector<std::string>{"Host: example", "Authorization: Bearer x",
                                                        "Content-Length: 2"}));
}

}  // namespace
