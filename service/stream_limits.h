// StreamLimits: what a streaming call may hold (design.md 6a; issue 11).
//
// A streaming RPC holds two server threads and buffers for as long as it is
// open, so streams are bounded server-wide and watched:
//   * at most `max_streams` are open at once (more get RESOURCE_EXHAUSTED);
//   * a stream that sends nothing for `idle_timeout` while the server waits
//     for its next message is cancelled;
//   * a stream whose client does not read its answers (a write blocked by
//     flow control for `write_timeout`) is cancelled, so its memory is
//     released instead of being held for as long as the client likes.
// One reaper thread watches every open stream (no thread per stream).
// Thread-safe.
#ifndef KSEF_SERVICE_STREAM_LIMITS_H_
#define KSEF_SERVICE_STREAM_LIMITS_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace grpc {
class ServerContext;
}

namespace ksef::service {

class StreamLimits;

// One open stream's slot. The handler reports what the stream is doing;
// destroying the ticket frees the slot. Thread-safe (the stream's reader
// and writer threads both use it).
class StreamTicket {
 public:
  ~StreamTicket();
  StreamTicket(const StreamTicket&) = delete;
  StreamTicket& operator=(const StreamTicket&) = delete;

  // A message was read: the stream is not idle.
  void Received();
  // Around a blocking Write(): while writing, the idle clock stops and the
  // write clock runs.
  void WriteStarted();
  void WriteFinished();
  // Why the reaper cancelled the stream ("" if it did not).
  std::string reaped_reason() const;

 private:
  friend class StreamLimits;
  StreamTicket(StreamLimits* limits, grpc::ServerContext* context, absl::Time now);

  StreamLimits* const limits_;
  grpc::ServerContext* const context_;
  mutable absl::Mutex mu_;
  absl::Time last_activity_ ABSL_GUARDED_BY(mu_);
  absl::Time write_started_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  std::string reaped_reason_ ABSL_GUARDED_BY(mu_);
};

class StreamLimits {
 public:
  struct Options {
    int max_streams = 16;
    absl::Duration idle_timeout = absl::Seconds(60);
    absl::Duration write_timeout = absl::Seconds(30);
  };

  explicit StreamLimits(Options options);
  ~StreamLimits();  // stops the reaper; every ticket must be gone
  StreamLimits(const StreamLimits&) = delete;
  StreamLimits& operator=(const StreamLimits&) = delete;

  // A slot for the stream of `context` (which must outlive the ticket), or
  // RESOURCE_EXHAUSTED saying how many streams are open.
  absl::StatusOr<std::unique_ptr<StreamTicket>> Open(grpc::ServerContext* context);

  int open_streams() const;

 private:
  friend class StreamTicket;
  void Close(StreamTicket* ticket);
  void ReapLoop();
  // Cancels the stream if it has been idle or blocked too long.
  void Check(StreamTicket& ticket, absl::Time now);

  const Options options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_set<StreamTicket*> open_ ABSL_GUARDED_BY(mu_);
  absl::Notification stop_;
  std::thread reaper_;
};

}  // namespace ksef::service

#endif  // KSEF_SERVICE_STREAM_LIMITS_H_
