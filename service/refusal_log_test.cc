#include "service/refusal_log.h"

#include <numeric>

#include "gtest/gtest.h"

namespace ksef::service {
namespace {

class RefusalLogTest : public ::testing::Test {
 protected:
  RefusalLog::Options Options(size_t max_groups = 4096) {
    RefusalLog::Options o;
    o.window = absl::Seconds(1);
    o.max_groups = max_groups;
    o.background_flush = false;
    return o;
  }
  std::unique_ptr<RefusalLog> Make(size_t max_groups = 4096) {
    return std::make_unique<RefusalLog>(
        [this](std::vector<audit::AuditEvent> events) {
          std::vector<absl::Status> statuses;
          for (size_t i = 0; i < events.size(); ++i) {
            // The store takes the first `accept_` events, then fails.
            if (fail_writes_ || (accept_ >= 0 && written_.size() >= size_t(accept_))) {
              statuses.push_back(absl::UnavailableError("store down"));
              continue;
            }
            written_.push_back(std::move(events[i]));
            statuses.push_back(absl::OkStatus());
          }
          return statuses;
        },
        Options(max_groups), [this] { return now_; });
  }
  static audit::AuditEvent Refused(std::string peer, std::string op = "GetKey",
                                   std::string key = "keys/a") {
    audit::AuditEvent e;
    e.peer = std::move(peer);
    e.operation = std::move(op);
    e.key_name = std::move(key);
    e.outcome = audit::Outcome::kDenied;
    e.status_code = 16;
    return e;
  }
  int64_t CountedTotal() const {
    int64_t n = 0;
    for (const auto& e : written_) n += e.count;
    return n;
  }

  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
  bool fail_writes_ = false;
  int accept_ = -1;  // >= 0: the store accepts only this many events in all
  std::vector<audit::AuditEvent> written_;
};

TEST_F(RefusalLogTest, FirstRefusalIsWrittenAtOnceTheRestAsOneCountedEvent) {
  auto log = Make();
  for (int i = 0; i < 1000; ++i) log->Add(Refused("ipv4:10.0.0.7:" + std::to_string(40000 + i)));
  ASSERT_EQ(written_.size(), 1u);
  EXPECT_EQ(written_[0].count, 1);
  now_ += absl::Milliseconds(1500);
  log->Flush();
  ASSERT_EQ(written_.size(), 2u);
  EXPECT_EQ(written_[1].count, 999);
  EXPECT_EQ(written_[1].key_name, "keys/a");
  EXPECT_EQ(CountedTotal(), 1000);
  EXPECT_EQ(log->total(), 1000);
}

TEST_F(RefusalLogTest, GroupsByPeerHostOperationAndCode) {
  auto log = Make();
  log->Add(Refused("ipv4:10.0.0.7:1"));
  log->Add(Refused("ipv4:10.0.0.8:1"));
  log->Add(Refused("ipv4:10.0.0.7:2", "ListKeys"));
  log->Add(Refused("ipv6:[::1]:5"));
  log->Add(Refused("ipv6:[::1]:6"));
  EXPECT_EQ(written_.size(), 4u);
  log->Flush(/*all=*/true);
  EXPECT_EQ(written_.size(), 5u);
  EXPECT_EQ(CountedTotal(), 5);
}

TEST_F(RefusalLogTest, MixedTargetsAreNotAttributedToTheFirstKey) {
  auto log = Make();
  log->Add(Refused("ipv4:10.0.0.7:1", "GetKey", "keys/a"));
  log->Add(Refused("ipv4:10.0.0.7:1", "GetKey", "keys/b"));
  now_ += absl::Seconds(2);
  log->Flush();
  ASSERT_EQ(written_.size(), 2u);
  EXPECT_EQ(written_[1].key_name, "(several)");
}

TEST_F(RefusalLogTest, ANewWindowStartsWithAnImmediateEvent) {
  auto log = Make();
  log->Add(Refused("ipv4:10.0.0.7:1"));
  log->Add(Refused("ipv4:10.0.0.7:1"));
  now_ += absl::Seconds(2);
  log->Add(Refused("ipv4:10.0.0.7:1"));  // writes the old count and the new first
  ASSERT_EQ(written_.size(), 3u);
  EXPECT_EQ(written_[1].count, 1);
  EXPECT_EQ(written_[2].count, 1);
  EXPECT_EQ(CountedTotal(), 3);
}

TEST_F(RefusalLogTest, TooManyPeersShareOneOverflowGroup) {
  auto log = Make(/*max_groups=*/8);
  for (int i = 0; i < 500; ++i) log->Add(Refused("ipv4:10.0." + std::to_string(i) + ".1:1"));
  // 8 groups, then one overflow group.
  EXPECT_EQ(written_.size(), 9u);
  EXPECT_EQ(written_.back().peer, "(too many peers to list)");
  EXPECT_TRUE(written_.back().caller.subject.empty());
  log->Flush(/*all=*/true);
  EXPECT_EQ(CountedTotal(), 500);
}

TEST_F(RefusalLogTest, FailedWritesKeepTheirCountForTheNextFlush) {
  auto log = Make();
  fail_writes_ = true;
  for (int i = 0; i < 10; ++i) log->Add(Refused("ipv4:10.0.0.7:1"));
  EXPECT_TRUE(written_.empty());
  fail_writes_ = false;
  now_ += absl::Seconds(2);
  log->Flush();
  EXPECT_EQ(CountedTotal(), 10);
}

// The audit log may commit some events of one write and refuse others (its
// window of events waiting for a checkpoint fills up): only those refused are
// counted again, so nothing is counted twice.
TEST_F(RefusalLogTest, APartlyFailedWriteRecountsOnlyWhatWasNotWritten) {
  auto log = Make();
  for (int i = 0; i < 5; ++i) log->Add(Refused("ipv4:10.0.0.7:1"));
  for (int i = 0; i < 7; ++i) log->Add(Refused("ipv4:10.0.0.8:1"));
  ASSERT_EQ(written_.size(), 2u);  // the first of each group, at once
  accept_ = 3;                     // of the next flush's two events, one is written
  now_ += absl::Seconds(2);
  log->Flush();
  ASSERT_EQ(written_.size(), 3u);
  accept_ = -1;
  now_ += absl::Seconds(2);
  log->Flush();
  ASSERT_EQ(written_.size(), 4u);
  EXPECT_EQ(CountedTotal(), 12);
  EXPECT_EQ(log->total(), 12);
}

TEST_F(RefusalLogTest, DestructionWritesWhatIsStillCounted) {
  {
    auto log = Make();
    for (int i = 0; i < 3; ++i) log->Add(Refused("ipv4:10.0.0.7:1"));
  }
  EXPECT_EQ(CountedTotal(), 3);
}

TEST(PeerHostTest, DropsThePort) {
  EXPECT_EQ(PeerHost("ipv4:127.0.0.1:5555"), "ipv4:127.0.0.1");
  EXPECT_EQ(PeerHost("ipv6:[::1]:5555"), "ipv6:[::1]");
  EXPECT_EQ(PeerHost("unix:/tmp/s"), "unix:/tmp/s");
  EXPECT_EQ(PeerHost(""), "");
}

}  // namespace
}  // namespace ksef::service
