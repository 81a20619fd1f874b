#include "client/cli/auth_handlers.h"

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
#include "client/cli/command_context.h"
#include "client/cli/enum_names.h"
#include "client/file_util.h"
#include "client/cli/handler_util.h"
#include "client/cli/output.h"

namespace ksef::client {
namespace {

namespace v1 = ::ksef::hsm::v1;
using Stub = v1::AuthService::Stub;

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
  } else if (!ParseSubjectFlags(ctx, request.mutable_subject(), &rc)) {
    return rc;
  }

  if (std::string missing = MissingFlags(ctx, {"challenge"}); !missing.empty()) {
    return ctx.UsageError(absl::StrCat(missing, " (from KSeF's POST /auth/challenge)"));
  }
  std::string challenge(absl::StripAsciiWhitespace(*ctx.args().Get("challenge")));
  if (challenge.empty()) return ctx.UsageError("--challenge is empty");
  request.set_challenge(challenge);

  if (!ParseContextFlags(ctx, request.mutable_context_identifier(), &rc)) return rc;

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
