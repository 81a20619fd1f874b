// The context a signing request is made in (the API's ContextIdentifier:
// exactly one of nip, internal_id, nip_vat_ue, peppol_id), read once and
// turned into what XAdES, KOD II and the audit event need. The one home of
// the switch over the API's context kinds.
#ifndef KSEF_SERVICE_CONTEXT_IDENTIFIER_H_
#define KSEF_SERVICE_CONTEXT_IDENTIFIER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "formats/qr/fields.h"
#include "formats/xades/auth_token_request.h"
#include "ksef/hsm/v1/auth_service.pb.h"

namespace ksef::service {

struct RequestContext {
  qr::ContextType type = qr::ContextType::kNip;  // KSeF's context types, named as ksef.md
  std::string value;
};

// INVALID_ARGUMENT "context_identifier: give exactly one of nip, internal_id,
// nip_vat_ue, peppol_id" followed by `hint` when no member is set. Does not
// check the value (the formats do).
absl::StatusOr<RequestContext> ContextFromProto(const ::ksef::hsm::v1::ContextIdentifier& ctx,
                                                absl::string_view hint = "");

// "Nip:5265877635": what the audit event records as the context.
std::string ContextText(const RequestContext& context);

// The AuthTokenRequest's ContextIdentifier choice.
xades::ContextIdentifier ToXades(const RequestContext& context);

}  // namespace ksef::service

#endif  // KSEF_SERVICE_CONTEXT_IDENTIFIER_H_
