// pg::Pool: a few connections of one store, so that concurrent calls (the
// replicas' request threads) do not serialize on one socket. Each call takes
// a free connection (opening a new one while fewer than `size` are open,
// else waiting for one), runs with Connection::Run's reconnect-and-retry, and
// gives it back; a connection found broken is re-established by that Run.
// Thread-safe.
#ifndef KSEF_PG_POOL_H_
#define KSEF_PG_POOL_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/secure_string.h"
#include "pg/connection.h"

namespace ksef::pg {

class Pool {
 public:
  // `first` is an open connection to `conninfo` (the one that checked the
  // schema); up to `size` connections in all.
  Pool(const std::string& conninfo, ConnectionOptions options, std::unique_ptr<Connection> first,
       int size);

  // Runs `op` on a connection of its own (see Connection::Run). UNAVAILABLE
  // when no connection can be opened.
  absl::Status Run(const std::function<absl::Status(Connection& conn, bool* retry_safe)>& op);

  // Opens a connection outside the pool (a named lock's own session).
  absl::StatusOr<std::unique_ptr<Connection>> OpenDedicated() const;
  const std::string& description() const { return description_; }

 private:
  absl::StatusOr<std::unique_ptr<Connection>> Take();
  void Give(std::unique_ptr<Connection> conn);

  const SecureString conninfo_;  // holds the password, if any
  const ConnectionOptions options_;
  const std::string description_;
  const int size_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Connection>> free_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // free or in use
};

}  // namespace ksef::pg

#endif  // KSEF_PG_POOL_H_
