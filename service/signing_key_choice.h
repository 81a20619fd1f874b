// Which key a signing request means (SignAuthToken, SignOfflineInvoice(s)):
// the key it names, or the current key of the purpose for the subject it
// gives. One home for the rule both signing services follow.
#ifndef KSEF_SERVICE_SIGNING_KEY_CHOICE_H_
#define KSEF_SERVICE_SIGNING_KEY_CHOICE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ksef/hsm/v1/key_service.pb.h"
#include "service/audited_call.h"
#include "service/key_manager.h"
#include "service/policy.h"

namespace ksef::service {

// `name` (keys/{id}) if given: a missing key is refused as call.LookupFailed
// says. Otherwise the subject's current key of `purpose`, after the caller
// is authorized for `role` on that subject, so the answer never tells
// whether the subject has keys (a key grant alone does not cover signing by
// subject). INVALID_ARGUMENT `missing` when neither is given. The caller
// still authorizes the returned key (SigningGate::Authorize).
absl::StatusOr<KeyRecord> ChooseSigningKey(AuditedCall& call, KeyManager& keys,
                                           const std::string& name,
                                           const ksef::hsm::v1::KsefSubject& subject, Role role,
                                           KeyPurpose purpose, absl::string_view missing);

}  // namespace ksef::service

#endif  // KSEF_SERVICE_SIGNING_KEY_CHOICE_H_
