// AuditLog: appends events to this node's hash chain with group commit and
// signs the chain head periodically and at shutdown.
//
// Record() returns only once its event is durable in the store (one
// transaction per batch: callers that arrive while a batch is being written
// are written together in the next one, so durability costs one commit per
// batch, not per event). If the store cannot write, Record() fails with
// UNAVAILABLE and healthy() turns false (fail closed: the service must not
// hand out a signature without its event); the writer retries with the next
// events and probes the store every few seconds, so it recovers on its own.
// Thread-safe.
#ifndef KSEF_AUDIT_AUDIT_LOG_H_
#define KSEF_AUDIT_AUDIT_LOG_H_

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "audit/audit_event.h"
#include "audit/audit_store.h"

namespace ksef::audit {

// Signs checkpoint digests with the audit key (in the HSM; its own purpose).
struct CheckpointSigner {
  std::string public_key_der;  // EC P-256 SPKI
  // SHA-256 digest -> raw r||s.
  std::function<absl::StatusOr<std::string>(const std::string& digest)> sign;
};

struct AuditLogOptions {
  std::string node;                                  // this server's node id
  absl::Duration checkpoint_interval = absl::Minutes(1);
  absl::Duration probe_interval = absl::Seconds(5);  // retry while unhealthy
  int max_batch = 1024;
  std::function<absl::Time()> clock = absl::Now;
};

class AuditLog {
 public:
  // Reads the node's chain head and starts the writer thread. `store`
  // must outlive the log.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Start(AuditStore* store,
                                                         CheckpointSigner signer,
                                                         AuditLogOptions options);
  ~AuditLog();  // Shutdown()

  // Appends `event` (seq, node, time, hashes are assigned here) and waits
  // until it is durable. UNAVAILABLE if the store cannot write or the log is
  // shut down. On success `event` is returned with its seq and hash.
  absl::StatusOr<AuditEvent> Record(AuditEvent event);

  // Several events of one call (a streaming batch): written in one commit
  // if possible, in order, and this returns when all are durable. On error
  // none of them is assumed written; the status is UNAVAILABLE as for Record.
  absl::StatusOr<std::vector<AuditEvent>> RecordAll(std::vector<AuditEvent> events);

  // True unless the last write (or probe) failed.
  bool healthy() const { return healthy_.load(); }

  // Signs and stores a checkpoint of the current head now (nothing to do if
  // the head was already checkpointed).
  absl::Status CheckpointNow();

  // Writes what is queued, a final checkpoint, and stops. Idempotent.
  void Shutdown();

  const std::string& node() const { return options_.node; }
  const std::string& public_key_der() const { return signer_.public_key_der; }

 private:
  struct Pending {
    AuditEvent event;
    absl::Status status;
    bool done = false;
  };

  AuditLog(AuditStore* store, CheckpointSigner signer, AuditLogOptions options)
      : store_(store), signer_(std::move(signer)), options_(std::move(options)) {}

  void WriterLoop();
  void WriteBatch(std::deque<Pending*>& batch);
  absl::Status WriteCheckpoint();
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty() || stopping_; }

  AuditStore* const store_;
  const CheckpointSigner signer_;
  const AuditLogOptions options_;
  std::atomic<bool> healthy_{true};

  absl::Mutex mu_;
  std::deque<Pending*> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;

  // Chain state: the writer and checkpoints.
  absl::Mutex chain_mu_;
  ChainHead head_ ABSL_GUARDED_BY(chain_mu_);
  bool head_known_ ABSL_GUARDED_BY(chain_mu_) = false;
  int64_t checkpointed_seq_ ABSL_GUARDED_BY(chain_mu_) = -1;

  std::thread writer_;
};

}  // namespace ksef::audit

#endif  // KSEF_AUDIT_AUDIT_LOG_H_
