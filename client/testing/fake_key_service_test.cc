// The fake KeyService follows the server's lifecycle table (lifecycle/), and
// its state may be read and changed from many threads at once.
#include "client/testing/fake_key_service.h"

#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ksef::client::testing {
namespace {

using ::testing::HasSubstr;

class FakeKeyServiceTest : public ::testing::Test {
 protected:
  v1::Key Add(const std::string& id, v1::KeyState state, bool with_certificate = true) {
    v1::Key key = FakeKeyService::MakeKey(id);
    key.set_state(state);
    if (!with_certificate) key.clear_certificate();
    keys_.AddKey(key);
    return key;
  }

  grpc::Status Enable(const std::string& name, v1::Key* key) {
    v1::EnableKeyRequest request;
    request.set_name(name);
    return keys_.EnableKey(nullptr, &request, key);
  }

  grpc::Status Disable(const std::string& name, v1::Key* key) {
    v1::DisableKeyRequest request;
    request.set_name(name);
    return keys_.DisableKey(nullptr, &request, key);
  }

  FakeKeyService keys_;
};

TEST_F(FakeKeyServiceTest, EnableWithoutACertificateIsPendingCertificate) {
  Add("no-cert", v1::DISABLED, /*with_certificate=*/false);
  v1::Key key;
  ASSERT_TRUE(Enable("keys/no-cert", &key).ok());
  EXPECT_EQ(key.state(), v1::PENDING_CERTIFICATE);
}

TEST_F(FakeKeyServiceTest, AnExpiredKeyStaysExpiredThroughDisableAndEnable) {
  Add("old", v1::EXPIRED);
  v1::Key key;
  ASSERT_TRUE(Disable("keys/old", &key).ok());
  EXPECT_EQ(key.state(), v1::DISABLED);
  ASSERT_TRUE(Enable("keys/old", &key).ok());
  EXPECT_EQ(key.state(), v1::EXPIRED);
}

TEST_F(FakeKeyServiceTest, RefusalsCarryTheServersMessage) {
  Add("k", v1::ACTIVE);
  v1::Key key;
  grpc::Status status = Enable("keys/k", &key);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(),
              HasSubstr("key keys/k is ACTIVE; only DISABLED keys can be enabled"));
}

TEST_F(FakeKeyServiceTest, ScheduleAndRestore) {
  Add("k", v1::ACTIVE);
  v1::ScheduleKeyDestructionRequest schedule;
  schedule.set_name("keys/k");
  v1::Key key;
  ASSERT_TRUE(keys_.ScheduleKeyDestruction(nullptr, &schedule, &key).ok());
  EXPECT_EQ(key.state(), v1::SCHEDULED_FOR_DESTRUCTION);
  EXPECT_EQ(key.destroy_time().seconds(),
            FakeKeyService::kNowSeconds + FakeKeyService::kGraceSeconds);
  EXPECT_THAT(keys_.ScheduleKeyDestruction(nullptr, &schedule, &key).error_message(),
              HasSubstr("is already scheduled for destruction at 2025-01-02T12:00:00+00:00"));
  v1::RestoreKeyRequest restore;
  restore.set_name("keys/k");
  ASSERT_TRUE(keys_.RestoreKey(nullptr, &restore, &key).ok());
  EXPECT_EQ(key.state(), v1::DISABLED);
  EXPECT_FALSE(key.has_destroy_time());
}

TEST_F(FakeKeyServiceTest, ConcurrentCallsAndAccessors) {
  Add("k", v1::ACTIVE);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < 200; ++i) {
        v1::SetKeyUsageLimitRequest limit;
        limit.set_name("keys/k");
        limit.set_usage_limit(t * 1000 + i);
        v1::Key key;
        EXPECT_TRUE(keys_.SetKeyUsageLimit(nullptr, &limit, &key).ok());
        v1::GetKeyRequest get;
        get.set_name("keys/k");
        EXPECT_TRUE(keys_.GetKey(nullptr, &get, &key).ok());
        EXPECT_EQ(keys_.last_name(), "keys/k");
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
}

}  // namespace
}  // namespace ksef::client::testing
