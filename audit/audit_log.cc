#include "audit/audit_log.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace ksef::audit {

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Start(AuditStore* store,
                                                          CheckpointSigner signer,
                                                          AuditLogOptions options) {
  if (options.node.empty()) return absl::InvalidArgumentError("audit: node id is empty");
  if (!signer.sign || signer.public_key_der.empty()) {
    return absl::InvalidArgumentError("audit: a checkpoint signer is required");
  }
  std::unique_ptr<AuditLog> log(new AuditLog(store, std::move(signer), std::move(options)));
  KSEF_ASSIGN_OR_RETURN(ChainHead head, store->Head(log->options_.node));
  KSEF_ASSIGN_OR_RETURN(std::vector<Checkpoint> checkpoints,
                        store->Checkpoints(log->options_.node));
  {
    absl::MutexLock lock(&log->chain_mu_);
    log->head_ = head;
    log->head_known_ = true;
    if (!checkpoints.empty()) log->checkpointed_seq_ = checkpoints.back().seq;
  }
  log->writer_ = std::thread([raw = log.get()] { raw->WriterLoop(); });
  return log;
}

AuditLog::~AuditLog() { Shutdown(); }

absl::StatusOr<AuditEvent> AuditLog::Record(AuditEvent event) {
  Pending pending;
  pending.event = std::move(event);
  BoundEventFields(pending.event);
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      return absl::UnavailableError("audit log is shutting down; the operation was not performed");
    }
    queue_.push_back(&pending);
    mu_.Await(absl::Condition(&pending.done));
  }
  if (!pending.status.ok()) return pending.status;
  return std::move(pending.event);
}

absl::StatusOr<std::vector<AuditEvent>> AuditLog::RecordAll(std::vector<AuditEvent> events) {
  std::vector<Pending> pending(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    pending[i].event = std::move(events[i]);
    BoundEventFields(pending[i].event);
  }
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      return absl::UnavailableError("audit log is shutting down; the operation was not performed");
    }
    for (Pending& p : pending) queue_.push_back(&p);
    auto all_done = [&pending]() {
      for (const Pending& p : pending) {
        if (!p.done) return false;
      }
      return true;
    };
    mu_.Await(absl::Condition(&all_done));
  }
  std::vector<AuditEvent> out;
  out.reserve(pending.size());
  for (Pending& p : pending) {
    if (!p.status.ok()) return p.status;
    out.push_back(std::move(p.event));
  }
  return out;
}

void AuditLog::WriterLoop() {
  absl::Time next_checkpoint = options_.clock() + options_.checkpoint_interval;
  absl::Time next_probe = absl::InfiniteFuture();
  while (true) {
    std::deque<Pending*> batch;
    bool stopping;
    {
      absl::MutexLock lock(&mu_);
      const absl::Time wake = std::min(next_checkpoint, next_probe);
      mu_.AwaitWithDeadline(absl::Condition(this, &AuditLog::HasWork), wake);
      while (!queue_.empty() && static_cast<int>(batch.size()) < options_.max_batch) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
      stopping = stopping_ && queue_.empty();
    }
    if (!batch.empty()) WriteBatch(batch);
    const absl::Time now = options_.clock();
    if (!healthy_.load() && next_probe == absl::InfiniteFuture()) {
      next_probe = now + options_.probe_interval;
    }
    if (stopping) break;
    if (now >= next_checkpoint || (now >= next_probe && !healthy_.load())) {
      absl::Status s = WriteCheckpoint();
      if (!s.ok()) LogWarning("audit checkpoint failed: ", s.message());
      next_checkpoint = now + options_.checkpoint_interval;
      next_probe = healthy_.load() ? absl::InfiniteFuture() : now + options_.probe_interval;
    }
  }
  absl::Status s = WriteCheckpoint();
  if (!s.ok()) LogWarning("final audit checkpoint failed: ", s.message());
}

void AuditLog::WriteBatch(std::deque<Pending*>& batch) {
  absl::Status status;
  {
    absl::MutexLock lock(&chain_mu_);
    if (!head_known_) {
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
      for (Pending* p : batch) {
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
        events.push_back(e);
      }
      status = store_->Append(events);
      if (status.ok()) {
        head_ = next;
      } else {
        head_known_ = false;
      }
    }
  }
  if (status.ok()) {
    if (!healthy_.exchange(true)) LogInfo("audit store writes again; audit log is healthy");
  } else {
    if (healthy_.exchange(false)) {
      LogError("audit store cannot write: ", status.message(),
               "; signing is refused until it can (fail closed)");
    }
    status = absl::UnavailableError(absl::StrCat(
        "the audit log cannot record this operation (", status.message(),
        "), so it was refused; retry when the audit store is writable"));
  }
  absl::MutexLock lock(&mu_);
  for (Pending* p : batch) {
    p->status = status;
    p->done = true;
  }
}

absl::Status AuditLog::WriteCheckpoint() {
  absl::MutexLock lock(&chain_mu_);
  if (!head_known_) {
    auto head = store_->Head(options_.node);
    if (!head.ok()) {
      healthy_.store(false);
      return head.status();
    }
    head_ = *head;
    head_known_ = true;
  }
  if (head_.seq == checkpointed_seq_ && healthy_.load()) return absl::OkStatus();
  Checkpoint cp;
  cp.node = options_.node;
  cp.seq = head_.seq;
  cp.head_hash = head_.hash;
  cp.time = absl::FromUnixMicros(absl::ToUnixMicros(options_.clock()));
  cp.public_key_der = signer_.public_key_der;
  auto signature = signer_.sign(CheckpointDigest(cp.node, cp.seq, cp.head_hash, cp.time));
  if (!signature.ok()) return signature.status();
  cp.signature = *signature;
  absl::Status stored = store_->AddCheckpoint(cp);
  if (!stored.ok()) {
    healthy_.store(false);
    return stored;
  }
  if (!healthy_.exchange(true)) LogInfo("audit store writes again; audit log is healthy");
  checkpointed_seq_ = cp.seq;
  return absl::OkStatus();
}

absl::Status AuditLog::CheckpointNow() { return WriteCheckpoint(); }

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
