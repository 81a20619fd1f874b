#include "client/cli/audit_handlers.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "audit/anchor.h"
#include "audit/sqlite_audit_store.h"
#include "audit/verifier.h"
#include "client/cli/command_context.h"
#include "client/file_util.h"
#include "client/grpc_status.h"
#include "client/cli/handler_util.h"
#include "client/key_names.h"
#include "client/cli/output.h"
#include "common/encoding.h"
#include "common/openssl_ptr.h"
#include "crypto/sha256.h"

namespace ksef::client {
namespace {

namespace v1 = ::ksef::hsm::v1;
using Stub = v1::AuditService::Stub;

// How many hex digits of signed_sha256 the event table shows.
constexpr size_t kShortHash = 16;

// Rows as aligned columns, two spaces apart; the last column is not padded.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      absl::StrAppend(&line, row[c]);
      if (c + 1 < row.size()) line.append(widths[c] - row[c].size() + 2, ' ');
    }
    absl::StrAppend(&out, absl::StripTrailingAsciiWhitespace(line), "\n");
  }
  return out;
}

std::string OrDash(absl::string_view text) { return text.empty() ? "-" : std::string(text); }

std::string OutcomeWord(v1::AuditOutcome outcome) {
  switch (outcome) {
    case v1::SUCCESS:
      return "success";
    case v1::FAILURE:
      return "failure";
    case v1::DENIED:
      return "denied";
    default:
      return "-";
  }
}

absl::StatusOr<v1::AuditOutcome> ParseOutcome(absl::string_view word) {
  std::string lower = absl::AsciiStrToLower(absl::StripAsciiWhitespace(word));
  if (lower == "success") return v1::SUCCESS;
  if (lower == "failure") return v1::FAILURE;
  if (lower == "denied") return v1::DENIED;
  return absl::InvalidArgumentError(
      absl::StrCat("invalid --outcome \"", word, "\" (expected one of: success, failure, denied)"));
}

// "nip:5260250274", "pesel:...", "fingerprint:..." with the type lowercased.
absl::StatusOr<std::string> ParseAuditSubject(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  size_t colon = text.find(':');
  std::string type =
      colon == absl::string_view::npos ? "" : absl::AsciiStrToLower(text.substr(0, colon));
  absl::string_view value =
      colon == absl::string_view::npos ? "" : absl::StripAsciiWhitespace(text.substr(colon + 1));
  if ((type != "nip" && type != "pesel" && type != "fingerprint") || value.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid --subject \"", text,
        "\" (expected TYPE:VALUE with TYPE nip, pesel or fingerprint, e.g. nip:5260250274)"));
  }
  return absl::StrCat(type, ":", value);
}

// The caller column: the policy identity, else the certificate subject, else
// the network peer of a call without a certificate.
std::string CallerText(const v1::AuditEvent& event) {
  const v1::AuditCaller& caller = event.caller();
  if (!caller.identity().empty()) return caller.identity();
  if (!caller.subject().empty()) return caller.subject();
  if (!event.peer().empty()) return absl::StrCat("(no certificate) ", event.peer());
  return "(no certificate)";
}

// "DENIED", or "DENIED x37" for an event that stands for 37 refused calls.
std::string OutcomeText(const v1::AuditEvent& event) {
  if (event.count() <= 1) return OutcomeWord(event.outcome());
  return absl::StrCat(OutcomeWord(event.outcome()), " x", event.count());
}

// "FAILED_PRECONDITION: key is disabled" for an event that did not succeed.
std::string StatusText(const v1::AuditEvent& event) {
  if (event.status_code() == 0 && event.outcome() == v1::SUCCESS) return "";
  std::string code = GrpcStatusCodeName(static_cast<grpc::StatusCode>(event.status_code()));
  if (event.message().empty()) return code;
  return absl::StrCat(code, ": ",
                      absl::StrReplaceAll(event.message(), {{"\r\n", " "}, {"\n", " "}}));
}

std::string FormatEventTable(const v1::ListAuditEventsResponse& response) {
  std::vector<std::vector<std::string>> rows = {
      {"TIME", "EVENT", "OUTCOME", "OPERATION", "KEY", "SUBJECT", "CALLER", "SIGNED", "STATUS"}};
  for (const v1::AuditEvent& e : response.events()) {
    std::string signed_hash = e.signed_sha256().size() > kShortHash
                                  ? e.signed_sha256().substr(0, kShortHash)
                                  : e.signed_sha256();
    rows.push_back({FormatTimestamp(e.time()), absl::StrCat(OrDash(e.node()), ":", e.seq()),
                    OutcomeText(e), OrDash(e.operation()), OrDash(e.key_name()),
                    OrDash(e.subject()), CallerText(e), OrDash(signed_hash),
                    StatusText(e)});
  }
  return Table(rows);
}

int RunList(CommandContext& ctx) {
  int rc = kExitOk;
  if (!CheckSubcommandFlags(ctx,
                            {"since", "until", "caller", "key", "subject", "operation", "outcome",
                             "page-size", "page-token", "all"},
                            "list", &rc)) {
    return rc;
  }
  v1::ListAuditEventsRequest request;
  bool since = false, until = false;
  if (!ParseTimestampFlag(ctx, "since", request.mutable_start_time(), &since, &rc) ||
      !ParseTimestampFlag(ctx, "until", request.mutable_end_time(), &until, &rc)) {
    return rc;
  }
  if (!since) request.clear_start_time();
  if (!until) request.clear_end_time();
  if (since && until &&
      (request.end_time().seconds() < request.start_time().seconds() ||
       (request.end_time().seconds() == request.start_time().seconds() &&
        request.end_time().nanos() <= request.start_time().nanos()))) {
    return ctx.UsageError("--until must be later than --since");
  }
  if (std::optional<std::string> caller = ctx.args().Get("caller"); caller.has_value()) {
    std::string trimmed(absl::StripAsciiWhitespace(*caller));
    if (trimmed.empty()) return ctx.UsageError("--caller is empty");
    request.set_caller(trimmed);
  }
  if (std::optional<std::string> key = ctx.args().Get("key"); key.has_value()) {
    std::string name = NormalizeKeyName(*key);
    if (name.empty()) return ctx.UsageError("--key is empty (give keys/ID or ID)");
    request.set_key_name(name);
  }
  if (std::optional<std::string> subject = ctx.args().Get("subject"); subject.has_value()) {
    absl::StatusOr<std::string> parsed = ParseAuditSubject(*subject);
    if (!parsed.ok()) return ctx.UsageError(parsed.status().message());
    request.set_subject(*parsed);
  }
  if (std::optional<std::string> operation = ctx.args().Get("operation"); operation.has_value()) {
    std::string trimmed(absl::StripAsciiWhitespace(*operation));
    if (trimmed.empty()) return ctx.UsageError("--operation is empty");
    request.set_operation(trimmed);
  }
  if (std::optional<std::string> outcome = ctx.args().Get("outcome"); outcome.has_value()) {
    absl::StatusOr<v1::AuditOutcome> parsed = ParseOutcome(*outcome);
    if (!parsed.ok()) return ctx.UsageError(parsed.status().message());
    request.set_outcome(*parsed);
  }
  int32_t page_size = 0;
  if (!ParsePositiveIntFlag(ctx, "page-size", &page_size, &rc)) return rc;
  request.set_page_size(page_size);
  request.set_page_token(ctx.args().Get("page-token").value_or(""));
  const bool all = ctx.args().IsSet("all");

  v1::ListAuditEventsResponse result;
  while (true) {
    v1::ListAuditEventsResponse page;
    if (rc = ctx.CallAuditService(&Stub::ListAuditEvents, request, &page); rc != kExitOk) {
      return rc;
    }
    result.mutable_events()->MergeFrom(page.events());
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
  if (result.events().empty()) {
    human = "no audit events\n";
  } else {
    human = absl::StrCat(FormatEventTable(result), "\n", result.events_size(), " event(s) shown\n");
  }
  if (!result.next_page_token().empty()) {
    absl::StrAppend(&human, "more: add --page-token ", result.next_page_token(),
                    " (same filters), or use --all\n");
  }
  return ctx.Print(result, human);
}

int RunUsage(CommandContext& ctx) {
  int rc = kExitOk;
  if (!CheckSubcommandFlags(ctx, {"key", "since", "until"}, "usage", &rc)) return rc;
  v1::GetKeyUsageRequest request;
  bool since = false, until = false;
  if (!ParseTimestampFlag(ctx, "since", request.mutable_start_time(), &since, &rc) ||
      !ParseTimestampFlag(ctx, "until", request.mutable_end_time(), &until, &rc)) {
    return rc;
  }
  if (!since) request.clear_start_time();
  if (!until) request.clear_end_time();
  if (std::optional<std::string> key = ctx.args().Get("key"); key.has_value()) {
    std::string name = NormalizeKeyName(*key);
    if (name.empty()) return ctx.UsageError("--key is empty (give keys/ID or ID)");
    request.set_key_name(name);
  }
  v1::GetKeyUsageResponse response;
  if (rc = ctx.CallAuditService(&Stub::GetKeyUsage, request, &response); rc != kExitOk) return rc;
  std::string human;
  if (response.usage().empty()) {
    human = "no key usage\n";
  } else {
    std::vector<std::vector<std::string>> rows = {{"KEY", "OPERATION", "COUNT"}};
    for (const v1::KeyUsage& usage : response.usage()) {
      rows.push_back(
          {OrDash(usage.key_name()), OrDash(usage.operation()), absl::StrCat(usage.count())});
    }
    human = Table(rows);
  }
  return ctx.Print(response, human);
}

std::string FormatVerifyReport(const v1::VerifyAuditLogResponse& report) {
  std::string out;
  if (report.chains().empty()) {
    out = "no audit chains\n";
  } else {
    std::vector<std::vector<std::string>> rows = {
        {"NODE", "EVENTS", "CHECKPOINTS", "LAST_SEQ", "LAST_CHECKPOINT_SEQ"}};
    for (const v1::AuditChainReport& chain : report.chains()) {
      rows.push_back({OrDash(chain.node()), absl::StrCat(chain.events()),
                      absl::StrCat(chain.checkpoints()), absl::StrCat(chain.last_seq()),
                      absl::StrCat(chain.last_checkpoint_seq())});
    }
    out = Table(rows);
  }
  for (const v1::AuditChainReport& chain : report.chains()) {
    if (chain.unprotected() > 0) {
      absl::StrAppend(&out, "unprotected tail: ", OrDash(chain.node()), ": ", chain.unprotected(),
                      " events past the last ",
                      report.anchor_checked() ? "anchored " : "", "checkpoint\n");
    }
  }
  if (report.ok()) {
    absl::StrAppend(&out, "\nresult: OK\n");
  } else {
    absl::StrAppend(&out, "\nresult: FAILED\nbad_node: ", OrDash(report.bad_node()),
                    "\nbad_seq: ", report.bad_seq(), "\nproblem: ", OrDash(report.problem()), "\n");
  }
  return out;
}

// Prints the report; kExitFailure unless it is ok.
int PrintVerifyReport(CommandContext& ctx, const v1::VerifyAuditLogResponse& report) {
  if (int rc = ctx.Print(report, FormatVerifyReport(report)); rc != kExitOk) return rc;
  if (report.ok()) return kExitOk;
  if (ctx.json()) {
    ctx.err() << "ksef-hsm: the audit log failed verification: node " << report.bad_node()
              << ", seq " << report.bad_seq() << ": " << report.problem() << "\n";
  }
  return kExitFailure;
}

// SubjectPublicKeyInfo DER from a PEM ("BEGIN PUBLIC KEY") or DER file.
absl::StatusOr<std::string> ReadPublicKeyFile(const std::string& path) {
  absl::StatusOr<std::string> content = ReadWholeFile(path, "audit public key file");
  if (!content.ok()) return content.status();
  EvpPkeyPtr key;
  if (absl::StrContains(*content, "-----BEGIN")) {
    BioPtr bio(BIO_new_mem_buf(content->data(), static_cast<int>(content->size())));
    key.reset(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  } else {
    const auto* p = reinterpret_cast<const unsigned char*>(content->data());
    key.reset(d2i_PUBKEY(nullptr, &p, static_cast<long>(content->size())));
  }
  if (key == nullptr) {
    (void)OpenSslError("");  // clear the queue
    return absl::InvalidArgumentError(
        absl::StrCat("audit public key file ", path,
                     " holds no public key (expected PEM \"BEGIN PUBLIC KEY\" or DER "
                     "SubjectPublicKeyInfo, as written by \"ksef-hsm audit public-key\")"));
  }
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key.get(), &der);
  if (len <= 0) return absl::InternalError(OpenSslError("cannot encode the audit public key"));
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

// A private temporary directory, removed with everything in it when destroyed.
class TempDir {
 public:
  static absl::StatusOr<std::unique_ptr<TempDir>> Make() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        absl::StrCat(base != nullptr && *base != '\0' ? base : "/tmp", "/ksef-hsm-audit-XXXXXX");
    if (::mkdtemp(pattern.data()) == nullptr) {
      return absl::UnavailableError(
          absl::StrCat("cannot create a temporary directory like ", pattern, ": ",
                       std::error_code(errno, std::generic_category()).message()));
    }
    return std::unique_ptr<TempDir>(new TempDir(pattern));
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// audit verify --db: VerifyAuditChain on a private copy of the store.
int RunVerifyOffline(CommandContext& ctx, const std::string& db) {
  if (db.empty()) return ctx.UsageError("--db FILE is empty");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(db, ec)) {
    return ctx.Error(absl::NotFoundError(absl::StrCat("cannot read audit store ", db, ": ",
                                                      ec ? ec.message() : "not a regular file")),
                     kExitUsage);
  }
  std::string trusted_key;
  std::optional<std::vector<audit::AnchorRecord>> anchor;
  if (std::optional<std::string> anchor_file = ctx.args().Get("anchor"); anchor_file.has_value()) {
    if (anchor_file->empty()) return ctx.UsageError("--anchor FILE is empty");
    absl::StatusOr<std::vector<audit::AnchorRecord>> records = audit::ReadAnchorFile(*anchor_file);
    if (!records.ok()) return ctx.Error(records.status(), kExitUsage);
    anchor = *std::move(records);
  }
  if (std::optional<std::string> key_file = ctx.args().Get("public-key"); key_file.has_value()) {
    if (key_file->empty()) return ctx.UsageError("--public-key FILE is empty");
    absl::StatusOr<std::string> der = ReadPublicKeyFile(*key_file);
    if (!der.ok()) return ctx.Error(der.status(), kExitUsage);
    trusted_key = *std::move(der);
  }
  const bool unpinned = trusted_key.empty() && !anchor.has_value();
  const bool skip_signature = ctx.args().IsSet("insecure-skip-signature");
  if (unpinned) {
    ctx.err() << "warning: no --public-key and no --anchor: signatures were NOT checked against "
                 "the audit key,\nonly against the key stored with them, so someone able to "
                 "rewrite the store could\nre-sign it with a key of their own. Give the audit key "
                 "from \"ksef-hsm audit public-key\"\n(obtained beforehand, over a channel you "
                 "trust) or the anchor file for a full check.\n";
  }

  // Work on a copy (with its WAL, if any): SQLite may create -shm/-wal side
  // files even for a read-only connection, and the file given must stay
  // untouched.
  absl::StatusOr<std::unique_ptr<TempDir>> dir = TempDir::Make();
  if (!dir.ok()) return ctx.Error(dir.status(), kExitFailure);
  const std::string copy = (*dir)->path() + "/audit.db";
  for (const char* suffix : {"", "-wal"}) {
    std::string from = db + suffix;
    if (*suffix != '\0' && !std::filesystem::exists(from, ec)) continue;
    if (!std::filesystem::copy_file(from, copy + suffix, ec)) {
      return ctx.Error(
          absl::UnavailableError(absl::StrCat("cannot copy audit store file ", from, " to ",
                                              copy + suffix, ": ", ec.message())),
          kExitFailure);
    }
  }
  v1::VerifyAuditLogResponse response;
  {
    absl::StatusOr<std::unique_ptr<audit::SqliteAuditStore>> store =
        audit::SqliteAuditStore::Open(copy, /*read_only=*/true);
    if (!store.ok()) return ctx.Error(store.status(), kExitFailure);
    audit::VerifyOptions options;
    options.trusted_public_key_der = trusted_key;
    options.anchor = std::move(anchor);
    absl::StatusOr<audit::VerifyReport> report = audit::VerifyAuditChain(**store, options);
    if (!report.ok()) {
      return ctx.Error(
          absl::Status(report.status().code(), absl::StrCat("cannot verify audit store ", db, ": ",
                                                            report.status().message())),
          kExitFailure);
    }
    response.set_ok(report->ok);
    for (const audit::NodeReport& node : report->nodes) {
      v1::AuditChainReport* chain = response.add_chains();
      chain->set_node(node.node);
      chain->set_events(node.events);
      chain->set_checkpoints(node.checkpoints);
      chain->set_last_seq(node.last_seq);
      chain->set_last_checkpoint_seq(node.last_checkpoint_seq);
      chain->set_unprotected(node.unprotected);
      chain->set_anchored_checkpoints(node.anchored_checkpoints);
      chain->set_last_anchored_seq(node.last_anchored_seq);
    }
    response.set_signatures_pinned(report->signatures_pinned);
    response.set_anchor_checked(report->anchor_checked);
    response.set_bad_node(report->bad_node);
    response.set_bad_seq(report->bad_seq);
    response.set_problem(report->problem);
  }
  if (!trusted_key.empty() && !ctx.json()) {
    ctx.err() << "checked against the audit key with SHA-256 fingerprint "
              << crypto::Sha256Hex(trusted_key) << "\n";
  }
  const int rc = PrintVerifyReport(ctx, response);
  if (rc != kExitOk || !unpinned || skip_signature) return rc;
  ctx.err() << "ksef-hsm: signatures were not checked against a pinned audit key; give "
               "--public-key or --anchor\n(or --insecure-skip-signature to accept that)\n";
  return kExitFailure;
}

int RunVerify(CommandContext& ctx) {
  int rc = kExitOk;
  if (!CheckSubcommandFlags(ctx, {"db", "public-key", "anchor", "insecure-skip-signature"},
                            "verify", &rc)) {
    return rc;
  }
  if (std::optional<std::string> db = ctx.args().Get("db"); db.has_value()) {
    return RunVerifyOffline(ctx, *db);
  }
  for (const char* flag : {"public-key", "anchor", "insecure-skip-signature"}) {
    if (ctx.args().Has(flag)) {
      return ctx.UsageError(absl::StrCat("--", flag,
                                         " only applies with --db (the server checks against its "
                                         "own audit key and anchor)"));
    }
  }
  v1::VerifyAuditLogRequest request;
  v1::VerifyAuditLogResponse response;
  if (rc = ctx.CallAuditService(&Stub::VerifyAuditLog, request, &response); rc != kExitOk) {
    return rc;
  }
  return PrintVerifyReport(ctx, response);
}

int RunPublicKey(CommandContext& ctx) {
  int rc = kExitOk;
  if (!CheckSubcommandFlags(ctx, {"out"}, "public-key", &rc)) return rc;
  std::optional<std::string> out = ctx.args().Get("out");
  if (out.has_value() && out->empty()) return ctx.UsageError("--out FILE is empty");
  v1::GetAuditPublicKeyRequest request;
  v1::AuditPublicKey key;
  if (rc = ctx.CallAuditService(&Stub::GetAuditPublicKey, request, &key); rc != kExitOk) return rc;
  if (key.der().empty() && key.pem().empty()) {
    return ctx.Error(absl::InternalError("the server sent no audit public key"), kExitFailure);
  }
  std::string pem = key.pem().empty() ? PemFromDer(key.der()) : key.pem();
  if (!absl::EndsWith(pem, "\n")) pem.push_back('\n');
  std::string fingerprint =
      key.sha256_fingerprint().empty() ? crypto::Sha256Hex(key.der()) : key.sha256_fingerprint();
  std::string human;
  if (out.has_value()) {
    if (absl::Status written = WriteWholeFile(*out, pem, "audit public key file"); !written.ok()) {
      return ctx.Error(written, kExitFailure);
    }
    human = absl::StrCat("wrote the audit public key (PEM) to ", *out, "\n");
  } else {
    human = pem;
  }
  absl::StrAppend(&human, "sha256_fingerprint: ", fingerprint, "\n");
  return ctx.Print(key, human);
}

}  // namespace

int RunAudit(CommandContext& ctx) {
  const std::string& sub = ctx.args().positional.at(0);
  if (sub == "list") return RunList(ctx);
  if (sub == "usage") return RunUsage(ctx);
  if (sub == "verify") return RunVerify(ctx);
  if (sub == "public-key") return RunPublicKey(ctx);
  return ctx.UsageError(absl::StrCat("unknown subcommand \"", sub,
                                     "\" (expected list, usage, verify or public-key)"));
}

}  // namespace ksef::client
