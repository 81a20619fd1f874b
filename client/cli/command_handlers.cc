#include "client/cli/command_handlers.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "client/client_config.h"
#include "client/cli/command_context.h"
#include "client/cli/enum_names.h"
#include "client/file_util.h"
#include "client/cli/handler_util.h"
#include "client/key_names.h"
#include "client/cli/output.h"

namespace ksef::client {
namespace {

namespace v1 = ::ksef::hsm::v1;
using Stub = v1::KeyService::Stub;

// The handlers that take NAME and return the (updated) key.
template <typename Request>
int RunKeyCall(CommandContext& ctx,
               grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, v1::Key*)) {
  int rc = kExitOk;
  std::optional<std::string> name = KeyName(ctx, &rc);
  if (!name.has_value()) return rc;
  Request request;
  request.set_name(*name);
  v1::Key key;
  if (rc = ctx.CallKeyService(method, request, &key); rc != kExitOk) return rc;
  return ctx.Print(key, FormatKey(key));
}

}  // namespace

int RunCreateKey(CommandContext& ctx) {
  std::vector<std::string> missing;
  for (absl::string_view flag : {"subject-type", "subject", "purpose"}) {
    if (!ctx.args().Has(flag)) missing.push_back(absl::StrCat("--", flag));
  }
  if (!missing.empty()) {
    return ctx.UsageError(absl::StrCat("missing ", absl::StrJoin(missing, ", ")));
  }
  v1::CreateKeyRequest request;
  int rc = kExitOk;
  v1::KsefSubject::IdentifierType type = v1::KsefSubject::IDENTIFIER_TYPE_UNSPECIFIED;
  v1::KeyPurpose purpose = v1::KEY_PURPOSE_UNSPECIFIED;
  v1::KeyAlgorithm algorithm = v1::EC_P256;
  if (!ParseEnumFlag(ctx, "subject-type", &ParseSubjectType, &type, &rc) ||
      !ParseEnumFlag(ctx, "purpose", &ParsePurpose, &purpose, &rc) ||
      !ParseEnumFlag(ctx, "algorithm", &ParseAlgorithm, &algorithm, &rc)) {
    return rc;
  }
  std::string subject = std::string(absl::StripAsciiWhitespace(*ctx.args().Get("subject")));
  if (subject.empty()) return ctx.UsageError("--subject is empty");
  request.mutable_subject()->set_type(type);
  request.mutable_subject()->set_value(subject);
  request.set_purpose(purpose);
  request.set_algorithm(algorithm);
  if (std::optional<std::string> key_id = ctx.args().Get("key-id"); key_id.has_value()) {
    // Accept "keys/ID" too; the request wants the bare ID.
    request.set_key_id(std::string(absl::StripPrefix(*key_id, "keys/")));
  }
  if (std::optional<std::string> limit = ctx.args().Get("usage-limit"); limit.has_value()) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(*limit, &n) || n < 0) {
      return ctx.UsageError(absl::StrCat(
          "--usage-limit: expected a number of signatures (0 = no limit), got \"", *limit, "\""));
    }
    request.set_usage_limit(n);
  }
  v1::Key key;
  if (rc = ctx.CallKeyService(&Stub::CreateKey, request, &key); rc != kExitOk) return rc;
  return ctx.Print(key, FormatKey(key));
}

int RunGetKey(CommandContext& ctx) { return RunKeyCall(ctx, &Stub::GetKey); }
int RunDisableKey(CommandContext& ctx) { return RunKeyCall(ctx, &Stub::DisableKey); }

int RunSetUsageLimit(CommandContext& ctx) {
  const std::string& limit_text = ctx.args().positional.at(1);
  int64_t limit = 0;
  if (!absl::SimpleAtoi(limit_text, &limit) || limit < 0) {
    return ctx.UsageError(absl::StrCat(
        "LIMIT: expected a number of signatures (0 = no limit), got \"", limit_text, "\""));
  }
  int rc = kExitOk;
  std::optional<std::string> name = KeyName(ctx, &rc);
  if (!name.has_value()) return rc;
  v1::SetKeyUsageLimitRequest request;
  request.set_name(*name);
  request.set_usage_limit(limit);
  v1::Key key;
  if (int rc = ctx.CallKeyService(&Stub::SetKeyUsageLimit, request, &key); rc != kExitOk) {
    return rc;
  }
  return ctx.Print(key, FormatKey(key));
}
int RunEnableKey(CommandContext& ctx) { return RunKeyCall(ctx, &Stub::EnableKey); }
int RunScheduleDestruction(CommandContext& ctx) {
  return RunKeyCall(ctx, &Stub::ScheduleKeyDestruction);
}
int RunRestoreKey(CommandContext& ctx) { return RunKeyCall(ctx, &Stub::RestoreKey); }

int RunListKeys(CommandContext& ctx) {
  v1::ListKeysRequest request;
  int rc = kExitOk;
  v1::KsefSubject::IdentifierType type = v1::KsefSubject::IDENTIFIER_TYPE_UNSPECIFIED;
  v1::KeyPurpose purpose = v1::KEY_PURPOSE_UNSPECIFIED;
  v1::KeyState state = v1::KEY_STATE_UNSPECIFIED;
  if (!ParseEnumFlag(ctx, "subject-type", &ParseSubjectType, &type, &rc) ||
      !ParseEnumFlag(ctx, "purpose", &ParsePurpose, &purpose, &rc) ||
      !ParseEnumFlag(ctx, "state", &ParseState, &state, &rc)) {
    return rc;
  }
  if (ctx.args().Has("subject-type") || ctx.args().Has("subject")) {
    request.mutable_subject()->set_type(type);
    request.mutable_subject()->set_value(ctx.args().Get("subject").value_or(""));
  }
  request.set_purpose(purpose);
  request.set_state(state);
  if (std::optional<std::string> size = ctx.args().Get("page-size"); size.has_value()) {
    int32_t page_size = 0;
    if (!absl::SimpleAtoi(*size, &page_size) || page_size <= 0) {
      return ctx.UsageError(
          absl::StrCat("--page-size: expected a positive number, got \"", *size, "\""));
    }
    request.set_page_size(page_size);
  }
  request.set_page_token(ctx.args().Get("page-token").value_or(""));
  if (std::optional<std::string> window = ctx.args().Get("expiring-within"); window.has_value()) {
    absl::StatusOr<absl::Duration> duration = ParseTimeoutSetting(*window, "--expiring-within");
    if (!duration.ok()) return ctx.UsageError(duration.status().message());
    if (*duration == absl::InfiniteDuration()) {
      return ctx.UsageError("--expiring-within must be finite, e.g. 30d");
    }
    int64_t seconds = absl::IDivDuration(*duration, absl::Seconds(1), &*duration);
    request.mutable_expiring_within()->set_seconds(seconds);
    request.mutable_expiring_within()->set_nanos(
        static_cast<int32_t>(absl::ToInt64Nanoseconds(*duration)));
  }
  const bool all = ctx.args().IsSet("all");

  v1::ListKeysResponse result;
  while (true) {
    v1::ListKeysResponse page;
    if (rc = ctx.CallKeyService(&Stub::ListKeys, request, &page); rc != kExitOk) return rc;
    result.mutable_keys()->MergeFrom(page.keys());
    result.set_total_size(page.total_size());
    result.set_next_page_token(page.next_page_token());
    if (!all || page.next_page_token().empty()) break;
    if (page.next_page_token() == request.page_token()) {
      return ctx.Error(absl::InternalError("the server returned the same page token twice; "
                                           "stopping to avoid an endless loop"),
                       kExitFailure);
    }
    request.set_page_token(page.next_page_token());
  }

  std::string human;
  if (result.keys().empty()) {
    human = "no keys\n";
  } else {
    human = FormatKeyTable(result.keys());
    if (result.total_size() >= result.keys_size()) {
      absl::StrAppend(&human, "\n", result.keys_size(), " of ", result.total_size(),
                      " matching key(s) shown\n");
    } else {
      absl::StrAppend(&human, "\n", result.keys_size(), " key(s) shown\n");
    }
  }
  if (!result.next_page_token().empty()) {
    absl::StrAppend(&human, "more: add --page-token ", result.next_page_token(),
                    " (same filters), or use --all\n");
  }
  return ctx.Print(result, human);
}

int RunPublicKey(CommandContext& ctx) {
  int rc = kExitOk;
  std::optional<std::string> name = KeyName(ctx, &rc);
  if (!name.has_value()) return rc;
  std::optional<std::string> der_out = ctx.args().Get("der-out");
  if (der_out.has_value() && der_out->empty()) return ctx.UsageError("--der-out FILE is empty");

  v1::GetPublicKeyRequest request;
  request.set_name(*name);
  v1::PublicKey key;
  if (rc = ctx.CallKeyService(&Stub::GetPublicKey, request, &key); rc != kExitOk) return rc;

  std::string human;
  if (der_out.has_value()) {
    if (key.der().empty()) {
      return ctx.Error(absl::InternalError("the server sent no DER public key"), kExitFailure);
    }
    absl::Status written = WriteWholeFile(*der_out, key.der(), "public key file");
    if (!written.ok()) return ctx.Error(written, kExitFailure);
    human = absl::StrCat("wrote ", key.der().size(), " bytes (SubjectPublicKeyInfo DER) to ",
                         *der_out, "\nsha256_fingerprint: ", key.sha256_fingerprint(), "\n");
  } else if (!key.pem().empty()) {
    human = key.pem();
    if (!absl::EndsWith(human, "\n")) human.push_back('\n');
  } else {
    human = PemFromDer(key.der());
  }
  return ctx.Print(key, human);
}

int RunCheckConsistency(CommandContext& ctx) {
  v1::CheckConsistencyRequest request;
  v1::ConsistencyReport report;
  int rc = ctx.CallKeyService(&Stub::CheckConsistency, request, &report);
  if (rc != kExitOk) return rc;
  if (rc = ctx.Print(report, FormatConsistencyReport(report)); rc != kExitOk) return rc;
  return IsConsistent(report) ? kExitOk : kExitFailure;
}

int RunHealth(CommandContext& ctx) {
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(ctx.args().Get("service").value_or(""));
  grpc::health::v1::HealthCheckResponse response;
  if (int rc = ctx.CheckHealth(request, &response); rc != kExitOk) return rc;
  std::string human = absl::StrCat(
      grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status()), "\n");
  if (int rc = ctx.Print(response, human); rc != kExitOk) return rc;
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING ? kExitOk
                                                                             : kExitFailure;
}

}  // namespace ksef::client
