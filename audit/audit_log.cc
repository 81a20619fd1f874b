#include "audit/audit_log.h"

#include <openssl/rand.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/ecdsa.h"
#include "common/encoding.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace ksef::audit {
namespace {

constexpr int kTailPage = 2000;
constexpr char kReopenedOperation[] = "AuditLogReopened";

std::string Where(const Checkpoint& cp) {
  return absl::StrCat("its last checkpoint (seq ", cp.seq, ", ", absl::FormatTime(cp.time), ")");
}

absl::Status Refuse(const std::string& node, std::string what) {
  return absl::FailedPreconditionError(absl::StrCat(
      "audit chain of node ", node, ": ", what,
      ". The server will not write on from an altered chain: restore the audit store from a "
      "backup (or investigate), and run \"ksef-hsm audit verify\""));
}

// The stored chain ends at `head`; is it still where `cp` left it?
absl::Status CheckCovers(AuditStore& store, const ChainHead& head, const Checkpoint& cp) {
  if (head.seq < cp.seq) {
    return Refuse(cp.node, absl::StrCat("the store ends at event ", head.seq, " but ", Where(cp),
                                        " covers events up to ", cp.seq, ": events ", head.seq + 1,
                                        "..", cp.seq, " were removed"));
  }
  std::string hash = ZeroHash();
  if (cp.seq > 0) {
    KSEF_ASSIGN_OR_RETURN(std::vector<AuditEvent> at, store.ReadChain(cp.node, cp.seq - 1, 1));
    hash = at.empty() || at[0].seq != cp.seq ? std::string() : at[0].hash;
  }
  if (hash != cp.head_hash) {
    return Refuse(cp.node, absl::StrCat("event ", cp.seq, " is missing or differs from what ",
                                        Where(cp), " signed"));
  }
  if (cp.closing && head.seq > cp.seq) {
    return Refuse(cp.node, absl::StrCat("events ", cp.seq + 1, "..", head.seq,
                                        " were added after the node's closing checkpoint at "
                                        "graceful shutdown (seq ",
                                        cp.seq, "): this server did not write them"));
  }
  return absl::OkStatus();
}

// The anchor's newest checkpoint of the node must be in the store as it was
// anchored (the anchor keeps no public key: that field is not compared).
absl::Status CheckAnchoredIsStored(const Checkpoint& anchored,
                                   const std::vector<Checkpoint>& stored) {
  for (const Checkpoint& cp : stored) {
    if (cp.seq != anchored.seq) continue;
    if (CheckpointDigest(cp) == CheckpointDigest(anchored) && cp.signature == anchored.signature) {
      return absl::OkStatus();
    }
    return Refuse(anchored.node, absl::StrCat("the store's checkpoint at seq ", cp.seq,
                                              " differs from the anchored one"));
  }
  return Refuse(anchored.node,
                absl::StrCat("the last anchored checkpoint (seq ", anchored.seq, ", ",
                             absl::FormatTime(anchored.time),
                             ") is not in the store: checkpoints (and the events they cover) "
                             "were deleted"));
}

std::string LeaseHolder() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  unsigned char random[8] = {};
  RAND_bytes(random, sizeof(random));
  return absl::StrCat(host, "/", ::getpid(), "/",
                      HexUpper(absl::string_view(reinterpret_cast<char*>(random), 8)));
}

// A holder on this host whose process is gone (a crash, SIGKILL) holds
// nothing: its successor need not wait for the lease to expire.
bool HolderIsDead(const std::string& holder) {
  std::vector<std::string> parts = absl::StrSplit(holder, '/');
  char host[256] = {};
  if (parts.size() != 3 || ::gethostname(host, sizeof(host) - 1) != 0 || parts[0] != host) {
    return false;
  }
  pid_t pid = 0;
  if (!absl::SimpleAtoi(parts[1], &pid) || pid <= 0 || pid == ::getpid()) return false;
  return ::kill(pid, 0) != 0 && errno == ESRCH;
}

}  // namespace

absl::Status AuditLog::TakeLease() {
  const absl::Time now = absl::Now();
  return store_->AcquireNodeLease(options_.node, lease_holder_, now, now + options_.node_lease,
                                  HolderIsDead);
}

void AuditLog::RenewLeaseIfDue(absl::Time now) {
  if (now < next_lease_renewal_) return;
  absl::Status s = TakeLease();
  if (s.ok()) {
    next_lease_renewal_ = now + options_.node_lease / 3;
    return;
  }
  next_lease_renewal_ = now + options_.probe_interval;
  if (s.code() != absl::StatusCode::kFailedPrecondition) {
    LogWarning("audit node lease not renewed: ", s.message());
    return;
  }
  absl::MutexLock lock(&chain_mu_);
  tamper_reason_ = absl::StrCat("this server lost the node lease: ", s.message());
  tampered_.store(true);
  LogError("audit chain of node ", options_.node, ": ", tamper_reason_,
           "; signing is refused (fail closed)");
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Start(AuditStore* store,
                                                          CheckpointSigner signer,
                                                          AuditLogOptions options) {
  if (options.node.empty()) return absl::InvalidArgumentError("audit: node id is empty");
  if (!signer.sign || signer.public_key_der.empty()) {
    return absl::InvalidArgumentError("audit: a checkpoint signer is required");
  }
  if (options.checkpoint_events < 1) {
    return absl::InvalidArgumentError("audit: checkpoint_events must be at least 1");
  }
  std::unique_ptr<AuditLog> log(new AuditLog(store, std::move(signer), std::move(options)));
  log->lease_holder_ = LeaseHolder();
  KSEF_RETURN_IF_ERROR(log->TakeLease());
  absl::Status resumed = log->Resume();
  if (resumed.ok()) resumed = log->ReopenAfterClosing();
  if (resumed.ok()) resumed = log->WriteCheckpoint(/*closing=*/false);
  if (!resumed.ok()) {
    store->ReleaseNodeLease(log->options_.node, log->lease_holder_).IgnoreError();
    return resumed;
  }
  log->writer_ = std::thread([raw = log.get()] { raw->WriterLoop(); });
  return log;
}

absl::Status AuditLog::Resume() {
  const std::string& node = options_.node;
  KSEF_ASSIGN_OR_RETURN(ChainHead head, store_->Head(node));
  KSEF_ASSIGN_OR_RETURN(std::vector<Checkpoint> checkpoints, store_->Checkpoints(node));
  if (const std::optional<Checkpoint>& anchored = options_.last_anchored; anchored) {
    KSEF_RETURN_IF_ERROR(CheckAnchoredIsStored(*anchored, checkpoints));
    KSEF_RETURN_IF_ERROR(CheckCovers(*store_, head, *anchored));
  }
  std::optional<Checkpoint> last;
  if (!checkpoints.empty()) {
    last = checkpoints.back();
    if (!VerifyEcdsaSha256Raw(signer_.public_key_der, CheckpointDigest(*last), last->signature)
             .ok()) {
      return Refuse(node, absl::StrCat(Where(*last), " is not signed by this server's audit key"));
    }
    KSEF_RETURN_IF_ERROR(CheckCovers(*store_, head, *last));
  }
  // A checkpoint stored but not anchored (a crash between the two) is
  // anchored by the start-up checkpoint.
  const bool anchored =
      !last || (options_.last_anchored &&
                CheckpointDigest(*options_.last_anchored) == CheckpointDigest(*last));
  absl::MutexLock lock(&chain_mu_);
  head_ = head;
  head_known_ = true;
  last_checkpoint_ = std::move(last);
  last_checkpoint_time_ = options_.clock();
  last_checkpoint_anchored_ = anchored;
  return absl::OkStatus();
}

absl::Status AuditLog::ReopenAfterClosing() {
  int64_t closed_at = 0;
  {
    absl::MutexLock lock(&chain_mu_);
    if (!last_checkpoint_ || !last_checkpoint_->closing) return absl::OkStatus();
    closed_at = last_checkpoint_->seq;
  }
  Pending reopened;
  reopened.event.operation = kReopenedOperation;
  reopened.event.message =
      absl::StrCat("audit log reopened after the closing checkpoint at seq ", closed_at);
  std::deque<Pending*> batch = {&reopened};
  WriteBatch(batch);
  return reopened.status;
}

AuditLog::~AuditLog() { Shutdown(); }

absl::StatusOr<AuditEvent> AuditLog::Record(AuditEvent event, Durability durability,
                                            AuditEvent* unrecorded) {
  Pending pending;
  pending.event = std::move(event);
  pending.durability = durability;
  BoundEventFields(pending.event);
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      pending.status =
          absl::UnavailableError("audit log is shutting down; the operation was not performed");
    } else {
      queue_.push_back(&pending);
      WriteOrWait(&pending, 1, [&pending] { return pending.done; });
    }
  }
  if (!pending.status.ok()) {
    if (unrecorded != nullptr) *unrecorded = std::move(pending.event);
    return pending.status;
  }
  return std::move(pending.event);
}

void AuditLog::WriteOrWait(const Pending* first, size_t count, const std::function<bool()>& done) {
  // Leads when no caller writes, the writer thread does not own the queue,
  // and an event of this call is at the queue's front.
  const std::less<const Pending*> before;
  auto turn = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (done()) return true;
    if (leader_active_ || writer_takes_queue_ || stopping_ || queue_.empty()) return false;
    const Pending* front = queue_.front();
    return !before(front, first) && before(front, first + count);
  };
  while (true) {
    mu_.Await(absl::Condition(&turn));
    if (done()) return;
    const int64_t room = std::min<int64_t>(options_.max_batch, Room());
    if (room == 0) {
      writer_takes_queue_ = true;  // the writer checkpoints first (or refuses)
      continue;
    }
    std::deque<Pending*> batch;
    while (!queue_.empty() && static_cast<int64_t>(batch.size()) < room) {
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
    leader_active_ = true;
    mu_.Unlock();
    const size_t written = batch.size();
    WriteBatch(batch);
    const int64_t room_after = Room();
    mu_.Lock();
    leader_active_ = false;
    if (room_after == 0 ||
        room_after + static_cast<int64_t>(written) >= options_.checkpoint_events) {
      replan_ = true;  // a checkpoint is due now, or its interval has started
    }
  }
}

absl::Status AuditLog::SubmitAndWait(std::vector<Pending>& pending) {
  for (Pending& p : pending) BoundEventFields(p.event);
  absl::MutexLock lock(&mu_);
  if (stopping_) {
    return absl::UnavailableError("audit log is shutting down; the operation was not performed");
  }
  for (Pending& p : pending) queue_.push_back(&p);
  if (pending.empty()) return absl::OkStatus();
  WriteOrWait(&pending.front(), pending.size(), [&pending] {
    for (const Pending& p : pending) {
      if (!p.done) return false;
    }
    return true;
  });
  return absl::OkStatus();
}

absl::StatusOr<std::vector<AuditEvent>> AuditLog::RecordAll(std::vector<AuditEvent> events) {
  std::vector<Pending> pending(events.size());
  for (size_t i = 0; i < events.size(); ++i) pending[i].event = std::move(events[i]);
  KSEF_RETURN_IF_ERROR(SubmitAndWait(pending));
  std::vector<AuditEvent> out;
  out.reserve(pending.size());
  for (Pending& p : pending) {
    if (!p.status.ok()) return p.status;
    out.push_back(std::move(p.event));
  }
  return out;
}

std::vector<absl::Status> AuditLog::RecordEach(std::vector<AuditEvent> events) {
  std::vector<Pending> pending(events.size());
  for (size_t i = 0; i < events.size(); ++i) pending[i].event = std::move(events[i]);
  absl::Status submitted = SubmitAndWait(pending);
  std::vector<absl::Status> out;
  out.reserve(pending.size());
  for (const Pending& p : pending) out.push_back(submitted.ok() ? p.status : submitted);
  return out;
}

void AuditLog::WriterLoop() {
  absl::Time next_retry = absl::InfinitePast();  // after a failed checkpoint or write
  while (true) {
    std::deque<Pending*> batch, refused;
    bool stopping;
    {
      // Unhealthy: probe (or retry the checkpoint) every probe_interval.
      const absl::Time wake =
          std::min(healthy() ? CheckpointDue() : next_retry, next_lease_renewal_);
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithDeadline(absl::Condition(this, &AuditLog::HasWork), wake);
      retry_soon_ = false;
      replan_ = false;
      if (stopping_) {
        // No caller leads once the log stops; one that leads now finishes
        // first, so nothing is written after the closing checkpoint.
        auto no_leader = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !leader_active_; };
        mu_.Await(absl::Condition(&no_leader));
      }
      const int64_t room = std::min<int64_t>(options_.max_batch, Room());
      if (writer_takes_queue_ || stopping_) {
        while (!queue_.empty() && static_cast<int64_t>(batch.size()) < room) {
          batch.push_back(queue_.front());
          queue_.pop_front();
        }
      }
      // No room while healthy: the checkpoint below makes room, and callers
      // lead again. No room while unhealthy: what waits is refused.
      if (room == 0 && !healthy()) refused.swap(queue_);
      if (room > 0 || queue_.empty()) writer_takes_queue_ = false;
      stopping = stopping_ && queue_.empty();
    }
    if (!refused.empty()) {
      Complete(refused,
               absl::UnavailableError(absl::StrCat(
                   "the audit log cannot record this operation (", options_.checkpoint_events,
                   " events wait for a checkpoint that cannot be written), so it was "
                   "refused; retry when the audit log is healthy")));
    }
    if (!batch.empty()) WriteBatch(batch);
    RenewLeaseIfDue(absl::Now());
    const absl::Time now = options_.clock();
    // next_retry paces retries while unhealthy only: once a checkpoint
    // succeeded elsewhere (CheckpointNow, when the token is back), a due
    // checkpoint is written at once, before the window of events fills.
    const bool may_try = healthy() || now >= next_retry;
    if (may_try && (now >= CheckpointDue() || !healthy())) {
      absl::Status s = WriteCheckpoint(/*closing=*/false);
      next_retry = s.ok() ? absl::InfinitePast() : now + options_.probe_interval;
    }
    if (stopping) break;
  }
  absl::Status s = WriteCheckpoint(/*closing=*/true);
  if (!s.ok()) LogWarning("closing audit checkpoint failed: ", s.message());
  s = store_->ReleaseNodeLease(options_.node, lease_holder_);
  if (!s.ok()) LogWarning("audit node lease not released: ", s.message());
}

int64_t AuditLog::RoomLocked() const {
  const int64_t covered = last_checkpoint_ ? last_checkpoint_->seq : 0;
  return std::max<int64_t>(0, options_.checkpoint_events - (head_.seq - covered));
}

int64_t AuditLog::Room() {
  absl::MutexLock lock(&chain_mu_);
  return RoomLocked();
}

absl::Time AuditLog::CheckpointDue() {
  absl::MutexLock lock(&chain_mu_);
  if (last_checkpoint_ && head_.seq == last_checkpoint_->seq) return absl::InfiniteFuture();
  if (RoomLocked() == 0) return absl::InfinitePast();
  return last_checkpoint_time_ + options_.checkpoint_interval;
}

void AuditLog::WriteBatch(std::deque<Pending*>& batch) {
  absl::Status status;
  {
    absl::MutexLock lock(&chain_mu_);
    if (tampered_.load()) status = Refuse(options_.node, tamper_reason_);
    if (status.ok() && !head_known_) {
      // After a failed write the store may or may not hold the batch.
      auto head = store_->Head(options_.node);
      if (head.ok()) {
        head_ = *head;
        head_known_ = true;
      } else {
        status = head.status();
      }
    }
    std::vector<AuditEvent> events;
    if (status.ok()) {
      ChainHead next = head_;
      events.reserve(batch.size());
      Durability durability = Durability::kCommitted;
      for (Pending* p : batch) {
        if (p->durability == Durability::kDurable) durability = Durability::kDurable;
        AuditEvent& e = p->event;
        e.node = options_.node;
        e.seq = next.seq + 1;
        if (e.time == absl::Time()) e.time = options_.clock();
        // Microsecond precision is what the stores keep.
        e.time = absl::FromUnixMicros(absl::ToUnixMicros(e.time));
        e.prev_hash = next.hash;
        e.hash = EventHash(e);
        next.seq = e.seq;
        next.hash = e.hash;
        events.push_back(std::move(e));  // moved back below
      }
      const absl::Time start = absl::Now();
      status = store_->Append(events, durability);
      if (options_.on_commit) options_.on_commit(events.size(), absl::Now() - start);
      for (size_t i = 0; i < batch.size(); ++i) batch[i]->event = std::move(events[i]);
      if (status.ok()) {
        head_ = next;
      } else {
        head_known_ = false;
      }
    }
  }
  if (status.ok()) {
    if (!store_ok_.exchange(true)) LogInfo("audit store writes again");
  } else {
    if (store_ok_.exchange(false)) {
      LogError("audit store cannot write: ", status.message(),
               "; signing is refused until it can (fail closed)");
    }
    status = absl::UnavailableError(
        absl::StrCat("the audit log cannot record this operation (", status.message(),
                     "), so it was refused; retry when the audit store is writable"));
  }
  Complete(batch, status);
}

void AuditLog::Complete(std::deque<Pending*>& batch, const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  for (Pending* p : batch) {
    p->status = status;
    p->done = true;
  }
}

absl::StatusOr<AuditLog::TailRead> AuditLog::ReadTail(int64_t seq, std::string hash,
                                                      std::optional<int64_t> upto) const {
  // Every event must follow the one before (seq, link, hash).
  TailRead out;
  while (!upto || seq < *upto) {
    const int limit = upto ? static_cast<int>(std::min<int64_t>(kTailPage, *upto - seq))
                           : kTailPage;
    KSEF_ASSIGN_OR_RETURN(std::vector<AuditEvent> events,
                          store_->ReadChain(options_.node, seq, limit));
    for (const AuditEvent& e : events) {
      if (e.seq != seq + 1 || e.prev_hash != hash || EventHash(e) != e.hash) {
        out.problem = absl::StrCat("event ", seq + 1, " is missing, or event ", e.seq,
                                   " was replaced: events were removed or replaced behind its back");
        return out;
      }
      seq = e.seq;
      hash = e.hash;
    }
    if (static_cast<int>(events.size()) < limit) break;
  }
  out.end = ChainHead{seq, hash};
  return out;
}

absl::Status AuditLog::CheckTailEnd(const TailRead& read, const ChainHead& head) {
  std::string problem = read.problem;
  if (problem.empty() && (read.end.seq != head.seq || read.end.hash != head.hash)) {
    problem = absl::StrCat("the store's chain ends at event ", read.end.seq,
                           " but this server wrote up to event ", head.seq,
                           ": events were removed or replaced behind its back");
  }
  if (problem.empty()) return absl::OkStatus();
  tamper_reason_ = std::move(problem);
  tampered_.store(true);
  LogError("audit chain of node ", options_.node, " was altered: ", tamper_reason_,
           "; signing is refused (fail closed)");
  return Refuse(options_.node, tamper_reason_);
}

absl::StatusOr<std::optional<Checkpoint>> AuditLog::NextCheckpoint(bool closing) {
  // Re-reads what this node wrote since its last checkpoint. With the head
  // known, up to it and outside the chain lock (writers go on meanwhile; the
  // checkpoint covers that head). Else (after a failed write, or nothing new
  // to cover) to the store's end under the lock, which also finds the head.
  ChainHead head;
  int64_t from_seq = 0;
  std::string from_hash;
  {
    absl::MutexLock lock(&chain_mu_);
    if (tampered_.load()) return Refuse(options_.node, tamper_reason_);
    from_seq = last_checkpoint_ ? last_checkpoint_->seq : 0;
    from_hash = last_checkpoint_ ? last_checkpoint_->head_hash : ZeroHash();
    if (!head_known_ || (last_checkpoint_ && head_.seq == from_seq)) {
      KSEF_ASSIGN_OR_RETURN(TailRead read, ReadTail(from_seq, from_hash, std::nullopt));
      if (!head_known_ && read.problem.empty()) {
        head_ = read.end;
        head_known_ = true;
      }
      KSEF_RETURN_IF_ERROR(CheckTailEnd(read, head_));
      return CheckpointAt(head_, closing);
    }
    head = head_;
  }
  KSEF_ASSIGN_OR_RETURN(TailRead read, ReadTail(from_seq, from_hash, head.seq));
  absl::MutexLock lock(&chain_mu_);
  if (tampered_.load()) return Refuse(options_.node, tamper_reason_);
  KSEF_RETURN_IF_ERROR(CheckTailEnd(read, head));
  return CheckpointAt(head, closing);
}

std::optional<Checkpoint> AuditLog::CheckpointAt(const ChainHead& head, bool closing) const {
  const Checkpoint* prev = last_checkpoint_ ? &*last_checkpoint_ : nullptr;
  if (prev != nullptr && prev->seq == head.seq) return std::nullopt;
  Checkpoint cp;
  cp.version = kCheckpointVersion;
  cp.node = options_.node;
  cp.seq = head.seq;
  cp.head_hash = head.hash;
  cp.time = absl::FromUnixMicros(absl::ToUnixMicros(options_.clock()));
  cp.prev_hash = prev != nullptr ? CheckpointDigest(*prev) : ZeroHash();
  cp.count = head.seq - (prev != nullptr ? prev->seq : 0);
  cp.closing = closing;
  cp.public_key_der = signer_.public_key_der;
  return cp;
}

absl::Status AuditLog::CheckpointFailed(absl::Status status) {
  if (checkpoint_ok_.exchange(false)) {
    LogError("audit checkpoint failed: ", status.message(),
             "; signing is refused until a checkpoint succeeds (fail closed)");
  }
  // Only now: the writer must see the log unhealthy when it wakes.
  absl::MutexLock lock(&mu_);
  retry_soon_ = true;
  return status;
}

absl::Status AuditLog::WriteCheckpoint(bool closing) {
  absl::MutexLock one_at_a_time(&checkpoint_mu_);
  absl::StatusOr<std::optional<Checkpoint>> next = NextCheckpoint(closing);
  if (!next.ok()) {
    if (!tampered_.load()) store_ok_.store(false);
    return CheckpointFailed(next.status());
  }
  if (!next->has_value()) {
    if (healthy() || closing) return AnchorLastCheckpoint();
    // Nothing new to sign: rewriting the last checkpoint as it is probes
    // whether the store writes again.
    Checkpoint last;
    {
      absl::MutexLock lock(&chain_mu_);
      last = *last_checkpoint_;
    }
    absl::Status probed = store_->AddCheckpoint(last);
    if (!probed.ok()) return CheckpointFailed(probed);
    if (absl::Status anchored = AnchorLastCheckpoint(); !anchored.ok()) return anchored;
  } else {
    Checkpoint& cp = **next;
    absl::StatusOr<std::string> signature = signer_.sign(CheckpointDigest(cp));
    if (!signature.ok()) {
      return CheckpointFailed(absl::UnavailableError(
          absl::StrCat("the audit key cannot sign a checkpoint: ", signature.status().message())));
    }
    cp.signature = *std::move(signature);
    absl::Status stored = store_->AddCheckpoint(cp);
    if (!stored.ok()) return CheckpointFailed(stored);
    {
      absl::MutexLock lock(&chain_mu_);
      last_checkpoint_ = std::move(cp);
      last_checkpoint_time_ = options_.clock();
      last_checkpoint_anchored_ = false;
    }
    if (absl::Status anchored = AnchorLastCheckpoint(); !anchored.ok()) return anchored;
  }
  if (!store_ok_.exchange(true)) LogInfo("audit store writes again");
  if (!checkpoint_ok_.exchange(true)) LogInfo("audit checkpoints are written again");
  return absl::OkStatus();
}

absl::Status AuditLog::AnchorLastCheckpoint() {
  Checkpoint last;
  {
    absl::MutexLock lock(&chain_mu_);
    if (last_checkpoint_anchored_ || !last_checkpoint_) return absl::OkStatus();
    last = *last_checkpoint_;
  }
  for (AnchorSink* anchor : options_.anchors) {
    absl::Status s = anchor->Append(last);
    if (!s.ok()) {
      return CheckpointFailed(absl::UnavailableError(
          absl::StrCat("the checkpoint at seq ", last.seq, " cannot be anchored: ", s.message())));
    }
  }
  absl::MutexLock lock(&chain_mu_);
  last_checkpoint_anchored_ = true;
  return absl::OkStatus();
}

AuditLogStats AuditLog::Stats() {
  AuditLogStats stats;
  stats.healthy = healthy();
  absl::MutexLock lock(&chain_mu_);
  const int64_t covered = last_checkpoint_ ? last_checkpoint_->seq : 0;
  stats.events_since_checkpoint = head_known_ ? std::max<int64_t>(0, head_.seq - covered) : 0;
  if (last_checkpoint_) stats.last_checkpoint = last_checkpoint_->time;
  return stats;
}

absl::Status AuditLog::CheckpointNow() { return WriteCheckpoint(/*closing=*/false); }

void AuditLog::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopping_ = true;
    stopped_ = true;
  }
  if (writer_.joinable()) writer_.join();
}

}  // namespace ksef::audit
