// Handler of "ksef-hsm test-ca issue|cert": a LOCAL TEST CA - NOT KSeF
// (ksef::cert::TestCa), for demos and tests. Runs locally; never connects to
// ksef-hsmd.
#ifndef KSEF_CLIENT_CLI_TEST_CA_HANDLERS_H_
#define KSEF_CLIENT_CLI_TEST_CA_HANDLERS_H_

namespace ksef::client {

class CommandContext;

// First positional: "issue" (certificate for a CSR, PEM to --out) or "cert"
// (the CA certificate as PEM, to --out or standard output).
int RunTestCa(CommandContext& ctx);

}  // namespace ksef::client

#endif  // KSEF_CLIENT_CLI_TEST_CA_HANDLERS_H_
