#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/config.hpp"
#include "support/temp_dir.hpp"

namespace sanctum::config {
namespace {

namespace fs = std::filesystem;

constexpr int kMtlsLine = 20;
constexpr int kBearerLine = 30;

void write_file(const fs::path& path, const std::string& text, fs::perms mode) {
  std::ofstream(path) << text;
  fs::permissions(path, mode, fs::perm_options::replace);
}

BindAddress bind(const std::string& text) { return *parse_bind_address(text); }

// A config that validate() accepts: an mTLS listener and a plain bearer
// listener, with every file they reference created in `dir`.
Config valid_config(const test::TempDir& dir) {
  const fs::perms private_mode = fs::perms::owner_read | fs::perms::owner_write;
  write_file(dir / "server.crt", "certificate", private_mode);
  write_file(dir / "server.key", "key", private_mode);
  write_file(dir / "ca.crt", "ca", private_mode);
  write_file(dir / "token", "secret-token\n", private_mode);

  Config config;
  config.source_file = dir / "sanctum.toml";
  config.tls.cert_file = dir / "server.crt";
  config.tls.key_file = dir / "server.key";
  config.tls.client_ca_file = dir / "ca.crt";

  ListenerConfig mtls;
  mtls.name = "mtls";
  mtls.bind = {bind("127.0.0.1:1337"), bind("[::1]:1337")};
  mtls.upstream = *parse_upstream("echo");
  mtls.allow = {"guardian"};
  mtls.source_line = kMtlsLine;

  ListenerConfig bearer;
  bearer.name = "bearer";
  bearer.bind = {bind("127.0.0.1:1338")};
  bearer.tls = false;
  bearer.auth = AuthMode::bearer;
  bearer.upstream = *parse_upstream("http://127.0.0.1:8080");
  bearer.auth_token_file = dir / "token";
  bearer.loopback_bypass = true;
  bearer.source_line = kBearerLine;

  config.listeners = {mtls, bearer};
  return config;
}

std::string describe(const std::vector<Problem>& problems) {
  std::string out;
  for (const Problem& problem : problems) {
    out += to_string(problem) + "\n";
  }
  return out;
}

TEST(Validate, AcceptsValidConfig) {
  test::TempDir dir;
  std::vector<Problem> problems = validate(valid_config(dir));
  EXPECT_TRUE(problems.empty()) << describe(problems);
}

// One change that breaks valid_config(), and the problem validate() must report.
struct BrokenConfig {
  std::string name;
  std::function<void(Config&, const test::TempDir&)> change;
  std::string key;
  int line;
  std::string message_part;
};

void PrintTo(const BrokenConfig& broken, std::ostream* out) { *out << broken.name; }

class ValidateRule : public testing::TestWithParam<BrokenConfig> {};

TEST_P(ValidateRule, ReportsKeyLineAndMessage) {
  const BrokenConfig& broken = GetParam();
  test::TempDir dir;
  Config config = valid_config(dir);
  broken.change(config, dir);

  std::vector<Problem> problems = validate(config);
  ASSERT_EQ(problems.size(), 1u) << describe(problems);
  EXPECT_EQ(problems[0].file, config.source_file.string());
  EXPECT_EQ(problems[0].key, broken.key);
  EXPECT_EQ(problems[0].line, broken.line);
  EXPECT_NE(problems[0].message.find(broken.message_part), std::string::npos)
      << problems[0].message;
}

ListenerConfig& mtls_of(Config& config) { return config.listeners[0]; }
ListenerConfig& bearer_of(Config& config) { return config.listeners[1]; }

INSTANTIATE_TEST_SUITE_P(
    Cases, ValidateRule,
    testing::Values(
        BrokenConfig{"NoListener", [](Config& c, auto&) { c.listeners.clear(); }, "listener", 0,
                     "no listener is configured"},
        BrokenConfig{"EmptyName", [](Config& c, auto&) { mtls_of(c).name = ""; },
                     "listener[0].name", kMtlsLine, "every listener needs a name"},
        BrokenConfig{"NameWithSpace", [](Config& c, auto&) { mtls_of(c).name = "m tls"; },
                     "listener[0].name", kMtlsLine, "invalid name \"m tls\""},
        BrokenConfig{"DuplicateName", [](Config& c, auto&) { bearer_of(c).name = "mtls"; },
                     "listener[1].name", kBearerLine,
                     "duplicate name: listener \"mtls\" (line 20) already uses \"mtls\""},
        BrokenConfig{"NoBindAddress", [](Config& c, auto&) { mtls_of(c).bind.clear(); },
                     "listener[0].bind", kMtlsLine, "give at least one address"},
        BrokenConfig{"DuplicateBind",
                     [](Config& c, auto&) { bearer_of(c).bind = {bind("127.0.0.1:1337")}; },
                     "listener[1].bind[0]", kBearerLine,
                     "127.0.0.1:1337 collides with 127.0.0.1:1337 of listener \"mtls\""},
        BrokenConfig{"WildcardCollidesWithLoopback",
                     [](Config& c, auto&) {
                       bearer_of(c).bind.push_back(bind("[::]:1337"));
                     },
                     "listener[1].bind[1]", kBearerLine, "[::]:1337 collides with [::1]:1337"},
        BrokenConfig{"DuplicateBindInOneListener",
                     [](Config& c, auto&) { mtls_of(c).bind.push_back(bind("[::1]:1337")); },
                     "listener[0].bind[2]", kMtlsLine, "collides"},
        BrokenConfig{"MissingUpstream",
                     [](Config& c, auto&) { mtls_of(c).upstream = UpstreamTarget{}; },
                     "listener[0].upstream", kMtlsLine, "missing: set \"echo\""},
        BrokenConfig{"BearerOnTls",
                     [](Config& c, auto&) {
                       mtls_of(c).auth = AuthMode::bearer;
                       mtls_of(c).allow.clear();
                       mtls_of(c).auth_token_file = bearer_of(c).auth_token_file;
                     },
                     "listener[0].auth", kMtlsLine, "auth = \"bearer\" needs tls = false"},
        BrokenConfig{"NoneOnTls",
                     [](Config& c, auto&) {
                       mtls_of(c).auth = AuthMode::none;
                       mtls_of(c).allow.clear();
                     },
                     "listener[0].auth", kMtlsLine, "auth = \"none\" needs tls = false"},
        BrokenConfig{"MtlsOnPlain",
                     [](Config& c, auto&) {
                       bearer_of(c).auth = AuthMode::mtls;
                       bearer_of(c).auth_token_file.clear();
                       bearer_of(c).loopback_bypass = false;
                     },
                     "listener[1].auth", kBearerLine, "auth = \"mtls\" needs tls = true"},
        BrokenConfig{"TokenFileUnset",
                     [](Config& c, auto&) { bearer_of(c).auth_token_file.clear(); },
                     "listener[1].auth_token_file", kBearerLine,
                     "auth = \"bearer\" needs a file that contains the token"},
        BrokenConfig{"TokenFileMissing",
                     [](Config& c, auto& dir) { bearer_of(c).auth_token_file = dir / "absent"; },
                     "listener[1].auth_token_file", kBearerLine,
                     "No such file or directory"},
        BrokenConfig{"TokenFileGroupReadable",
                     [](Config& c, auto& dir) {
                       fs::permissions(dir / "token",
                                       fs::perms::owner_read | fs::perms::owner_write |
                                           fs::perms::group_read,
                                       fs::perm_options::replace);
                     },
                     "listener[1].auth_token_file", kBearerLine,
                     "has permissions for group or others (mode 0640): run chmod 600 "},
        BrokenConfig{"TokenFileOthersExecutable",
                     [](Config& c, auto& dir) {
                       fs::permissions(dir / "token", fs::perms::others_exec,
                                       fs::perm_options::add);
                     },
                     "listener[1].auth_token_file", kBearerLine, "(mode 0601)"},
        BrokenConfig{"TokenFileEmpty",
                     [](Config& c, auto& dir) {
                       write_file(dir / "empty", "", fs::perms::owner_read);
                       bearer_of(c).auth_token_file = dir / "empty";
                     },
                     "listener[1].auth_token_file", kBearerLine, "is empty"},
        BrokenConfig{"TokenFileIsFolder",
                     [](Config& c, auto& dir) { bearer_of(c).auth_token_file = dir.path(); },
                     "listener[1].auth_token_file", kBearerLine, "not a regular file"},
        BrokenConfig{"TokenFileOnMtlsListener",
                     [](Config& c, auto& dir) { mtls_of(c).auth_token_file = dir / "token"; },
                     "listener[0].auth_token_file", kMtlsLine, "applies only to auth = \"bearer\""},
        BrokenConfig{"LoopbackBypassOnMtls",
                     [](Config& c, auto&) { mtls_of(c).loopback_bypass = true; },
                     "listener[0].loopback_bypass", kMtlsLine,
                     "applies only to auth = \"bearer\""},
        BrokenConfig{"AllowOnBearer", [](Config& c, auto&) { bearer_of(c).allow = {"guardian"}; },
                     "listener[1].allow", kBearerLine, "applies only to auth = \"mtls\""},
        BrokenConfig{"UnsafeOpenOnBearer",
                     [](Config& c, auto&) { bearer_of(c).unsafe_open = true; },
                     "listener[1].unsafe_open", kBearerLine,
                     "applies only to plain listeners with auth = \"none\""},
        BrokenConfig{"OpenPlainOnWildcard",
                     [](Config& c, auto&) {
                       ListenerConfig& open = bearer_of(c);
                       open.auth = AuthMode::none;
                       open.auth_token_file.clear();
                       open.loopback_bypass = false;
                       open.bind = {bind("127.0.0.1:1338"), bind("0.0.0.0:8080")};
                     },
                     "listener[1].bind[1]", kBearerLine,
                     "0.0.0.0:8080 is not a loopback address and this plain listener has no "
                     "authentication"},
        BrokenConfig{"NoTlsListenerWithPlainOff",
                     [](Config& c, auto&) {
                       c.plain = false;
                       c.listeners.erase(c.listeners.begin());
                     },
                     "plain", 0,
                     "--no-plain (plain = false) leaves no listener: add a listener with "
                     "tls = true"},
        BrokenConfig{"CertUnset", [](Config& c, auto&) { c.tls.cert_file.clear(); }, "tls.cert",
                     0, "missing: listener \"mtls\" (line 20) needs the server certificate"},
        BrokenConfig{"KeyMissing", [](Config& c, auto& dir) { c.tls.key_file = dir / "absent"; },
                     "tls.key", 0,
                     "No such file or directory; `sanctum ca issue NAME --server` writes the "
                     "certificate and key, after `sanctum ca init`, or point tls.key at an "
                     "existing file"},
        BrokenConfig{"ClientCaUnset", [](Config& c, auto&) { c.tls.client_ca_file.clear(); },
                     "tls.client_ca", 0, "needs the client CA certificate"},
        BrokenConfig{"CrlMissing", [](Config& c, auto& dir) { c.tls.crl_file = dir / "crl.pem"; },
                     "tls.crl", 0,
                     "; `sanctum ca crl` writes it, or point tls.crl at an existing file"},
        BrokenConfig{"NegativeThreads", [](Config& c, auto&) { c.threads = -1; }, "threads", 0,
                     "-1 is negative"},
        BrokenConfig{"ZeroBodyLimit", [](Config& c, auto&) { c.limits.max_body_bytes = 0; },
                     "limits.max_body_bytes", 0, "must be greater than 0"},
        BrokenConfig{"ZeroPoolSize", [](Config& c, auto&) { c.limits.upstream_pool_size = 0; },
                     "limits.upstream_pool_size", 0, "must be greater than 0"},
        BrokenConfig{"ZeroHandshakeTimeout",
                     [](Config& c, auto&) { c.timeouts.handshake = Duration(0); },
                     "timeouts.handshake", 0, "must be longer than 0ms"},
        BrokenConfig{"ZeroStreamIdleTimeout",
                     [](Config& c, auto&) { c.timeouts.stream_idle = Duration(0); },
                     "timeouts.stream_idle", 0, "must be longer than 0ms"},
        BrokenConfig{"NegativeDrain", [](Config& c, auto&) { c.timeouts.drain = Duration(-1); },
                     "timeouts.drain", 0, "must be 0ms or longer"},
        BrokenConfig{"IdentityHeaderWithColon",
                     [](Config& c, auto&) { c.identity_header = "X-Client:"; }, "identity_header",
                     0, "is not a valid HTTP header name"}),
    [](const testing::TestParamInfo<BrokenConfig>& info) { return info.param.name; });

TEST(Validate, AllowsOpenPlainOffLoopbackWithUnsafeOpen) {
  test::TempDir dir;
  Config config = valid_config(dir);
  ListenerConfig& open = bearer_of(config);
  open.auth = AuthMode::none;
  open.auth_token_file.clear();
  open.loopback_bypass = false;
  open.bind = {bind("10.10.10.1:1337")};
  open.unsafe_open = true;

  std::vector<Problem> problems = validate(config);
  EXPECT_TRUE(problems.empty()) << describe(problems);
}

TEST(Validate, AllowsOpenPlainOnAnyLoopbackAddress) {
  test::TempDir dir;
  Config config = valid_config(dir);
  ListenerConfig& open = bearer_of(config);
  open.auth = AuthMode::none;
  open.auth_token_file.clear();
  open.loopback_bypass = false;
  open.bind = {bind("127.0.0.2:1337"), bind("[::1]:1339")};

  std::vector<Problem> problems = validate(config);
  EXPECT_TRUE(problems.empty()) << describe(problems);
}

TEST(Validate, AllowsRepeatedPortZeroAndZeroDrain) {
  test::TempDir dir;
  Config config = valid_config(dir);
  mtls_of(config).bind = {bind("127.0.0.1:0")};
  bearer_of(config).bind = {bind("127.0.0.1:0")};
  config.timeouts.drain = Duration(0);

  std::vector<Problem> problems = validate(config);
  EXPECT_TRUE(problems.empty()) << describe(problems);
}

TEST(Validate, AllowsSameAddressOnDifferentPorts) {
  test::TempDir dir;
  Config config = valid_config(dir);
  mtls_of(config).bind = {bind("0.0.0.0:1337")};
  bearer_of(config).bind = {bind("127.0.0.1:1338")};

  std::vector<Problem> problems = validate(config);
  EXPECT_TRUE(problems.empty()) << describe(problems);
}

TEST(Validate, SkipsTokenFileOfDroppedPlainListener) {
  test::TempDir dir;
  Config config = valid_config(dir);
  config.plain = false;
  fs::remove(dir / "token");

  std::vector<Problem> problems = validate(config);
  EXPECT_TRUE(problems.empty()) << describe(problems);
}

TEST(Validate, SkipsLoopbackRuleForDroppedPlainListener) {
  test::TempDir dir;
  Config config = valid_config(dir);
  config.plain = false;
  ListenerConfig& open = bearer_of(config);
  open.auth = AuthMode::none;
  open.auth_token_file.clear();
  open.loopback_bypass = false;
  open.bind = {bind("0.0.0.0:8080")};

  std::vector<Problem> problems = validate(config);
  EXPECT_TRUE(problems.empty()) << describe(problems);
}

TEST(Validate, ChecksTextOfDroppedPlainListener) {
  test::TempDir dir;
  Config config = valid_config(dir);
  config.plain = false;
  bearer_of(config).allow = {"guardian"};

  std::vector<Problem> problems = validate(config);
  ASSERT_EQ(problems.size(), 1u) << describe(problems);
  EXPECT_EQ(problems[0].key, "listener[1].allow");
}

TEST(Validate, SkipsTlsFilesWithoutTlsListener) {
  test::TempDir dir;
  Config config = valid_config(dir);
  config.listeners.erase(config.listeners.begin());
  config.tls = TlsConfig{};

  std::vector<Problem> problems = validate(config);
  EXPECT_TRUE(problems.empty()) << describe(problems);
}

TEST(Validate, AllowsEmptyIdentityHeader) {
  test::TempDir dir;
  Config config = valid_config(dir);
  config.identity_header = "";

  std::vector<Problem> problems = validate(config);
  EXPECT_TRUE(problems.empty()) << describe(problems);
}

TEST(Validate, ReportsEveryBrokenRule) {
  test::TempDir dir;
  Config config = valid_config(dir);
  config.threads = -2;
  config.limits.max_connections = 0;
  bearer_of(config).name = "mtls";

  std::vector<Problem> problems = validate(config);
  ASSERT_EQ(problems.size(), 3u) << describe(problems);
}

TEST(Validate, FormatsProblemAsFileLineKeyMessage) {
  test::TempDir dir;
  Config config = valid_config(dir);
  bearer_of(config).allow = {"guardian"};

  std::vector<Problem> problems = validate(config);
  ASSERT_EQ(problems.size(), 1u) << describe(problems);
  EXPECT_EQ(to_string(problems[0]),
            (dir / "sanctum.toml").string() +
                ":30: listener[1].allow: applies only to auth = \"mtls\", which names clients "
                "by certificate");
}

TEST(Validate, LeavesFileEmptyForFlagConfig) {
  test::TempDir dir;
  Config config = valid_config(dir);
  config.source_file.clear();
  mtls_of(config).source_line = 0;
  mtls_of(config).name = "";

  std::vector<Problem> problems = validate(config);
  ASSERT_EQ(problems.size(), 1u) << describe(problems);
  EXPECT_EQ(to_string(problems[0]),
            "listener[0].name: missing: every listener needs a name such as \"mtls\"");
}

}  // namespace
}  // namespace sanctum::config
