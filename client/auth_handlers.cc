#include "client/auth_handlers.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "client/command_context.h"
#include "client/enum_names.h"
#include "client/file_util.h"
#include "client/handler_util.h"
#include "client/output.h"

namespace ksef::client {
namespace {

namespace v1 = ::ksef::hsm::v1;
using Stub = v1::AuthService::Stub;

// The context identifier options; exactly one must be given.
constexpr absl::string_view kContextFlags[] = {"nip", "internal-id", "nip-vat-ue", "peppol-id"};

std::string ContextFlagList() {
  std::vector<std::string> names;
  for (absl::string_view flag : kContextFlags) names.push_back(absl::StrCat("--", flag));
  return absl::StrJoin(names, ", ");
}

absl::StatusOr<v1::SubjectIdentifierType> ParseSubjectIdentifierTypeFlag(absl::string_view word,
                                                                         absl::string_view) {
  std::string lower = absl::AsciiStrToLower(absl::StripAsciiWhitespace(word));
  if (lower == "certificate-subject") return v1::CERTIFICATE_SUBJECT;
  if (lower == "certificate-fingerprint") return v1::CERTIFICATE_FINGERPRINT;
  return absl::InvalidArgumentError(
      absl::StrCat("invalid --subject-identifier-type \"", word,
                   "\" (expected one of: certificate-subject, certificate-fingerprint)"));
}

absl::StatusOr<v1::AuthSchemaVersion> ParseSchemaFlag(absl::string_view word, absl::string_view) {
  std::string lower = absl::AsciiStrToLower(absl::StripAsciiWhitespace(word));
  if (lower == "2.0") return v1::V2_0;
  if (lower == "2.1") return v1::V2_1;
  return absl::InvalidArgumentError(
      absl::StrCat("invalid --schema \"", word, "\" (expected 2.0 or 2.1)"));
}

// Copies every --`flag` value into `out`; false after a usage error for an
// empty one.
bool AddRepeated(CommandContext& ctx, absl::string_view flag,
                 google::protobuf::RepeatedPtrField<std::string>* out, int* rc) {
  for (const std::string& value : ctx.args().GetAll(flag)) {
    std::string trimmed(absl::StripAsciiWhitespace(value));
    if (trimmed.empty()) {
      *rc = ctx.UsageError(absl::StrCat("--", flag, " is empty"));
      return false;
    }
    out->Add(std::move(trimmed));
  }
  return true;
}

// key, certificate serial, signing time and document digest, aligned.
std::string Summary(const v1::SignedAuthToken& token) {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"key", token.name()},
      {"certificate_serial_number", token.certificate_serial_number()},
      {"signing_time", FormatTimestamp(token.signing_time())},
      {"document_sha256", token.document_sha256()},
  };
  size_t width = 0;
  for (const auto& [name, value] : fields) width = std::max(width, name.size());
  std::string out;
  for (const auto& [name, value] : fields) {
    absl::StrAppend(&out, name, ":", std::string(width - name.size() + 1, ' '),
                    value.empty() ? "-" : value, "\n");
  }
  return out;
}

}  // namespace

int RunAuthSign(CommandContext& ctx) {
  int rc = kExitOk;
  v1::SignAuthTokenRequest request;

  // Which key: NAME, or the subject's only active Authentication key.
  const bool by_name = !ctx.args().positional.empty();
  const bool by_subject = ctx.args().Has("subject-type") || ctx.args().Has("subject");
  if (by_name && by_subject) {
    return ctx.UsageError("give NAME or --subject-type/--subject, not both");
  }
  if (!by_name && !by_subject) {
    return ctx.UsageError("missing the key: give NAME or --subject-type TYPE --subject VALUE");
  }
  if (by_name) {
    std::optional<std::string> name = KeyName(ctx, &rc);
    if (!name.has_value()) return rc;
    request.set_name(*name);
  } else {
    if (std::string missing = MissingFlags(ctx, {"subject-type", "subject"}); !missing.empty()) {
      return ctx.UsageError(missing);
    }
    v1::KsefSubject::IdentifierType type = v1::KsefSubject::IDENTIFIER_TYPE_UNSPECIFIED;
    if (!ParseEnumFlag(ctx, "subject-type", &ParseSubjectType, &type, &rc)) return rc;
    std::string subject(absl::StripAsciiWhitespace(*ctx.args().Get("subject")));
    if (subject.empty()) return ctx.UsageError("--subject is empty");
    request.mutable_subject()->set_type(type);
    request.mutable_subject()->set_value(subject);
  }

  if (std::string missing = MissingFlags(ctx, {"challenge"}); !missing.empty()) {
    return ctx.UsageError(absl::StrCat(missing, " (from KSeF's POST /auth/challenge)"));
  }
  std::string challenge(absl::StripAsciiWhitespace(*ctx.args().Get("challenge")));
  if (challenge.empty()) return ctx.UsageError("--challenge is empty");
  request.set_challenge(challenge);

  std::vector<absl::string_view> contexts;
  for (absl::string_view flag : kContextFlags) {
    if (ctx.args().Has(flag)) contexts.push_back(flag);
  }
  if (contexts.empty()) {
    return ctx.UsageError(
        absl::StrCat("missing the context identifier: give one of ", ContextFlagList()));
  }
  if (contexts.size() > 1 || ctx.args().GetAll(contexts[0]).size() > 1) {
    return ctx.UsageError(
        absl::StrCat("give exactly one context identifier (one of ", ContextFlagList(), ")"));
  }
  std::string context_value(absl::StripAsciiWhitespace(*ctx.args().Get(contexts[0])));
  if (context_value.empty()) return ctx.UsageError(absl::StrCat("--", contexts[0], " is empty"));
  v1::ContextIdentifier* context = request.mutable_context_identifier();
  if (contexts[0] == "nip") {
    context->set_nip(context_value);
  } else if (contexts[0] == "internal-id") {
    context->set_internal_id(context_value);
  } else if (contexts[0] == "nip-vat-ue") {
    context->set_nip_vat_ue(context_value);
  } else {
    context->set_peppol_id(context_value);
  }

  v1::SubjectIdentifierType identifier_type = v1::SUBJECT_IDENTIFIER_TYPE_UNSPECIFIED;
  v1::AuthSchemaVersion schema = v1::AUTH_SCHEMA_VERSION_UNSPECIFIED;
  if (!ParseEnumFlag(ctx, "subject-identifier-type", &ParseSubjectIdentifierTypeFlag,
                     &identifier_type, &rc) ||
      !ParseEnumFlag(ctx, "schema", &ParseSchemaFlag, &schema, &rc)) {
    return rc;
  }
  request.set_subject_identifier_type(identifier_type);
  request.set_schema_version(schema);

  v1::AllowedIps* ips = request.mutable_allowed_ips();
  if (!AddRepeated(ctx, "allow-ip", ips->mutable_ip4_addresses(), &rc) ||
      !AddRepeated(ctx, "allow-ip-range", ips->mutable_ip4_ranges(), &rc) ||
      !AddRepeated(ctx, "allow-ip-mask", ips->mutable_ip4_masks(), &rc)) {
    return rc;
  }
  if (ips->ip4_addresses().empty() && ips->ip4_ranges().empty() && ips->ip4_masks().empty()) {
    request.clear_allowed_ips();
  }

  std::optional<std::string> out = ctx.args().Get("out");
  if (out.has_value() && out->empty()) return ctx.UsageError("--out FILE is empty");

  v1::SignedAuthToken token;
  if (rc = ctx.CallAuthService(&Stub::SignAuthToken, request, &token); rc != kExitOk) return rc;
  if (token.xml().empty()) {
    return ctx.Error(absl::InternalError("the server sent an empty signed document"), kExitFailure);
  }

  if (out.has_value()) {
    if (absl::Status written = WriteWholeFile(*out, token.xml(), "signed AuthTokenRequest file");
        !written.ok()) {
      return ctx.Error(written, kExitFailure);
    }
    return ctx.Print(token, absl::StrCat("wrote ", token.xml().size(),
                                         " bytes (signed AuthTokenRequest XML) to ", *out, "\n",
                                         Summary(token)));
  }
  if (ctx.json()) return ctx.Print(token, "");
  // Standard output carries the document alone, so it can be piped as is.
  ctx.out() << token.xml() << std::flush;
  ctx.err() << Summary(token);
  return kExitOk;
}

}  // namespace ksef::client
