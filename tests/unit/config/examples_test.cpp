#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/config.hpp"
#include "support/temp_dir.hpp"

namespace sanctum::config {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> example_files() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(fs::path(SANCTUM_SOURCE_DIR) / "examples")) {
    if (entry.path().extension() == ".toml") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string describe(const std::vector<Problem>& problems) {
  std::string out;
  for (const Problem& problem : problems) {
    out += to_string(problem) + "\n";
  }
  return out;
}

// Creates `path` and its folders with placeholder content and mode 0600.
void create_placeholder(const fs::path& path) {
  if (path.empty()) {
    return;
  }
  fs::create_directories(path.parent_path());
  std::ofstream(path) << "placeholder\n";
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write,
                  fs::perm_options::replace);
}

Config load_example(const std::string& name) {
  std::vector<Problem> problems;
  Result<Config> config =
      load(fs::path(SANCTUM_SOURCE_DIR) / "examples" / name, problems);
  EXPECT_TRUE(config.ok()) << describe(problems);
  return config.ok() ? *config : Config{};
}

TEST(Examples, LoadWithoutProblems) {
  std::vector<fs::path> files = example_files();
  ASSERT_GE(files.size(), 4u);
  for (const fs::path& file : files) {
    std::vector<Problem> problems;
    Result<Config> config = load(file, problems);
    EXPECT_TRUE(config.ok()) << file << "\n" << describe(problems);
  }
}

// Copies each example into a temporary folder, creates the files it names
// next to it, and expects validate() to accept it.
TEST(Examples, ValidateWhenReferencedFilesExist) {
  for (const fs::path& file : example_files()) {
    test::TempDir dir;
    fs::path copy = dir / file.filename().string();
    fs::copy_file(file, copy);

    std::vector<Problem> problems;
    Result<Config> config = load(copy, problems);
    ASSERT_TRUE(config.ok()) << file << "\n" << describe(problems);
    create_placeholder(config->tls.cert_file);
    create_placeholder(config->tls.key_file);
    create_placeholder(config->tls.client_ca_file);
    create_placeholder(config->tls.crl_file);
    for (const ListenerConfig& listener : config->listeners) {
      create_placeholder(listener.auth_token_file);
    }

    problems = validate(*config);
    EXPECT_TRUE(problems.empty()) << file << "\n" << describe(problems);
  }
}

TEST(Examples, DualPortSharesOneUpstream) {
  Config config = load_example("dual-port.toml");
  ASSERT_EQ(config.listeners.size(), 2u);
  const ListenerConfig& bearer = config.listeners[0];
  const ListenerConfig& mtls = config.listeners[1];

  EXPECT_FALSE(bearer.tls);
  EXPECT_EQ(bearer.auth, AuthMode::bearer);
  EXPECT_TRUE(bearer.loopback_bypass);
  EXPECT_EQ(to_string(bearer.bind.at(0)), "127.0.0.1:1337");
  EXPECT_TRUE(mtls.tls);
  EXPECT_EQ(mtls.auth, AuthMode::mtls);
  EXPECT_EQ(to_string(mtls.bind.at(0)), "127.0.0.1:1338");
  EXPECT_EQ(bearer.upstream.text, "http://127.0.0.1:8080");
  EXPECT_EQ(mtls.upstream.text, "http://127.0.0.1:8080");
}

TEST(Examples, MtlsOnlyLeavesPort1338Unbound) {
  Config config = load_example("mtls-only.toml");
  EXPECT_FALSE(config.plain);
  ASSERT_EQ(config.listeners.size(), 1u);
  const ListenerConfig& mtls = config.listeners[0];
  EXPECT_TRUE(mtls.tls);
  EXPECT_TRUE(mtls.auth_token_file.empty());
  for (const BindAddress& address : mtls.bind) {
    EXPECT_EQ(address.port, 1337) << to_string(address);
  }
}

TEST(Examples, TriageFrontsTwoModelServers) {
  Config config = load_example("triage.toml");
  ASSERT_EQ(config.listeners.size(), 2u);
  EXPECT_TRUE(config.listeners[0].tls);
  EXPECT_FALSE(config.listeners[1].tls);
  EXPECT_EQ(config.listeners[0].upstream.port, 8080);
  EXPECT_EQ(config.listeners[1].upstream.port, 1234);
}

}  // namespace
}  // namespace sanctum::config
