#include "client/cli/test_ca_handlers.h"

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/cli/command_context.h"
#include "client/file_util.h"
#include "client/cli/handler_util.h"
#include "formats/cert/certificate_info.h"
#include "formats/cert/test_ca.h"

namespace ksef::client {
namespace {

constexpr absl::string_view kNotKsef = "LOCAL TEST CA - NOT KSeF";

absl::StatusOr<std::unique_ptr<cert::TestCa>> OpenCa(const std::string& dir) {
  return cert::TestCa::OpenOrCreate(dir);
}

int RunIssue(CommandContext& ctx) {
  int rc = kExitOk;
  if (!CheckSubcommandFlags(ctx, {"ca-dir", "csr", "type", "not-before", "validity-days", "out"},
                            "issue", &rc)) {
    return rc;
  }
  if (std::string missing = MissingFlags(ctx, {"ca-dir", "csr", "type", "out"}); !missing.empty()) {
    return ctx.UsageError(missing);
  }
  std::string type_word = absl::AsciiStrToLower(*ctx.args().Get("type"));
  cert::CertificateType type;
  if (type_word == "authentication") {
    type = cert::CertificateType::kAuthentication;
  } else if (type_word == "offline") {
    type = cert::CertificateType::kOffline;
  } else {
    return ctx.UsageError(absl::StrCat("invalid --type \"", *ctx.args().Get("type"),
                                       "\" (expected one of: authentication, offline)"));
  }
  absl::Time not_before = absl::Now();
  if (std::optional<std::string> text = ctx.args().Get("not-before"); text.has_value()) {
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, absl::StripAsciiWhitespace(*text), &not_before,
                         &error)) {
      return ctx.UsageError(absl::StrCat("invalid --not-before \"", *text,
                                         "\": expected RFC 3339, e.g. 2025-07-01T00:00:00Z"));
    }
  }
  int32_t days = 730;
  if (!ParsePositiveIntFlag(ctx, "validity-days", &days, &rc)) return rc;
  std::string out = *ctx.args().Get("out");
  std::string dir = *ctx.args().Get("ca-dir");
  if (out.empty()) return ctx.UsageError("--out FILE is empty");
  if (dir.empty()) return ctx.UsageError("--ca-dir DIR is empty");

  absl::StatusOr<std::string> csr = ReadWholeFile(*ctx.args().Get("csr"), "CSR file");
  if (!csr.ok()) return ctx.Error(csr.status(), kExitUsage);

  absl::StatusOr<std::unique_ptr<cert::TestCa>> ca = OpenCa(dir);
  if (!ca.ok()) return ctx.Error(ca.status(), kExitFailure);
  absl::StatusOr<std::string> der =
      (*ca)->Issue(*csr, type, not_before, absl::Hours(24) * static_cast<int64_t>(days));
  if (!der.ok()) return ctx.Error(der.status(), kExitFailure);
  if (absl::Status written = WriteWholeFile(out, cert::CertificateToPem(*der), "certificate file");
      !written.ok()) {
    return ctx.Error(written, kExitFailure);
  }
  ctx.out() << "wrote a " << cert::CertificateTypeName(type) << " certificate (PEM) to " << out
            << "\nissued by the " << kNotKsef << " in " << dir << "; KSeF will not accept it\n";
  return kExitOk;
}

int RunCert(CommandContext& ctx) {
  int rc = kExitOk;
  if (!CheckSubcommandFlags(ctx, {"ca-dir", "out"}, "cert", &rc)) return rc;
  if (std::string missing = MissingFlags(ctx, {"ca-dir"}); !missing.empty()) {
    return ctx.UsageError(missing);
  }
  std::string dir = *ctx.args().Get("ca-dir");
  if (dir.empty()) return ctx.UsageError("--ca-dir DIR is empty");
  std::optional<std::string> out = ctx.args().Get("out");
  if (out.has_value() && out->empty()) return ctx.UsageError("--out FILE is empty");

  absl::StatusOr<std::unique_ptr<cert::TestCa>> ca = OpenCa(dir);
  if (!ca.ok()) return ctx.Error(ca.status(), kExitFailure);
  std::string pem = cert::CertificateToPem((*ca)->certificate_der());
  if (!out.has_value()) {
    ctx.out() << pem;
    return kExitOk;
  }
  if (absl::Status written = WriteWholeFile(*out, pem, "certificate file"); !written.ok()) {
    return ctx.Error(written, kExitFailure);
  }
  ctx.out() << "wrote the " << kNotKsef << " certificate (PEM) to " << *out << "\n";
  return kExitOk;
}

}  // namespace

int RunTestCa(CommandContext& ctx) {
  const std::string& sub = ctx.args().positional.at(0);
  if (sub == "issue") return RunIssue(ctx);
  if (sub == "cert") return RunCert(ctx);
  return ctx.UsageError(absl::StrCat("unknown subcommand \"", sub, "\" (expected issue or cert)"));
}

}  // namespace ksef::client
