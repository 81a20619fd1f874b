#include "client/client_config.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ksef::client {
namespace {

using ::testing::HasSubstr;

// An EnvLookup over a fixed map.
EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "/client_config_test.XXXXXX";
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, const std::string& content) const {
    std::string file = path_ + "/" + name;
    std::ofstream(file) << content;
    return file;
  }

 private:
  std::string path_;
};

TEST(ClientConfigTest, ParsesAllKeys) {
  auto settings = ParseClientConfig(
      "# ksef-hsm client\n"
      "\n"
      "server = hsm.example:7443\n"
      "  ca_cert=ca.pem  \n"
      "client_cert = /abs/client.pem   # comment after a value\n"
      "client_key = \"key with #hash.pem\"\n"
      "server_name = ksef-hsm.internal\n"
      "plaintext = no\n"
      "timeout = 1m30s\n",
      "client.conf", "/etc/ksef-hsm");
  ASSERT_TRUE(settings.ok()) << settings.status();
  EXPECT_EQ(settings->server, "hsm.example:7443");
  EXPECT_EQ(settings->ca_cert, "/etc/ksef-hsm/ca.pem");
  EXPECT_EQ(settings->client_cert, "/abs/client.pem");
  EXPECT_EQ(settings->client_key, "/etc/ksef-hsm/key with #hash.pem");
  EXPECT_EQ(settings->server_name, "ksef-hsm.internal");
  EXPECT_EQ(settings->plaintext, false);
  EXPECT_EQ(settings->timeout, absl::Seconds(90));
}

TEST(ClientConfigTest, EmptyFileSetsNothing) {
  auto settings = ParseClientConfig("# nothing\n\n", "c", "");
  ASSERT_TRUE(settings.ok());
  EXPECT_FALSE(settings->server.has_value());
  EXPECT_FALSE(settings->plaintext.has_value());
  EXPECT_FALSE(settings->timeout.has_value());
}

TEST(ClientConfigTest, HashInsideAValueIsKept) {
  auto settings = ParseClientConfig("ca_cert = certs#1/ca.pem\n", "c", "");
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->ca_cert, "certs#1/ca.pem");
}

TEST(ClientConfigTest, ErrorsNameFileAndLine) {
  auto bad_key = ParseClientConfig("server = a:1\nsever = b:2\n", "/etc/c.conf", "");
  ASSERT_FALSE(bad_key.ok());
  EXPECT_THAT(bad_key.status().message(), HasSubstr("/etc/c.conf:2: unknown key \"sever\""));

  auto no_equals = ParseClientConfig("server a:1\n", "c.conf", "");
  ASSERT_FALSE(no_equals.ok());
  EXPECT_THAT(no_equals.status().message(), HasSubstr("c.conf:1: expected \"key = value\""));

  auto twice = ParseClientConfig("timeout = 1s\ntimeout = 2s\n", "c.conf", "");
  ASSERT_FALSE(twice.ok());
  EXPECT_THAT(twice.status().message(), HasSubstr("c.conf:2: \"timeout\" is set twice"));

  auto bad_bool = ParseClientConfig("plaintext = perhaps\n", "c.conf", "");
  ASSERT_FALSE(bad_bool.ok());
  EXPECT_THAT(bad_bool.status().message(), HasSubstr("c.conf:1: invalid plaintext \"perhaps\""));

  auto bad_timeout = ParseClientConfig("timeout = soon\n", "c.conf", "");
  ASSERT_FALSE(bad_timeout.ok());
  EXPECT_THAT(bad_timeout.status().message(), HasSubstr("c.conf:1: invalid timeout \"soon\""));
}

TEST(ClientConfigTest, TimeoutValues) {
  EXPECT_EQ(ParseTimeoutSetting("10s", "t").value(), absl::Seconds(10));
  EXPECT_EQ(ParseTimeoutSetting("500ms", "t").value(), absl::Milliseconds(500));
  EXPECT_EQ(ParseTimeoutSetting("15", "t").value(), absl::Seconds(15));
  EXPECT_EQ(ParseTimeoutSetting("inf", "t").value(), absl::InfiniteDuration());
  EXPECT_FALSE(ParseTimeoutSetting("0", "t").ok());
  EXPECT_FALSE(ParseTimeoutSetting("-5s", "t").ok());
  EXPECT_FALSE(ParseTimeoutSetting("", "t").ok());
  EXPECT_FALSE(ParseTimeoutSetting("ten", "t").ok());
  // Days, alone or before an absl duration.
  EXPECT_EQ(ParseTimeoutSetting("30d", "t").value(), absl::Hours(720));
  EXPECT_EQ(ParseTimeoutSetting("1d12h", "t").value(), absl::Hours(36));
  EXPECT_EQ(ParseTimeoutSetting("720h", "t").value(), absl::Hours(720));
  EXPECT_FALSE(ParseTimeoutSetting("0d", "t").ok());
  EXPECT_FALSE(ParseTimeoutSetting("d", "t").ok());
  EXPECT_FALSE(ParseTimeoutSetting("-1d", "t").ok());
  EXPECT_FALSE(ParseTimeoutSetting("1dx", "t").ok());
}

TEST(ClientConfigTest, BoolValues) {
  for (const char* yes : {"true", "YES", "on", "1"})
    EXPECT_TRUE(ParseBoolSetting(yes, "b").value());
  for (const char* no : {"false", "No", "off", "0"})
    EXPECT_FALSE(ParseBoolSetting(no, "b").value());
  EXPECT_FALSE(ParseBoolSetting("2", "b").ok());
}

TEST(ClientConfigTest, ReadsFileAndResolvesRelativePaths) {
  TempDir dir;
  std::string path = dir.Write("client.conf", "ca_cert = tls/ca.pem\nclient_key = /k.pem\n");
  auto settings = ReadClientConfigFile(path);
  ASSERT_TRUE(settings.ok()) << settings.status();
  EXPECT_EQ(settings->ca_cert, dir.path() + "/tls/ca.pem");
  EXPECT_EQ(settings->client_key, "/k.pem");
}

TEST(ClientConfigTest, MissingFile) {
  auto settings = ReadClientConfigFile("/nonexistent/ksef/client.conf");
  ASSERT_FALSE(settings.ok());
  EXPECT_EQ(settings.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(settings.status().message(),
            "cannot read client config file /nonexistent/ksef/client.conf: No such file or "
            "directory");
}

TEST(ClientConfigTest, Environment) {
  auto settings = SettingsFromEnvironment(FakeEnv({{"KSEF_HSM_SERVER", "env:1"},
                                                   {"KSEF_HSM_CA_CERT", "rel/ca.pem"},
                                                   {"KSEF_HSM_CLIENT_CERT", ""},
                                                   {"KSEF_HSM_PLAINTEXT", "1"},
                                                   {"KSEF_HSM_TIMEOUT", "5s"}}));
  ASSERT_TRUE(settings.ok()) << settings.status();
  EXPECT_EQ(settings->server, "env:1");
  EXPECT_EQ(settings->ca_cert, "rel/ca.pem");       // relative to the working directory
  EXPECT_FALSE(settings->client_cert.has_value());  // empty = unset
  EXPECT_EQ(settings->plaintext, true);
  EXPECT_EQ(settings->timeout, absl::Seconds(5));

  auto bad = SettingsFromEnvironment(FakeEnv({{"KSEF_HSM_TIMEOUT", "x"}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("invalid KSEF_HSM_TIMEOUT \"x\""));
}

TEST(ClientConfigTest, DefaultsWhenNothingIsSet) {
  auto options = ResolveConnectionOptions({}, std::nullopt, FakeEnv({}));
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->server_address, "127.0.0.1:7443");
  EXPECT_EQ(options->ca_cert_file, "");
  EXPECT_FALSE(options->plaintext);
  EXPECT_EQ(options->timeout, absl::Seconds(30));
}

TEST(ClientConfigTest, PrecedenceFlagOverEnvOverFileOverDefault) {
  TempDir dir;
  std::string config = dir.Write("client.conf",
                                 "server = file:1\n"
                                 "ca_cert = ca.pem\n"
                                 "client_cert = client.pem\n"
                                 "client_key = client.key\n"
                                 "timeout = 7s\n"
                                 "plaintext = true\n");
  EnvLookup env = FakeEnv({{"KSEF_HSM_CLIENT_CONFIG", config},
                           {"KSEF_HSM_SERVER", "env:2"},
                           {"KSEF_HSM_CLIENT_CERT", "/env/client.pem"},
                           {"KSEF_HSM_TIMEOUT", "8s"}});
  ConnectionSettings flags;
  flags.server = "flag:3";
  flags.plaintext = false;

  auto options = ResolveConnectionOptions(flags, std::nullopt, env);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->server_address, "flag:3");                     // flag
  EXPECT_FALSE(options->plaintext);                                 // flag beats file
  EXPECT_EQ(options->client_cert_file, "/env/client.pem");          // env beats file
  EXPECT_EQ(options->timeout, absl::Seconds(8));                    // env beats file
  EXPECT_EQ(options->ca_cert_file, dir.path() + "/ca.pem");         // file
  EXPECT_EQ(options->client_key_file, dir.path() + "/client.key");  // file
  EXPECT_EQ(options->server_name_override, "");                     // default
}

TEST(ClientConfigTest, ConfigFlagBeatsConfigEnv) {
  TempDir dir;
  std::string from_env = dir.Write("env.conf", "server = env-file:1\n");
  std::string from_flag = dir.Write("flag.conf", "server = flag-file:1\n");
  auto options =
      ResolveConnectionOptions({}, from_flag, FakeEnv({{"KSEF_HSM_CLIENT_CONFIG", from_env}}));
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->server_address, "flag-file:1");
}

TEST(ClientConfigTest, NamedConfigFileMustExist) {
  auto options = ResolveConnectionOptions(
      {}, std::nullopt, FakeEnv({{"KSEF_HSM_CLIENT_CONFIG", "/nonexistent/client.conf"}}));
  ASSERT_FALSE(options.ok());
  EXPECT_THAT(options.status().message(),
              HasSubstr("cannot read client config file /nonexistent/client.conf"));
}

}  // namespace
}  // namespace ksef::client
