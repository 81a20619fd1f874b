// Handlers of the enrollment commands (EnrollmentService): csr, import-cert,
// self-signed and import-key. Like command_handlers.h, each checks its
// arguments and reads its input files first (usage errors: kExitUsage, before
// any connection is made), then makes its call and prints the result.
#ifndef KSEF_CLIENT_CLI_ENROLLMENT_HANDLERS_H_
#define KSEF_CLIENT_CLI_ENROLLMENT_HANDLERS_H_

namespace ksef::client {

class CommandContext;

// GenerateCsr; prints or writes the CSR / the POST /certificates/enrollments body.
int RunCsr(CommandContext& ctx);
// ImportCertificate; prints the key.
int RunImportCert(CommandContext& ctx);
// IssueSelfSignedCertificate (KSeF TEST environment only); prints the key.
int RunSelfSigned(CommandContext& ctx);
// ImportKey (bring your own key); prints the key. The password comes from a
// 0600 file or one line of standard input, never from the command line.
int RunImportKey(CommandContext& ctx);

}  // namespace ksef::client

#endif  // KSEF_CLIENT_CLI_ENROLLMENT_HANDLERS_H_
