// KeyMetricsSource: which keys get per-key gauges, their values, the cap
// and the refresh interval, on a real SQLite key registry.
#include "service/key_metrics.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "crypto/software_signer.h"
#include "formats/cert/self_signed.h"
#include "service/certificate_cache.h"
#include "service/key_registry.h"
#include "service/key_registry_factory.h"
#include "tests/support/softhsm_token.h"

namespace ksef::service {
namespace {

class KeyMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ksef::testing::MakeTempDir("ksef-key-metrics");
    auto registry = OpenKeyRegistry({.kind = "sqlite", .sqlite_path = dir_ + "/keys.db"});
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = std::move(*registry);
    auto signer = crypto::SoftwareSigner::Generate(crypto::KeyAlgorithm::kEcP256);
    ASSERT_TRUE(signer.ok()) << signer.status();
    signer_ = std::move(*signer);
  }

  // A self-signed certificate valid from now - 1 h for `validity`.
  std::string Certificate(absl::Duration validity) {
    cert::SelfSignedSubject subject;
    subject.identifier = "5265877635";
    subject.common_name = "Beta";
    subject.given_name = "Anna";
    subject.surname = "Nowak";
    auto der = cert::IssueSelfSigned(subject, cert::CertificateType::kAuthentication,
                                     now_ - absl::Hours(1), validity + absl::Hours(1), *signer_);
    EXPECT_TRUE(der.ok()) << der.status();
    return der.value_or("");
  }

  void Insert(const std::string& id, KeyState state, int64_t usage_limit,
              std::string certificate_der = "") {
    KeyRecord r;
    r.key_id = id;
    r.cka_id = "cka-" + id;
    r.subject_value = "5265877635";
    r.state = state;
    r.create_time = r.update_time = now_;
    r.usage_limit = usage_limit;
    r.certificate_der = std::move(certificate_der);
    ASSERT_TRUE(registry_->Insert(r).ok()) << id;
  }

  const absl::Time now_ = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  std::string dir_;
  std::unique_ptr<KeyRegistry> registry_;
  std::unique_ptr<crypto::SoftwareSigner> signer_;
  CertificateCache certificates_;
};

TEST_F(KeyMetricsTest, CertificateExpiryAndRemainingSignaturesOfTheKeysThatHaveThem) {
  const std::string certificate = Certificate(absl::Hours(240));
  Insert("with-cert", KeyState::kActive, 0, certificate);
  Insert("with-limit", KeyState::kActive, 10);
  for (int i = 0; i < 3; ++i) {  // three signatures made and recorded
    ASSERT_TRUE(registry_->ReserveUse("with-limit", "node-a").ok());
    ASSERT_TRUE(registry_->SettleUse("with-limit", "node-a", /*used=*/true).ok());
  }
  Insert("not-counted-yet", KeyState::kActive, 10);
  ASSERT_TRUE(registry_->ResetUsage("not-counted-yet").ok());  // as a key from an older registry
  Insert("neither", KeyState::kActive, 0);
  Insert("leaving", KeyState::kScheduledForDestruction, 10, certificate);
  Insert("Not_A_Valid_Id", KeyState::kActive, 10);
  KeyMetricsSource source(registry_.get(), &certificates_);
  const metrics::KeysSnapshot snapshot = source.Snapshot();
  ASSERT_EQ(snapshot.keys.size(), 3u);
  EXPECT_EQ(snapshot.omitted, 0);
  // Soonest-expiring certificate first, then keys with only a limit, by id.
  EXPECT_EQ(snapshot.keys[0].key_id, "with-cert");
  const absl::Time not_after = now_ + absl::Hours(240);
  EXPECT_EQ(snapshot.keys[0].certificate_not_after, not_after);
  EXPECT_FALSE(snapshot.keys[0].signatures_remaining.has_value());
  EXPECT_EQ(snapshot.keys[1].key_id, "not-counted-yet");
  EXPECT_FALSE(snapshot.keys[1].signatures_remaining.has_value());
  EXPECT_EQ(snapshot.keys[2].key_id, "with-limit");
  EXPECT_FALSE(snapshot.keys[2].certificate_not_after.has_value());
  EXPECT_EQ(snapshot.keys[2].signatures_remaining, 7);
  // A reservation in flight is not left any more.
  ASSERT_TRUE(registry_->ReserveUse("with-limit", "node-a").ok());
  KeyMetricsSource fresh(registry_.get(), &certificates_);
  EXPECT_EQ(fresh.Snapshot().keys[2].signatures_remaining, 6);
}

TEST_F(KeyMetricsTest, AtMostTheCapSoonestExpiringFirstAndTheRestCounted) {
  Insert("late", KeyState::kActive, 0, Certificate(absl::Hours(24 * 300)));
  Insert("soon", KeyState::kActive, 0, Certificate(absl::Hours(24)));
  for (int i = 0; i < kMaxKeyMetrics; ++i) {
    Insert(absl::StrCat("limit-", 1000 + i), KeyState::kActive, 5);
  }
  KeyMetricsSource source(registry_.get(), &certificates_);
  const metrics::KeysSnapshot snapshot = source.Snapshot();
  ASSERT_EQ(snapshot.keys.size(), static_cast<size_t>(kMaxKeyMetrics));
  EXPECT_EQ(snapshot.omitted, 2);
  EXPECT_EQ(snapshot.keys[0].key_id, "soon");
  EXPECT_EQ(snapshot.keys[1].key_id, "late");
  EXPECT_EQ(snapshot.keys.back().key_id, absl::StrCat("limit-", 1000 + kMaxKeyMetrics - 3));
}

TEST_F(KeyMetricsTest, TheRegistryIsReadAtMostOncePerRefresh) {
  Insert("first", KeyState::kActive, 5);
  KeyMetricsSource cached(registry_.get(), &certificates_, absl::Hours(1));
  KeyMetricsSource uncached(registry_.get(), &certificates_, absl::ZeroDuration());
  EXPECT_EQ(cached.Snapshot().keys.size(), 1u);
  EXPECT_EQ(uncached.Snapshot().keys.size(), 1u);
  Insert("second", KeyState::kActive, 5);
  EXPECT_EQ(cached.Snapshot().keys.size(), 1u);
  EXPECT_EQ(uncached.Snapshot().keys.size(), 2u);
}

}  // namespace
}  // namespace ksef::service
