// AuditStore: where audit events and checkpoints live. Two implementations
// (design.md section 8): SqliteAuditStore, the embedded default, and a
// shared PostgreSQL store for several replicas. Each server node appends to
// its own chain (node, seq); the store only keeps what it is given, the
// chain rules live in AuditLog and VerifyAuditChain.
// Implementations are thread-safe.
#ifndef KSEF_AUDIT_AUDIT_STORE_H_
#define KSEF_AUDIT_AUDIT_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "audit/audit_event.h"

namespace ksef::audit {

struct ChainHead {
  int64_t seq = 0;   // 0: the node has no events yet
  std::string hash;  // hash of event `seq`; 32 zero bytes when seq == 0
};

// Filters combine with AND; empty strings and nullopt match everything.
struct AuditQuery {
  std::optional<absl::Time> since;  // time >= since
  std::optional<absl::Time> until;  // time < until
  std::string caller;               // matches caller subject or policy name exactly
  std::string key_name;
  std::string subject;
  std::string operation;
  std::optional<Outcome> outcome;
  std::string node;
  int64_t after_id = 0;  // paging: store-wide id of the last event of the previous page
  int limit = 100;
};

struct AuditPage {
  std::vector<AuditEvent> events;
  std::vector<int64_t> ids;  // store-wide ids, parallel to events (page tokens)
  bool more = false;
};

// Successful uses of one key for one operation.
struct UsageCount {
  std::string key_name;
  std::string operation;
  int64_t count = 0;
};

// How far a committed batch of events must have reached when Append returns.
enum class Durability {
  // On stable storage: it survives a crash of the process, of the host or a
  // power loss (SQLite synchronous=FULL, PostgreSQL synchronous_commit on).
  kDurable,
  // Committed and visible, and it survives a crash of the process; a power
  // loss or a host crash may lose it until the next kDurable batch or
  // checkpoint of the store is written, which makes it durable too (SQLite
  // synchronous=NORMAL in WAL mode, PostgreSQL synchronous_commit off for the
  // transaction). The chain stays a prefix: what is lost is a tail.
  kCommitted,
};

// The FAILED_PRECONDITION AcquireNodeLease returns when `holder` has `node`.
absl::Status NodeLeaseTaken(const std::string& node, const std::string& holder, absl::Time expires);

class AuditStore {
 public:
  virtual ~AuditStore() = default;

  virtual absl::StatusOr<ChainHead> Head(const std::string& node) = 0;

  // Appends the events in one transaction (all or nothing) that has reached
  // `durability` when this returns. ALREADY_EXISTS if a (node, seq) is taken;
  // UNAVAILABLE when the store cannot write. Every other write of the store
  // (checkpoints, leases) is kDurable, and makes the events before it durable.
  virtual absl::Status Append(const std::vector<AuditEvent>& events, Durability durability) = 0;

  virtual absl::Status AddCheckpoint(const Checkpoint& checkpoint) = 0;
  // Every checkpoint of `node`, by seq.
  virtual absl::StatusOr<std::vector<Checkpoint>> Checkpoints(const std::string& node) = 0;

  // Nodes that have events or checkpoints, sorted.
  virtual absl::StatusOr<std::vector<std::string>> Nodes() = 0;

  // Events of `node` with seq > after_seq, ascending, at most `limit`.
  virtual absl::StatusOr<std::vector<AuditEvent>> ReadChain(const std::string& node,
                                                            int64_t after_seq, int limit) = 0;

  // Events matching `query`, oldest first.
  virtual absl::StatusOr<AuditPage> Query(const AuditQuery& query) = 0;

  // The node lease (design.md section 6b): one live server per node id, so
  // two can never write one chain. Takes or renews the lease of `node` for
  // `holder` until `expires`, in one transaction: OK when the node is free,
  // its lease expired, it is held by `holder` already, or `holder_is_dead`
  // says its holder is gone; FAILED_PRECONDITION, naming the holder and its
  // expiry, when another live holder has it; UNAVAILABLE when the store
  // cannot write.
  virtual absl::Status AcquireNodeLease(
      const std::string& node, const std::string& holder, absl::Time now, absl::Time expires,
      const std::function<bool(const std::string& other_holder)>& holder_is_dead) = 0;
  // Gives the lease up if `holder` has it (nothing to do otherwise).
  virtual absl::Status ReleaseNodeLease(const std::string& node, const std::string& holder) = 0;

  // SUCCESS events per key and operation (only events with a key), within
  // [since, until) when given, for `key_name` if not empty.
  virtual absl::StatusOr<std::vector<UsageCount>> Usage(const std::string& key_name,
                                                        std::optional<absl::Time> since,
                                                        std::optional<absl::Time> until) = 0;
};

}  // namespace ksef::audit

#endif  // KSEF_AUDIT_AUDIT_STORE_H_
