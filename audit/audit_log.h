// AuditLog: appends events to this node's hash chain with group commit and
// signs the chain head in checkpoints that form their own chain.
//
// Record() returns only once its event is durable in the store (one
// transaction per batch: callers that arrive while a batch is being written
// are written together in the next one, by the first of them, so durability
// costs one commit per batch, not per event, and no thread hand-off). If the store cannot write, Record() fails with
// UNAVAILABLE and healthy() turns false (fail closed: the service must not
// hand out a signature without its event); the writer retries with the next
// events and probes the store every few seconds, so it recovers on its own.
//
// Checkpoints (design.md section 6): one when Start() finds a head that no
// checkpoint covers (and a node's first, its genesis, even at seq 0; after a
// graceful shutdown Start() first records an "AuditLogReopened" event), one
// after every `checkpoint_events` events or `checkpoint_interval`, whichever
// comes first, and a closing one at Shutdown(). A checkpoint is signed
// outside the chain mutex, then stored. One that cannot be signed or stored
// makes healthy() false until a later one succeeds; the writer never lets
// more than `checkpoint_events` events stand unprotected: past that, Record()
// fails with UNAVAILABLE.
//
// Before each checkpoint the events since the previous one are read back and
// must still link up to the head this log wrote; rows deleted or replaced
// behind its back make the log unhealthy for good (FAILED_PRECONDITION,
// logged), and it writes nothing more on top of the altered chain.
//
// Start() takes the node's lease in the store (FAILED_PRECONDITION while
// another live server holds it); the writer renews it, and a lease lost to
// another holder makes the log unhealthy for good.
//
// Each checkpoint is appended to the anchors (options.anchors) after it is
// stored; an anchor that fails makes the checkpoint failed (fail closed) and
// is retried. Start() refuses (FAILED_PRECONDITION) a store that lacks the
// node's last anchored checkpoint or whose head is behind or diverges from it.
// Thread-safe.
#ifndef KSEF_AUDIT_AUDIT_LOG_H_
#define KSEF_AUDIT_AUDIT_LOG_H_

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "audit/anchor.h"
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
  std::string node;  // this server's node id
  // A checkpoint after at most this many events, or this long after the
  // first event no checkpoint covers, whichever comes first.
  int64_t checkpoint_events = 1000;
  absl::Duration checkpoint_interval = absl::Seconds(10);
  absl::Duration probe_interval = absl::Seconds(5);  // retry while unhealthy
  int max_batch = 1024;
  std::function<absl::Time()> clock = absl::Now;
  // Every checkpoint is appended to each of these after it is stored; one
  // that fails fails the checkpoint (audit/anchor.h). Not owned; they must
  // outlive the log.
  std::vector<AnchorSink*> anchors;
  // This node's newest checkpoint in the anchor, if any: Start() refuses a
  // store that lacks it or whose chain does not reach it.
  std::optional<Checkpoint> last_anchored;
  // The node lease (AuditStore::AcquireNodeLease): taken at Start(), renewed
  // every third of it by the writer, released at Shutdown().
  absl::Duration node_lease = absl::Seconds(30);
  // Called by the writer after each store commit (failed ones too) with the
  // number of events and how long AuditStore::Append took (metrics). May be
  // empty; must be quick.
  std::function<void(size_t events, absl::Duration took)> on_commit;
};

// The log now, for metrics.
struct AuditLogStats {
  bool healthy = false;
  int64_t events_since_checkpoint = 0;        // events of the node no checkpoint covers
  std::optional<absl::Time> last_checkpoint;  // the newest checkpoint's signed time
};

class AuditLog {
 public:
  // Reads the node's chain head and its checkpoints, checks that the head is
  // still where the last checkpoint (signed by the signer's key) left it,
  // writes the start-up checkpoint and starts the writer thread. `store`
  // must outlive the log. FAILED_PRECONDITION (saying what was found) when
  // the chain was cut below, or diverges from, its last checkpoint, when
  // events were added after a closing checkpoint, or when the last
  // checkpoint does not verify; store and signing errors pass through.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Start(AuditStore* store, CheckpointSigner signer,
                                                         AuditLogOptions options);
  ~AuditLog();  // Shutdown()

  // Appends `event` (seq, node, time, hashes are assigned here) and waits
  // until it has reached `durability` (audit_store.h; a batch is written as
  // kDurable when any of its events asks for it). UNAVAILABLE if the store
  // cannot write or the log is shut down. On success `event` is returned
  // with its seq and hash; on failure, with `unrecorded` given, the event
  // is handed back there (so the caller can still count the attempt).
  absl::StatusOr<AuditEvent> Record(AuditEvent event, Durability durability = Durability::kDurable,
                                    AuditEvent* unrecorded = nullptr);

  // Several events of one call (a streaming batch): written in one commit
  // if possible, in order, and this returns when all are durable. On error
  // none of them is assumed written; the status is UNAVAILABLE as for Record.
  absl::StatusOr<std::vector<AuditEvent>> RecordAll(std::vector<AuditEvent> events);

  // Events that need not be written together (counted refusals): each is
  // appended like Record, and the result holds each one's status, in order.
  // The writer may commit some and refuse others (its batches and its window
  // of events waiting for a checkpoint are its own), so a caller that retries
  // must retry only those that failed, or it counts the others twice.
  std::vector<absl::Status> RecordEach(std::vector<AuditEvent> events);

  // True unless the last write (or probe) or the last checkpoint failed, or
  // the store was altered behind the log's back.
  bool healthy() const { return store_ok_.load() && checkpoint_ok_.load() && !tampered_.load(); }

  // Signs and stores a checkpoint of the current head now (nothing to do if
  // the head was already checkpointed). UNAVAILABLE when it cannot be signed
  // or stored; FAILED_PRECONDITION when the store was altered.
  absl::Status CheckpointNow();

  // Takes the chain lock briefly (it waits for a commit in progress).
  AuditLogStats Stats();

  // Writes what is queued, a final checkpoint, and stops. Idempotent.
  void Shutdown();

  const std::string& node() const { return options_.node; }
  const std::string& public_key_der() const { return signer_.public_key_der; }

 private:
  struct Pending {
    AuditEvent event;
    Durability durability = Durability::kDurable;
    absl::Status status;
    bool done = false;
  };

  // Queues every pending event and waits until each is done; UNAVAILABLE
  // (for all) when the log is shutting down.
  absl::Status SubmitAndWait(std::vector<Pending>& pending);
  // Called with mu_ held, once the `count` events of one call, from `first`
  // on (contiguous in memory), are queued; returns when `done()`. Leader/follower group
  // commit: a caller whose event is at the front of the queue while no other
  // caller writes takes the queue (up to the room before a checkpoint is
  // due) and writes it itself, so no thread hand-off stands between a call
  // and its commit; those queued meanwhile wait, and the first of them leads
  // the next batch. The writer thread takes over the queue only when a
  // checkpoint must come first (no room) and when the log stops.
  void WriteOrWait(const Pending* first, size_t count, const std::function<bool()>& done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  AuditLog(AuditStore* store, CheckpointSigner signer, AuditLogOptions options)
      : store_(store), signer_(std::move(signer)), options_(std::move(options)) {}

  // The node lease for this instance (taken or renewed until now + ttl).
  absl::Status TakeLease();
  void RenewLeaseIfDue(absl::Time now);
  // Start(): the head and checkpoints found, checked against each other.
  absl::Status Resume();
  // After a graceful shutdown the last checkpoint is a closing one; a start
  // records one event ("AuditLogReopened") so that the start-up checkpoint,
  // which covers it, follows the closing one (checkpoints are keyed by
  // (node, seq): two cannot share a seq).
  absl::Status ReopenAfterClosing();
  void WriterLoop();
  void WriteBatch(std::deque<Pending*>& batch);
  void Complete(std::deque<Pending*>& batch, const absl::Status& status);
  // How many more events may be written before a checkpoint is needed.
  int64_t Room();
  int64_t RoomLocked() const ABSL_SHARED_LOCKS_REQUIRED(chain_mu_);
  // When the next checkpoint is due (InfiniteFuture: the head is covered).
  absl::Time CheckpointDue();
  absl::Status WriteCheckpoint(bool closing);
  // The next checkpoint to sign, unsigned; nullopt when the head is covered.
  absl::StatusOr<std::optional<Checkpoint>> NextCheckpoint(bool closing);
  // What re-reading the chain after (seq, hash) found: where its links end,
  // or the first problem.
  struct TailRead {
    ChainHead end;
    std::string problem;
  };
  // Reads the events after `seq` (whose hash is `hash`) up to `upto` (or to
  // the store's end) and checks each links to the one before. Takes no lock
  // of ours (the store serializes itself).
  absl::StatusOr<TailRead> ReadTail(int64_t seq, std::string hash,
                                    std::optional<int64_t> upto) const;
  // FAILED_PRECONDITION (and unhealthy for good) unless `read` ends at
  // `head`, the head this server wrote.
  absl::Status CheckTailEnd(const TailRead& read, const ChainHead& head)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(chain_mu_);
  // The unsigned checkpoint covering `head`; nullopt when the last one does.
  std::optional<Checkpoint> CheckpointAt(const ChainHead& head, bool closing) const
      ABSL_SHARED_LOCKS_REQUIRED(chain_mu_);
  absl::Status CheckpointFailed(absl::Status status);
  // Appends the last checkpoint to the anchors unless it is there already.
  absl::Status AnchorLastCheckpoint();
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return (!queue_.empty() && writer_takes_queue_) || stopping_ || retry_soon_ || replan_;
  }

  AuditStore* const store_;
  const CheckpointSigner signer_;
  const AuditLogOptions options_;
  std::atomic<bool> store_ok_{true};
  std::atomic<bool> checkpoint_ok_{true};
  std::atomic<bool> tampered_{false};

  absl::Mutex mu_;
  std::deque<Pending*> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  // A checkpoint failed (perhaps in CheckpointNow): the writer plans a retry.
  bool retry_soon_ ABSL_GUARDED_BY(mu_) = false;
  // A caller is writing a batch (WriteOrWait): the others queue behind it.
  bool leader_active_ ABSL_GUARDED_BY(mu_) = false;
  // The queue waits for the writer thread (a checkpoint must come first).
  bool writer_takes_queue_ ABSL_GUARDED_BY(mu_) = false;
  // A caller's batch changed when the next checkpoint is due (the first
  // events after one, or no room left): the writer plans again.
  bool replan_ ABSL_GUARDED_BY(mu_) = false;

  // One checkpoint at a time (held while signing; never with mu_).
  absl::Mutex checkpoint_mu_ ABSL_ACQUIRED_BEFORE(chain_mu_);
  // Chain state: the writer and checkpoints.
  absl::Mutex chain_mu_;
  ChainHead head_ ABSL_GUARDED_BY(chain_mu_);
  bool head_known_ ABSL_GUARDED_BY(chain_mu_) = false;
  std::optional<Checkpoint> last_checkpoint_ ABSL_GUARDED_BY(chain_mu_);
  absl::Time last_checkpoint_time_ ABSL_GUARDED_BY(chain_mu_);  // by options_.clock
  std::string tamper_reason_ ABSL_GUARDED_BY(chain_mu_);
  bool last_checkpoint_anchored_ ABSL_GUARDED_BY(chain_mu_) = true;

  // "<host>/<pid>/<random>": who holds the node lease.
  std::string lease_holder_;
  absl::Time next_lease_renewal_ = absl::InfinitePast();  // writer thread only

  std::thread writer_;
};

}  // namespace ksef::audit

#endif  // KSEF_AUDIT_AUDIT_LOG_H_
