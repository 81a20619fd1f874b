#include "common/sqlite.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/files.h"
#include "common/status_macros.h"

namespace ksef {

absl::Status SqliteStatus(sqlite3* db, int rc, absl::string_view store, absl::string_view what) {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return absl::OkStatus();
  std::string msg = absl::StrCat(store, " ", what, ": ", db ? sqlite3_errmsg(db) : "error");
  const int primary = rc & 0xff;
  if (primary == SQLITE_CONSTRAINT) return absl::AlreadyExistsError(msg);
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED || primary == SQLITE_IOERR ||
      primary == SQLITE_FULL || primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY) {
    return absl::UnavailableError(msg);
  }
  return absl::InternalError(msg);
}

namespace {

constexpr int kBusyTimeoutMs = 15000;

// The database file is created 0600 before SQLite opens it, because SQLite
// creates it 0644 (less the umask) and gives its -wal and -shm files the
// database file's mode. Files left looser by older versions are tightened.
absl::Status MakeDatabaseFilesPrivate(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
  } else if (errno != EEXIST) {
    return absl::UnavailableError(absl::StrCat("cannot create ", path, ": ", std::strerror(errno),
                                               " (check the path and its permissions)"));
  }
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    KSEF_RETURN_IF_ERROR(TightenPrivateFile(absl::StrCat(path, suffix)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path,
                                                         std::string store_name, bool read_only,
                                                         int new_file_page_size) {
  if (!read_only) {
    absl::Status private_files = MakeDatabaseFilesPrivate(path);
    if (!private_files.ok()) {
      return absl::Status(private_files.code(),
                          absl::StrCat(store_name, ": ", private_files.message()));
    }
  }
  sqlite3* db = nullptr;
  const int flags =
      (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
      SQLITE_OPEN_FULLMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = absl::StrCat("cannot open ", store_name, " ", path, ": ",
                                   db ? sqlite3_errmsg(db) : "out of memory",
                                   " (check the path and its permissions)");
    sqlite3_close(db);
    return absl::UnavailableError(msg);
  }
  std::unique_ptr<SqliteDb> out(new SqliteDb(db, std::move(store_name)));
  // Another connection (a second process on this host, `ksef-hsm audit
  // verify --db`, the registry's usage reservations) may hold the write lock
  // for a while when the host is loaded: wait for it rather than fail.
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  if (!read_only) {
    // Before WAL mode is set: that writes the header of a new file. On an
    // existing file SQLite ignores it.
    if (new_file_page_size != 0) {
      absl::Status s =
          out->Exec(absl::StrCat("PRAGMA page_size=", new_file_page_size, ";").c_str());
      if (!s.ok()) return s;
    }
    for (const char* sql : {"PRAGMA journal_mode=WAL;", "PRAGMA synchronous=FULL;"}) {
      absl::Status s = out->Exec(sql);
      if (!s.ok()) return s;
    }
  }
  return out;
}

SqliteDb::~SqliteDb() {
  for (auto& [sql, entry] : cache_) sqlite3_finalize(entry.stmt);
  sqlite3_close(db_);
}

int SqliteDb::Acquire(const char* sql, sqlite3_stmt** stmt, bool* cached) const {
  *cached = false;
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(sql);
    if (it != cache_.end() && !it->second.in_use) {
      it->second.in_use = true;
      *stmt = it->second.stmt;
      *cached = true;
      return SQLITE_OK;
    }
  }
  const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, nullptr);
  if (rc != SQLITE_OK || *stmt == nullptr) return rc;
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (cache_.size() < kMaxCachedStatements && cache_.find(sql) == cache_.end()) {
    cache_.emplace(sql, CachedStatement{*stmt, /*in_use=*/true});
    *cached = true;
  }
  return rc;
}

void SqliteDb::Release(sqlite3_stmt* stmt) const {
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  std::lock_guard<std::mutex> lock(cache_mu_);
  for (auto& [sql, entry] : cache_) {
    if (entry.stmt == stmt) {
      entry.in_use = false;
      return;
    }
  }
}

namespace {

// True when `sql` holds one statement: no ';' before its last non-space one.
bool IsOneStatement(absl::string_view sql) {
  const size_t end = sql.find_last_not_of(" \t\n;");
  return end == absl::string_view::npos || sql.substr(0, end).find(';') == absl::string_view::npos;
}

}  // namespace

absl::Status SqliteDb::Exec(const char* sql) {
  if (IsOneStatement(sql)) {
    // BEGIN, COMMIT, PRAGMA ... on the hot path: prepared once, from the cache.
    Statement st(*this, sql);
    KSEF_RETURN_IF_ERROR(st.prepared());
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
    }
    return st.Check(rc, sql);
  }
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    absl::Status s = SqliteStatus(db_, rc, store_name_, err ? err : "exec");
    sqlite3_free(err);
    return s;
  }
  return absl::OkStatus();
}

}  // namespace ksef
