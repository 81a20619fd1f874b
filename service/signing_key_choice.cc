#include "service/signing_key_choice.h"

#include "common/status_macros.h"
#include "service/key_naming.h"
#include "service/key_service.h"

namespace ksef::service {

absl::StatusOr<KeyRecord> ChooseSigningKey(AuditedCall& call, KeyManager& keys,
                                           const std::string& name,
                                           const ksef::hsm::v1::KsefSubject& subject, Role role,
                                           KeyPurpose purpose, absl::string_view missing) {
  if (!name.empty()) {
    absl::StatusOr<KeyRecord> found = keys.Get(name);
    if (!found.ok()) return call.LookupFailed(found.status());
    return found;
  }
  if (subject.value().empty()) return absl::InvalidArgumentError(missing);
  KSEF_ASSIGN_OR_RETURN(SubjectType type, SubjectTypeFromProto(subject.type()));
  std::string value = subject.value();
  KSEF_RETURN_IF_ERROR(NormalizeSubject(type, value));
  KSEF_RETURN_IF_ERROR(call.Authorize(role, Resource::Subject(type, value)));
  return keys.CurrentKeyFor(type, value, purpose);
}

}  // namespace ksef::service
