// The ksef-hsm command line as a function, so that tests can run it in
// process: RunCli({"--plaintext", "health"}, std::cout, std::cerr, env).
#ifndef KSEF_CLIENT_CLI_CLI_H_
#define KSEF_CLIENT_CLI_CLI_H_

#include <istream>
#include <ostream>
#include <span>
#include <string>

#include "client/client_config.h"

namespace ksef::client {

// Runs one ksef-hsm invocation. `args` excludes the program name. Results go
// to `out`, errors and hints to `err`; `env` supplies the KSEF_HSM_*
// variables. Returns the process exit status (kExitOk, kExitFailure,
// kExitUsage; see commands.h).
int RunCli(std::span<const std::string> args, std::ostream& out, std::ostream& err,
           const EnvLookup& env);
// As above; `in` is standard input for the commands that read it
// (import-key --password-stdin). The overload above gives them none.
int RunCli(std::span<const std::string> args, std::istream& in, std::ostream& out,
           std::ostream& err, const EnvLookup& env);

}  // namespace ksef::client

#endif  // KSEF_CLIENT_CLI_CLI_H_
