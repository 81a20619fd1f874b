#include "service/daemon_usage.h"

namespace ksef::service {

absl::string_view DaemonUsage() {
  return "ksef-hsmd - HSM-backed signing and enrollment service for KSeF 2.0\n"
         "\n"
         "Keeps the keys used with KSeF (Poland's National e-Invoice System) in a PKCS#11\n"
         "token and signs with them for callers identified by mutual TLS, as their access\n"
         "policy allows; every call is recorded in a tamper-evident audit log. The\n"
         "ksef-hsm command is its client.\n"
         "\n"
         "Usage:\n"
         "  ksef-hsmd --config FILE [--check-config]\n"
         "  ksef-hsmd --help | --version\n"
         "\n"
         "Options:\n"
         "  --config FILE    server configuration (see docs/configuration.md)\n"
         "  --check-config   validate the configuration and the files it names, and exit\n"
         "  --version        print the version and git revision, and exit\n"
         "  -h, --help       this text\n"
         "\n"
         "Signals:\n"
         "  SIGTERM, SIGINT  shut down gracefully (in-flight calls finish)\n"
         "  SIGHUP           reload policy_file (a bad file is refused and the old\n"
         "                   policy stays)\n"
         "\n"
         "Exit status: 0 after a graceful shutdown, --check-config of a valid\n"
         "configuration, --help or --version; 1 the configuration or the start-up failed\n"
         "(one line on standard error says what to fix); 2 bad command line.\n";
}

}  // namespace ksef::service
