#include "client/cli/enrollment_handlers.h"

#include <openssl/crypto.h>
#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "client/cli/command_context.h"
#include "client/cli/enum_names.h"
#include "client/file_util.h"
#include "client/cli/handler_util.h"
#include "client/cli/output.h"
#include "common/files.h"
#include "common/secure_string.h"

namespace ksef::client {
namespace {

namespace v1 = ::ksef::hsm::v1;
using Stub = v1::EnrollmentService::Stub;

// The subject options of csr, in EnrollmentData order.
constexpr absl::string_view kSubjectFlags[] = {"common-name",
                                               "surname",
                                               "given-name",
                                               "organization-name",
                                               "organization-identifier",
                                               "country-name",
                                               "serial-number",
                                               "unique-identifier"};

// Reads an input file named by --`flag`; nullopt after printing the error
// (exit status kExitUsage: the command line names a file that is not there
// or is empty).
std::optional<std::string> ReadInputFile(CommandContext& ctx, absl::string_view flag,
                                         absl::string_view what, int* rc) {
  std::optional<std::string> path = ctx.args().Get(flag);
  if (!path.has_value() || path->empty()) {
    *rc = ctx.UsageError(absl::StrCat("--", flag, " FILE is empty"));
    return std::nullopt;
  }
  absl::StatusOr<std::string> content = ReadWholeFile(*path, what);
  if (!content.ok()) {
    *rc = ctx.Error(content.status(), kExitUsage);
    return std::nullopt;
  }
  if (content->empty()) {
    *rc = ctx.Error(absl::InvalidArgumentError(absl::StrCat(what, " ", *path, " is empty")),
                    kExitUsage);
    return std::nullopt;
  }
  return *std::move(content);
}

// Overwrites a string that held secret bytes.
void Wipe(std::string* secret) {
  if (!secret->empty()) OPENSSL_cleanse(secret->data(), secret->size());
  secret->clear();
}

enum class CsrFormat { kJson, kBase64, kPem, kDer };

absl::StatusOr<CsrFormat> ParseCsrFormat(absl::string_view word) {
  std::string lower = absl::AsciiStrToLower(absl::StripAsciiWhitespace(word));
  if (lower == "json") return CsrFormat::kJson;
  if (lower == "base64") return CsrFormat::kBase64;
  if (lower == "pem") return CsrFormat::kPem;
  if (lower == "der") return CsrFormat::kDer;
  return absl::InvalidArgumentError(
      absl::StrCat("invalid --format \"", word, "\" (expected one of: json, base64, pem, der)"));
}

// What --format selects from the response, and how to call it in messages.
std::pair<std::string, absl::string_view> CsrOutput(const v1::GenerateCsrResponse& response,
                                                    CsrFormat format) {
  auto with_newline = [](std::string text) {
    if (!text.empty() && !absl::EndsWith(text, "\n")) text.push_back('\n');
    return text;
  };
  switch (format) {
    case CsrFormat::kJson:
      return {with_newline(response.enrollment_request_json()),
              "POST /certificates/enrollments body (JSON)"};
    case CsrFormat::kBase64:
      return {with_newline(response.csr_base64()), "CSR, Base64 DER"};
    case CsrFormat::kPem:
      return {with_newline(response.csr_pem()), "CSR, PEM"};
    case CsrFormat::kDer:
      return {response.csr_der(), "CSR, DER"};
  }
  return {"", ""};
}

// One line of `in` with the line break removed. Turns echo off while reading
// from a terminal.
std::optional<SecureString> ReadPasswordLine(std::istream& in, std::ostream& err) {
  const bool terminal = &in == &std::cin && ::isatty(STDIN_FILENO) == 1;
  termios saved = {};
  if (terminal && ::tcgetattr(STDIN_FILENO, &saved) == 0) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    err << "password for the key file: " << std::flush;
  }
  std::string line;
  line.reserve(4096);  // keep short passwords from being copied by growth
  bool got = static_cast<bool>(std::getline(in, line));
  if (terminal) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    err << "\n";
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (!got && line.empty()) return std::nullopt;
  return SecureString(std::move(line));
}

}  // namespace

int RunCsr(CommandContext& ctx) {
  int rc = kExitOk;
  std::optional<std::string> name = KeyName(ctx, &rc);
  if (!name.has_value()) return rc;

  bool any_subject_flag = false;
  for (absl::string_view flag : kSubjectFlags) any_subject_flag |= ctx.args().Has(flag);
  const bool from_file = ctx.args().Has("enrollment-data");
  if (from_file && any_subject_flag) {
    return ctx.UsageError(
        "give either --enrollment-data FILE or the subject options (--common-name, "
        "--country-name, ...), not both");
  }
  if (!from_file && !any_subject_flag) {
    return ctx.UsageError(
        "missing the subject: give --enrollment-data FILE (the JSON of GET "
        "/certificates/enrollments/data) or --common-name and --country-name");
  }
  if (!from_file) {
    if (std::string missing = MissingFlags(ctx, {"common-name", "country-name"});
        !missing.empty()) {
      return ctx.UsageError(missing);
    }
  }

  CsrFormat format = CsrFormat::kJson;
  if (std::optional<std::string> word = ctx.args().Get("format"); word.has_value()) {
    absl::StatusOr<CsrFormat> parsed = ParseCsrFormat(*word);
    if (!parsed.ok()) return ctx.UsageError(parsed.status().message());
    format = *parsed;
  }
  std::optional<std::string> out_file = ctx.args().Get("out");
  if (out_file.has_value() && out_file->empty()) return ctx.UsageError("--out FILE is empty");
  if (format == CsrFormat::kDer && !out_file.has_value()) {
    return ctx.UsageError("--format der writes binary data; give --out FILE");
  }

  v1::GenerateCsrRequest request;
  request.set_name(*name);
  if (std::optional<std::string> valid_from = ctx.args().Get("valid-from");
      valid_from.has_value()) {
    absl::Time time;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, absl::StripAsciiWhitespace(*valid_from), &time,
                         &error)) {
      return ctx.UsageError(absl::StrCat("invalid --valid-from \"", *valid_from,
                                         "\": expected RFC 3339, e.g. 2025-07-01T00:00:00Z"));
    }
    absl::Duration since_epoch = time - absl::UnixEpoch();
    int64_t seconds = absl::IDivDuration(since_epoch, absl::Seconds(1), &since_epoch);
    request.mutable_valid_from()->set_seconds(seconds);
    request.mutable_valid_from()->set_nanos(
        static_cast<int32_t>(absl::ToInt64Nanoseconds(since_epoch)));
  }
  if (std::optional<std::string> cert_name = ctx.args().Get("certificate-name");
      cert_name.has_value()) {
    request.set_certificate_name(*cert_name);
  }
  if (from_file) {
    std::optional<std::string> json =
        ReadInputFile(ctx, "enrollment-data", "enrollment data file", &rc);
    if (!json.has_value()) return rc;
    request.set_enrollment_data_json(*std::move(json));
  } else {
    v1::EnrollmentData* data = request.mutable_enrollment_data();
    const ParsedArgs& args = ctx.args();
    data->set_common_name(args.Get("common-name").value_or(""));
    data->set_country_name(args.Get("country-name").value_or(""));
    if (auto v = args.Get("surname")) data->set_surname(*v);
    if (auto v = args.Get("given-name")) data->set_given_name(*v);
    if (auto v = args.Get("organization-name")) data->set_organization_name(*v);
    if (auto v = args.Get("organization-identifier")) data->set_organization_identifier(*v);
    if (auto v = args.Get("serial-number")) data->set_serial_number(*v);
    if (auto v = args.Get("unique-identifier")) data->set_unique_identifier(*v);
  }

  v1::GenerateCsrResponse response;
  if (rc = ctx.CallEnrollmentService(&Stub::GenerateCsr, request, &response); rc != kExitOk) {
    return rc;
  }
  auto [content, what] = CsrOutput(response, format);
  if (content.empty()) {
    return ctx.Error(absl::InternalError(absl::StrCat("the server sent no ", what)), kExitFailure);
  }
  if (!out_file.has_value()) {
    if (ctx.json()) return ctx.Print(response, "");
    ctx.out() << content;
    return kExitOk;
  }
  absl::Status written = WriteWholeFile(*out_file, content, "output file");
  if (!written.ok()) return ctx.Error(written, kExitFailure);
  return ctx.Print(
      response, absl::StrCat("wrote ", content.size(), " bytes (", what, ") to ", *out_file, "\n"));
}

int RunImportCert(CommandContext& ctx) {
  int rc = kExitOk;
  std::optional<std::string> name = KeyName(ctx, &rc);
  if (!name.has_value()) return rc;
  if (std::string missing = MissingFlags(ctx, {"cert"}); !missing.empty()) {
    return ctx.UsageError(missing);
  }
  std::optional<std::string> certificate = ReadInputFile(ctx, "cert", "certificate file", &rc);
  if (!certificate.has_value()) return rc;

  v1::ImportCertificateRequest request;
  request.set_name(*name);
  request.set_certificate(*std::move(certificate));
  if (std::optional<std::string> serial = ctx.args().Get("serial"); serial.has_value()) {
    request.set_certificate_serial_number(std::string(absl::StripAsciiWhitespace(*serial)));
  }
  v1::Key key;
  if (rc = ctx.CallEnrollmentService(&Stub::ImportCertificate, request, &key); rc != kExitOk) {
    return rc;
  }
  return ctx.Print(key, FormatKey(key));
}

int RunSelfSigned(CommandContext& ctx) {
  int rc = kExitOk;
  std::optional<std::string> name = KeyName(ctx, &rc);
  if (!name.has_value()) return rc;
  if (std::string missing = MissingFlags(ctx, {"form", "common-name"}); !missing.empty()) {
    return ctx.UsageError(missing);
  }
  using Request = v1::IssueSelfSignedCertificateRequest;
  Request::Form form = Request::FORM_UNSPECIFIED;
  if (!ParseEnumFlag(ctx, "form", &ParseSelfSignedForm, &form, &rc)) return rc;
  const ParsedArgs& args = ctx.args();
  if (form == Request::PERSONAL && args.Has("organization-name")) {
    return ctx.UsageError("--organization-name belongs to --form seal");
  }
  if (form == Request::SEAL && (args.Has("given-name") || args.Has("surname"))) {
    return ctx.UsageError("--given-name and --surname belong to --form personal");
  }
  Request request;
  request.set_name(*name);
  request.set_form(form);
  request.set_common_name(args.Get("common-name").value_or(""));
  request.set_given_name(args.Get("given-name").value_or(""));
  request.set_surname(args.Get("surname").value_or(""));
  request.set_organization_name(args.Get("organization-name").value_or(""));
  int32_t days = 0;
  if (!ParsePositiveIntFlag(ctx, "validity-days", &days, &rc)) return rc;
  request.set_validity_days(days);

  v1::Key key;
  if (rc = ctx.CallEnrollmentService(&Stub::IssueSelfSignedCertificate, request, &key);
      rc != kExitOk) {
    return rc;
  }
  return ctx.Print(key, FormatKey(key));
}

int RunImportKey(CommandContext& ctx) {
  if (std::string missing =
          MissingFlags(ctx, {"subject-type", "subject", "purpose", "key", "cert"});
      !missing.empty()) {
    return ctx.UsageError(missing);
  }
  int rc = kExitOk;
  v1::KsefSubject::IdentifierType type = v1::KsefSubject::IDENTIFIER_TYPE_UNSPECIFIED;
  v1::KeyPurpose purpose = v1::KEY_PURPOSE_UNSPECIFIED;
  if (!ParseEnumFlag(ctx, "subject-type", &ParseSubjectType, &type, &rc) ||
      !ParseEnumFlag(ctx, "purpose", &ParsePurpose, &purpose, &rc)) {
    return rc;
  }
  std::string subject = std::string(absl::StripAsciiWhitespace(*ctx.args().Get("subject")));
  if (subject.empty()) return ctx.UsageError("--subject is empty");
  const bool password_stdin = ctx.args().IsSet("password-stdin");
  const std::optional<std::string> password_file = ctx.args().Get("password-file");
  if (password_stdin && password_file.has_value()) {
    return ctx.UsageError("give --password-file or --password-stdin, not both");
  }
  if (password_file.has_value() && password_file->empty()) {
    return ctx.UsageError("--password-file FILE is empty");
  }

  std::optional<std::string> private_key = ReadInputFile(ctx, "key", "private key file", &rc);
  if (!private_key.has_value()) return rc;
  SecureString key_bytes(*std::move(private_key));
  std::optional<std::string> certificate = ReadInputFile(ctx, "cert", "certificate file", &rc);
  if (!certificate.has_value()) return rc;

  SecureString password;
  if (password_file.has_value()) {
    absl::StatusOr<SecureString> secret = ReadSecretFile(*password_file);
    if (!secret.ok()) {
      return ctx.Error(absl::Status(secret.status().code(),
                                    absl::StrCat("--password-file: ", secret.status().message())),
                       kExitUsage);
    }
    password = *std::move(secret);
  } else if (password_stdin) {
    if (ctx.in() == nullptr) {
      return ctx.Error(absl::FailedPreconditionError("no standard input to read the password from"),
                       kExitUsage);
    }
    std::optional<SecureString> line = ReadPasswordLine(*ctx.in(), ctx.err());
    if (!line.has_value()) {
      return ctx.Error(absl::InvalidArgumentError(
                           "--password-stdin: standard input ended before a password line"),
                       kExitUsage);
    }
    password = *std::move(line);
  }

  v1::ImportKeyRequest request;
  if (std::optional<std::string> key_id = ctx.args().Get("key-id"); key_id.has_value()) {
    request.set_key_id(std::string(absl::StripPrefix(*key_id, "keys/")));
  }
  request.mutable_subject()->set_type(type);
  request.mutable_subject()->set_value(subject);
  request.set_purpose(purpose);
  request.set_private_key(key_bytes.reveal().data(), key_bytes.size());
  request.set_password(password.reveal().data(), password.size());
  request.set_certificate(*std::move(certificate));

  v1::Key key;
  rc = ctx.CallEnrollmentService(&Stub::ImportKey, request, &key);
  Wipe(request.mutable_password());
  Wipe(request.mutable_private_key());
  if (rc != kExitOk) return rc;
  return ctx.Print(key, FormatKey(key));
}

}  // namespace ksef::client
