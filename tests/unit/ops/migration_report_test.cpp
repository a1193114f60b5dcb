#include "ops/migration_report.hpp"

#include <sstream>

#include <gtest/gtest.h>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace sanctum::ops {
namespace {

using namespace std::chrono_literals;

TimePoint at(const char* text) { return *parse_timestamp(text); }

std::string record(const char* time, const char* transport, const char* client, const char* peer,
                   const char* outcome = "complete") {
  nlohmann::json json{{"time", time},   {"transport", transport}, {"client", client},
                      {"peer", peer},   {"method", "GET"},        {"path", "/v1/models"},
                      {"status", 200},  {"outcome", outcome}};
  return json.dump() + "\n";
}

MigrationReport report_of(const std::string& text, TimePoint since, TimePoint now) {
  std::istringstream in(text);
  return build_migration_report(in, since, now);
}

const Caller* find(const MigrationReport& report, const std::string& identity) {
  for (const auto& caller : report.callers) {
    if (caller.identity == identity) {
      return &caller;
    }
  }
  return nullptr;
}

TEST(MigrationReport, GroupsByClientAndAddress) {
  std::string log = record("2026-04-21T09:00:00.125Z", "mtls", "guardian", "127.0.0.1:40000") +
                    record("2026-04-21T10:00:00Z", "mtls", "guardian", "127.0.0.1:40001") +
                    record("2026-04-21T11:00:00Z", "plain-loopback", "", "127.0.0.1:40002") +
                    record("2026-04-21T12:00:00Z", "plain-bearer", "", "[::1]:40003") +
                    record("2026-04-21T12:30:00Z", "plain-bearer", "", "[::1]:40004");
  auto report = report_of(log, at("2026-04-20T00:00:00Z"), at("2026-04-22T00:00:00Z"));
  EXPECT_EQ(report.in_window, 5u);
  EXPECT_EQ(report.malformed, 0u);
  ASSERT_EQ(report.callers.size(), 3u);
  EXPECT_TRUE(report.plain_in_use());

  const Caller* guardian = find(report, "guardian");
  ASSERT_NE(guardian, nullptr);
  EXPECT_EQ(guardian->kind, "client");
  EXPECT_FALSE(guardian->uses_plain_listener());
  EXPECT_EQ(guardian->transports.at("mtls").accepted, 2u);
  EXPECT_EQ(guardian->transports.at("mtls").last_seen, at("2026-04-21T10:00:00Z"));

  const Caller* v6 = find(report, "::1");
  ASSERT_NE(v6, nullptr);
  EXPECT_EQ(v6->kind, "address");
  EXPECT_EQ(v6->transports.at("plain-bearer").accepted, 2u);
  EXPECT_EQ(v6->transports.at("plain-bearer").last_seen, at("2026-04-21T12:30:00Z"));

  // Plain-listener users come first.
  EXPECT_TRUE(report.callers[0].uses_plain_listener());
  EXPECT_TRUE(report.callers[1].uses_plain_listener());
  EXPECT_EQ(report.callers[2].identity, "guardian");
}

TEST(MigrationReport, WindowExcludesOlderPlainTraffic) {
  std::string log = record("2026-04-10T00:00:00Z", "plain-loopback", "", "127.0.0.1:1") +
                    record("2026-04-21T00:00:00Z", "mtls", "canary", "127.0.0.1:2");
  auto report = report_of(log, at("2026-04-15T00:00:00Z"), at("2026-04-22T00:00:00Z"));
  EXPECT_EQ(report.before_window, 1u);
  EXPECT_EQ(report.in_window, 1u);
  EXPECT_FALSE(report.plain_in_use());
  ASSERT_EQ(report.callers.size(), 1u);
  EXPECT_EQ(report.callers[0].identity, "canary");
}

TEST(MigrationReport, DeniedPlainRequestsDoNotBlock) {
  std::string log = record("2026-04-21T00:00:00Z", "plain-bearer", "", "192.0.2.7:1", "rejected") +
                    record("2026-04-21T00:00:01Z", "plain-on-tls", "", "192.0.2.8:1", "rejected");
  auto report = report_of(log, at("2026-04-20T00:00:00Z"), at("2026-04-22T00:00:00Z"));
  EXPECT_FALSE(report.plain_in_use());
  const Caller* denied = find(report, "192.0.2.7");
  ASSERT_NE(denied, nullptr);
  EXPECT_EQ(denied->transports.at("plain-bearer").denied, 1u);
  EXPECT_EQ(denied->transports.at("plain-bearer").accepted, 0u);
}

TEST(MigrationReport, PlainOpenCountsAsPlainUse) {
  auto report = report_of(record("2026-04-21T00:00:00Z", "plain-open", "", "127.0.0.1:9"),
                          at("2026-04-20T00:00:00Z"), at("2026-04-22T00:00:00Z"));
  EXPECT_TRUE(report.plain_in_use());
}

TEST(MigrationReport, RejectedHandshakeGroupedByAddress) {
  auto report = report_of(record("2026-04-21T00:00:00Z", "mtls", "", "127.0.0.1:9", "rejected"),
                          at("2026-04-20T00:00:00Z"), at("2026-04-22T00:00:00Z"));
  ASSERT_EQ(report.callers.size(), 1u);
  EXPECT_EQ(report.callers[0].kind, "address");
  EXPECT_EQ(report.callers[0].identity, "127.0.0.1");
}

TEST(MigrationReport, MalformedLinesCountedNotFatal) {
  std::string log = "not json\n" + record("2026-04-21T00:00:00Z", "mtls", "guardian", "x:1") +
                    "\n" + "{\"time\": \"yesterday\", \"transport\": \"mtls\"}\n" +
                    "{\"time\": \"2026-04-21T00:00:00Z\"}\n" + "[1, 2]\n";
  auto report = report_of(log, at("2026-04-20T00:00:00Z"), at("2026-04-22T00:00:00Z"));
  EXPECT_EQ(report.malformed, 4u);
  EXPECT_EQ(report.first_malformed_line, 1u);
  EXPECT_EQ(report.in_window, 1u);
  EXPECT_EQ(report.lines, 5u);
}

TEST(MigrationReport, JsonHasVerdictAndCallers) {
  auto report = report_of(record("2026-04-21T00:00:00Z", "plain-loopback", "", "127.0.0.1:9"),
                          at("2026-04-20T00:00:00Z"), at("2026-04-22T00:00:00Z"));
  auto json = to_json(report);
  EXPECT_EQ(json["plain_in_use"], true);
  EXPECT_EQ(json["no_plain_safe"], false);
  EXPECT_EQ(json["since"], "2026-04-20T00:00:00Z");
  EXPECT_EQ(json["callers"][0]["identity"], "127.0.0.1");
  EXPECT_EQ(json["callers"][0]["transports"]["plain-loopback"]["last_seen"],
            "2026-04-21T00:00:00Z");
}

TEST(MigrationReport, UnreadableFileIsAnError) {
  test::TempDir dir;
  auto missing = read_migration_report(dir / "missing.log", TimePoint{}, TimePoint{});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("missing.log"), std::string::npos);
  auto folder = read_migration_report(dir.path(), TimePoint{}, TimePoint{});
  EXPECT_FALSE(folder.ok());
}

}  // namespace
}  // namespace sanctum::ops
