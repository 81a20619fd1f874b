#include "service/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ksef::service {
namespace {

// The smallest config that passes the cross-field rules (loopback plaintext).
constexpr absl::string_view kMinimal = "plaintext = true\npin_file = /etc/ksef/pin\n";

::testing::AssertionResult Has(const std::string& message, absl::string_view part) {
  if (absl::StrContains(message, part)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "message \"" << message << "\" lacks \"" << part << "\"";
}

ServerConfig MustParse(absl::string_view text, absl::string_view base_dir = "/cfg") {
  absl::StatusOr<ServerConfig> config = ParseServerConfig(text, "ksef.conf", base_dir);
  EXPECT_TRUE(config.ok()) << config.status() << "\n--- config ---\n" << text;
  return config.ok() ? *std::move(config) : ServerConfig();
}

// Expects INVALID_ARGUMENT and returns the message.
std::string ParseError(absl::string_view text) {
  absl::StatusOr<ServerConfig> config = ParseServerConfig(text, "ksef.conf", "/cfg");
  EXPECT_FALSE(config.ok()) << "parsed unexpectedly:\n" << text;
  if (config.ok()) return "";
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << config.status();
  return std::string(config.status().message());
}

// Appends one option line to the minimal config; the option is on line 3.
std::string ErrorOnLine3(absl::string_view option_line) {
  return ParseError(absl::StrCat(kMinimal, option_line, "\n"));
}

TEST(ServerConfigTest, MetricsAreOffUnlessListenIsSet) {
  const ServerConfig config = MustParse(kMinimal);
  EXPECT_EQ(config.metrics_listen, "");
  EXPECT_FALSE(config.metrics_allow_remote);
  EXPECT_EQ(MustParse(absl::StrCat(kMinimal, "metrics_listen = 127.0.0.1:9464\n")).metrics_listen,
            "127.0.0.1:9464");
  MustParse(absl::StrCat(kMinimal, "metrics_listen = [::1]:0\n"));
  MustParse(absl::StrCat(kMinimal, "metrics_listen = localhost:9464\n"));
}

TEST(ServerConfigTest, MetricsOnARemoteAddressNeedsAllowRemote) {
  const std::string error = ParseError(absl::StrCat(kMinimal, "metrics_listen = 0.0.0.0:9464\n"));
  EXPECT_TRUE(Has(error, "metrics_listen '0.0.0.0:9464' is not a loopback address"));
  EXPECT_TRUE(Has(error, "metrics_allow_remote = true"));
  EXPECT_TRUE(Has(ParseError(absl::StrCat(kMinimal, "metrics_listen = 10.1.2.3:9464\n")),
                  "not a loopback address"));
  const ServerConfig config = MustParse(
      absl::StrCat(kMinimal, "metrics_listen = 0.0.0.0:9464\nmetrics_allow_remote = true\n"));
  EXPECT_EQ(config.metrics_listen, "0.0.0.0:9464");
  EXPECT_TRUE(config.metrics_allow_remote);
  EXPECT_TRUE(Has(ErrorOnLine3("metrics_listen = 9464"),
                  "ksef.conf:3: metrics_listen: expected host:port (for example 127.0.0.1:9464"));
}

TEST(ServerConfigTest, DefaultsWhenAbsent) {
  const ServerConfig config = MustParse(kMinimal);
  EXPECT_EQ(config.listen_address, "127.0.0.1:7443");
  EXPECT_EQ(config.tls_cert_file, "");
  EXPECT_EQ(config.tls_key_file, "");
  EXPECT_EQ(config.tls_client_ca_file, "");
  EXPECT_TRUE(config.require_client_cert);
  EXPECT_FALSE(config.reflection);
  EXPECT_FALSE(config.listen_reuse_port);
  EXPECT_EQ(config.pkcs11_module, "/usr/lib/softhsm/libsofthsm2.so");
  EXPECT_EQ(config.token_label, "ksef-hsm");
  EXPECT_EQ(config.token_serial, "");
  EXPECT_EQ(config.softhsm2_conf, "");
  EXPECT_EQ(config.token_store_dir, "");
  EXPECT_EQ(config.session_pool_size, 8);
  EXPECT_EQ(config.max_concurrent_signs, 4);
  EXPECT_EQ(config.token_check_interval, absl::Seconds(5));
  EXPECT_EQ(config.state_dir, "/var/lib/ksef-hsm");
  EXPECT_EQ(config.registry_store, "sqlite");
  EXPECT_EQ(config.registry_postgres, "");
  EXPECT_EQ(config.audit_store, "sqlite");
  EXPECT_EQ(config.audit_postgres, "");
  EXPECT_EQ(config.destruction_grace_period, absl::Hours(24 * 30));
  EXPECT_EQ(config.destruction_check_interval, absl::Minutes(1));
  EXPECT_EQ(config.node_id, "");
  EXPECT_EQ(config.log_level, "info");
  EXPECT_EQ(config.log_format, "text");
  EXPECT_EQ(config.shutdown_timeout, absl::Seconds(30));
}

TEST(ServerConfigTest, ParsesEveryOption) {
  const ServerConfig config = MustParse(R"(
listen_address = [::]:9443
plaintext = false
tls_cert_file = /tls/server.pem
tls_key_file = /tls/server.key
tls_client_ca_file = /tls/ca.pem
require_client_cert = false
reflection = true
listen_reuse_port = true
pkcs11_module = /opt/hsm/lib/libvendor.so
token_label = prod token
token_serial = 0123456789ABCDEF
pin_file = /etc/ksef/pin
softhsm2_conf = /etc/softhsm2.conf
token_store_dir = /var/lib/softhsm/tokens
session_pool_size = 256
max_concurrent_signs = 1024
token_check_interval = 1h30m
state_dir = /srv/ksef
destruction_grace_period = 7d
destruction_check_interval = 90s
node_id = node-a
log_level = debug
log_format = json
shutdown_timeout = 2m
)");
  EXPECT_EQ(config.listen_address, "[::]:9443");
  EXPECT_FALSE(config.plaintext);
  EXPECT_EQ(config.tls_cert_file, "/tls/server.pem");
  EXPECT_EQ(config.tls_key_file, "/tls/server.key");
  EXPECT_EQ(config.tls_client_ca_file, "/tls/ca.pem");
  EXPECT_FALSE(config.require_client_cert);
  EXPECT_TRUE(config.reflection);
  EXPECT_TRUE(config.listen_reuse_port);
  EXPECT_EQ(config.pkcs11_module, "/opt/hsm/lib/libvendor.so");
  EXPECT_EQ(config.token_label, "prod token");
  EXPECT_EQ(config.token_serial, "0123456789ABCDEF");
  EXPECT_EQ(config.pin_file, "/etc/ksef/pin");
  EXPECT_EQ(config.softhsm2_conf, "/etc/softhsm2.conf");
  EXPECT_EQ(config.token_store_dir, "/var/lib/softhsm/tokens");
  EXPECT_EQ(config.session_pool_size, 256);
  EXPECT_EQ(config.max_concurrent_signs, 1024);
  EXPECT_EQ(config.token_check_interval, absl::Minutes(90));
  EXPECT_EQ(config.state_dir, "/srv/ksef");
  EXPECT_EQ(config.destruction_grace_period, absl::Hours(7 * 24));
  EXPECT_EQ(config.destruction_check_interval, absl::Seconds(90));
  EXPECT_EQ(config.node_id, "node-a");
  EXPECT_EQ(config.log_level, "debug");
  EXPECT_EQ(config.log_format, "json");
  EXPECT_EQ(config.shutdown_timeout, absl::Minutes(2));
}

TEST(ServerConfigTest, AuditIntegrityOptions) {
  const ServerConfig defaults = MustParse(kMinimal);
  EXPECT_EQ(defaults.audit_checkpoint_events, 1000);
  EXPECT_EQ(defaults.audit_checkpoint_interval, absl::Seconds(10));
  EXPECT_EQ(defaults.audit_anchor_file, "");  // <state_dir>/audit-anchor.log
  EXPECT_FALSE(defaults.audit_anchor_syslog);
  EXPECT_EQ(defaults.audit_public_key_sha256, "");
  const std::string fingerprint(64, 'a');
  const ServerConfig config = MustParse(absl::StrCat(kMinimal, R"(
audit_checkpoint_events = 50
audit_checkpoint_interval = 2s
audit_anchor_file = /worm/audit-anchor.log
audit_anchor_syslog = true
audit_public_key_sha256 = )", fingerprint, "\n"));
  EXPECT_EQ(config.audit_checkpoint_events, 50);
  EXPECT_EQ(config.audit_checkpoint_interval, absl::Seconds(2));
  EXPECT_EQ(config.audit_anchor_file, "/worm/audit-anchor.log");
  EXPECT_TRUE(config.audit_anchor_syslog);
  EXPECT_EQ(config.audit_public_key_sha256, std::string(64, 'A'));
  EXPECT_TRUE(Has(ErrorOnLine3("audit_checkpoint_events = 0"), "ksef.conf:3:"));
  EXPECT_TRUE(Has(ErrorOnLine3("audit_public_key_sha256 = ABCD"), "64 hex digits"));
}

TEST(ServerConfigTest, Durations) {
  auto grace = [](absl::string_view value) {
    return MustParse(absl::StrCat(kMinimal, "destruction_grace_period = ", value))
        .destruction_grace_period;
  };
  EXPECT_EQ(grace("30d"), absl::Hours(720));
  EXPECT_EQ(grace("1d"), absl::Hours(24));
  EXPECT_EQ(grace("90s"), absl::Seconds(90));
  EXPECT_EQ(grace("15m"), absl::Minutes(15));
  EXPECT_EQ(grace("2h"), absl::Hours(2));
  EXPECT_EQ(grace("0"), absl::ZeroDuration());  // destroy as soon as scheduled
  EXPECT_EQ(MustParse(absl::StrCat(kMinimal, "shutdown_timeout = 0s")).shutdown_timeout,
            absl::ZeroDuration());
}

TEST(ServerConfigTest, QuotedValuesAndComments) {
  const ServerConfig config = MustParse(
      "# whole-line comment\r\n"
      "   # indented comment\n"
      "\n"
      "  plaintext=true   # trailing comment\n"
      "pin_file = /etc/ksef/pin\r\n"
      "node_id = \"  spaced # not a comment \"  # comment after quotes\n"
      "token_label = hash#inside\n"
      "token_serial = \"\"\n"
      "\t\n");
  EXPECT_TRUE(config.plaintext);
  EXPECT_EQ(config.pin_file, "/etc/ksef/pin");
  EXPECT_EQ(config.node_id, "  spaced # not a comment ");
  EXPECT_EQ(config.token_label, "hash#inside");
  EXPECT_EQ(config.token_serial, "");
}

TEST(ServerConfigTest, ResolvesRelativePathsAgainstBaseDir) {
  const ServerConfig config = MustParse(R"(
tls_cert_file = tls/server.pem
tls_key_file = ./server.key
tls_client_ca_file = ../ca.pem
pkcs11_module = lib/libsofthsm2.so
pin_file = pin
softhsm2_conf = "softhsm2.conf"
token_store_dir = tokens
state_dir = /abs/state
)",
                                        "/etc/ksef");
  EXPECT_EQ(config.tls_cert_file, "/etc/ksef/tls/server.pem");
  EXPECT_EQ(config.tls_key_file, "/etc/ksef/./server.key");
  EXPECT_EQ(config.tls_client_ca_file, "/etc/ksef/../ca.pem");
  EXPECT_EQ(config.pkcs11_module, "/etc/ksef/lib/libsofthsm2.so");
  EXPECT_EQ(config.pin_file, "/etc/ksef/pin");
  EXPECT_EQ(config.softhsm2_conf, "/etc/ksef/softhsm2.conf");
  EXPECT_EQ(config.token_store_dir, "/etc/ksef/tokens");
  EXPECT_EQ(config.state_dir, "/abs/state");

  // A bare library name is left for the dynamic loader's search path.
  EXPECT_EQ(MustParse(absl::StrCat(kMinimal, "pkcs11_module = libsofthsm2.so")).pkcs11_module,
            "libsofthsm2.so");
  // Relative state_dir, a base_dir with a trailing slash, and no base_dir.
  EXPECT_EQ(MustParse(absl::StrCat(kMinimal, "state_dir = st"), "/").state_dir, "/st");
  EXPECT_EQ(MustParse(absl::StrCat(kMinimal, "state_dir = st"), "").state_dir, "st");
  // Non-path options are never rewritten.
  EXPECT_EQ(MustParse(absl::StrCat(kMinimal, "node_id = a/b")).node_id, "a/b");
}

TEST(ServerConfigTest, SyntaxAndValueErrorsNameTheLine) {
  EXPECT_TRUE(Has(ErrorOnLine3("fooo = 1"), "ksef.conf:3: unknown option 'fooo'"));
  EXPECT_TRUE(Has(ErrorOnLine3("listen_adress = 127.0.0.1:1"),
                  "ksef.conf:3: unknown option 'listen_adress' (did you mean 'listen_address'?)"));
  EXPECT_TRUE(Has(ParseError("plaintext = true\n\n# x\npin_file = a\npin_file = b\n"),
                  "ksef.conf:5: option 'pin_file' is already set on line 4"));
  EXPECT_TRUE(Has(ErrorOnLine3("reflection = yes"),
                  "ksef.conf:3: reflection: expected true or false, got 'yes'"));
  EXPECT_TRUE(Has(ErrorOnLine3("reflection = True"), "ksef.conf:3: reflection:"));
  for (absl::string_view bad : {"abc", "+5", "5x", " ", "1.5", "0x10"}) {
    EXPECT_TRUE(Has(ErrorOnLine3(absl::StrCat("session_pool_size = ", bad)),
                    "ksef.conf:3: session_pool_size: expected a whole number from 1 to 256"))
        << bad;
  }
  for (absl::string_view bad : {"0", "257", "-1", "99999999999999999999"}) {
    EXPECT_TRUE(Has(ErrorOnLine3(absl::StrCat("session_pool_size = ", bad)),
                    absl::StrCat("ksef.conf:3: session_pool_size: expected a whole number from 1 "
                                 "to 256, got '",
                                 bad, "'")));
  }
  EXPECT_TRUE(Has(ErrorOnLine3("max_concurrent_signs = 1025"),
                  "ksef.conf:3: max_concurrent_signs: expected a whole number from 1 to 1024"));
  EXPECT_TRUE(Has(ErrorOnLine3("max_concurrent_signs = 0"), "ksef.conf:3: max_concurrent_signs"));
  for (absl::string_view bad : {"30", "5 minutes", "-5s", "inf", "1.5d", "d", "30D", ""}) {
    EXPECT_TRUE(Has(ErrorOnLine3(absl::StrCat("shutdown_timeout = ", bad)),
                    "ksef.conf:3: shutdown_timeout: expected a duration like 90s"))
        << bad;
  }
  EXPECT_TRUE(Has(ErrorOnLine3("token_check_interval = 0s"),
                  "ksef.conf:3: token_check_interval: must be longer than zero"));
  EXPECT_TRUE(Has(ErrorOnLine3("destruction_check_interval = 0"),
                  "ksef.conf:3: destruction_check_interval: must be longer than zero"));
  EXPECT_TRUE(Has(ErrorOnLine3("log_level = verbose"),
                  "ksef.conf:3: log_level: expected debug, info, warning or error, got 'verbose'"));
  EXPECT_TRUE(Has(ErrorOnLine3("log_level = INFO"), "ksef.conf:3: log_level:"));
  EXPECT_TRUE(Has(ErrorOnLine3("log_format = xml"),
                  "ksef.conf:3: log_format: expected text or json, got 'xml'"));
  for (absl::string_view bad : {"127.0.0.1", ":7443", "[::1]", "::1:7443", "h:99999", "h:-1"}) {
    EXPECT_TRUE(Has(ErrorOnLine3(absl::StrCat("listen_address = ", bad)),
                    "ksef.conf:3: listen_address: expected host:port"))
        << bad;
  }
  EXPECT_TRUE(Has(ErrorOnLine3("plaintext true"),
                  "ksef.conf:3: expected 'option = value', got 'plaintext true'"));
  EXPECT_TRUE(Has(ErrorOnLine3("plaintext # = true"), "ksef.conf:3: expected 'option = value'"));
  EXPECT_TRUE(Has(ErrorOnLine3("= true"), "ksef.conf:3: missing option name"));
  EXPECT_TRUE(Has(ErrorOnLine3("node_id = \"abc"), "ksef.conf:3: node_id: unterminated quoted"));
  EXPECT_TRUE(Has(ErrorOnLine3("node_id = \"a\" b"),
                  "ksef.conf:3: node_id: unexpected text 'b' after the closing quote"));
}

TEST(ServerConfigTest, PlaintextOnlyOnLoopback) {
  const std::string message =
      ParseError("plaintext = true\npin_file = /p\nlisten_address = 0.0.0.0:7443\n");
  EXPECT_TRUE(Has(message, "ksef.conf: plaintext = true is only allowed on a loopback"));
  EXPECT_TRUE(Has(message, "'0.0.0.0:7443'"));
  EXPECT_TRUE(Has(message, "could sign with the HSM keys"));
  MustParse("plaintext = true\npin_file = /p\nlisten_address = [::1]:7443\n");
  MustParse("plaintext = true\npin_file = /p\nlisten_address = localhost:0\n");
}

TEST(ServerConfigTest, TlsFilesRequiredUnlessPlaintext) {
  const std::string message = ParseError("pin_file = /p\ntls_cert_file = /c\n");
  EXPECT_TRUE(Has(message,
                  "ksef.conf: TLS is on (plaintext = false), so set tls_key_file, "
                  "tls_client_ca_file (plaintext = true is allowed only on a loopback"));
  EXPECT_FALSE(absl::StrContains(message, "tls_cert_file"));
  const ServerConfig config = MustParse(
      "pin_file = /p\ntls_cert_file = /c\ntls_key_file = /k\ntls_client_ca_file = /ca\n"
      "listen_address = 0.0.0.0:7443\n");
  EXPECT_FALSE(config.plaintext);
}

TEST(ServerConfigTest, PinFileRequired) {
  EXPECT_TRUE(Has(ParseError("plaintext = true\n"), "ksef.conf: pin_file is required"));
  EXPECT_TRUE(Has(ParseError("plaintext = true\npin_file = \"\"\n"), "pin_file is required"));
}

TEST(ServerConfigTest, OtherCrossFieldRules) {
  EXPECT_TRUE(Has(ErrorOnLine3("require_client_cert = false"),
                  "ksef.conf: require_client_cert = false only applies to TLS"));
  EXPECT_TRUE(Has(ParseError(absl::StrCat(kMinimal, "token_label =\n")),
                  "ksef.conf: set token_label or token_serial"));
  EXPECT_EQ(MustParse(absl::StrCat(kMinimal, "token_label =\ntoken_serial = 42\n")).token_serial,
            "42");
}

TEST(ServerConfigTest, SharedStoresInPostgres) {
  const ServerConfig config = MustParse(absl::StrCat(kMinimal, R"(
registry_store = postgres
registry_postgres = "host=db dbname=ksef user=ksef_hsm"
audit_store = postgres
audit_postgres = "host=db dbname=ksef_audit user=ksef_hsm"
node_id = ksef-hsm-a
)"));
  EXPECT_EQ(config.registry_store, "postgres");
  EXPECT_EQ(config.registry_postgres, "host=db dbname=ksef user=ksef_hsm");
  EXPECT_EQ(config.audit_store, "postgres");
  EXPECT_EQ(config.audit_postgres, "host=db dbname=ksef_audit user=ksef_hsm");
  // The audit store alone in PostgreSQL; the registry only with it.
  EXPECT_TRUE(Has(ParseError(absl::StrCat(
                      kMinimal, "registry_store = postgres\nregistry_postgres = x\nnode_id = a")),
                  "ksef.conf: registry_store = postgres needs audit_store = postgres too"));
  EXPECT_EQ(
      MustParse(absl::StrCat(kMinimal, "audit_store = postgres\naudit_postgres = x\nnode_id = a"))
          .registry_store,
      "sqlite");

  EXPECT_TRUE(Has(ErrorOnLine3("registry_store = mysql"),
                  "ksef.conf:3: registry_store: expected sqlite or postgres, got 'mysql'"));
  EXPECT_TRUE(Has(ErrorOnLine3("audit_store = Postgres"),
                  "ksef.conf:3: audit_store: expected sqlite or postgres, got 'Postgres'"));
  EXPECT_TRUE(Has(ParseError(absl::StrCat(kMinimal,
                                          "registry_store = postgres\nnode_id = a\n"
                                          "audit_store = postgres\naudit_postgres = x\n")),
                  "ksef.conf: registry_store = postgres needs registry_postgres, the libpq "
                  "connection string (e.g. host=db.internal dbname=ksef "));
  EXPECT_TRUE(Has(ParseError(absl::StrCat(kMinimal, "audit_store = postgres\nnode_id = a\n")),
                  "ksef.conf: audit_store = postgres needs audit_postgres, the libpq "
                  "connection string (e.g. host=db.internal dbname=ksef_audit "));
}

TEST(ServerConfigTest, NodeIdRequiredWhenAStoreIsShared) {
  // SQLite only: the host name stands in (resolved by the server).
  EXPECT_EQ(MustParse(kMinimal).node_id, "");
  const std::string registry =
      ParseError(absl::StrCat(kMinimal, "registry_store = postgres\nregistry_postgres = x\n"));
  EXPECT_TRUE(Has(registry, "node_id is required because registry_store = postgres:"));
  EXPECT_TRUE(Has(registry, "set node_id to a name unique among the replicas"));
  EXPECT_TRUE(Has(registry, "registry_store = postgres needs audit_store = postgres too"));
  EXPECT_TRUE(Has(ParseError(absl::StrCat(kMinimal, "audit_store = postgres\naudit_postgres = x\n")),
                  "node_id is required because audit_store = postgres:"));
  EXPECT_TRUE(Has(ParseError(absl::StrCat(kMinimal,
                                          "audit_store = postgres\naudit_postgres = x\n"
                                          "registry_store = postgres\nregistry_postgres = x\n"
                                          "node_id = \"\"\n")),
                  "node_id is required because audit_store = postgres and registry_store = "
                  "postgres:"));
}

TEST(ServerConfigTest, IsLoopbackListenAddress) {
  for (absl::string_view address :
       {"127.0.0.1:1", "127.9.9.9:1", "[::1]:1", "localhost:1", "LocalHost:7443", "::1", "[::1]",
        "localhost", "[::ffff:127.0.0.1]:1"}) {
    EXPECT_TRUE(IsLoopbackListenAddress(address)) << address;
  }
  for (absl::string_view address : {"0.0.0.0:1", "10.0.0.1:1", "[::]:1", "example.com:1",
                                    "128.0.0.1:1", "127.0.0.1.example.com:1", "[::2]:1", ""}) {
    EXPECT_FALSE(IsLoopbackListenAddress(address)) << address;
  }
}

class LoadServerConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmp = ::testing::TempDir();
    if (!tmp.empty() && tmp.back() == '/') tmp.pop_back();
    std::string pattern = tmp + "/ksef-config-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    unlink((dir_ + "/ksef.conf").c_str());
    rmdir(dir_.c_str());
  }
  std::string dir_;
};

TEST_F(LoadServerConfigTest, ResolvesAgainstTheFilesDirectory) {
  const std::string path = dir_ + "/ksef.conf";
  std::ofstream(path) << "plaintext = true\npin_file = pin\nstate_dir = state\n";
  // A non-normalised path still yields a clean base directory.
  absl::StatusOr<ServerConfig> config = LoadServerConfig(dir_ + "/./ksef.conf");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->pin_file, dir_ + "/pin");
  EXPECT_EQ(config->state_dir, dir_ + "/state");
}

TEST_F(LoadServerConfigTest, ErrorsNameTheFile) {
  const std::string path = dir_ + "/ksef.conf";
  std::ofstream(path) << "plaintext = true\nbogus = 1\n";
  absl::StatusOr<ServerConfig> config = LoadServerConfig(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Has(std::string(config.status().message()), path + ":2: unknown option 'bogus'"));
}

TEST_F(LoadServerConfigTest, MissingFileIsNotFound) {
  absl::StatusOr<ServerConfig> config = LoadServerConfig(dir_ + "/missing.conf");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound) << config.status();
  EXPECT_TRUE(Has(std::string(config.status().message()), "config file " + dir_ + "/missing.conf"));
}

}  // namespace
}  // namespace ksef::service
