#include "lifecycle/lifecycle.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ksef::lifecycle {
namespace {

using ::testing::HasSubstr;

constexpr absl::Duration kDay = absl::Hours(24);

absl::Time Now() { return absl::FromUnixSeconds(1735732800); }  // 2025-01-01T12:00:00Z

KeyFacts Facts(bool has_certificate = true, bool expired = false) {
  KeyFacts facts;
  facts.name = "keys/k";
  facts.has_certificate = has_certificate;
  facts.certificate_expired = expired;
  facts.now = Now();
  return facts;
}

KeyFacts Scheduled(absl::Time destroy_time) {
  KeyFacts facts = Facts();
  facts.destroy_time = destroy_time;
  return facts;
}

void ExpectNext(KeyState from, Operation op, const KeyFacts& facts, KeyState to) {
  absl::StatusOr<KeyState> next = Next(from, op, facts);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, to);
}

void ExpectRefused(KeyState from, Operation op, const KeyFacts& facts, const std::string& message) {
  absl::StatusOr<KeyState> next = Next(from, op, facts);
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(next.status().message()), message);
}

TEST(LifecycleTest, StateNamesAreTheApis) {
  EXPECT_STREQ(KeyStateName(KeyState::kCreating), "CREATING");
  EXPECT_STREQ(KeyStateName(KeyState::kPendingCertificate), "PENDING_CERTIFICATE");
  EXPECT_STREQ(KeyStateName(KeyState::kActive), "ACTIVE");
  EXPECT_STREQ(KeyStateName(KeyState::kDisabled), "DISABLED");
  EXPECT_STREQ(KeyStateName(KeyState::kExpired), "EXPIRED");
  EXPECT_STREQ(KeyStateName(KeyState::kScheduledForDestruction), "SCHEDULED_FOR_DESTRUCTION");
  EXPECT_STREQ(KeyStateName(KeyState::kDestroyed), "DESTROYED");
}

TEST(LifecycleTest, ExpiredIsStoredAsActive) {
  EXPECT_EQ(StoredState(KeyState::kExpired), KeyState::kActive);
  EXPECT_EQ(StoredState(KeyState::kDisabled), KeyState::kDisabled);
}

TEST(LifecycleTest, AnActiveKeyWithAnExpiredCertificateIsShownExpired) {
  EXPECT_EQ(EffectiveState(KeyState::kActive, Facts(true, true)), KeyState::kExpired);
  EXPECT_EQ(EffectiveState(KeyState::kActive, Facts(true, false)), KeyState::kActive);
  EXPECT_EQ(EffectiveState(KeyState::kActive, Facts(false, true)), KeyState::kActive);
  EXPECT_EQ(EffectiveState(KeyState::kDisabled, Facts(true, true)), KeyState::kDisabled);
}

TEST(LifecycleTest, EnableWithACertificateMakesTheKeyActive) {
  ExpectNext(KeyState::kDisabled, Operation::kEnable, Facts(true), KeyState::kActive);
}

TEST(LifecycleTest, EnableWithAnExpiredCertificateShowsExpired) {
  KeyFacts facts = Facts(true, true);
  ExpectNext(KeyState::kDisabled, Operation::kEnable, facts, KeyState::kActive);
  EXPECT_EQ(EffectiveState(*Next(KeyState::kDisabled, Operation::kEnable, facts), facts),
            KeyState::kExpired);
}

TEST(LifecycleTest, EnableWithoutACertificateWaitsForOne) {
  ExpectNext(KeyState::kDisabled, Operation::kEnable, Facts(false), KeyState::kPendingCertificate);
}

TEST(LifecycleTest, EnableRefusesKeysThatAreNotDisabled) {
  ExpectRefused(KeyState::kActive, Operation::kEnable, Facts(),
                "key keys/k is ACTIVE; only DISABLED keys can be enabled");
  ExpectRefused(KeyState::kPendingCertificate, Operation::kEnable, Facts(false),
                "key keys/k is PENDING_CERTIFICATE; only DISABLED keys can be enabled");
  // The server checks the stored state: an expired key is ACTIVE there.
  ExpectRefused(KeyState::kExpired, Operation::kEnable, Facts(true, true),
                "key keys/k is ACTIVE; only DISABLED keys can be enabled");
  ExpectRefused(KeyState::kScheduledForDestruction, Operation::kEnable,
                Scheduled(Now() + kDay),
                "key keys/k is SCHEDULED_FOR_DESTRUCTION; only DISABLED keys can be enabled "
                "(restore it first)");
}

TEST(LifecycleTest, DisableActivePendingOrExpiredKeys) {
  ExpectNext(KeyState::kActive, Operation::kDisable, Facts(), KeyState::kDisabled);
  ExpectNext(KeyState::kPendingCertificate, Operation::kDisable, Facts(false),
             KeyState::kDisabled);
  ExpectNext(KeyState::kExpired, Operation::kDisable, Facts(true, true), KeyState::kDisabled);
}

TEST(LifecycleTest, DisableRefusesOtherStates) {
  ExpectRefused(KeyState::kDisabled, Operation::kDisable, Facts(),
                "key keys/k is DISABLED; only ACTIVE or PENDING_CERTIFICATE keys can be disabled");
  ExpectRefused(KeyState::kScheduledForDestruction, Operation::kDisable, Scheduled(Now() + kDay),
                "key keys/k is SCHEDULED_FOR_DESTRUCTION; only ACTIVE or PENDING_CERTIFICATE "
                "keys can be disabled");
}

TEST(LifecycleTest, ScheduleDestructionFromEveryUsableState) {
  for (KeyState from : {KeyState::kPendingCertificate, KeyState::kActive, KeyState::kDisabled,
                        KeyState::kExpired}) {
    ExpectNext(from, Operation::kScheduleDestruction, Facts(),
               KeyState::kScheduledForDestruction);
  }
}

TEST(LifecycleTest, ScheduleDestructionRefusesAScheduledKey) {
  ExpectRefused(KeyState::kScheduledForDestruction, Operation::kScheduleDestruction,
                Scheduled(Now() + kDay),
                "key keys/k is already scheduled for destruction at 2025-01-02T12:00:00+00:00");
}

TEST(LifecycleTest, RestoreBringsAScheduledKeyBackDisabled) {
  ExpectNext(KeyState::kScheduledForDestruction, Operation::kRestore, Scheduled(Now() + kDay),
             KeyState::kDisabled);
}

TEST(LifecycleTest, RestoreRefusesKeysNotScheduled) {
  ExpectRefused(KeyState::kDisabled, Operation::kRestore, Facts(),
                "key keys/k is DISABLED; only keys scheduled for destruction can be restored");
  ExpectRefused(KeyState::kExpired, Operation::kRestore, Facts(true, true),
                "key keys/k is ACTIVE; only keys scheduled for destruction can be restored");
}

TEST(LifecycleTest, RestoreRefusesOnceTheGracePeriodIsOver) {
  ExpectRefused(KeyState::kScheduledForDestruction, Operation::kRestore, Scheduled(Now()),
                "the grace period of key keys/k is over; it is being destroyed");
  ExpectRefused(KeyState::kScheduledForDestruction, Operation::kRestore,
                Scheduled(Now() - absl::Seconds(1)),
                "the grace period of key keys/k is over; it is being destroyed");
}

TEST(LifecycleTest, ImportCertificateMakesPendingAndActiveKeysActive) {
  ExpectNext(KeyState::kPendingCertificate, Operation::kImportCertificate, Facts(false),
             KeyState::kActive);
  ExpectNext(KeyState::kActive, Operation::kImportCertificate, Facts(), KeyState::kActive);
  ExpectNext(KeyState::kExpired, Operation::kImportCertificate, Facts(true, true),
             KeyState::kActive);
}

TEST(LifecycleTest, ImportCertificateRefusesOtherStates) {
  ExpectRefused(KeyState::kDisabled, Operation::kImportCertificate, Facts(),
                "key keys/k is DISABLED; a certificate can be imported only for "
                "PENDING_CERTIFICATE or ACTIVE keys (enable it first)");
  ExpectRefused(KeyState::kScheduledForDestruction, Operation::kImportCertificate,
                Scheduled(Now() + kDay),
                "key keys/k is SCHEDULED_FOR_DESTRUCTION; a certificate can be imported only "
                "for PENDING_CERTIFICATE or ACTIVE keys");
}

TEST(LifecycleTest, SetUsageLimitKeepsTheState) {
  for (KeyState from : {KeyState::kPendingCertificate, KeyState::kActive, KeyState::kDisabled,
                        KeyState::kScheduledForDestruction}) {
    ExpectNext(from, Operation::kSetUsageLimit, Scheduled(Now() + kDay), from);
  }
  ExpectNext(KeyState::kExpired, Operation::kSetUsageLimit, Facts(true, true), KeyState::kActive);
}

TEST(LifecycleTest, SetUsageLimitRefusesADestroyedKey) {
  ExpectRefused(KeyState::kDestroyed, Operation::kSetUsageLimit, Facts(),
                "key keys/k is DESTROYED");
}

// A key a destruction sweep has claimed is shown as scheduled, and nothing
// may move it any more: not even a restore whose caller read it before the
// claim, nor a usage limit (which would write the row back).
TEST(LifecycleTest, AKeyBeingDestroyedRefusesEveryOperation) {
  EXPECT_EQ(EffectiveState(KeyState::kDestroying, Facts()), KeyState::kScheduledForDestruction);
  EXPECT_STREQ(KeyStateName(KeyState::kDestroying), "SCHEDULED_FOR_DESTRUCTION");
  for (Operation op : {Operation::kEnable, Operation::kDisable, Operation::kScheduleDestruction,
                       Operation::kRestore, Operation::kImportCertificate,
                       Operation::kSetUsageLimit}) {
    ExpectRefused(KeyState::kDestroying, op, Scheduled(Now() + kDay),
                  "the grace period of key keys/k is over; it is being destroyed");
  }
}

TEST(LifecycleTest, RefusalsNameTheKey) {
  KeyFacts facts = Facts();
  facts.name = "keys/acme-auth-1";
  EXPECT_THAT(std::string(Next(KeyState::kActive, Operation::kEnable, facts).status().message()),
              HasSubstr("keys/acme-auth-1"));
}

}  // namespace
}  // namespace ksef::lifecycle
