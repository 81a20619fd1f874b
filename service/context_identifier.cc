#include "service/context_identifier.h"

#include "absl/strings/str_cat.h"

namespace ksef::service {

namespace pb = ::ksef::hsm::v1;

absl::StatusOr<RequestContext> ContextFromProto(const pb::ContextIdentifier& ctx,
                                                absl::string_view hint) {
  switch (ctx.value_case()) {
    case pb::ContextIdentifier::kNip:
      return RequestContext{qr::ContextType::kNip, ctx.nip()};
    case pb::ContextIdentifier::kInternalId:
      return RequestContext{qr::ContextType::kInternalId, ctx.internal_id()};
    case pb::ContextIdentifier::kNipVatUe:
      return RequestContext{qr::ContextType::kNipVatUe, ctx.nip_vat_ue()};
    case pb::ContextIdentifier::kPeppolId:
      return RequestContext{qr::ContextType::kPeppolId, ctx.peppol_id()};
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "context_identifier: give exactly one of nip, internal_id, nip_vat_ue, peppol_id", hint));
  }
}

std::string ContextText(const RequestContext& context) {
  return absl::StrCat(qr::ContextTypeName(context.type), ":", context.value);
}

xades::ContextIdentifier ToXades(const RequestContext& context) {
  xades::ContextIdentifier out;
  switch (context.type) {
    case qr::ContextType::kNip:
      out.nip = context.value;
      break;
    case qr::ContextType::kInternalId:
      out.internal_id = context.value;
      break;
    case qr::ContextType::kNipVatUe:
      out.nip_vat_ue = context.value;
      break;
    case qr::ContextType::kPeppolId:
      out.peppol_id = context.value;
      break;
  }
  return out;
}

}  // namespace ksef::service
