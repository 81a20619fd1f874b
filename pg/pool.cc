#include "pg/pool.h"

#include <utility>

namespace ksef::pg {

Pool::Pool(const std::string& conninfo, ConnectionOptions options,
           std::unique_ptr<Connection> first, int size)
    : conninfo_(conninfo),
      options_(std::move(options)),
      description_(first->description()),
      size_(size < 1 ? 1 : size) {
  absl::MutexLock lock(&mu_);
  free_.push_back(std::move(first));
  open_ = 1;
}

absl::StatusOr<std::unique_ptr<Connection>> Pool::OpenDedicated() const {
  return Connection::Open(std::string(conninfo_.reveal()), options_);
}

absl::StatusOr<std::unique_ptr<Connection>> Pool::Take() {
  {
    absl::MutexLock lock(&mu_);
    auto can_take = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !free_.empty() || open_ < size_;
    };
    mu_.Await(absl::Condition(&can_take));
    if (!free_.empty()) {
      std::unique_ptr<Connection> conn = std::move(free_.back());
      free_.pop_back();
      return conn;
    }
    ++open_;  // a place for the connection opened below
  }
  absl::StatusOr<std::unique_ptr<Connection>> conn = OpenDedicated();
  if (!conn.ok()) {
    absl::MutexLock lock(&mu_);
    --open_;
  }
  return conn;
}

void Pool::Give(std::unique_ptr<Connection> conn) {
  absl::MutexLock lock(&mu_);
  free_.push_back(std::move(conn));
}

absl::Status Pool::Run(const std::function<absl::Status(Connection&, bool*)>& op) {
  absl::StatusOr<std::unique_ptr<Connection>> conn = Take();
  if (!conn.ok()) return conn.status();
  Connection& c = **conn;
  absl::Status status = c.Run([&](bool* retry_safe) { return op(c, retry_safe); });
  Give(std::move(*conn));
  return status;
}

}  // namespace ksef::pg
