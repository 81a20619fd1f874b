// RAII over SQLite for the embedded stores (key registry, audit log):
// SqliteDb owns a connection opened in WAL mode with synchronous=FULL, so a
// committed transaction is durable; Statement wraps sqlite3_stmt with
// 1-based typed binds and 0-based column reads. Errors name the store.
// Statements made from a SqliteDb come from its cache of prepared
// statements (no SQL is parsed again on the hot path); a statement whose
// cached copy is in use is prepared afresh. SqliteDb's cache is thread-safe;
// SQLite itself runs in serialized mode (SQLITE_OPEN_FULLMUTEX).
#ifndef KSEF_COMMON_SQLITE_H_
#define KSEF_COMMON_SQLITE_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace ksef {

// Maps an SQLite result code to a status: CONSTRAINT -> ALREADY_EXISTS;
// BUSY/LOCKED/IOERR/FULL/CANTOPEN/READONLY -> UNAVAILABLE; others INTERNAL.
absl::Status SqliteStatus(sqlite3* db, int rc, absl::string_view store, absl::string_view what);

class SqliteDb {
 public:
  // Opens (creating if needed) `path`, sets WAL + synchronous=FULL and a 15 s
  // busy timeout. UNAVAILABLE with a hint when the file cannot be opened.
  // Unless read_only: a new database file is created mode 0600 (its -wal and
  // -shm files get the same mode from SQLite), and an existing database,
  // -wal, -shm or -journal file the service user owns is tightened to 0600
  // with a logged WARNING; FAILED_PRECONDITION if another user owns one that
  // group or others may access (common/files.h TightenPrivateFile).
  // `new_file_page_size` (a power of two, 512..65536; 0: SQLite's default)
  // is the page size of a database this call creates; an existing file keeps
  // its own (a WAL database cannot change it).
  static absl::StatusOr<std::unique_ptr<SqliteDb>> Open(const std::string& path,
                                                        std::string store_name,
                                                        bool read_only = false,
                                                        int new_file_page_size = 0);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more statements without results. A single statement (BEGIN,
  // COMMIT, a PRAGMA) is prepared once and kept in the statement cache.
  absl::Status Exec(const char* sql);
  sqlite3* get() const { return db_; }
  const std::string& store_name() const { return store_name_; }

  // A prepared statement for `sql`: the cached one (marked in use until
  // Release), or a new one (*cached false) when that one is in use or the
  // cache is full. Returns the sqlite3_prepare_v3 result code.
  int Acquire(const char* sql, sqlite3_stmt** stmt, bool* cached) const;
  // Gives back a statement Acquire returned with *cached true (reset, binds
  // cleared).
  void Release(sqlite3_stmt* stmt) const;

 private:
  // Distinct SQL texts kept prepared; the stores have a few dozen.
  static constexpr size_t kMaxCachedStatements = 128;
  struct CachedStatement {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };

  SqliteDb(sqlite3* db, std::string store_name) : db_(db), store_name_(std::move(store_name)) {}
  sqlite3* db_;
  std::string store_name_;
  mutable std::mutex cache_mu_;
  mutable std::unordered_map<std::string, CachedStatement> cache_;  // guarded by cache_mu_
};

class Statement {
 public:
  // From `db`'s cache of prepared statements (SqliteDb::Acquire).
  Statement(const SqliteDb& db, const char* sql)
      : db_(db.get()), store_name_(db.store_name()), owner_(&db) {
    rc_ = db.Acquire(sql, &stmt_, &cached_);
  }
  Statement(sqlite3* db, const char* sql, absl::string_view store_name = "key registry")
      : db_(db), store_name_(store_name) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Statement() {
    if (cached_) {
      owner_->Release(stmt_);
    } else {
      sqlite3_finalize(stmt_);
    }
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  absl::Status prepared() const { return Check(rc_, "prepare"); }

  void Bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void BindText(int i, absl::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void BindBlob(int i, absl::string_view v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void BindNull(int i) { sqlite3_bind_null(stmt_, i); }

  // Resets the statement for another Step with new binds.
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  // SQLITE_ROW / SQLITE_DONE / an error code.
  int Step() { return rc_ = sqlite3_step(stmt_); }

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string Text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, col))
             : std::string();
  }
  std::string Blob(int col) const {
    const void* p = sqlite3_column_blob(stmt_, col);
    return p ? std::string(static_cast<const char*>(p), sqlite3_column_bytes(stmt_, col))
             : std::string();
  }

  absl::Status Check(int rc, absl::string_view what) const {
    return SqliteStatus(db_, rc, store_name_, what);
  }

 private:
  sqlite3* db_;
  std::string store_name_;
  const SqliteDb* owner_ = nullptr;  // set when stmt_ may be cached
  bool cached_ = false;              // stmt_ goes back to owner_'s cache
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

}  // namespace ksef

#endif  // KSEF_COMMON_SQLITE_H_
