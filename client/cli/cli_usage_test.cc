// RunCli without a server: help, usage errors, configuration errors and an
// unreachable server.
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/cli/cli.h"
#include "client/cli/cli_test_util.h"
#include "client/cli/commands.h"
#include "client/file_util.h"
#include "common/build_info.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ksef::client {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

using Result = testing::CliResult;

Result Cli(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  return testing::RunCliWithEnv(args, env);
}

// A local TCP port with nothing listening on it.
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// --version before or after a command: the version line only, nothing sent.
TEST(CliUsageTest, Version) {
  const std::string expected = "ksef-hsm " + std::string(build_info::Version()) + " (git " +
                               std::string(build_info::GitRevision()) + ")\n";
  for (auto args : std::vector<std::vector<std::string>>{
           {"--version"}, {"--server", "127.0.0.1:1", "--version"}, {"health", "--version"}}) {
    Result r = Cli(args);
    EXPECT_EQ(r.exit_status, 0);
    EXPECT_EQ(r.out, expected);
    EXPECT_THAT(r.err, IsEmpty());
  }
  EXPECT_THAT(std::string(build_info::GitRevision()), ::testing::MatchesRegex("[A-Za-z0-9._+-]+"));
}

TEST(CliUsageTest, GlobalHelp) {
  for (auto args : std::vector<std::vector<std::string>>{{"--help"}, {"-h"}, {"help"}}) {
    Result r = Cli(args);
    EXPECT_EQ(r.exit_status, 0);
    EXPECT_THAT(r.out, StartsWith("ksef-hsm - command-line client for ksef-hsmd"));
    for (const CommandSpec& command : AllCommands()) EXPECT_THAT(r.out, HasSubstr(command.name));
    for (const char* text : {"--server HOST:PORT", "KSEF_HSM_CLIENT_KEY", "Exit status"}) {
      EXPECT_THAT(r.out, HasSubstr(text));
    }
    EXPECT_THAT(r.err, IsEmpty());
  }
}

TEST(CliUsageTest, EveryCommandHasHelpWithAnExample) {
  for (const CommandSpec& command : AllCommands()) {
    std::string name(command.name);
    for (auto args : std::vector<std::vector<std::string>>{
             {name, "--help"}, {"--help", name}, {"help", name}, {name, "x", "y", "-h"}}) {
      Result r = Cli(args);
      EXPECT_EQ(r.exit_status, 0) << name;
      EXPECT_THAT(r.out, StartsWith(absl::StrCat("ksef-hsm ", name, " - ")));
      EXPECT_THAT(r.out, HasSubstr(absl::StrCat("  ksef-hsm ", name)));  // an example
    }
  }
}

TEST(CliUsageTest, NoCommand) {
  Result r = Cli({});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_THAT(r.err, StartsWith("ksef-hsm: missing command\n"));
  EXPECT_THAT(r.err, HasSubstr("list-keys"));
  EXPECT_THAT(r.out, IsEmpty());
}

TEST(CliUsageTest, UnknownCommand) {
  Result r = Cli({"lst-keys"});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_EQ(r.err,
            "ksef-hsm: unknown command \"lst-keys\" (did you mean list-keys?)\n"
            "see ksef-hsm --help\n");
  EXPECT_EQ(Cli({"help", "nope"}).exit_status, 2);
}

TEST(CliUsageTest, UnknownOptions) {
  Result r = Cli({"--sever", "x", "health"});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_EQ(r.err,
            "ksef-hsm: unknown option --sever (did you mean --server?)\nsee ksef-hsm --help\n");

  r = Cli({"get-key", "k", "--der-out", "f"});  // a public-key option
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_EQ(r.err, "ksef-hsm: get-key: unknown option --der-out\nsee ksef-hsm get-key --help\n");
}

TEST(CliUsageTest, MissingAndExtraArguments) {
  Result r = Cli({"get-key"});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_EQ(r.err, "ksef-hsm: get-key: missing NAME\nsee ksef-hsm get-key --help\n");

  r = Cli({"disable-key", "a", "b"});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_THAT(r.err, HasSubstr("disable-key: unexpected argument \"b\""));

  r = Cli({"get-key", ""});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_THAT(r.err, HasSubstr("NAME is empty"));

  r = Cli({"create-key", "--subject", "5260250274"});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_EQ(r.err,
            "ksef-hsm: create-key: missing --subject-type, --purpose\n"
            "see ksef-hsm create-key --help\n");

  r = Cli({"create-key", "--subject-type", "nip", "--subject", "--purpose", "offline"});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_THAT(r.err, HasSubstr("option --subject needs a value"));
}

TEST(CliUsageTest, EnrollmentUsageErrorsNeedNoServer) {
  // Nothing listens there: exit 2 (not 1, UNAVAILABLE) shows that no call was tried.
  std::map<std::string, std::string> env = {
      {"KSEF_HSM_SERVER", absl::StrCat("127.0.0.1:", ClosedPort())}, {"KSEF_HSM_PLAINTEXT", "1"}};
  for (const auto& [args, message] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"csr"}, "csr: missing NAME"},
           {{"csr", "k"}, "missing the subject"},
           {{"csr", "k", "--enrollment-data", "d.json", "--common-name", "c"}, "not both"},
           {{"import-cert", "k"}, "missing --cert"},
           {{"self-signed", "k", "--form", "seal"}, "missing --common-name"},
           {{"import-key", "--subject-type", "nip", "--subject", "1", "--purpose", "offline",
             "--key", "k", "--cert", "c", "--password", "x"},
            "unknown option --password (did you mean --password-file?)"},
           {{"list-keys", "--expiring-within", "-1d"}, "invalid --expiring-within"},
       }) {
    Result r = Cli(args, env);
    EXPECT_EQ(r.exit_status, 2) << message << "\n" << r.err;
    EXPECT_THAT(r.err, HasSubstr(message));
  }
}

TEST(CliUsageTest, AuditAndAuthSignUsageErrorsNeedNoServer) {
  // Nothing listens there: exit 2 (not 1, UNAVAILABLE) shows that no call was tried.
  std::map<std::string, std::string> env = {
      {"KSEF_HSM_SERVER", absl::StrCat("127.0.0.1:", ClosedPort())}, {"KSEF_HSM_PLAINTEXT", "1"}};
  for (const auto& [args, message] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"auth-sign", "k", "--nip", "5260250274"}, "missing --challenge"},
           {{"auth-sign", "k", "--challenge", "C", "--nip", "5260250274", "--internal-id", "x"},
            "give exactly one context identifier"},
           {{"auth-sign", "--challenge", "C", "--nip", "5260250274"}, "missing the key"},
           {{"audit", "list", "--outcome", "maybe"}, "invalid --outcome"},
           {{"audit", "verify", "--db", "/nonexistent/audit.db"}, "cannot read audit store"},
       }) {
    Result r = Cli(args, env);
    EXPECT_EQ(r.exit_status, 2) << message << "\n" << r.err;
    EXPECT_THAT(r.err, HasSubstr(message));
  }
  // The key NAME of auth-sign is optional; its help explains NAME like the others.
  Result r = Cli({"auth-sign", "--help"});
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_THAT(r.out, HasSubstr("NAME is keys/ID"));
  EXPECT_THAT(r.out, HasSubstr("--allow-ip A"));
}

TEST(CliUsageTest, QrUsageErrorsNeedNoServer) {
  // Nothing listens there: exit 2 (not 1, UNAVAILABLE) shows that no call was tried.
  std::map<std::string, std::string> env = {
      {"KSEF_HSM_SERVER", absl::StrCat("127.0.0.1:", ClosedPort())}, {"KSEF_HSM_PLAINTEXT", "1"}};
  std::string dir = ::testing::TempDir() + "/cli_usage_qr_XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  std::string invoice = dir + "/fa.xml";
  ASSERT_TRUE(WriteWholeFile(invoice, "<Faktura/>", "test file").ok());
  std::string empty_dir = dir + "/empty";
  std::filesystem::create_directory(empty_dir);
  for (const auto& [args, message] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"qr", "k", "--nip", "5260250274"}, "missing PATH"},
           {{"qr", "--nip", "5260250274"}, "missing the key"},
           {{"qr", "k", invoice}, "missing the context identifier"},
           {{"qr", "k", "--nip", "5260250274", "--nip-vat-ue", "DE123", invoice},
            "give exactly one context identifier"},
           {{"qr", "k", "--nip", "5260250274", "/nonexistent/fa.xml"},
            "cannot read invoice file /nonexistent/fa.xml"},
           {{"qr", "k", "--nip", "5260250274", empty_dir}, "no *.xml invoice files"},
       }) {
    Result r = Cli(args, env);
    EXPECT_EQ(r.exit_status, 2) << message << "\n" << r.err;
    EXPECT_THAT(r.err, HasSubstr(message));
  }
  // Valid, so it does try the (closed) server: exit 1.
  Result r = Cli({"qr", "k", "--nip", "5260250274", "--no-images", invoice}, env);
  EXPECT_EQ(r.exit_status, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("UNAVAILABLE"));
  std::filesystem::remove_all(dir);

  r = Cli({"qr", "--help"});
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_THAT(r.out, HasSubstr("NAME is keys/ID"));
  EXPECT_THAT(r.out, HasSubstr("OFFLINE/CERTYFIKAT"));
  EXPECT_THAT(r.out, HasSubstr("--no-images"));
}

TEST(CliUsageTest, BadValues) {
  Result r =
      Cli({"create-key", "--subject-type", "regon", "--subject", "1", "--purpose", "offline"});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_THAT(r.err, HasSubstr("invalid --subject-type \"regon\" (expected one of: nip, pesel, "
                               "fingerprint)"));

  r = Cli({"list-keys", "--state", "alive"});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_THAT(r.err, HasSubstr("invalid --state \"alive\""));

  r = Cli({"list-keys", "--page-size", "0"});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_THAT(r.err, HasSubstr("--page-size: expected a positive number"));

  r = Cli({"--timeout", "soon", "health"});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_THAT(r.err, HasSubstr("invalid --timeout \"soon\""));

  r = Cli({"health"}, {{"KSEF_HSM_PLAINTEXT", "sometimes"}});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_THAT(r.err, HasSubstr("invalid KSEF_HSM_PLAINTEXT \"sometimes\""));
}

TEST(CliUsageTest, MissingTlsFilesAreReported) {
  Result r =
      Cli({"--client-cert", "/nonexistent/client.pem", "--client-key", "/nonexistent/k", "health"});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_EQ(r.err,
            "ksef-hsm: cannot read client certificate /nonexistent/client.pem: No such file or "
            "directory\n");

  r = Cli({"health"}, {{"KSEF_HSM_CA_CERT", "/nonexistent/ca.pem"}});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_THAT(r.err, HasSubstr("cannot read CA certificate /nonexistent/ca.pem"));

  r = Cli({"--config", "/nonexistent/client.conf", "health"});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_THAT(r.err, HasSubstr("cannot read client config file /nonexistent/client.conf"));
}

TEST(CliUsageTest, HealthAgainstAClosedPortIsUnavailable) {
  std::string server = absl::StrCat("127.0.0.1:", ClosedPort());
  for (bool plaintext : {true, false}) {
    std::vector<std::string> args = {"--server", server, "--timeout", "5s", "health"};
    if (plaintext) args.push_back("--plaintext");
    Result r = Cli(args);
    EXPECT_EQ(r.exit_status, 1);
    EXPECT_THAT(r.out, IsEmpty());
    EXPECT_THAT(r.err, StartsWith("ksef-hsm: UNAVAILABLE: "));
    EXPECT_THAT(r.err, HasSubstr(absl::StrCat("\nhint: is ksef-hsmd running at ", server, "?")));
    // One line of error, one line of hint.
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 2) << r.err;
  }
}

}  // namespace
}  // namespace ksef::client
