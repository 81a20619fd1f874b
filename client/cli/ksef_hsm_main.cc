// ksef-hsm: command-line client for ksef-hsmd. See "ksef-hsm --help".
#include <grpc/support/log.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "client/cli/cli.h"
#include "client/client_config.h"

namespace {

void DiscardGrpcLog(gpr_log_func_args*) {}

}  // namespace

int main(int argc, char** argv) {
  // gRPC logs connection and TLS failures on stderr by itself; the CLI
  // reports them as one readable line instead. GRPC_VERBOSITY=DEBUG (or any
  // value) brings gRPC's own logging back for troubleshooting.
  if (std::getenv("GRPC_VERBOSITY") == nullptr) gpr_set_log_function(&DiscardGrpcLog);

  std::vector<std::string> args(argv + 1, argv + argc);
  return ksef::client::RunCli(args, std::cin, std::cout, std::cerr,
                              ksef::client::ProcessEnvironment());
}
