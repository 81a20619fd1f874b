#include "service/stream_limits.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace ksef::service {

StreamTicket::StreamTicket(StreamLimits* limits, grpc::ServerContext* context, absl::Time now)
    : limits_(limits), context_(context), last_activity_(now) {}

StreamTicket::~StreamTicket() { limits_->Close(this); }

void StreamTicket::Received() {
  absl::MutexLock lock(&mu_);
  last_activity_ = absl::Now();
}

void StreamTicket::WriteStarted() {
  absl::MutexLock lock(&mu_);
  writing_ = true;
  write_started_ = absl::Now();
}

void StreamTicket::WriteFinished() {
  absl::MutexLock lock(&mu_);
  writing_ = false;
  last_activity_ = absl::Now();
}

std::string StreamTicket::reaped_reason() const {
  absl::MutexLock lock(&mu_);
  return reaped_reason_;
}

StreamLimits::StreamLimits(Options options) : options_(options) {
  reaper_ = std::thread([this] { ReapLoop(); });
}

StreamLimits::~StreamLimits() {
  stop_.Notify();
  if (reaper_.joinable()) reaper_.join();
}

absl::StatusOr<std::unique_ptr<StreamTicket>> StreamLimits::Open(grpc::ServerContext* context) {
  absl::MutexLock lock(&mu_);
  if (static_cast<int>(open_.size()) >= options_.max_streams) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the server has ", open_.size(), " streams open (max_streams = ", options_.max_streams,
        "); retry later, or send the invoices over a stream you already have open"));
  }
  std::unique_ptr<StreamTicket> ticket(new StreamTicket(this, context, absl::Now()));
  open_.insert(ticket.get());
  return ticket;
}

int StreamLimits::open_streams() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(open_.size());
}

void StreamLimits::Close(StreamTicket* ticket) {
  absl::MutexLock lock(&mu_);
  open_.erase(ticket);
}

void StreamLimits::Check(StreamTicket& ticket, absl::Time now) {
  absl::MutexLock lock(&ticket.mu_);
  if (!ticket.reaped_reason_.empty()) return;
  if (ticket.writing_ && now - ticket.write_started_ > options_.write_timeout) {
    ticket.reaped_reason_ = absl::StrCat(
        "the client did not read its answers for ", absl::FormatDuration(options_.write_timeout),
        " (stream_write_timeout); the stream was closed to free its buffers");
  } else if (!ticket.writing_ && now - ticket.last_activity_ > options_.idle_timeout) {
    ticket.reaped_reason_ = absl::StrCat("the stream sent nothing for ",
                                         absl::FormatDuration(options_.idle_timeout),
                                         " (stream_idle_timeout) and was closed");
  } else {
    return;
  }
  LogInfo("closing a stream from ", ticket.context_->peer(), ": ", ticket.reaped_reason_);
  ticket.context_->TryCancel();
}

void StreamLimits::ReapLoop() {
  // Often enough that no stream outlives its limit by more than a quarter.
  const absl::Duration period = std::clamp(
      std::min(options_.idle_timeout, options_.write_timeout) / 4, absl::Milliseconds(50),
      absl::Seconds(1));
  while (!stop_.WaitForNotificationWithTimeout(period)) {
    const absl::Time now = absl::Now();
    absl::MutexLock lock(&mu_);
    for (StreamTicket* ticket : open_) Check(*ticket, now);
  }
}

}  // namespace ksef::service
