#include "pg/connection.h"

#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace ksef::pg {
namespace {

constexpr char kSqlStatePayload[] = "type.ksef/pg.sqlstate";

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

bool ValidConninfo(const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &err);
  if (err != nullptr) PQfreemem(err);  // may quote the password: not passed on
  if (parsed == nullptr) return false;
  PQconninfoFree(parsed);
  return true;
}

}  // namespace

std::string Bytes(const PGresult* r, int row, int col) {
  return std::string(PQgetvalue(r, row, col), static_cast<size_t>(PQgetlength(r, row, col)));
}

int64_t Int(const PGresult* r, int row, int col) {
  const auto* p = reinterpret_cast<const unsigned char*>(PQgetvalue(r, row, col));
  const int len = PQgetlength(r, row, col);
  uint64_t v = 0;
  for (int i = 0; i < len; ++i) v = (v << 8) | p[i];
  if (len > 0 && len < 8 && (p[0] & 0x80)) v |= ~uint64_t{0} << (8 * len);
  return static_cast<int64_t>(v);
}

bool IsTransient(absl::string_view state) {
  return absl::StartsWith(state, "08") || absl::StartsWith(state, "53") ||
         absl::StartsWith(state, "57") || absl::StartsWith(state, "58") || state == "40001" ||
         state == "40P01" || state == "25006";
}

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

std::string SqlState(const absl::Status& status) {
  auto state = status.GetPayload(kSqlStatePayload);
  return state ? std::string(*state) : std::string();
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const std::string& conninfo,
                                                             ConnectionOptions options) {
  if (!ValidConninfo(conninfo)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the PostgreSQL connection settings of the ", options.store,
        " are not a valid libpq conninfo (\"host=... port=... dbname=... user=...\" or a "
        "postgresql:// URI); fix them in the config file"));
  }
  // Defaults first: the conninfo (expanded in place of dbname) overrides them.
  const char* keys[] = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
  const char* values[] = {"10", options.application_name.c_str(), conninfo.c_str(), nullptr};
  PgConnPtr conn(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (conn == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("PostgreSQL ", options.store, ": out of memory for a connection"));
  }
  SecureString password;
  std::string description;
  {
    PQconninfoOption* parsed = PQconninfo(conn.get());
    description = Describe(parsed, &password);
    if (parsed != nullptr) PQconninfoFree(parsed);
  }
  std::unique_ptr<Connection> out(new Connection(std::move(conn), std::move(description),
                                                 std::move(password), std::move(options)));
  if (PQstatus(out->get()) != CONNECTION_OK) {
    return absl::UnavailableError(out->Scrub(absl::StrCat(
        out->Name(), ": cannot connect: ", OneLine(PQerrorMessage(out->get())), out->CheckHint())));
  }
  // Server warnings go to our log, not to stderr.
  PQsetNoticeProcessor(
      out->get(),
      [](void* arg, const char* message) {
        auto* self = static_cast<Connection*>(arg);
        LogWarning(self->Name(), ": ", OneLine(self->Scrub(message).c_str()));
      },
      out.get());
  KSEF_RETURN_IF_ERROR(out->SetupSession());
  return out;
}

std::string Connection::Name() const {
  return absl::StrCat("PostgreSQL ", options_.store, " (", description_, ")");
}

std::string Connection::CheckHint() const {
  return absl::StrCat("; check that the PostgreSQL server is running and reachable, and the ",
                      options_.store, "'s PostgreSQL connection settings in the config file");
}

std::string Connection::Scrub(std::string message) const {
  if (password_.size() >= 3) {
    absl::StrReplaceAll({{password_.reveal(), "********"}}, &message);
  }
  return message;
}

absl::Status Connection::Error(const PGresult* result, const char* what) const {
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string detail = OneLine(result ? PQresultErrorMessage(result) : "");
  if (detail.empty()) detail = OneLine(PQerrorMessage(conn_.get()));
  std::string message = Scrub(absl::StrCat(Name(), ": ", what, ": ", detail));
  absl::Status status;
  if (state != nullptr && absl::string_view(state) == "23505") {
    status = absl::AlreadyExistsError(message);
  } else if (state == nullptr || PQstatus(conn_.get()) == CONNECTION_BAD || IsTransient(state)) {
    // No SQLSTATE: libpq's own error, i.e. the connection (or the client) failed.
    status = absl::UnavailableError(absl::StrCat(message, CheckHint()));
  } else {
    status = absl::InternalError(message);
  }
  if (state != nullptr) status.SetPayload(kSqlStatePayload, absl::Cord(state));
  return status;
}

absl::Status Connection::SetupSession() {
  // A store's durability contract must not depend on the server's or the
  // database's default; text comes back as UTF-8 bytes.
  std::string sql =
      "SET synchronous_commit TO on; SET client_encoding TO 'UTF8'; "
      "SET client_min_messages TO warning";
  if (!options_.session_sql.empty()) absl::StrAppend(&sql, "; ", options_.session_sql);
  return ExecScript(sql.c_str(), "set up the session");
}

absl::Status Connection::EnsureConnected() {
  if (PQstatus(conn_.get()) == CONNECTION_BAD) {
    PQreset(conn_.get());
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      return absl::UnavailableError(Scrub(absl::StrCat(
          Name(), ": cannot reconnect: ", OneLine(PQerrorMessage(conn_.get())), CheckHint())));
    }
    LogWarning(Name(), ": the connection was lost; reconnected");
    return SetupSession();
  }
  if (PQtransactionStatus(conn_.get()) != PQTRANS_IDLE) {
    // A transaction left open by a failed ROLLBACK.
    PgResultPtr result(PQexec(conn_.get(), "ROLLBACK"));
  }
  return absl::OkStatus();
}

absl::Status Connection::Run(const std::function<absl::Status(bool*)>& op) {
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

absl::Status Connection::Exec(const std::string& sql, const Params* params, const char* what,
                              PgResultPtr* out) {
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

absl::Status Connection::ExecScript(const char* sql, const char* what) {
  PgResultPtr result(PQexec(conn_.get(), sql));
  const ExecStatusType st = PQresultStatus(result.get());
  if (result == nullptr || (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)) {
    return Error(result.get(), what);
  }
  return absl::OkStatus();
}

absl::Status Connection::Transaction(bool* retry_safe, const char* what,
                                     const std::function<absl::Status()>& body) {
  auto rollback = [&](absl::Status why) {
    if (PQstatus(conn_.get()) == CONNECTION_OK) {
      PgResultPtr ignored(PQexec(conn_.get(), "ROLLBACK"));
    }
    return why;
  };
  KSEF_RETURN_IF_ERROR(Exec("BEGIN", nullptr, absl::StrCat(what, " (begin)").c_str()));
  absl::Status s = body();
  if (!s.ok()) return rollback(s);
  *retry_safe = false;
  s = Exec("COMMIT", nullptr, absl::StrCat(what, " (commit)").c_str());
  if (!s.ok()) return rollback(s);
  return absl::OkStatus();
}

}  // namespace ksef::pg
