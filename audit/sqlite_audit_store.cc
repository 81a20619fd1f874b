#include "audit/sqlite_audit_store.h"

#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace ksef::audit {
namespace {

// Each committed batch rewrites whole pages: the table's last leaf and one
// leaf of each index (and sqlite_sequence), about five pages for a batch of
// one event. At 1 KiB a page that is ~6 KiB written per commit instead of
// ~20 KiB at SQLite's default 4 KiB (bench/grpc_load: 17 MB/s instead of
// 50 MB/s at 3,000 reads/s, docs/performance.md). Audit files made before
// keep their page size.
constexpr int kNewFilePageSize = 1024;

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS audit_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  node TEXT NOT NULL,
  seq INTEGER NOT NULL,
  time_us INTEGER NOT NULL,
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
  prev_hash BLOB NOT NULL,
  hash BLOB NOT NULL,
  peer TEXT NOT NULL DEFAULT '',
  count INTEGER NOT NULL DEFAULT 1,
  UNIQUE (node, seq));
CREATE INDEX IF NOT EXISTS audit_events_by_key ON audit_events (key_name, time_us);
CREATE INDEX IF NOT EXISTS audit_events_by_time ON audit_events (time_us);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
  node TEXT NOT NULL,
  seq INTEGER NOT NULL,
  head_hash BLOB NOT NULL,
  time_us INTEGER NOT NULL,
  signature BLOB NOT NULL,
  public_key BLOB NOT NULL,
  version INTEGER NOT NULL DEFAULT 1,
  prev_hash BLOB NOT NULL DEFAULT X'',
  count INTEGER NOT NULL DEFAULT 0,
  closing INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (node, seq));
CREATE TABLE IF NOT EXISTS audit_node_leases (
  node TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_us INTEGER NOT NULL);
)sql";

constexpr char kColumns[] =
    "id, node, seq, time_us, caller_subject, caller_issuer, caller_serial, caller_name, "
    "operation, key_name, key_public_hash, subject, context, signed_sha256, outcome, "
    "status_code, message, prev_hash, hash, peer, count";
// A read-only copy of a store written before peer and count existed.
constexpr char kColumnsV1[] =
    "id, node, seq, time_us, caller_subject, caller_issuer, caller_serial, caller_name, "
    "operation, key_name, key_public_hash, subject, context, signed_sha256, outcome, "
    "status_code, message, prev_hash, hash, '', 1";

constexpr char kCheckpointColumns[] =
    "node, seq, head_hash, time_us, signature, public_key, version, prev_hash, count, closing";
// A read-only copy of a store from before chained checkpoints: all are v1.
constexpr char kCheckpointColumnsV1[] =
    "node, seq, head_hash, time_us, signature, public_key, 1, X'', 0, 0";

// Stores created before chained checkpoints (issue 12): old rows read as
// version 1, which signs none of the new columns.
constexpr char kAddCheckpointChain[] =
    "ALTER TABLE audit_checkpoints ADD COLUMN version INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE audit_checkpoints ADD COLUMN prev_hash BLOB NOT NULL DEFAULT X'';"
    "ALTER TABLE audit_checkpoints ADD COLUMN count INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE audit_checkpoints ADD COLUMN closing INTEGER NOT NULL DEFAULT 0;";

absl::StatusOr<bool> HasColumn(SqliteDb& db, const char* table, const char* column) {
  Statement st(db, "SELECT COUNT(*) FROM pragma_table_info(?) WHERE name=?");
  KSEF_RETURN_IF_ERROR(st.prepared());
  st.BindText(1, table);
  st.BindText(2, column);
  KSEF_RETURN_IF_ERROR(st.Check(st.Step(), "read schema"));
  return st.Int(0) > 0;
}

// Stores created before peer and count: add them (old rows read as '' and 1,
// which EventHash treats as "not set", so their hashes still verify).
AuditEvent ReadEvent(const Statement& st) {
  AuditEvent e;
  e.node = st.Text(1);
  e.seq = st.Int(2);
  e.time = absl::FromUnixMicros(st.Int(3));
  e.caller.subject = st.Text(4);
  e.caller.issuer = st.Text(5);
  e.caller.serial = st.Text(6);
  e.caller.name = st.Text(7);
  e.operation = st.Text(8);
  e.key_name = st.Text(9);
  e.key_public_hash = st.Text(10);
  e.subject = st.Text(11);
  e.context = st.Text(12);
  e.signed_sha256 = st.Text(13);
  // An unknown outcome word (edited row) keeps kFailure; the hash check flags it.
  if (!OutcomeFromName(st.Text(14), &e.outcome)) e.outcome = Outcome::kFailure;
  e.status_code = static_cast<int>(st.Int(15));
  e.message = st.Text(16);
  e.prev_hash = st.Blob(17);
  e.hash = st.Blob(18);
  e.peer = st.Text(19);
  e.count = st.Int(20);
  return e;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteAuditStore>> SqliteAuditStore::Open(const std::string& path,
                                                                         bool read_only) {
  KSEF_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db,
                        SqliteDb::Open(path, "audit store", read_only, kNewFilePageSize));
  if (!read_only) KSEF_RETURN_IF_ERROR(db->Exec(kSchema));
  KSEF_ASSIGN_OR_RETURN(bool has_peer, HasColumn(*db, "audit_events", "peer"));
  if (!has_peer && !read_only) {
    KSEF_RETURN_IF_ERROR(
        db->Exec("ALTER TABLE audit_events ADD COLUMN peer TEXT NOT NULL DEFAULT '';"
                 "ALTER TABLE audit_events ADD COLUMN count INTEGER NOT NULL DEFAULT 1;"));
    has_peer = true;
  }
  KSEF_ASSIGN_OR_RETURN(bool chained, HasColumn(*db, "audit_checkpoints", "version"));
  if (!chained && !read_only) {
    KSEF_RETURN_IF_ERROR(db->Exec(kAddCheckpointChain));
    chained = true;
  }
  return std::unique_ptr<SqliteAuditStore>(
      new SqliteAuditStore(std::move(db), has_peer ? kColumns : kColumnsV1,
                           chained ? kCheckpointColumns : kCheckpointColumnsV1));
}

absl::StatusOr<ChainHead> SqliteAuditStore::Head(const std::string& node) {
  absl::MutexLock lock(&mu_);
  Statement st(*db_, "SELECT seq, hash FROM audit_events WHERE node=? ORDER BY seq DESC LIMIT 1");
  KSEF_RETURN_IF_ERROR(st.prepared());
  st.BindText(1, node);
  ChainHead head;
  head.hash = std::string(32, '\0');
  int rc = st.Step();
  if (rc == SQLITE_ROW) {
    head.seq = st.Int(0);
    head.hash = st.Blob(1);
    return head;
  }
  KSEF_RETURN_IF_ERROR(st.Check(rc, "read head"));
  return head;
}

absl::Status SqliteAuditStore::ForWrite(Durability durability) {
  // In WAL mode, NORMAL commits without an fsync of the WAL; the next FULL
  // commit (or SQLite's checkpoint) syncs the WAL with those batches in it.
  const bool full = durability == Durability::kDurable;
  if (full == synchronous_full_) return absl::OkStatus();
  KSEF_RETURN_IF_ERROR(db_->Exec(full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
  synchronous_full_ = full;
  return absl::OkStatus();
}

absl::StatusOr<int> SqliteAuditStore::SynchronousLevel() {
  absl::MutexLock lock(&mu_);
  Statement st(*db_, "PRAGMA synchronous");
  KSEF_RETURN_IF_ERROR(st.prepared());
  const int rc = st.Step();
  if (rc == SQLITE_ROW) return static_cast<int>(st.Int(0));
  KSEF_RETURN_IF_ERROR(st.Check(rc, "read the synchronous level"));
  return absl::InternalError("PRAGMA synchronous returned no row");
}

absl::Status SqliteAuditStore::Append(const std::vector<AuditEvent>& events,
                                      Durability durability) {
  absl::MutexLock lock(&mu_);
  KSEF_RETURN_IF_ERROR(ForWrite(durability));
  KSEF_RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
  auto rollback = [&](absl::Status why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    db_->Exec("ROLLBACK").IgnoreError();
    return why;
  };
  {
    Statement st(*db_,
                 "INSERT INTO audit_events (node, seq, time_us, caller_subject, caller_issuer, "
                 "caller_serial, caller_name, operation, key_name, key_public_hash, subject, "
                 "context, signed_sha256, outcome, status_code, message, prev_hash, hash, "
                 "peer, count) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    absl::Status prepared = st.prepared();
    if (!prepared.ok()) return rollback(prepared);
    for (const AuditEvent& e : events) {
      st.Reset();
      st.BindText(1, e.node);
      st.Bind(2, e.seq);
      st.Bind(3, absl::ToUnixMicros(e.time));
      st.BindText(4, e.caller.subject);
      st.BindText(5, e.caller.issuer);
      st.BindText(6, e.caller.serial);
      st.BindText(7, e.caller.name);
      st.BindText(8, e.operation);
      st.BindText(9, e.key_name);
      st.BindText(10, e.key_public_hash);
      st.BindText(11, e.subject);
      st.BindText(12, e.context);
      st.BindText(13, e.signed_sha256);
      st.BindText(14, OutcomeName(e.outcome));
      st.Bind(15, e.status_code);
      st.BindText(16, e.message);
      st.BindBlob(17, e.prev_hash);
      st.BindBlob(18, e.hash);
      st.BindText(19, e.peer);
      st.Bind(20, e.count);
      absl::Status s = st.Check(st.Step(), "append");
      if (!s.ok()) return rollback(s);
    }
  }
  absl::Status committed = db_->Exec("COMMIT");
  if (!committed.ok()) return rollback(committed);
  return absl::OkStatus();
}

absl::Status SqliteAuditStore::AddCheckpoint(const Checkpoint& cp) {
  absl::MutexLock lock(&mu_);
  KSEF_RETURN_IF_ERROR(ForWrite(Durability::kDurable));
  Statement st(*db_,
               "INSERT OR REPLACE INTO audit_checkpoints (node, seq, head_hash, time_us, "
               "signature, public_key, version, prev_hash, count, closing) "
               "VALUES (?,?,?,?,?,?,?,?,?,?)");
  KSEF_RETURN_IF_ERROR(st.prepared());
  st.BindText(1, cp.node);
  st.Bind(2, cp.seq);
  st.BindBlob(3, cp.head_hash);
  st.Bind(4, absl::ToUnixMicros(cp.time));
  st.BindBlob(5, cp.signature);
  st.BindBlob(6, cp.public_key_der);
  st.Bind(7, cp.version);
  st.BindBlob(8, cp.prev_hash);
  st.Bind(9, cp.count);
  st.Bind(10, cp.closing ? 1 : 0);
  return st.Check(st.Step(), "add checkpoint");
}

absl::StatusOr<std::vector<Checkpoint>> SqliteAuditStore::Checkpoints(const std::string& node) {
  absl::MutexLock lock(&mu_);
  const std::string sql = absl::StrCat("SELECT ", checkpoint_columns_,
                                       " FROM audit_checkpoints WHERE node=? ORDER BY seq");
  Statement st(*db_, sql.c_str());
  KSEF_RETURN_IF_ERROR(st.prepared());
  st.BindText(1, node);
  std::vector<Checkpoint> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    Checkpoint cp;
    cp.node = st.Text(0);
    cp.seq = st.Int(1);
    cp.head_hash = st.Blob(2);
    cp.time = absl::FromUnixMicros(st.Int(3));
    cp.signature = st.Blob(4);
    cp.public_key_der = st.Blob(5);
    cp.version = static_cast<int>(st.Int(6));
    cp.prev_hash = st.Blob(7);
    cp.count = st.Int(8);
    cp.closing = st.Int(9) != 0;
    out.push_back(std::move(cp));
  }
  KSEF_RETURN_IF_ERROR(st.Check(rc, "read checkpoints"));
  return out;
}

absl::Status SqliteAuditStore::AcquireNodeLease(
    const std::string& node, const std::string& holder, absl::Time now, absl::Time expires,
    const std::function<bool(const std::string&)>& holder_is_dead) {
  absl::MutexLock lock(&mu_);
  KSEF_RETURN_IF_ERROR(ForWrite(Durability::kDurable));
  KSEF_RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
  auto rollback = [&](absl::Status why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    db_->Exec("ROLLBACK").IgnoreError();
    return why;
  };
  {
    Statement st(*db_, "SELECT holder, expires_us FROM audit_node_leases WHERE node=?");
    absl::Status prepared = st.prepared();
    if (!prepared.ok()) return rollback(prepared);
    st.BindText(1, node);
    const int rc = st.Step();
    if (rc == SQLITE_ROW) {
      const std::string other = st.Text(0);
      const absl::Time until = absl::FromUnixMicros(st.Int(1));
      if (other != holder && until > now && !holder_is_dead(other)) {
        return rollback(NodeLeaseTaken(node, other, until));
      }
    } else if (absl::Status s = st.Check(rc, "read node lease"); !s.ok()) {
      return rollback(s);
    }
  }
  Statement put(
      *db_, "INSERT OR REPLACE INTO audit_node_leases (node, holder, expires_us) VALUES (?,?,?)");
  absl::Status prepared = put.prepared();
  if (!prepared.ok()) return rollback(prepared);
  put.BindText(1, node);
  put.BindText(2, holder);
  put.Bind(3, absl::ToUnixMicros(expires));
  if (absl::Status s = put.Check(put.Step(), "take node lease"); !s.ok()) return rollback(s);
  return db_->Exec("COMMIT");
}

absl::Status SqliteAuditStore::ReleaseNodeLease(const std::string& node,
                                                const std::string& holder) {
  absl::MutexLock lock(&mu_);
  KSEF_RETURN_IF_ERROR(ForWrite(Durability::kDurable));
  Statement st(*db_, "DELETE FROM audit_node_leases WHERE node=? AND holder=?");
  KSEF_RETURN_IF_ERROR(st.prepared());
  st.BindText(1, node);
  st.BindText(2, holder);
  return st.Check(st.Step(), "release node lease");
}

absl::StatusOr<std::vector<std::string>> SqliteAuditStore::Nodes() {
  absl::MutexLock lock(&mu_);
  Statement st(*db_,
               "SELECT node FROM audit_events UNION SELECT node FROM audit_checkpoints "
               "ORDER BY node");
  KSEF_RETURN_IF_ERROR(st.prepared());
  std::vector<std::string> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) out.push_back(st.Text(0));
  KSEF_RETURN_IF_ERROR(st.Check(rc, "list nodes"));
  return out;
}

absl::StatusOr<std::vector<AuditEvent>> SqliteAuditStore::ReadChain(const std::string& node,
                                                                    int64_t after_seq, int limit) {
  absl::MutexLock lock(&mu_);
  const std::string sql = absl::StrCat("SELECT ", columns_,
                                       " FROM audit_events WHERE node=? AND seq>? "
                                       "ORDER BY seq LIMIT ?");
  Statement st(*db_, sql.c_str());
  KSEF_RETURN_IF_ERROR(st.prepared());
  st.BindText(1, node);
  st.Bind(2, after_seq);
  st.Bind(3, limit);
  std::vector<AuditEvent> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) out.push_back(ReadEvent(st));
  KSEF_RETURN_IF_ERROR(st.Check(rc, "read chain"));
  return out;
}

absl::StatusOr<AuditPage> SqliteAuditStore::Query(const AuditQuery& q) {
  std::vector<std::string> where = {"id>?"};
  if (q.since) where.push_back("time_us>=?");
  if (q.until) where.push_back("time_us<?");
  if (!q.caller.empty()) where.push_back("(caller_subject=? OR caller_name=?)");
  if (!q.key_name.empty()) where.push_back("key_name=?");
  if (!q.subject.empty()) where.push_back("subject=?");
  if (!q.operation.empty()) where.push_back("operation=?");
  if (q.outcome) where.push_back("outcome=?");
  if (!q.node.empty()) where.push_back("node=?");
  const int limit = q.limit <= 0 ? 100 : q.limit;
  const std::string sql = absl::StrCat("SELECT ", columns_, " FROM audit_events WHERE ",
                                       absl::StrJoin(where, " AND "), " ORDER BY id LIMIT ?");
  absl::MutexLock lock(&mu_);
  Statement st(*db_, sql.c_str());
  KSEF_RETURN_IF_ERROR(st.prepared());
  int i = 1;
  st.Bind(i++, q.after_id);
  if (q.since) st.Bind(i++, absl::ToUnixMicros(*q.since));
  if (q.until) st.Bind(i++, absl::ToUnixMicros(*q.until));
  if (!q.caller.empty()) {
    st.BindText(i++, q.caller);
    st.BindText(i++, q.caller);
  }
  if (!q.key_name.empty()) st.BindText(i++, q.key_name);
  if (!q.subject.empty()) st.BindText(i++, q.subject);
  if (!q.operation.empty()) st.BindText(i++, q.operation);
  if (q.outcome) st.BindText(i++, OutcomeName(*q.outcome));
  if (!q.node.empty()) st.BindText(i++, q.node);
  st.Bind(i++, limit + 1);
  AuditPage page;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    if (static_cast<int>(page.events.size()) == limit) {
      page.more = true;
      break;
    }
    page.ids.push_back(st.Int(0));
    page.events.push_back(ReadEvent(st));
  }
  if (!page.more) KSEF_RETURN_IF_ERROR(st.Check(rc, "query"));
  return page;
}

absl::StatusOr<std::vector<UsageCount>> SqliteAuditStore::Usage(const std::string& key_name,
                                                                std::optional<absl::Time> since,
                                                                std::optional<absl::Time> until) {
  std::vector<std::string> where = {"outcome='SUCCESS'", "key_name<>''"};
  if (!key_name.empty()) where.push_back("key_name=?");
  if (since) where.push_back("time_us>=?");
  if (until) where.push_back("time_us<?");
  const std::string sql = absl::StrCat(
      "SELECT key_name, operation, COUNT(*) FROM audit_events WHERE ",
      absl::StrJoin(where, " AND "), " GROUP BY key_name, operation ORDER BY key_name, operation");
  absl::MutexLock lock(&mu_);
  Statement st(*db_, sql.c_str());
  KSEF_RETURN_IF_ERROR(st.prepared());
  int i = 1;
  if (!key_name.empty()) st.BindText(i++, key_name);
  if (since) st.Bind(i++, absl::ToUnixMicros(*since));
  if (until) st.Bind(i++, absl::ToUnixMicros(*until));
  std::vector<UsageCount> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    out.push_back(UsageCount{st.Text(0), st.Text(1), st.Int(2)});
  }
  KSEF_RETURN_IF_ERROR(st.Check(rc, "usage"));
  return out;
}

}  // namespace ksef::audit
