#include "audit/postgres_audit_store.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "pg/advisory_lock.h"

namespace ksef::audit {
namespace {

using pg::Bytes;
using pg::Int;

// Advisory lock keys: (class, id). The schema lock keeps two replicas that
// start together from racing on CREATE TABLE IF NOT EXISTS; the append lock
// makes BIGSERIAL ids visible in id order (a transaction that took id 7 is
// committed before another can take id 8), so after_id paging cannot skip
// an event that a slower replica commits later.
constexpr pg::AdvisoryLockKey kSchemaLock{pg::kKsefLockClass, 1};
constexpr pg::AdvisoryLockKey kAppendLock{pg::kKsefLockClass, 2};

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
static_assert(kSchemaLock.lock_class == 1802724710 && kSchemaLock.id == 1,
              "kSchema names the schema lock");

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

// INSERTs of at most kRowsPerInsert rows, in the caller's transaction.
absl::Status InsertEvents(pg::Connection& conn, const std::vector<AuditEvent>& events) {
  for (size_t begin = 0; begin < events.size(); begin += kRowsPerInsert) {
    const size_t end = std::min(events.size(), begin + kRowsPerInsert);
    pg::Params p;
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
    KSEF_RETURN_IF_ERROR(conn.Exec(sql, &p, "append"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresAuditStore>> PostgresAuditStore::Open(
    const std::string& conninfo) {
  KSEF_ASSIGN_OR_RETURN(std::unique_ptr<pg::Connection> conn,
                        pg::Connection::Open(conninfo, {.store = "audit store",
                                                        .application_name = "ksef-hsmd-audit",
                                                        .session_sql = ""}));
  std::unique_ptr<PostgresAuditStore> store(new PostgresAuditStore(std::move(conn)));
  {
    absl::MutexLock lock(&store->mu_);
    KSEF_RETURN_IF_ERROR(store->MakeSchema());
  }
  return store;
}

absl::Status PostgresAuditStore::MakeSchema() {
  // CREATE ... IF NOT EXISTS needs the CREATE privilege even when the
  // tables exist: a role that may only read and insert (the tables made by
  // an administrator) must not need it.
  pg::PgResultPtr exists;
  KSEF_RETURN_IF_ERROR(
      Exec("SELECT to_regclass('audit_events') IS NOT NULL AND "
           "to_regclass('audit_checkpoints') IS NOT NULL",
           nullptr, "look for the schema", &exists));
  if (PQntuples(exists.get()) != 1 || Int(exists.get(), 0, 0) != 1) {
    KSEF_RETURN_IF_ERROR(conn_->ExecScript(kSchema, "create the schema"));
  }
  KSEF_RETURN_IF_ERROR(
      Migrate("audit_events", "count", kAddPeerAndCount, "add the peer and count columns"));
  KSEF_RETURN_IF_ERROR(Migrate("audit_checkpoints", "version", kAddCheckpointChain,
                               "add the checkpoint chain columns"));
  return Migrate("audit_node_leases", "holder", kAddNodeLeases,
                 "create the audit_node_leases table");
}

absl::Status PostgresAuditStore::Migrate(const char* table, const char* column,
                                         const char* migration, const char* what) {
  pg::Params p;
  const std::string sql = absl::StrCat(
      "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = ", p.Text(table),
      " AND column_name = ", p.Text(column), " AND table_schema = current_schema()");
  pg::PgResultPtr has;
  KSEF_RETURN_IF_ERROR(Exec(sql, &p, "read the schema", &has));
  if (PQntuples(has.get()) == 1 && Int(has.get(), 0, 0) == 1) return absl::OkStatus();
  const std::string why =
      absl::StrCat(what, " (run docs/operations.md's migration as the owner of ", table, ")");
  return conn_->ExecScript(migration, why.c_str());
}

absl::Status PostgresAuditStore::Run(const std::function<absl::Status(bool*)>& op) {
  return conn_->Run(op);
}

absl::StatusOr<ChainHead> PostgresAuditStore::Head(const std::string& node) {
  absl::MutexLock lock(&mu_);
  ChainHead head;
  KSEF_RETURN_IF_ERROR(Run([&](bool*) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    pg::Params p;
    const std::string sql =
        absl::StrCat("SELECT seq, hash FROM audit_events WHERE node=", p.Text(node),
                     " ORDER BY seq DESC LIMIT 1");
    pg::PgResultPtr r;
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

absl::Status PostgresAuditStore::Append(const std::vector<AuditEvent>& events,
                                        Durability durability) {
  if (events.empty()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  return Run([&](bool* retry_safe) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    // From COMMIT on a lost connection leaves the outcome unknown: no retry
    // (the caller re-reads the head).
    return conn_->Transaction(retry_safe, "append", [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      KSEF_RETURN_IF_ERROR(Exec(pg::XactLockSql(kAppendLock), nullptr, "append (lock)"));
      if (durability == Durability::kCommitted) {
        // This transaction only: the commit does not wait for the WAL flush.
        KSEF_RETURN_IF_ERROR(
            Exec("SET LOCAL synchronous_commit TO off", nullptr, "append (commit mode)"));
      }
      return InsertEvents(*conn_, events);
    });
  });
}

absl::Status PostgresAuditStore::AddCheckpoint(const Checkpoint& cp) {
  absl::MutexLock lock(&mu_);
  return Run([&](bool*) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    pg::Params p;
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
    pg::Params p;
    const std::string sql = absl::StrCat(
        "SELECT node, seq, head_hash, time_us, signature, public_key, version, prev_hash, "
        "count, closing FROM audit_checkpoints WHERE node=",
        p.Text(node), " ORDER BY seq");
    pg::PgResultPtr r;
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
    pg::Params p;
    const std::string sql = absl::StrCat(
        "INSERT INTO audit_node_leases (node, holder, expires_us) VALUES (", p.Text(node), ",",
        p.Text(holder), ",", p.Int(absl::ToUnixMicros(expires)),
        ") ON CONFLICT (node) DO UPDATE SET holder=EXCLUDED.holder, "
        "expires_us=EXCLUDED.expires_us WHERE audit_node_leases.holder=EXCLUDED.holder OR "
        "audit_node_leases.expires_us<",
        p.Int(absl::ToUnixMicros(now)), " RETURNING holder");
    pg::PgResultPtr r;
    KSEF_RETURN_IF_ERROR(Exec(sql, &p, "take node lease", &r));
    if (PQntuples(r.get()) == 1) return absl::OkStatus();
    pg::Params q;
    pg::PgResultPtr held;
    KSEF_RETURN_IF_ERROR(Exec(absl::StrCat("SELECT holder, expires_us FROM audit_node_leases "
                                           "WHERE node=",
                                           q.Text(node)),
                              &q, "read node lease", &held));
    if (PQntuples(held.get()) != 1) return absl::UnavailableError("node lease vanished; retry");
    const std::string other = Bytes(held.get(), 0, 0);
    const int64_t until = Int(held.get(), 0, 1);
    if (!holder_is_dead(other)) return NodeLeaseTaken(node, other, absl::FromUnixMicros(until));
    // Its holder is gone: take it over, unless it changed meanwhile.
    pg::Params t;
    pg::PgResultPtr taken;
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
    pg::Params p;
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
    pg::PgResultPtr r;
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
    pg::Params p;
    const std::string sql =
        absl::StrCat("SELECT ", kColumns, " FROM audit_events WHERE node=", p.Text(node),
                     " AND seq>", p.Int(after_seq), " ORDER BY seq LIMIT ", p.Int(limit));
    pg::PgResultPtr r;
    KSEF_RETURN_IF_ERROR(Exec(sql, &p, "read chain", &r));
    out.clear();
    for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(ReadEvent(r.get(), i));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<AuditPage> PostgresAuditStore::Query(const AuditQuery& q) {
  pg::Params p;
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
    pg::PgResultPtr r;
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
  pg::Params p;
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
    pg::PgResultPtr r;
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
