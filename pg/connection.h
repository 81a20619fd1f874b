// pg::Connection: one libpq connection of a PostgreSQL store, with what every
// store of ours needs around it:
//   * Open checks the conninfo without echoing it (libpq's parse error quotes
//     the text around the problem, which could be the password), connects
//     with a connect timeout, sends server notices to our log and sets up the
//     session (synchronous_commit on, UTF-8, warnings only);
//   * messages name the store and the server, never the password:
//     "PostgreSQL audit store (host=db port=5432 dbname=ksef user=ksef): ...";
//   * Error maps a failed result to a status: ALREADY_EXISTS for a unique
//     violation (23505), UNAVAILABLE with a hint for a lost connection or a
//     transient SQLSTATE (IsTransient), INTERNAL otherwise; the SQLSTATE
//     rides along as a payload (SqlState);
//   * Run re-establishes a broken connection and retries an operation once
//     when the connection broke before anything could have been committed.
// The RAII types PgConnPtr / PgResultPtr and the binary result readers live
// here too. A Connection is thread-compatible (callers serialize its use:
// one mutex, or a Pool) and must not move once open (the notice processor
// holds its address; Open returns it on the heap).
#ifndef KSEF_PG_CONNECTION_H_
#define KSEF_PG_CONNECTION_H_

#include <libpq-fe.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/secure_string.h"
#include "pg/params.h"

namespace ksef::pg {

struct PgConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct PgResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgConnPtr = std::unique_ptr<PGconn, PgConnDeleter>;
using PgResultPtr = std::unique_ptr<PGresult, PgResultDeleter>;

// Results come in binary format: text and bytea are the raw bytes, integers
// big-endian (2-, 4- and 8-byte integers are sign-extended).
std::string Bytes(const PGresult* r, int row, int col);
int64_t Int(const PGresult* r, int row, int col);
inline bool IsNull(const PGresult* r, int row, int col) { return PQgetisnull(r, row, col) != 0; }

// SQLSTATEs that mean "the store cannot do it right now" rather than a bug:
// connection exception, insufficient resources, operator intervention,
// system error, serialization failure / deadlock, read-only transaction.
bool IsTransient(absl::string_view sqlstate);
// A libpq message (which may span lines) as one line.
std::string OneLine(const char* message);
// The SQLSTATE carried by a status that Connection::Error made; "" if none.
std::string SqlState(const absl::Status& status);

struct ConnectionOptions {
  std::string store;             // "audit store", "key registry": how messages name it
  std::string application_name;  // fallback_application_name, seen in pg_stat_activity
  std::string session_sql;       // more SET statements for each new session, or ""
};

class Connection {
 public:
  // INVALID_ARGUMENT for a malformed conninfo; UNAVAILABLE when the server
  // cannot be reached (the message names the server, never the password).
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const std::string& conninfo,
                                                          ConnectionOptions options);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // "host=... port=... dbname=... user=..." (never the password).
  const std::string& description() const { return description_; }
  // "PostgreSQL key registry (host=...)".
  std::string Name() const;
  PGconn* get() const { return conn_.get(); }

  // Runs `op` on a live connection: reconnects first if the connection is
  // known to be broken, and once more if `op` failed because the connection
  // broke while `*retry_safe` stayed true (nothing could have been committed).
  absl::Status Run(const std::function<absl::Status(bool* retry_safe)>& op);
  // Executes one statement (binary results); OK results go to `*out`.
  absl::Status Exec(const std::string& sql, const Params* params, const char* what,
                    PgResultPtr* out = nullptr);
  // Executes a script of several statements without parameters (a schema).
  absl::Status ExecScript(const char* sql, const char* what);
  // BEGIN; body; COMMIT, or ROLLBACK when `body` fails. Clears *retry_safe
  // before COMMIT: from there a lost connection leaves the outcome unknown.
  // Errors of BEGIN and COMMIT say "<what> (begin)", "<what> (commit)".
  absl::Status Transaction(bool* retry_safe, const char* what,
                           const std::function<absl::Status()>& body);
  // The status of a failed statement (see the top of this file).
  absl::Status Error(const PGresult* result, const char* what) const;
  // `message` with the password (if any) masked.
  std::string Scrub(std::string message) const;

 private:
  Connection(PgConnPtr conn, std::string description, SecureString password,
             ConnectionOptions options)
      : conn_(std::move(conn)),
        description_(std::move(description)),
        password_(std::move(password)),
        options_(std::move(options)) {}

  absl::Status EnsureConnected();
  absl::Status SetupSession();
  std::string CheckHint() const;

  PgConnPtr conn_;
  const std::string description_;
  const SecureString password_;  // only to keep it out of messages
  const ConnectionOptions options_;
};

}  // namespace ksef::pg

#endif  // KSEF_PG_CONNECTION_H_
