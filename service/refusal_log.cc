#include "service/refusal_log.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace ksef::service {
namespace {

constexpr char kSeveral[] = "(several)";
constexpr char kOverflowPeer[] = "(too many peers to list)";

// Past max_groups, a refusal keeps only what every refusal has.
audit::AuditEvent Overflowed(audit::AuditEvent event) {
  event.peer = kOverflowPeer;
  event.caller = audit::CallerIdentity{};
  event.key_name = kSeveral;
  event.subject = kSeveral;
  event.key_public_hash.clear();
  return event;
}

}  // namespace

std::string PeerHost(const std::string& peer) {
  const size_t colon = peer.rfind(':');
  const size_t scheme = peer.find(':');
  if (colon == std::string::npos || colon == scheme) return peer;
  return peer.substr(0, colon);
}

RefusalLog::RefusalLog(Writer writer, Options options, Clock clock)
    : writer_(std::move(writer)), options_(options), clock_(std::move(clock)) {
  if (options_.background_flush) flusher_ = std::thread([this] { FlushLoop(); });
}

RefusalLog::~RefusalLog() {
  stop_.Notify();
  if (flusher_.joinable()) flusher_.join();
  Flush(/*all=*/true);
}

std::string RefusalLog::GroupKey(const audit::AuditEvent& e) {
  return absl::StrCat(PeerHost(e.peer), "\x1f", e.caller.issuer, "\x1f", e.caller.serial, "\x1f",
                      e.operation, "\x1f", e.status_code);
}

audit::AuditEvent RefusalLog::CountedEvent(const Group& group) {
  audit::AuditEvent e = group.sample;
  e.count = group.pending;
  if (group.mixed_targets) {
    e.key_name = kSeveral;
    e.subject = kSeveral;
    e.key_public_hash.clear();
  }
  return e;
}

void RefusalLog::Add(audit::AuditEvent event) {
  event.count = 1;
  std::vector<audit::AuditEvent> to_write;
  {
    absl::MutexLock lock(&mu_);
    ++total_;
    const absl::Time now = clock_();
    std::string key = GroupKey(event);
    auto it = groups_.find(key);
    if (it == groups_.end() && groups_.size() >= options_.max_groups) {
      // Make room from groups whose window is over, then fall back to overflow.
      for (auto g = groups_.begin(); g != groups_.end();) {
        if (now < g->second.window_end) {
          ++g;
          continue;
        }
        if (g->second.pending > 0) to_write.push_back(CountedEvent(g->second));
        groups_.erase(g++);
      }
      if (groups_.size() >= options_.max_groups) {
        event = Overflowed(std::move(event));
        key = GroupKey(event);
      }
      it = groups_.find(key);
    }
    if (it != groups_.end() && now < it->second.window_end) {
      Group& group = it->second;
      ++group.pending;
      if (group.sample.key_name != event.key_name || group.sample.subject != event.subject) {
        group.mixed_targets = true;
      }
    } else {
      if (it != groups_.end() && it->second.pending > 0) {
        to_write.push_back(CountedEvent(it->second));
      }
      Group fresh;
      fresh.sample = event;
      fresh.window_end = now + options_.window;
      groups_.insert_or_assign(key, std::move(fresh));
      to_write.push_back(std::move(event));
    }
  }
  Write(std::move(to_write));
}

void RefusalLog::Flush(bool all) {
  std::vector<audit::AuditEvent> to_write;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_();
    for (auto g = groups_.begin(); g != groups_.end();) {
      const bool over = now >= g->second.window_end;
      if ((over || all) && g->second.pending > 0) {
        to_write.push_back(CountedEvent(g->second));
        g->second.pending = 0;
        g->second.mixed_targets = false;
      }
      if (over) {
        groups_.erase(g++);
      } else {
        ++g;
      }
    }
  }
  Write(std::move(to_write));
}

int64_t RefusalLog::total() const {
  absl::MutexLock lock(&mu_);
  return total_;
}

void RefusalLog::Write(std::vector<audit::AuditEvent> events) {
  if (events.empty()) return;
  std::vector<absl::Status> written = writer_(events);
  std::vector<audit::AuditEvent> unwritten;
  absl::Status first_failure;
  for (size_t i = 0; i < events.size(); ++i) {
    const bool ok = i < written.size() && written[i].ok();
    if (ok) continue;
    if (first_failure.ok()) {
      first_failure = i < written.size() ? written[i] : absl::InternalError("no status");
    }
    unwritten.push_back(std::move(events[i]));
  }
  if (unwritten.empty()) return;
  LogWarning("audit: ", unwritten.size(), " refusal event(s) not written yet (",
             first_failure.message(), "); their count is kept and written with the next flush");
  Recount(unwritten);
}

void RefusalLog::Recount(const std::vector<audit::AuditEvent>& events) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_();
  for (const audit::AuditEvent& e : events) {
    auto [it, inserted] = groups_.try_emplace(GroupKey(e));
    Group& group = it->second;
    if (inserted) {
      group.sample = e;
      group.window_end = now;  // over: the next flush writes it
    }
    group.pending += e.count;
    if (group.sample.key_name != e.key_name || group.sample.subject != e.subject) {
      group.mixed_targets = true;
    }
  }
}

void RefusalLog::FlushLoop() {
  while (!stop_.WaitForNotificationWithTimeout(options_.window)) Flush(/*all=*/false);
}

}  // namespace ksef::service
