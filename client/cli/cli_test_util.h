// Running the ksef-hsm CLI in process for tests: arguments, a private
// environment and standard input in; exit status, stdout and stderr out.
#ifndef KSEF_CLIENT_CLI_CLI_TEST_UTIL_H_
#define KSEF_CLIENT_CLI_CLI_TEST_UTIL_H_

#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "client/cli/cli.h"

namespace ksef::client::testing {

struct CliResult {
  int exit_status;
  std::string out;
  std::string err;
};

// Runs the CLI with `env` as its whole environment (nothing is read from
// the process environment) and, if given, `stdin_text` as standard input
// (without it the CLI has no standard input at all).
inline CliResult RunCliWithEnv(const std::vector<std::string>& args,
                               const std::map<std::string, std::string>& env,
                               const std::optional<std::string>& stdin_text = std::nullopt) {
  std::ostringstream out, err;
  EnvLookup lookup = [&env](const char* name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  int rc;
  if (stdin_text.has_value()) {
    std::istringstream in(*stdin_text);
    rc = RunCli(args, in, out, err, lookup);
  } else {
    rc = RunCli(args, out, err, lookup);
  }
  return {rc, out.str(), err.str()};
}

// The environment of a user whose KSEF_HSM_* variables point at a local
// plaintext server (the in-process fakes).
inline std::map<std::string, std::string> PlaintextEnv(const std::string& address) {
  return {{"KSEF_HSM_SERVER", address}, {"KSEF_HSM_PLAINTEXT", "true"}, {"KSEF_HSM_TIMEOUT", "10s"}};
}

}  // namespace ksef::client::testing

#endif  // KSEF_CLIENT_CLI_CLI_TEST_UTIL_H_
