// Handler of "ksef-hsm qr": the KOD I and signed KOD II links (and QR images)
// of offline invoices from OfflineInvoiceService. The CLI sends each invoice
// file as is; the service reads the seller NIP and issue date from it, hashes
// it and signs KOD II with an Offline key.
#ifndef KSEF_CLIENT_CLI_OFFLINE_HANDLERS_H_
#define KSEF_CLIENT_CLI_OFFLINE_HANDLERS_H_

namespace ksef::client {

class CommandContext;

// [NAME] PATH...: NAME unless --subject-type/--subject are given (then every
// positional is a PATH); PATH is an invoice file or a directory of them.
// Exactly one context identifier (--nip, --internal-id, --nip-vat-ue,
// --peppol-id). One file: SignOfflineInvoice; more, or a directory:
// SignOfflineInvoices. Exit status 1 if any invoice failed.
int RunQr(CommandContext& ctx);

}  // namespace ksef::client

#endif  // KSEF_CLIENT_CLI_OFFLINE_HANDLERS_H_
