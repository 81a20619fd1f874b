#include "service/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "tests/support/softhsm_token.h"

namespace ksef::service {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kPolicy[] = R"(# test policy
identity billing subject="CN=billing,O=Acme" issuer="CN=Acme CA"
identity ops san=dns:ops.acme.internal   # by SAN only
identity both subject="CN=billing,O=Acme"
grant billing offline-signing subject=nip:5265877635
grant ops key-admin,enrollment *
grant both auth-signing key=acme-auth-1
)";

CallerCertificate Billing() {
  return CallerCertificate{"CN=billing,O=Acme", "CN=Acme CA", "01", {"dns:billing.acme"}};
}

TEST(PolicyTest, MatchesIdentitiesAndGrantsByScope) {
  auto policy = Policy::Parse(kPolicy, "policy.conf");
  ASSERT_TRUE(policy.ok()) << policy.status();
  const auto ids = policy->Match(Billing());
  EXPECT_THAT(ids, ElementsAre("billing", "both"));
  const Resource subject_a = Resource::Subject(SubjectType::kNip, "5265877635");
  const Resource subject_b = Resource::Subject(SubjectType::kNip, "1111111111");
  EXPECT_TRUE(policy->Allows(ids, Role::kOfflineSigning, subject_a));
  EXPECT_FALSE(policy->Allows(ids, Role::kOfflineSigning, subject_b));
  EXPECT_FALSE(policy->Allows(ids, Role::kKeyAdmin, subject_a));
  EXPECT_TRUE(policy->Allows(
      ids, Role::kOfflineSigning, Resource::Key(SubjectType::kNip, "5265877635", "any-key")));
  EXPECT_TRUE(policy->Allows(
      ids, Role::kAuthSigning, Resource::Key(SubjectType::kNip, "1111111111", "acme-auth-1")));
  EXPECT_FALSE(policy->Allows(
      ids, Role::kAuthSigning, Resource::Key(SubjectType::kNip, "1111111111", "acme-auth-2")));
  EXPECT_FALSE(policy->Allows(ids, Role::kOfflineSigning, Resource::Everything()));

  CallerCertificate ops{"CN=whatever", "CN=Other CA", "02", {"dns:ops.acme.internal"}};
  const auto ops_ids = policy->Match(ops);
  EXPECT_THAT(ops_ids, ElementsAre("ops"));
  EXPECT_TRUE(policy->Allows(ops_ids, Role::kKeyAdmin, Resource::Everything()));
  EXPECT_FALSE(policy->Allows(ops_ids, Role::kAuditReading, Resource::Everything()));

  CallerCertificate wrong_issuer = Billing();
  wrong_issuer.issuer = "CN=Evil CA";
  EXPECT_THAT(policy->Match(wrong_issuer), ElementsAre("both"));
  EXPECT_TRUE(policy->Match(CallerCertificate{"CN=nobody", "", "", {}}).empty());
}

TEST(PolicyTest, DenyAllAllowsNothing) {
  Policy none = Policy::DenyAll();
  EXPECT_TRUE(none.Match(Billing()).empty());
  EXPECT_FALSE(none.Allows({"billing"}, Role::kKeyAdmin, Resource::Everything()));
}

TEST(PolicyTest, ErrorsNameTheLine) {
  struct Case {
    const char* text;
    const char* expected;
  } cases[] = {
      {"identity a subject=\"CN=a\"\ngrant a signer *\n", "p:2: unknown role 'signer'"},
      {"grant nobody key-admin *\n", "p:1: grant names identity 'nobody'"},
      {"identity a subject=\"CN=a\"\nidentity a subject=\"CN=b\"\n", "p:2: identity 'a' is defined twice"},
      {"identity a\n", "p:1: identity needs"},
      {"identity a foo=bar\n", "p:1: cannot read 'foo=bar'"},
      {"identity a subject=\"CN=a\n", "p:1: unterminated quoted value"},
      {"identity a subject=\"CN=a\"\ngrant a key-admin subject=vat:1\n", "p:2: scope 'subject=vat:1'"},
      {"identity a subject=\"CN=a\"\ngrant a key-admin everything\n", "p:2: unknown scope"},
      {"allow a b c\n", "p:1: unknown statement 'allow'"},
  };
  for (const Case& c : cases) {
    auto policy = Policy::Parse(c.text, "p");
    ASSERT_FALSE(policy.ok()) << c.text;
    EXPECT_THAT(policy.status().message(), HasSubstr(c.expected)) << c.text;
  }
}

TEST(PolicyHolderTest, BadReloadKeepsTheOldPolicy) {
  const std::string dir = ksef::testing::MakeTempDir("ksef-policy");
  const std::string path = dir + "/policy.conf";
  std::ofstream(path) << kPolicy;
  auto holder = PolicyHolder::Open(path);
  ASSERT_TRUE(holder.ok()) << holder.status();
  EXPECT_EQ((*holder)->current()->grant_count(), 3u);
  std::ofstream(path) << "grant x y z\n";
  absl::Status bad = (*holder)->Reload();
  EXPECT_FALSE(bad.ok());
  EXPECT_THAT(bad.message(), HasSubstr(":1:"));
  EXPECT_EQ((*holder)->current()->grant_count(), 3u);
  std::ofstream(path) << "identity a subject=\"CN=a\"\ngrant a audit-reading *\n";
  ASSERT_TRUE((*holder)->Reload().ok());
  EXPECT_EQ((*holder)->current()->grant_count(), 1u);
  ksef::testing::RunCommand("rm -rf " + dir);
}

TEST(PolicyHolderTest, WritableFileIsRefusedAtOpenAndOnReload) {
  const std::string dir = ksef::testing::MakeTempDir("ksef-policy");
  const std::string path = dir + "/policy.conf";
  std::ofstream(path) << kPolicy;
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto holder = PolicyHolder::Open(path);
  ASSERT_TRUE(holder.ok()) << holder.status();
  ASSERT_EQ((*holder)->current()->grant_count(), 3u);

  // Anyone could have written this one: the old policy stays.
  std::ofstream(path) << "identity a subject=\"CN=a\"\ngrant a key-admin *\n";
  ASSERT_EQ(::chmod(path.c_str(), 0666), 0);
  absl::Status bad = (*holder)->Reload();
  EXPECT_EQ(bad.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(bad.message(), HasSubstr("policy file " + path + " is writable by group or others"));
  EXPECT_EQ((*holder)->current()->grant_count(), 3u);
  EXPECT_EQ(PolicyHolder::Open(path).status().code(), absl::StatusCode::kFailedPrecondition);

  ASSERT_EQ(::chmod(path.c_str(), 0664), 0);  // group-writable: refused too
  EXPECT_EQ((*holder)->Reload().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*holder)->current()->grant_count(), 3u);

  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);  // fixed: the same content now loads
  ASSERT_TRUE((*holder)->Reload().ok());
  EXPECT_EQ((*holder)->current()->grant_count(), 1u);
  ksef::testing::RunCommand("rm -rf " + dir);
}

}  // namespace
}  // namespace ksef::service
