// Handler of "ksef-hsm audit list|usage|verify|public-key": reading the
// service's tamper-evident audit log (AuditService), and verifying a copy of
// an SQLite audit store offline, without a server ("audit verify --db").
#ifndef KSEF_CLIENT_CLI_AUDIT_HANDLERS_H_
#define KSEF_CLIENT_CLI_AUDIT_HANDLERS_H_

namespace ksef::client {

class CommandContext;

// First positional: "list" (events, filtered, paged), "usage" (successful
// uses per key and operation), "verify" (the chains and checkpoints; on the
// server, or offline with --db) or "public-key" (the audit key, PEM).
int RunAudit(CommandContext& ctx);

}  // namespace ksef::client

#endif  // KSEF_CLIENT_CLI_AUDIT_HANDLERS_H_
