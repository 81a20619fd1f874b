#include "audit/postgres_audit_store.h"

#include <algorithm>
#include <deque>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace ksef::audit {
namespace {

// Type OIDs (catalog/pg_type_d.h, which libpq-dev does not ship).
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kTextOid = 25;

// Advisory lock keys: (class, id). The schema lock keeps two replicas that
// start together from racing on CREATE TABLE IF NOT EXISTS; the append lock
// makes BIGSERIAL ids visible in id order (a transaction that took id 7 is
// committed before another can take id 8), so after_id paging cannot skip
// an event that a slower replica commits later.
constexpr int kLockClass = 0x6b736566;  // "ksef"
constexpr int kSchemaLock = 1;
constexpr int kAppendLock = 2;

// A PostgreSQL statement may have at most 65535 parameters.
constexpr int kEventColumns = 20;
constexpr size_t kRowsPerInsert = 1000;

constexpr char kSchema[] = R"sql(
BEGIN;
SELECT pg_advisory_xact_lock(1802724710, 1);
CREATE TABLE IF NOT EXISTS audit_events (
  id BIGSERIAL PRIMARY KEY,
  node TEXT NOT NULL,
  seq BIGINT NOT NULL,
  time_us BIGINT NOT NULL,
  caller_subject TEXT NOT NULL,
  caller_issuer TEXT NOT NULL,
  caller_serial TEXT NOT NULL,
  caller_name TEXT NOT NULL,
  operation TEXT NOT NULL,
  key_name TEXT NOT NULL,
  key_public_hash TEXT NOT NULL,
  subject TEXT NOT NULL,
  context TEXT NOT NULL,
  signed_sha256 TEXT NOT NULL,
  outcome TEXT NOT NULL,
  status_code INTEGER NOT NULL,
  message TEXT NOT NULL,
  prev_hash BYTEA NOT NULL,
  hash BYTEA NOT NULL,
  peer TEXT NOT NULL DEFAULT '',
  count BIGINT NOT NULL DEFAULT 1,
  UNIQUE (node, seq));
CREATE INDEX IF NOT EXISTS audit_events_by_key ON audit_events (key_name, time_us);
CREATE INDEX IF NOT EXISTS audit_events_by_time ON audit_events (time_us);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
  node TEXT NOT NULL,
  seq BIGINT NOT NULL,
  head_hash BYTEA NOT NULL,
  time_us BIGINT NOT NULL,
  signature BYTEA NOT NULL,
  public_key BYTEA NOT NULL,
  version INTEGER NOT NULL DEFAULT 1,
  prev_hash BYTEA NOT NULL DEFAULT ''::bytea,
  count BIGINT NOT NULL DEFAULT 0,
  closing INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (node, seq));
CREATE TABLE IF NOT EXISTS audit_node_leases (
  node TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_us BIGINT NOT NULL);
COMMIT;
)sql";
static_assert(kLockClass == 1802724710 && kSchemaLock == 1, "kSchema names the schema lock");

// Stores created before peer and count existed. Old rows read as '' and 1,
// which EventHash treats as "not set", so their hashes still verify.
constexpr char kAddPeerAndCount[] = R"sql(
BEGIN;
SELECT pg_advisory_xact_lock(1802724710, 1);
ALTER TABLE audit_events ADD COLUMN IF NOT EXISTS peer TEXT NOT NULL DEFAULT '',
                         ADD COLUMN IF NOT EXISTS count BIGINT NOT NULL DEFAULT 1;
COMMIT;
)sql";

// Stores created before chained checkpoints (issue 12): old rows read as
// version 1, which signs none of the new columns. docs/operations.md has the
// same statements for an administrator when the service's role may not ALTER.
constexpr char kAddCheckpointChain[] = R"sql(
BEGIN;
SELECT pg_advisory_xact_lock(1802724710, 1);
ALTER TABLE audit_checkpoints ADD COLUMN IF NOT EXISTS version INTEGER NOT NULL DEFAULT 1,
                              ADD COLUMN IF NOT EXISTS prev_hash BYTEA NOT NULL DEFAULT ''::bytea,
                              ADD COLUMN IF NOT EXISTS count BIGINT NOT NULL DEFAULT 0,
                              ADD COLUMN IF NOT EXISTS closing INTEGER NOT NULL DEFAULT 0;
COMMIT;
)sql";

// Stores created before node leases (issue 12).
constexpr char kAddNodeLeases[] = R"sql(
BEGIN;
SELECT pg_advisory_xact_lock(1802724710, 1);
CREATE TABLE IF NOT EXISTS audit_node_leases (
  node TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_us BIGINT NOT NULL);
COMMIT;
)sql";

constexpr char kColumns[] =
    "id, node, seq, time_us, caller_subject, caller_issuer, caller_serial, caller_name, "
    "operation, key_name, key_public_hash, subject, context, signed_sha256, outcome, "
    "status_code, message, prev_hash, hash, peer, count";

constexpr char kCheckHint[] =
    "; check that the PostgreSQL server is running and reachable, and the audit store's "
    "PostgreSQL connection settings in the config file";

// Results come in binary format: text and bytea are the raw bytes, integers
// big-endian.
std::string Bytes(const PGresult* r, int row, int col) {
  return std::string(PQgetvalue(r, row, col), static_cast<size_t>(PQgetlength(r, row, col)));
}

int64_t Int(const PGresult* r, int row, int col) {
  const auto* p = reinterpret_cast<const unsigned char*>(PQgetvalue(r, row, col));
  const int len = PQgetlength(r, row, col);
  uint64_t v = 0;
  for (int i = 0; i < len; ++i) v = (v << 8) | p[i];
  // Sign-extend 2- and 4-byte integers.
  if (len > 0 && len < 8 && (p[0] & 0x80)) v |= ~uint64_t{0} << (8 * len);
  return static_cast<int64_t>(v);
}

AuditEvent ReadEvent(const PGresult* r, int row) {
  AuditEvent e;
  e.node = Bytes(r, row, 1);
  e.seq = Int(r, row, 2);
  e.time = absl::FromUnixMicros(Int(r, row, 3));
  e.caller.subject = Bytes(r, row, 4);
  e.caller.issuer = Bytes(r, row, 5);
  e.caller.serial = Bytes(r, row, 6);
  e.caller.name = Bytes(r, row, 7);
  e.operation = Bytes(r, row, 8);
  e.key_name = Bytes(r, row, 9);
  e.key_public_hash = Bytes(r, row, 10);
  e.subject = Bytes(r, row, 11);
  e.context = Bytes(r, row, 12);
  e.signed_sha256 = Bytes(r, row, 13);
  // An unknown outcome word (edited row) keeps kFailure; the hash check flags it.
  if (!OutcomeFromName(Bytes(r, row, 14), &e.outcome)) e.outcome = Outcome::kFailure;
  e.status_code = static_cast<int>(Int(r, row, 15));
  e.message = Bytes(r, row, 16);
  e.prev_hash = Bytes(r, row, 17);
  e.hash = Bytes(r, row, 18);
  e.peer = Bytes(r, row, 19);
  e.count = Int(r, row, 20);
  return e;
}

// SQLSTATE classes that mean "the store cannot write right now" rather than
// a bug: connection exception, insufficient resources (disk full, too many
// connections), operator intervention (shutdown, cancel), system error,
// serialization failure / deadlock, read-only transaction (a standby).
bool IsTransient(absl::string_view state) {
  return absl::StartsWith(state, "08") || absl::StartsWith(state, "53") ||
         absl::StartsWith(state, "57") || absl::StartsWith(state, "58") || state == "40001" ||
         state == "40P01" || state == "25006";
}

// libpq messages span lines ("...failed: ...\n\tIs the server running...");
// log lines and status messages are one line.
std::string OneLine(const char* message) {
  std::string out;
  bool space = false;
  for (const char* p = message ? message : ""; *p != '\0'; ++p) {
    if (absl::ascii_isspace(static_cast<unsigned char>(*p))) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(*p);
  }
  return out;
}

// Host, port, database and user of a conninfo: what messages may show.
std::string Describe(const PQconninfoOption* options, SecureString* password) {
  std::vector<std::string> parts;
  for (const PQconninfoOption* o = options; o != nullptr && o->keyword != nullptr; ++o) {
    const absl::string_view key = o->keyword;
    if (o->val == nullptr || *o->val == '\0') continue;
    if (key == "password") {
      if (password != nullptr) *password = SecureString(o->val);
    } else if (key == "host" || key == "hostaddr" || key == "port" || key == "dbname" ||
               key == "user") {
      parts.push_back(absl::StrCat(key, "=", o->val));
    }
  }
  return parts.empty() ? "libpq defaults" : absl::StrJoin(parts, " ");
}

}  // namespace

// Query parameters: text and int8 in text format, bytea in binary format.
class PostgresAuditStore::Params {
 public:
  // Each returns the placeholder ("$3") of the parameter it adds.
  std::string Text(absl::string_view v) { return Add(std::string(v), kTextOid, 0); }
  std::string Int(int64_t v) { return Add(absl::StrCat(v), kInt8Oid, 0); }
  std::string Bytea(absl::string_view v) { return Add(std::string(v), kByteaOid, 1); }

  int size() const { return static_cast<int>(types_.size()); }
  const Oid* types() const { return types_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }
  std::vector<const char*> values() const {
    std::vector<const char*> out;
    out.reserve(storage_.size());
    for (const std::string& s : storage_) out.push_back(s.c_str());
    return out;
  }

 private:
  std::string Add(std::string value, Oid type, int format) {
    lengths_.push_back(static_cast<int>(value.size()));
    storage_.push_back(std::move(value));  // a deque: earlier c_str()s stay valid
    types_.push_back(type);
    formats_.push_back(format);
    return absl::StrCat("$", types_.size());
  }

  std::deque<std::string> storage_;
  std::vector<Oid> types_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

absl::StatusOr<std::unique_ptr<PostgresAuditStore>> PostgresAuditStore::Open(
    const std::string& conninfo) {
  {
    // libpq's parse error quotes the text around the problem, which could
    // be the password: it is not passed on.
    char* err = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &err);
    if (err != nullptr) PQfreemem(err);
    if (parsed == nullptr) {
      return absl::InvalidArgumentError(
          "the PostgreSQL connection settings of the audit store are not a valid libpq "
          "conninfo (\"host=... port=... dbname=... user=...\" or a postgresql:// URI); "
          "fix them in the config file");
    }
    PQconninfoFree(parsed);
  }
  // Defaults first: the conninfo (expanded in place of dbname) overrides them.
  const char* keys[] = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
  const char* values[] = {"10", "ksef-hsmd-audit", conninfo.c_str(), nullptr};
  PgConnPtr conn(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (conn == nullptr) {
    return absl::ResourceExhaustedError("PostgreSQL audit store: out of memory for a connection");
  }
  SecureString password;
  std::string description;
  {
    PQconninfoOption* options = PQconninfo(conn.get());
    description = Describe(options, &password);
    if (options != nullptr) PQconninfoFree(options);
  }
  std::unique_ptr<PostgresAuditStore> store(
      new PostgresAuditStore(std::move(conn), std::move(description), std::move(password)));
  {
    absl::MutexLock lock(&store->mu_);
    if (PQstatus(store->conn_.get()) != CONNECTION_OK) {
      return absl::UnavailableError(store->Scrub(absl::StrCat(
          "PostgreSQL audit store (", store->description_,
          "): cannot connect: ", OneLine(PQerrorMessage(store->conn_.get())), kCheckHint)));
    }
    // Server warnings go to our log, not to stderr.
    PQsetNoticeProcessor(
        store->conn_.get(),
        [](void* arg, const char* message) {
          auto* self = static_cast<PostgresAuditStore*>(arg);
          LogWarning("PostgreSQL audit store (", self->description_,
                     "): ", OneLine(self->Scrub(message).c_str()));
        },
        store.get());
    KSEF_RETURN_IF_ERROR(store->SetupSession());
    // CREATE ... IF NOT EXISTS needs the CREATE privilege even when the
    // tables exist: a role that may only read and insert (the tables made by
    // an administrator) must not need it.
    PgResultPtr exists;
    KSEF_RETURN_IF_ERROR(
        store->Exec("SELECT to_regclass('audit_events') IS NOT NULL AND "
                    "to_regclass('audit_checkpoints') IS NOT NULL",
                    nullptr, "look for the schema", &exists));
    if (PQntuples(exists.get()) != 1 || Int(exists.get(), 0, 0) != 1) {
      PgResultPtr result(PQexec(store->conn_.get(), kSchema));
      if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
        return store->Error(result.get(), "create the schema");
      }
    }
    KSEF_RETURN_IF_ERROR(store->Migrate("audit_events", "count", kAddPeerAndCount,
                                        "add the peer and count columns"));
    KSEF_RETURN_IF_ERROR(store->Migrate("audit_checkpoints", "version", kAddCheckpointChain,
                                        "add the checkpoint chain columns"));
    KSEF_RETURN_IF_ERROR(store->Migrate("audit_node_leases", "holder", kAddNodeLeases,
                                        "create the audit_node_leases table"));
  }
  return store;
}

absl::Status PostgresAuditStore::Migrate(const char* table, const char* column,
                                         const char* migration, const char* what) {
  Params p;
  const std::string sql = absl::StrCat(
      "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = ", p.Text(table),
      " AND column_name = ", p.Text(column), " AND table_schema = current_schema()");
  PgResultPtr has;
  KSEF_RETURN_IF_ERROR(Exec(sql, &p, "read the schema", &has));
  if (PQntuples(has.get()) == 1 && Int(has.get(), 0, 0) == 1) return absl::OkStatus();
  PgResultPtr result(PQexec(conn_.get(), migration));
  if (PQresultStatus(result.get()) == PGRES_COMMAND_OK) return absl::OkStatus();
  const std::string why =
      absl::StrCat(what, " (run docs/operations.md's migration as the owner of ", table, ")");
  return Error(result.get(), why.c_str());
}

std::string PostgresAuditStore::Scrub(std::string message) const {
  if (password_.size() >= 3) {
    absl::StrReplaceAll({{password_.reveal(), "********"}}, &message);
  }
  return message;
}

absl::Status PostgresAuditStore::Error(const PGresult* result, const char* what) {
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string detail = OneLine(result ? PQresultErrorMessage(result) : "");
  if (detail.empty()) detail = OneLine(PQerrorMessage(conn_.get()));
  std::string message =
      Scrub(absl::StrCat("PostgreSQL audit store (", description_, "): ", what, ": ", detail));
  if (state != nullptr && absl::string_view(state) == "23505") {
    return absl::AlreadyExistsError(message);
  }
  // No SQLSTATE: libpq's own error, i.e. the connection (or the client) failed.
  if (state == nullptr || PQstatus(conn_.get()) == CONNECTION_BAD || IsTransient(state)) {
    return absl::UnavailableError(absl::StrCat(message, kCheckHint));
  }
  return absl::InternalError(message);
}

absl::Status PostgresAuditStore::SetupSession() {
  // The durability contract of Append must not depend on the server's or
  // the database's default; text comes back as UTF-8 bytes.
  PgResultPtr result(PQexec(conn_.get(),
                            "SET synchronous_commit TO on; SET client_encoding TO 'UTF8'; "
                            "SET client_min_messages TO warning"));
  if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
    return Error(result.get(), "set up the session");
  }
  return absl::OkStatus();
}

absl::Status PostgresAuditStore::EnsureConnected() {
  if (PQstatus(conn_.get()) == CONNECTION_BAD) {
    PQreset(conn_.get());
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      return absl::UnavailableError(Scrub(
          absl::StrCat("PostgreSQL audit store (", description_,
                       "): cannot reconnect: ", OneLine(PQerrorMessage(conn_.get())), kCheckHint)));
    }
    LogWarning("PostgreSQL audit store (", description_, "): the connection was lost; reconnected");
    return SetupSession();
  }
  if (PQtransactionStatus(conn_.get()) != PQTRANS_IDLE) {
    // A transaction left open by a failed ROLLBACK.
    PgResultPtr result(PQexec(conn_.get(), "ROLLBACK"));
  }
  return absl::OkStatus();
}

absl::Status PostgresAuditStore::Run(const std::function<absl::Status(bool*)>& op) {
  KSEF_RETURN_IF_ERROR(EnsureConnected());
  bool retry_safe = true;
  absl::Status status = op(&retry_safe);
  if (status.ok() || !retry_safe || PQstatus(conn_.get()) != CONNECTION_BAD) return status;
  // The server went away while the connection was idle (restart, failover,
  // idle timeout): nothing was committed, so one more try on a new connection.
  if (!EnsureConnected().ok()) return status;
  retry_safe = true;
  return op(&retry_safe);
}

absl::Status PostgresAuditStore::Exec(const std::string& sql, const Params* params,
                                      const char* what, PgResultPtr* out) {
  PgResultPtr result;
  if (params == nullptr) {
    result.reset(PQexecParams(conn_.get(), sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr,
                              /*resultFormat=*/1));
  } else {
    const std::vector<const char*> values = params->values();
    result.reset(PQexecParams(conn_.get(), sql.c_str(), params->size(), params->types(),
                              values.data(), params->lengths(), params->formats(),
                              /*resultFormat=*/1));
  }
  const ExecStatusType st = PQresultStatus(result.get());
  if (result == nullptr || (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)) {
    return Error(result.get(), what);
  }
  if (out != nullptr) *out = std::move(result);
  return absl::OkStatus();
}

absl::StatusOr<ChainHead> PostgresAuditStore::Head(const std::string& node) {
  absl::MutexLock lock(&mu_);
  ChainHead head;
  KSEF_RETURN_IF_ERROR(Run([&](bool*) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    Params p;
    const std::string sql =
        absl::StrCat("SELECT seq, hash FROM audit_events WHERE node=", p.Text(node),
                     " ORDER BY seq DESC LIMIT 1");
    PgResultPtr r;
    KSEF_RETURN_IF_ERROR(Exec(sql, &p, "read head", &r));
    head = ChainHead{};
    head.hash = std::string(32, '\0');
    if (PQntuples(r.get()) > 0) {
      head.seq = Int(r.get(), 0, 0);
      head.hash = Bytes(r.get(), 0, 1);
    }
    return absl::OkStatus();
  }));
  return head;
}

absl::Status PostgresAuditStore::Append(const std::vector<AuditEvent>& events) {
  if (events.empty()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  return Run([&](bool* retry_safe) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    auto rollback = [&](absl::Status why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      if (PQstatus(conn_.get()) == CONNECTION_OK) {
        PgResultPtr ignored(PQexec(conn_.get(), "ROLLBACK"));
      }
      return why;
    };
    KSEF_RETURN_IF_ERROR(Exec("BEGIN", nullptr, "append (begin)"));
    absl::Status s =
        Exec(absl::StrCat("SELECT pg_advisory_xact_lock(", kLockClass, ", ", kAppendLock, ")"),
             nullptr, "append (lock)");
    if (!s.ok()) return rollback(s);
    for (size_t begin = 0; begin < events.size(); begin += kRowsPerInsert) {
      const size_t end = std::min(events.size(), begin + kRowsPerInsert);
      Params p;
      std::vector<std::string> rows;
      rows.reserve(end - begin);
      for (size_t i = begin; i < end; ++i) {
        const AuditEvent& e = events[i];
        const std::string row[kEventColumns] = {
            p.Text(e.node),
            p.Int(e.seq),
            p.Int(absl::ToUnixMicros(e.time)),
            p.Text(e.caller.subject),
            p.Text(e.caller.issuer),
            p.Text(e.caller.serial),
            p.Text(e.caller.name),
            p.Text(e.operation),
            p.Text(e.key_name),
            p.Text(e.key_public_hash),
            p.Text(e.subject),
            p.Text(e.context),
            p.Text(e.signed_sha256),
            p.Text(OutcomeName(e.outcome)),
            p.Int(e.status_code),
            p.Text(e.message),
            p.Bytea(e.prev_hash),
            p.Bytea(e.hash),
            p.Text(e.peer),
            p.Int(e.count),
        };
        rows.push_back(absl::StrCat("(", absl::StrJoin(row, ","), ")"));
      }
      const std::string sql = absl::StrCat(
          "INSERT INTO audit_events (node, seq, time_us, caller_subject, caller_issuer, "
          "caller_serial, caller_name, operation, key_name, key_public_hash, subject, "
          "context, signed_sha256, outcome, status_code, message, prev_hash, hash, peer, count) "
          "VALUES ",
          absl::StrJoin(rows, ","));
      s = Exec(sql, &p, "append");
      if (!s.ok()) return rollback(s);
    }
    // From here a lost connection leaves the outcome unknown: no retry (the
    // caller re-reads the head).
    *retry_safe = false;
    s = Exec("COMMIT", nullptr, "append (commit)");
    if (!s.ok()) return rollback(s);
    return absl::OkStatus();
  });
}

absl::Status PostgresAuditStore::AddCheckpoint(const Checkpoint& cp) {
  absl::MutexLock lock(&mu_);
  return Run([&](bool*) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    Params p;
    const std::string sql = absl::StrCat(
        "INSERT INTO audit_checkpoints (node, seq, head_hash, time_us, signature, public_key, "
        "version, prev_hash, count, closing) VALUES (",
        absl::StrJoin(
            {p.Text(cp.node), p.Int(cp.seq), p.Bytea(cp.head_hash),
             p.Int(absl::ToUnixMicros(cp.time)), p.Bytea(cp.signature), p.Bytea(cp.public_key_der),
             p.Int(cp.version), p.Bytea(cp.prev_hash), p.Int(cp.count), p.Int(cp.closing ? 1 : 0)},
            ","),
        ") ON CONFLICT (node, seq) DO UPDATE SET head_hash=EXCLUDED.head_hash, "
        "time_us=EXCLUDED.time_us, signature=EXCLUDED.signature, "
        "public_key=EXCLUDED.public_key, version=EXCLUDED.version, "
        "prev_hash=EXCLUDED.prev_hash, count=EXCLUDED.count, closing=EXCLUDED.closing");
    return Exec(sql, &p, "add checkpoint");
  });
}

absl::StatusOr<std::vector<Checkpoint>> PostgresAuditStore::Checkpoints(const std::string& node) {
  absl::MutexLock lock(&mu_);
  std::vector<Checkpoint> out;
  KSEF_RETURN_IF_ERROR(Run([&](bool*) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    Params p;
    const std::string sql = absl::StrCat(
        "SELECT node, seq, head_hash, time_us, signature, public_key, version, prev_hash, "
        "count, closing FROM audit_checkpoints WHERE node=",
        p.Text(node), " ORDER BY seq");
    PgResultPtr r;
    KSEF_RETURN_IF_ERROR(Exec(sql, &p, "read checkpoints", &r));
    out.clear();
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      Checkpoint cp;
      cp.node = Bytes(r.get(), i, 0);
      cp.seq = Int(r.get(), i, 1);
      cp.head_hash = Bytes(r.get(), i, 2);
      cp.time = absl::FromUnixMicros(Int(r.get(), i, 3));
      cp.signature = Bytes(r.get(), i, 4);
      cp.public_key_der = Bytes(r.get(), i, 5);
      cp.version = static_cast<int>(Int(r.get(), i, 6));
      cp.prev_hash = Bytes(r.get(), i, 7);
      cp.count = Int(r.get(), i, 8);
      cp.closing = Int(r.get(), i, 9) != 0;
      out.push_back(std::move(cp));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::Status PostgresAuditStore::AcquireNodeLease(
    const std::string& node, const std::string& holder, absl::Time now, absl::Time expires,
    const std::function<bool(const std::string&)>& holder_is_dead) {
  absl::MutexLock lock(&mu_);
  return Run([&](bool*) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    // The row lock of the upsert makes take-or-renew one atomic step.
    Params p;
    const std::string sql = absl::StrCat(
        "INSERT INTO audit_node_leases (node, holder, expires_us) VALUES (", p.Text(node), ",",
        p.Text(holder), ",", p.Int(absl::ToUnixMicros(expires)),
        ") ON CONFLICT (node) DO UPDATE SET holder=EXCLUDED.holder, "
        "expires_us=EXCLUDED.expires_us WHERE audit_node_leases.holder=EXCLUDED.holder OR "
        "audit_node_leases.expires_us<",
        p.Int(absl::ToUnixMicros(now)), " RETURNING holder");
    PgResultPtr r;
    KSEF_RETURN_IF_ERROR(Exec(sql, &p, "take node lease", &r));
    if (PQntuples(r.get()) == 1) return absl::OkStatus();
    Params q;
    PgResultPtr held;
    KSEF_RETURN_IF_ERROR(Exec(absl::StrCat("SELECT holder, expires_us FROM audit_node_leases "
                                           "WHERE node=",
                                           q.Text(node)),
                              &q, "read node lease", &held));
    if (PQntuples(held.get()) != 1) return absl::UnavailableError("node lease vanished; retry");
    const std::string other = Bytes(held.get(), 0, 0);
    const int64_t until = Int(held.get(), 0, 1);
    if (!holder_is_dead(other)) return NodeLeaseTaken(node, other, absl::FromUnixMicros(until));
    // Its holder is gone: take it over, unless it changed meanwhile.
    Params t;
    PgResultPtr taken;
    KSEF_RETURN_IF_ERROR(Exec(absl::StrCat("UPDATE audit_node_leases SET holder=", t.Text(holder),
                                           ", expires_us=", t.Int(absl::ToUnixMicros(expires)),
                                           " WHERE node=", t.Text(node),
                                           " AND holder=", t.Text(other), " RETURNING holder"),
                              &t, "take over node lease", &taken));
    if (PQntuples(taken.get()) == 1) return absl::OkStatus();
    return absl::UnavailableError("the node lease changed hands meanwhile; retry");
  });
}

absl::Status PostgresAuditStore::ReleaseNodeLease(const std::string& node,
                                                  const std::string& holder) {
  absl::MutexLock lock(&mu_);
  return Run([&](bool*) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    Params p;
    return Exec(absl::StrCat("DELETE FROM audit_node_leases WHERE node=", p.Text(node),
                             " AND holder=", p.Text(holder)),
                &p, "release node lease");
  });
}

absl::StatusOr<std::vector<std::string>> PostgresAuditStore::Nodes() {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  KSEF_RETURN_IF_ERROR(Run([&](bool*) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    // COLLATE "C": byte order, as SQLite sorts, whatever the database locale.
    PgResultPtr r;
    KSEF_RETURN_IF_ERROR(
        Exec("SELECT node FROM (SELECT node FROM audit_events UNION "
             "SELECT node FROM audit_checkpoints) AS n ORDER BY node COLLATE \"C\"",
             nullptr, "list nodes", &r));
    out.clear();
    for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(Bytes(r.get(), i, 0));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<AuditEvent>> PostgresAuditStore::ReadChain(const std::string& node,
                                                                      int64_t after_seq,
                                                                      int limit) {
  absl::MutexLock lock(&mu_);
  std::vector<AuditEvent> out;
  KSEF_RETURN_IF_ERROR(Run([&](bool*) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    Params p;
    const std::string sql =
        absl::StrCat("SELECT ", kColumns, " FROM audit_events WHERE node=", p.Text(node),
                     " AND seq>", p.Int(after_seq), " ORDER BY seq LIMIT ", p.Int(limit));
    PgResultPtr r;
    KSEF_RETURN_IF_ERROR(Exec(sql, &p, "read chain", &r));
    out.clear();
    for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(ReadEvent(r.get(), i));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<AuditPage> PostgresAuditStore::Query(const AuditQuery& q) {
  Params p;
  std::vector<std::string> where = {absl::StrCat("id>", p.Int(q.after_id))};
  if (q.since) where.push_back(absl::StrCat("time_us>=", p.Int(absl::ToUnixMicros(*q.since))));
  if (q.until) where.push_back(absl::StrCat("time_us<", p.Int(absl::ToUnixMicros(*q.until))));
  if (!q.caller.empty()) {
    const std::string caller = p.Text(q.caller);
    where.push_back(absl::StrCat("(caller_subject=", caller, " OR caller_name=", caller, ")"));
  }
  if (!q.key_name.empty()) where.push_back(absl::StrCat("key_name=", p.Text(q.key_name)));
  if (!q.subject.empty()) where.push_back(absl::StrCat("subject=", p.Text(q.subject)));
  if (!q.operation.empty()) where.push_back(absl::StrCat("operation=", p.Text(q.operation)));
  if (q.outcome) where.push_back(absl::StrCat("outcome=", p.Text(OutcomeName(*q.outcome))));
  if (!q.node.empty()) where.push_back(absl::StrCat("node=", p.Text(q.node)));
  const int limit = q.limit <= 0 ? 100 : q.limit;
  // One row more than asked tells whether there is another page.
  const std::string sql =
      absl::StrCat("SELECT ", kColumns, " FROM audit_events WHERE ", absl::StrJoin(where, " AND "),
                   " ORDER BY id LIMIT ", p.Int(int64_t{limit} + 1));
  absl::MutexLock lock(&mu_);
  AuditPage page;
  KSEF_RETURN_IF_ERROR(Run([&](bool*) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    PgResultPtr r;
    KSEF_RETURN_IF_ERROR(Exec(sql, &p, "query", &r));
    page = AuditPage{};
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      if (static_cast<int>(page.events.size()) == limit) {
        page.more = true;
        break;
      }
      page.ids.push_back(Int(r.get(), i, 0));
      page.events.push_back(ReadEvent(r.get(), i));
    }
    return absl::OkStatus();
  }));
  return page;
}

absl::StatusOr<std::vector<UsageCount>> PostgresAuditStore::Usage(const std::string& key_name,
                                                                  std::optional<absl::Time> since,
                                                                  std::optional<absl::Time> until) {
  Params p;
  std::vector<std::string> where = {"outcome='SUCCESS'", "key_name<>''"};
  if (!key_name.empty()) where.push_back(absl::StrCat("key_name=", p.Text(key_name)));
  if (since) where.push_back(absl::StrCat("time_us>=", p.Int(absl::ToUnixMicros(*since))));
  if (until) where.push_back(absl::StrCat("time_us<", p.Int(absl::ToUnixMicros(*until))));
  const std::string sql = absl::StrCat(
      "SELECT key_name, operation, COUNT(*) FROM audit_events WHERE ",
      absl::StrJoin(where, " AND "),
      " GROUP BY key_name, operation ORDER BY key_name COLLATE \"C\", operation COLLATE \"C\"");
  absl::MutexLock lock(&mu_);
  std::vector<UsageCount> out;
  KSEF_RETURN_IF_ERROR(Run([&](bool*) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    PgResultPtr r;
    KSEF_RETURN_IF_ERROR(Exec(sql, &p, "usage", &r));
    out.clear();
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      out.push_back(UsageCount{Bytes(r.get(), i, 0), Bytes(r.get(), i, 1), Int(r.get(), i, 2)});
    }
    return absl::OkStatus();
  }));
  return out;
}

}  // namespace ksef::audit
