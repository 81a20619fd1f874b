// RefusalLog: audit events of refused calls (no certificate, no grant,
// a request that does not parse), aggregated so that a flood of refusals
// cannot fill the audit store (design.md section 6a: a caller without a
// certificate may cost the server a few bytes).
//
// Refusals are grouped by peer host, caller certificate, operation and status
// code. The first refusal of a group in a window is recorded at once (count
// 1); the others in that window are only counted, and one event with their
// count is recorded when the window is over (by the background flush, or by
// the group's next refusal). Every refused call is counted in some event's
// `count`; the store grows by at most two events per group and window.
//
// The number of groups tracked is bounded: past `max_groups`, refusals are
// counted in one overflow group per operation and status code (peer and
// caller left out).
//
// A refusal needs no durable event before the caller gets its answer
// (nothing was done), so a failed write does not fail the call: the count is
// kept and written with the next flush.
// Thread-safe.
#ifndef KSEF_SERVICE_REFUSAL_LOG_H_
#define KSEF_SERVICE_REFUSAL_LOG_H_

#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "audit/audit_event.h"

namespace ksef::service {

class RefusalLog {
 public:
  // Writes events durably (AuditLog::RecordEach in the server) and returns
  // each one's status, in order: some may be written and others not, and only
  // those not written are counted again for the next flush.
  using Writer = std::function<std::vector<absl::Status>(std::vector<audit::AuditEvent>)>;
  using Clock = std::function<absl::Time()>;

  struct Options {
    absl::Duration window = absl::Seconds(1);
    size_t max_groups = 4096;
    bool background_flush = true;  // false in tests that call Flush() themselves
  };

  RefusalLog(Writer writer, Options options, Clock clock = absl::Now);
  // Stops the flush thread and writes what is still counted.
  ~RefusalLog();
  RefusalLog(const RefusalLog&) = delete;
  RefusalLog& operator=(const RefusalLog&) = delete;

  // Records or counts one refused call. `event` must already hold only
  // bounded fields (AuditedCall strips payloads from refused calls).
  void Add(audit::AuditEvent event);

  // Writes one event per group whose window is over and that counted
  // refusals after its first (all groups with counts if `all`).
  void Flush(bool all = false);

  // Refused calls seen since start (for tests and metrics).
  int64_t total() const;

 private:
  struct Group {
    audit::AuditEvent sample;  // the first refusal of the window
    absl::Time window_end;
    int64_t pending = 0;       // refusals counted but not yet written
    bool mixed_targets = false;  // later refusals named other keys/subjects
  };

  // The group an event is counted in.
  static std::string GroupKey(const audit::AuditEvent& event);
  // The event that stands for `group.pending` counted refusals.
  static audit::AuditEvent CountedEvent(const Group& group);
  void Write(std::vector<audit::AuditEvent> events);
  // Re-counts events whose write failed, so the next flush retries them.
  void Recount(const std::vector<audit::AuditEvent>& events);
  void FlushLoop();

  const Writer writer_;
  const Options options_;
  const Clock clock_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Group> groups_ ABSL_GUARDED_BY(mu_);
  int64_t total_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Notification stop_;
  std::thread flusher_;
};

// "ipv4:10.0.0.7:51234" -> "ipv4:10.0.0.7"; "ipv6:[::1]:5555" -> "ipv6:[::1]".
std::string PeerHost(const std::string& peer);

}  // namespace ksef::service

#endif  // KSEF_SERVICE_REFUSAL_LOG_H_
