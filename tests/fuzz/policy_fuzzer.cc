// libFuzzer target: ksef::service::Policy::Parse (the access policy file,
// read at start-up and on SIGHUP).
//
// Invariants: a refusal is INVALID_ARGUMENT naming the file
// ("fuzz.policy:..."); a parsed policy can be matched against a caller, and
// (deny by default) grants nothing to a caller that matches no identity.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "service/caller_identity.h"
#include "service/key_model.h"
#include "service/policy.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using ::ksef::service::Policy;
using ::ksef::service::Resource;
using ::ksef::service::Role;

constexpr Role kRoles[] = {Role::kKeyAdmin, Role::kEnrollment, Role::kAuthSigning,
                           Role::kOfflineSigning, Role::kAuditReading};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<Policy> policy = Policy::Parse(text, "fuzz.policy");
  if (!policy.ok()) {
    FUZZ_CHECK(policy.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(absl::StartsWith(policy.status().message(), "fuzz.policy:"));
    return 0;
  }
  const ksef::service::CallerCertificate caller{
      "CN=billing,O=Acme", "CN=Acme CA", "01", {"dns:billing.acme.internal"}};
  const std::vector<std::string> identities = policy->Match(caller);
  FUZZ_CHECK(identities.size() <= policy->identity_count());
  const Resource key = Resource::Key(ksef::service::SubjectType::kNip, "5265877635", "acme-auth-1");
  for (Role role : kRoles) {
    FUZZ_CHECK(!policy->Allows({}, role, Resource::Everything()));
    FUZZ_CHECK(!policy->Allows({}, role, key));
    policy->Allows(identities, role, key);
  }
  return 0;
}
