#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/config.hpp"
#include "support/temp_dir.hpp"

namespace sanctum::config {
namespace {

namespace fs = std::filesystem;

struct Loaded {
  Result<Config> config;
  std::vector<Problem> problems;
};

Loaded load_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
  std::vector<Problem> problems;
  Result<Config> config = load(path, problems);
  return Loaded{std::move(config), std::move(problems)};
}

std::string describe(const std::vector<Problem>& problems) {
  std::string out;
  for (const Problem& problem : problems) {
    out += to_string(problem) + "\n";
  }
  return out;
}

constexpr const char* kEveryField = R"(threads = 3
plain = false
identity_header = "X-Client"

[tls]
cert = "certs/server.crt"
key = "/etc/sanctum/server.key"
client_ca = "certs/ca.crt"
crl = "certs/crl.pem"
session_tickets = true

[timeouts]
handshake = "2s"
request_head = "3s"
request_body = "4s"
keepalive_idle = "5s"
upstream_connect = "250ms"
upstream_first_byte = "15m"
stream_idle = "1h"
drain = "0ms"

[limits]
max_body_bytes = "8MiB"
max_header_bytes = 16384
max_connections = 100
upstream_pool_size = 4

[echo]
chunk_delay = "20ms"

[log]
level = "debug"
access_log = "logs/access.jsonl"

[[listener]]
name = "mtls"
bind = ["127.0.0.1:1337", "[::1]:1337"]
tls = true
upstream = "http://127.0.0.1:8080/api"
auth = "mtls"
allow = ["guardian", "spiffe://sanctum/canary"]

[[listener]]
name = "bearer"
bind = "0.0.0.0:1338"
tls = false
upstream = "echo"
auth = "bearer"
auth_token_file = "secrets/council-mlx.token"
loopback_bypass = true

[[listener]]
name = "open"
bind = "10.10.10.1:1337"
tls = false
upstream = "http://127.0.0.1:1234"
unsafe_open = true
)";

TEST(LoadConfig, ReadsEveryField) {
  test::TempDir dir;
  Loaded loaded = load_file(dir / "sanctum.toml", kEveryField);
  ASSERT_TRUE(loaded.config.ok()) << describe(loaded.problems);
  ASSERT_TRUE(loaded.problems.empty()) << describe(loaded.problems);
  const Config& config = *loaded.config;

  EXPECT_EQ(config.source_file, dir / "sanctum.toml");
  EXPECT_EQ(config.threads, 3);
  EXPECT_FALSE(config.plain);
  EXPECT_EQ(config.identity_header, "X-Client");

  EXPECT_EQ(config.tls.cert_file, dir / "certs/server.crt");
  EXPECT_EQ(config.tls.key_file, fs::path("/etc/sanctum/server.key"));
  EXPECT_EQ(config.tls.client_ca_file, dir / "certs/ca.crt");
  EXPECT_EQ(config.tls.crl_file, dir / "certs/crl.pem");
  EXPECT_TRUE(config.tls.session_tickets);

  EXPECT_EQ(config.timeouts.handshake, Duration(2'000));
  EXPECT_EQ(config.timeouts.request_head, Duration(3'000));
  EXPECT_EQ(config.timeouts.request_body, Duration(4'000));
  EXPECT_EQ(config.timeouts.keepalive_idle, Duration(5'000));
  EXPECT_EQ(config.timeouts.upstream_connect, Duration(250));
  EXPECT_EQ(config.timeouts.upstream_first_byte, Duration(900'000));
  EXPECT_EQ(config.timeouts.stream_idle, Duration(3'600'000));
  EXPECT_EQ(config.timeouts.drain, Duration(0));

  EXPECT_EQ(config.limits.max_body_bytes, 8u * 1024 * 1024);
  EXPECT_EQ(config.limits.max_header_bytes, 16384u);
  EXPECT_EQ(config.limits.max_connections, 100u);
  EXPECT_EQ(config.limits.upstream_pool_size, 4u);

  EXPECT_EQ(config.echo.chunk_delay, Duration(20));
  EXPECT_EQ(config.log.level, "debug");
  EXPECT_EQ(config.log.access_log, (dir / "logs/access.jsonl").string());

  ASSERT_EQ(config.listeners.size(), 3u);
  const ListenerConfig& mtls = config.listeners[0];
  EXPECT_EQ(mtls.name, "mtls");
  ASSERT_EQ(mtls.bind.size(), 2u);
  EXPECT_EQ(to_string(mtls.bind[0]), "127.0.0.1:1337");
  EXPECT_EQ(to_string(mtls.bind[1]), "[::1]:1337");
  EXPECT_TRUE(mtls.tls);
  EXPECT_EQ(mtls.upstream.host, "127.0.0.1");
  EXPECT_EQ(mtls.upstream.port, 8080);
  EXPECT_EQ(mtls.upstream.base_path, "/api");
  EXPECT_EQ(mtls.auth, AuthMode::mtls);
  EXPECT_EQ(mtls.allow, (std::vector<std::string>{"guardian", "spiffe://sanctum/canary"}));
  EXPECT_EQ(mtls.source_line, 35);

  const ListenerConfig& bearer = config.listeners[1];
  EXPECT_EQ(bearer.name, "bearer");
  ASSERT_EQ(bearer.bind.size(), 1u);
  EXPECT_EQ(to_string(bearer.bind[0]), "0.0.0.0:1338");
  EXPECT_FALSE(bearer.tls);
  EXPECT_TRUE(bearer.upstream.echo);
  EXPECT_EQ(bearer.auth, AuthMode::bearer);
  EXPECT_EQ(bearer.auth_token_file, dir / "secrets/council-mlx.token");
  EXPECT_TRUE(bearer.loopback_bypass);
  EXPECT_FALSE(bearer.unsafe_open);
  EXPECT_EQ(bearer.source_line, 43);

  const ListenerConfig& open = config.listeners[2];
  EXPECT_EQ(open.auth, AuthMode::none);
  EXPECT_TRUE(open.unsafe_open);
  EXPECT_EQ(open.upstream.port, 1234);
}

TEST(LoadConfig, KeepsDefaultsForAbsentKeys) {
  test::TempDir dir;
  Loaded loaded = load_file(dir / "sanctum.toml", R"([[listener]]
name = "mtls"
bind = "127.0.0.1:1337"
upstream = "echo"

[[listener]]
name = "plain"
bind = "127.0.0.1:1338"
tls = false
upstream = "echo"
)");
  ASSERT_TRUE(loaded.config.ok()) << describe(loaded.problems);
  const Config& config = *loaded.config;
  const Config defaults;

  EXPECT_EQ(config.threads, 0);
  EXPECT_TRUE(config.plain);
  EXPECT_EQ(config.identity_header, "X-Sanctum-Client");
  EXPECT_TRUE(config.tls.cert_file.empty());
  EXPECT_TRUE(config.tls.crl_file.empty());
  EXPECT_FALSE(config.tls.session_tickets);
  EXPECT_EQ(config.timeouts.handshake, defaults.timeouts.handshake);
  EXPECT_EQ(config.timeouts.upstream_first_byte, defaults.timeouts.upstream_first_byte);
  EXPECT_EQ(config.limits.max_body_bytes, defaults.limits.max_body_bytes);
  EXPECT_EQ(config.log.level, "info");
  EXPECT_EQ(config.log.access_log, "-");

  ASSERT_EQ(config.listeners.size(), 2u);
  EXPECT_TRUE(config.listeners[0].tls);
  EXPECT_EQ(config.listeners[0].auth, AuthMode::mtls);
  EXPECT_FALSE(config.listeners[1].tls);
  EXPECT_EQ(config.listeners[1].auth, AuthMode::none);
}

TEST(LoadConfig, ResolvesRelativePathsAgainstConfigFolder) {
  test::TempDir dir;
  Loaded loaded = load_file(dir / "etc/sanctum/sanctum.toml", R"(
[tls]
cert = "../certs/server.crt"
key = "server.key"
client_ca = "/srv/ca.crt"

[log]
access_log = ""

[[listener]]
name = "bearer"
bind = "127.0.0.1:1337"
tls = false
auth = "bearer"
upstream = "echo"
auth_token_file = "secrets/token"
)");
  ASSERT_TRUE(loaded.config.ok()) << describe(loaded.problems);
  const Config& config = *loaded.config;

  EXPECT_EQ(config.tls.cert_file, dir / "etc/certs/server.crt");
  EXPECT_EQ(config.tls.key_file, dir / "etc/sanctum/server.key");
  EXPECT_EQ(config.tls.client_ca_file, fs::path("/srv/ca.crt"));
  EXPECT_EQ(config.log.access_log, "");
  EXPECT_EQ(config.listeners[0].auth_token_file, dir / "etc/sanctum/secrets/token");
}

TEST(LoadConfig, ReportsEveryProblemInOnePass) {
  test::TempDir dir;
  fs::path path = dir / "sanctum.toml";
  Loaded loaded = load_file(path, R"(threads = "four"

[timeouts]
handshake = 10
)");
  ASSERT_FALSE(loaded.config.ok());
  ASSERT_EQ(loaded.problems.size(), 2u) << describe(loaded.problems);
  EXPECT_EQ(loaded.config.error().message, "2 problems in " + path.string());
  EXPECT_EQ(to_string(loaded.problems[0]),
            path.string() + ":1: threads: expected a whole number such as 4");
  EXPECT_EQ(loaded.problems[1].key, "timeouts.handshake");
  EXPECT_EQ(loaded.problems[1].line, 4);
}

TEST(LoadConfig, ReportsMissingFile) {
  test::TempDir dir;
  std::vector<Problem> problems;
  Result<Config> config = load(dir / "absent.toml", problems);
  ASSERT_FALSE(config.ok());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].file, (dir / "absent.toml").string());
  EXPECT_NE(problems[0].message.find("cannot read"), std::string::npos) << problems[0].message;
}

TEST(LoadConfig, CountsOnlyProblemsItAdds) {
  test::TempDir dir;
  fs::path path = dir / "sanctum.toml";
  std::ofstream(path) << "[[listener]]\nname = \"a\"\nbind = \"127.0.0.1:1\"\nupstream = \"echo\"\n";
  std::vector<Problem> problems = {Problem{"", 0, "", "earlier problem"}};
  Result<Config> config = load(path, problems);
  EXPECT_TRUE(config.ok());
  EXPECT_EQ(problems.size(), 1u);
}

// One bad input, and the problem load() must report for it.
struct BadInput {
  std::string name;
  std::string toml;
  std::string key;
  int line;
  std::string message_part;
};

void PrintTo(const BadInput& input, std::ostream* out) { *out << input.name; }

class LoadBadInput : public testing::TestWithParam<BadInput> {};

TEST_P(LoadBadInput, ReportsKeyLineAndMessage) {
  const BadInput& input = GetParam();
  test::TempDir dir;
  fs::path path = dir / "sanctum.toml";
  Loaded loaded = load_file(path, input.toml);

  ASSERT_FALSE(loaded.config.ok());
  ASSERT_EQ(loaded.problems.size(), 1u) << describe(loaded.problems);
  const Problem& problem = loaded.problems[0];
  EXPECT_EQ(problem.file, path.string());
  EXPECT_EQ(problem.key, input.key);
  EXPECT_EQ(problem.line, input.line);
  EXPECT_NE(problem.message.find(input.message_part), std::string::npos) << problem.message;
}

// Each case's listener is valid apart from the one line under test.
const std::string kListener = "[[listener]]\nname = \"a\"\nbind = \"127.0.0.1:1337\"\n";

INSTANTIATE_TEST_SUITE_P(
    Cases, LoadBadInput,
    testing::Values(
        BadInput{"UnknownTopLevelKey", "thread = 4\n", "thread", 1,
                 "unknown key; expected one of: threads, plain, identity_header"},
        BadInput{"UnknownListenerKey", kListener + "upstream = \"echo\"\nbnd = \"x\"\n",
                 "listener[0].bnd", 5, "unknown key; expected one of: name, bind, tls"},
        BadInput{"UnknownTable", "[listeners]\nname = \"a\"\n", "listeners", 1, "unknown key"},
        BadInput{"UnknownTlsKey", "[tls]\ncert = \"a\"\ncerts = \"b\"\n", "tls.certs", 3,
                 "expected one of: cert, key, client_ca, crl, session_tickets"},
        BadInput{"SessionTicketsAsString", "[tls]\nsession_tickets = \"yes\"\n",
                 "tls.session_tickets", 2, "expected true or false"},
        BadInput{"BoolAsString", "plain = \"no\"\n", "plain", 1, "expected true or false"},
        BadInput{"ThreadsAsFloat", "threads = 1.5\n", "threads", 1, "expected a whole number"},
        BadInput{"ThreadsOutOfRange", "threads = 9999999999\n", "threads", 1, "out of range"},
        BadInput{"DurationWithoutUnit", "[timeouts]\nhandshake = \"10\"\n", "timeouts.handshake",
                 2, "invalid duration \"10\""},
        BadInput{"DurationAsNumber", "[timeouts]\n\nstream_idle = 300\n", "timeouts.stream_idle",
                 3, "expected a duration such as \"10s\""},
        BadInput{"DurationBadUnit", "[echo]\nchunk_delay = \"5us\"\n", "echo.chunk_delay", 2,
                 "unit must be ms, s, m or h"},
        BadInput{"SizeDecimalUnit", "[limits]\nmax_body_bytes = \"32MB\"\n",
                 "limits.max_body_bytes", 2, "unit must be B, KiB, MiB or GiB"},
        BadInput{"SizeNegative", "[limits]\nmax_body_bytes = -1\n", "limits.max_body_bytes", 2,
                 "-1 is negative"},
        BadInput{"CountNegative", "[limits]\nmax_connections = -1\n", "limits.max_connections",
                 2, "-1 is negative"},
        BadInput{"CountWithUnit", "[limits]\nupstream_pool_size = \"4KiB\"\n",
                 "limits.upstream_pool_size", 2, "expected a whole number such as 32"},
        BadInput{"SizeAsBool", "[limits]\nmax_header_bytes = true\n", "limits.max_header_bytes",
                 2, "expected a number of bytes"},
        BadInput{"BindAddressWithoutPort",
                 "[[listener]]\nname = \"a\"\nupstream = \"echo\"\nbind = [\n  \"127.0.0.1:1337\",\n"
                 "  \"127.0.0.1\",\n]\n",
                 "listener[0].bind[1]", 6, "expected IPv4:PORT, [IPv6]:PORT or localhost:PORT"},
        BadInput{"BindAddressHostName",
                 "[[listener]]\nname = \"a\"\nupstream = \"echo\"\nbind = \"example.test:1337\"\n",
                 "listener[0].bind", 4, "is not an IP address"},
        BadInput{"BindAsNumber", "[[listener]]\nname = \"a\"\nupstream = \"echo\"\nbind = 1337\n",
                 "listener[0].bind", 4, "expected a string or an array of strings"},
        BadInput{"BindArrayWithNumber",
                 "[[listener]]\nname = \"a\"\nupstream = \"echo\"\nbind = [\"127.0.0.1:1\", 2]\n",
                 "listener[0].bind[1]", 4, "expected a string"},
        BadInput{"UpstreamHttps", kListener + "upstream = \"https://127.0.0.1:8080\"\n",
                 "listener[0].upstream", 4, "https upstreams are not supported"},
        BadInput{"UpstreamWithoutScheme", kListener + "upstream = \"127.0.0.1:8080\"\n",
                 "listener[0].upstream", 4, "expected \"echo\" or http://HOST:PORT"},
        BadInput{"UnknownAuthMode", kListener + "upstream = \"echo\"\nauth = \"token\"\n",
                 "listener[0].auth", 5, "expected \"mtls\", \"bearer\" or \"none\""},
        BadInput{"EmptyAllowEntry", kListener + "upstream = \"echo\"\nallow = [\"guardian\", \"\"]\n",
                 "listener[0].allow[1]", 5, "not an empty string"},
        BadInput{"UnknownLogLevel", "[log]\nlevel = \"verbose\"\n", "log.level", 2,
                 "expected one of: \"trace\", \"debug\", \"info\", \"warn\", \"error\", \"off\""},
        BadInput{"AccessLogAsBool", "[log]\naccess_log = false\n", "log.access_log", 2,
                 "expected \"-\" for stdout"},
        BadInput{"TildePath", "[tls]\ncert = \"~/.sanctum/certs/server.crt\"\n", "tls.cert", 2,
                 "a leading ~ is not expanded"},
        BadInput{"PathAsNumber", "[tls]\nkey = 5\n", "tls.key", 2, "expected a file path"},
        BadInput{"TlsAsBool", "tls = true\n", "tls", 1, "expected a table, written [tls]"},
        BadInput{"ListenerAsTable", "[listener]\nname = \"a\"\n", "listener", 1,
                 "expected [[listener]] tables"},
        BadInput{"ListenerArrayOfStrings", "listener = [\"a\"]\n", "listener[0]", 1,
                 "expected a [[listener]] table"},
        BadInput{"SecondListenerIndexed",
                 kListener + "upstream = \"echo\"\n\n" + kListener + "upstream = \"echo\"\ntls = 1\n",
                 "listener[1].tls", 10, "expected true or false"},
        BadInput{"SyntaxErrorMissingValue", "threads = 2\n\n[log]\nlevel =\n", "", 4,
                 "invalid TOML"},
        BadInput{"SyntaxErrorDuplicateKey", "plain = true\nplain = false\n", "", 2,
                 "invalid TOML"}),
    [](const testing::TestParamInfo<BadInput>& info) { return info.param.name; });

}  // namespace
}  // namespace sanctum::config
