// Handler of "ksef-hsm auth-sign": a signed KSeF AuthTokenRequest (the body
// of POST /auth/xades-signature) from AuthService.SignAuthToken. The service
// builds the document itself from the validated fields; the CLI only passes
// them on and writes the XML it gets back byte for byte.
#ifndef KSEF_CLIENT_CLI_AUTH_HANDLERS_H_
#define KSEF_CLIENT_CLI_AUTH_HANDLERS_H_

namespace ksef::client {

class CommandContext;

// Optional positional NAME, or --subject-type/--subject; --challenge and
// exactly one context identifier (--nip, --internal-id, --nip-vat-ue,
// --peppol-id). The XML goes to --out or standard output.
int RunAuthSign(CommandContext& ctx);

}  // namespace ksef::client

#endif  // KSEF_CLIENT_CLI_AUTH_HANDLERS_H_
