#include <gtest/gtest.h>

#include "ops/drift.hpp"
#include "ops/service.hpp"

namespace sanctum::ops {

// Names the manager and the role in test output instead of their bytes.
void PrintTo(ServiceManager manager, std::ostream* out) {
  *out << (manager == ServiceManager::launchd ? "launchd" : "systemd");
}
void PrintTo(ServiceRole role, std::ostream* out) { *out << to_string(role); }

namespace {

RenderOptions options_for(ServiceManager manager, ServiceRole role) {
  RenderOptions options;
  options.manager = manager;
  options.role = role;
  options.binary = "/opt/sanctum/bin/sanctum";
  options.cert_dir = "/home/model/.sanctum/certs";
  options.log_dir = "/home/model/.sanctum/logs";
  if (role == ServiceRole::server) {
    options.config = "/home/model/.sanctum/sanctum.toml";
  }
  if (role == ServiceRole::guardian || role == ServiceRole::canary ||
      role == ServiceRole::parity) {
    options.client = to_string(role);
    options.url = "https://127.0.0.1:1337";
  }
  return options;
}

std::string render_one(const RenderOptions& options, std::size_t index = 0) {
  auto files = render_service(options);
  EXPECT_TRUE(files.ok()) << files.error().message;
  if (!files.ok() || files->size() <= index) {
    return "";
  }
  return (*files)[index].content;
}

TEST(RenderLaunchd, ServerPlistHasLabelArgumentsAndKeepAlive) {
  RenderOptions options = options_for(ServiceManager::launchd, ServiceRole::server);
  options.no_plain = true;
  auto files = render_service(options);
  ASSERT_TRUE(files.ok()) << files.error().message;
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].name, "com.sanctum.server.plist");
  auto plist = parse_plist((*files)[0].content, "rendered");
  ASSERT_TRUE(plist.ok()) << plist.error().message;
  EXPECT_EQ(plist->find("Label")->text, "com.sanctum.server");
  const auto& arguments = plist->find("ProgramArguments")->array;
  ASSERT_EQ(arguments.size(), 5u);
  EXPECT_EQ(arguments[1].text, "serve");
  EXPECT_EQ(arguments[3].text, "/home/model/.sanctum/sanctum.toml");
  EXPECT_EQ(arguments[4].text, "--no-plain");
  EXPECT_TRUE(plist->find("KeepAlive")->boolean);
  EXPECT_TRUE(plist->find("RunAtLoad")->boolean);
  EXPECT_EQ(plist->find("StandardErrorPath")->text, "/home/model/.sanctum/logs/server.stderr.log");
}

TEST(RenderLaunchd, OutputStartsWithDoctype) {
  std::string text = render_one(options_for(ServiceManager::launchd, ServiceRole::canary));
  EXPECT_EQ(text.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC", 0),
            0u);
}

TEST(RenderLaunchd, GuardianRunsEveryThirtySeconds) {
  RenderOptions options = options_for(ServiceManager::launchd, ServiceRole::guardian);
  options.restart_command = "launchctl kickstart -k gui/501/com.sanctum.server";
  auto plist = parse_plist(render_one(options), "rendered");
  ASSERT_TRUE(plist.ok()) << plist.error().message;
  std::vector<std::string> arguments;
  for (const auto& argument : plist->find("ProgramArguments")->array) {
    arguments.push_back(argument.text);
  }
  EXPECT_EQ(arguments,
            (std::vector<std::string>{"/opt/sanctum/bin/sanctum", "probe", "guardian", "--url",
                                      "https://127.0.0.1:1337", "--cert-dir",
                                      "/home/model/.sanctum/certs", "--client", "guardian",
                                      "--log", "/home/model/.sanctum/logs/guardian.log", "--every",
                                      "30s", "--restart-cmd",
                                      "launchctl kickstart -k gui/501/com.sanctum.server"}));
  EXPECT_TRUE(plist->find("KeepAlive")->boolean);
}

TEST(RenderLaunchd, CanaryRunsEveryTenMinutes) {
  auto plist = parse_plist(render_one(options_for(ServiceManager::launchd, ServiceRole::canary)),
                           "rendered");
  ASSERT_TRUE(plist.ok()) << plist.error().message;
  EXPECT_EQ(plist->find("StartInterval")->integer, 600);
  EXPECT_EQ(plist->find("KeepAlive"), nullptr);
  EXPECT_EQ(plist->find("ProgramArguments")->array.back().text, "--once");
}

TEST(RenderLaunchd, ParityRunsNightlyAtThree) {
  RenderOptions options = options_for(ServiceManager::launchd, ServiceRole::parity);
  options.prompts = "/home/model/prompts.jsonl";
  auto plist = parse_plist(render_one(options), "rendered");
  ASSERT_TRUE(plist.ok()) << plist.error().message;
  const PlistValue* interval = plist->find("StartCalendarInterval");
  ASSERT_NE(interval, nullptr);
  EXPECT_EQ(interval->find("Hour")->integer, 3);
  EXPECT_EQ(interval->find("Minute")->integer, 0);
  EXPECT_FALSE(plist->find("RunAtLoad")->boolean);
  EXPECT_EQ(plist->find("ProgramArguments")->array.back().text, "/home/model/prompts.jsonl");
}

TEST(RenderLaunchd, CaCheckRunsDaily) {
  auto plist = parse_plist(render_one(options_for(ServiceManager::launchd, ServiceRole::ca_check)),
                           "rendered");
  ASSERT_TRUE(plist.ok()) << plist.error().message;
  EXPECT_EQ(plist->find("Label")->text, "com.sanctum.ca-check");
  EXPECT_NE(plist->find("StartCalendarInterval"), nullptr);
  std::vector<std::string> arguments;
  for (const auto& argument : plist->find("ProgramArguments")->array) {
    arguments.push_back(argument.text);
  }
  EXPECT_EQ(arguments, (std::vector<std::string>{"/opt/sanctum/bin/sanctum", "ca", "check",
                                                 "--warn-days", "30", "--dir",
                                                 "/home/model/.sanctum/certs"}));
}

TEST(RenderSystemd, ServerUnitRestartsOnFailure) {
  auto files = render_service(options_for(ServiceManager::systemd, ServiceRole::server));
  ASSERT_TRUE(files.ok()) << files.error().message;
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].name, "sanctum-server.service");
  auto unit = parse_unit((*files)[0].content, "rendered");
  ASSERT_TRUE(unit.ok()) << unit.error().message;
  EXPECT_EQ(unit->values("Service", "Restart"), std::vector<std::string>{"on-failure"});
  EXPECT_EQ(unit->values("Service", "ExecStart"),
            std::vector<std::string>{
                "/opt/sanctum/bin/sanctum serve --config /home/model/.sanctum/sanctum.toml"});
  EXPECT_EQ(unit->values("Service", "ExecReload"),
            std::vector<std::string>{"/bin/kill -HUP $MAINPID"});
  EXPECT_EQ(unit->values("Service", "ProtectSystem"), std::vector<std::string>{"strict"});
  // The certificate folder, which also contains ca.key, stays read-only.
  EXPECT_EQ(unit->values("Service", "ReadWritePaths"),
            std::vector<std::string>{"/home/model/.sanctum/logs"});
  EXPECT_EQ(unit->values("Service", "RestrictAddressFamilies"),
            std::vector<std::string>{"AF_INET AF_INET6 AF_UNIX"});
  EXPECT_EQ(unit->values("Install", "WantedBy"), std::vector<std::string>{"default.target"});
}

struct TimerCase {
  const char* name;
  ServiceRole role;
  const char* on_calendar;
};

// Names the case in test output instead of its bytes.
void PrintTo(const TimerCase& c, std::ostream* out) { *out << c.name; }

class RenderSystemdTimer : public ::testing::TestWithParam<TimerCase> {};

TEST_P(RenderSystemdTimer, OneshotServiceWithTimer) {
  auto files = render_service(options_for(ServiceManager::systemd, GetParam().role));
  ASSERT_TRUE(files.ok()) << files.error().message;
  ASSERT_EQ(files->size(), 2u);
  std::string stem = systemd_unit_stem(GetParam().role);
  EXPECT_EQ((*files)[0].name, stem + ".service");
  EXPECT_EQ((*files)[1].name, stem + ".timer");
  auto service = parse_unit((*files)[0].content, "service");
  auto timer = parse_unit((*files)[1].content, "timer");
  ASSERT_TRUE(service.ok()) << service.error().message;
  ASSERT_TRUE(timer.ok()) << timer.error().message;
  EXPECT_EQ(service->values("Service", "Type"), std::vector<std::string>{"oneshot"});
  EXPECT_TRUE(service->values("Service", "Restart").empty());
  EXPECT_TRUE(service->values("Service", "ExecReload").empty());
  EXPECT_EQ(service->find("Install"), nullptr);
  EXPECT_EQ(timer->values("Timer", "OnCalendar"), std::vector<std::string>{GetParam().on_calendar});
  EXPECT_EQ(timer->values("Install", "WantedBy"), std::vector<std::string>{"timers.target"});
}

INSTANTIATE_TEST_SUITE_P(Roles, RenderSystemdTimer,
                         ::testing::Values(TimerCase{"Canary", ServiceRole::canary, "*:0/10"},
                                           TimerCase{"Parity", ServiceRole::parity,
                                                     "*-*-* 03:00:00"},
                                           TimerCase{"CaCheck", ServiceRole::ca_check, "daily"}),
                         [](const ::testing::TestParamInfo<TimerCase>& info) {
                           return info.param.name;
                         });

TEST(RenderSystemd, QuotesPathsWithSpacesAndPercent) {
  RenderOptions options = options_for(ServiceManager::systemd, ServiceRole::server);
  options.config = "/home/model/My Configs/100%.toml";
  auto unit = parse_unit(render_one(options), "rendered");
  ASSERT_TRUE(unit.ok()) << unit.error().message;
  auto words = split_command_line(unit->values("Service", "ExecStart").at(0));
  ASSERT_EQ(words.size(), 4u);
  EXPECT_EQ(words[3], "/home/model/My Configs/100%.toml");
}

struct RejectCase {
  const char* name;
  ServiceRole role;
  void (*edit)(RenderOptions&);
  const char* message;
};

// Names the case in test output instead of its bytes.
void PrintTo(const RejectCase& c, std::ostream* out) { *out << c.name; }

class RenderRejects : public ::testing::TestWithParam<RejectCase> {};

TEST_P(RenderRejects, NamesTheFlag) {
  RenderOptions options = options_for(ServiceManager::launchd, GetParam().role);
  GetParam().edit(options);
  auto files = render_service(options);
  ASSERT_FALSE(files.ok());
  EXPECT_NE(files.error().message.find(GetParam().message), std::string::npos)
      << files.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RenderRejects,
    ::testing::Values(
        RejectCase{"ServerWithoutConfig", ServiceRole::server,
                   [](RenderOptions& o) { o.config.clear(); }, "missing --config"},
        RejectCase{"ProbeWithoutClient", ServiceRole::canary,
                   [](RenderOptions& o) { o.client.clear(); }, "missing --client"},
        RejectCase{"NoPlainOnProbe", ServiceRole::guardian,
                   [](RenderOptions& o) { o.no_plain = true; }, "--no-plain does not apply"},
        RejectCase{"PromptsOnCanary", ServiceRole::canary,
                   [](RenderOptions& o) { o.prompts = "/p"; }, "--prompts does not apply"},
        RejectCase{"RestartOnServer", ServiceRole::server,
                   [](RenderOptions& o) { o.restart_command = "x"; },
                   "--restart-cmd does not apply"},
        RejectCase{"UrlOnCaCheck", ServiceRole::ca_check,
                   [](RenderOptions& o) { o.url = "https://x"; }, "--url does not apply"}),
    [](const ::testing::TestParamInfo<RejectCase>& info) { return info.param.name; });

class RenderEveryRole
    : public ::testing::TestWithParam<std::tuple<ServiceManager, ServiceRole>> {};

TEST_P(RenderEveryRole, SameInputSameBytesAndNoDrift) {
  auto [manager, role] = GetParam();
  auto first = render_service(options_for(manager, role));
  auto second = render_service(options_for(manager, role));
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_TRUE(second.ok()) << second.error().message;
  ASSERT_EQ(first->size(), second->size());
  for (std::size_t i = 0; i < first->size(); ++i) {
    EXPECT_EQ((*first)[i].content, (*second)[i].content);
    if (manager == ServiceManager::launchd) {
      auto plist = parse_plist((*first)[i].content, "rendered");
      ASSERT_TRUE(plist.ok()) << plist.error().message;
      EXPECT_TRUE(diff_plists(*plist, *plist).empty());
    } else {
      auto unit = parse_unit((*first)[i].content, "rendered");
      ASSERT_TRUE(unit.ok()) << unit.error().message;
      EXPECT_TRUE(diff_units(*unit, *unit).empty());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, RenderEveryRole,
    ::testing::Combine(::testing::Values(ServiceManager::launchd, ServiceManager::systemd),
                       ::testing::Values(ServiceRole::server, ServiceRole::guardian,
                                         ServiceRole::canary, ServiceRole::parity,
                                         ServiceRole::ca_check)));

TEST(ServiceRole, ParsesNamesAndRejectsOthers) {
  EXPECT_EQ(*parse_service_role("ca-check"), ServiceRole::ca_check);
  EXPECT_EQ(*parse_service_role("parity"), ServiceRole::parity);
  auto bad = parse_service_role("mlx");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("use server, guardian"), std::string::npos);
}

}  // namespace
}  // namespace sanctum::ops
