#include "client/cli/offline_handlers.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "client/cli/command_context.h"
#include "client/file_util.h"
#include "client/grpc_status.h"
#include "client/cli/handler_util.h"
#include "client/cli/output.h"

namespace ksef::client {
namespace {

namespace v1 = ::ksef::hsm::v1;
namespace fs = std::filesystem;

// One invoice file to sign.
struct Invoice {
  std::string path;  // as given, or DIR/NAME for a file found in a directory
  std::string stem;  // the file name without its extension: the images' base name
  std::string xml;   // the file's bytes, unchanged
};

absl::StatusOr<v1::QrEnvironment> ParseEnvironmentFlag(absl::string_view word, absl::string_view) {
  std::string lower = absl::AsciiStrToLower(absl::StripAsciiWhitespace(word));
  if (lower == "test") return v1::QR_TEST;
  if (lower == "demo") return v1::QR_DEMO;
  if (lower == "production" || lower == "prod") return v1::QR_PRODUCTION;
  return absl::InvalidArgumentError(absl::StrCat("invalid --environment \"", word,
                                                 "\" (expected one of: test, demo, production)"));
}

bool IsXmlFileName(const fs::path& path) {
  return absl::AsciiStrToLower(path.extension().string()) == ".xml";
}

// Reads one invoice file into `out`; false after a usage error.
bool ReadInvoice(CommandContext& ctx, const std::string& path, std::vector<Invoice>* out, int* rc) {
  absl::StatusOr<std::string> xml = ReadWholeFile(path, "invoice file");
  if (!xml.ok()) {
    *rc = ctx.UsageError(xml.status().message());
    return false;
  }
  if (xml->empty()) {
    *rc = ctx.UsageError(absl::StrCat("invoice file ", path, " is empty"));
    return false;
  }
  out->push_back({path, fs::path(path).stem().string(), *std::move(xml)});
  return true;
}

// The invoices of every PATH: files as given, directories as their *.xml
// files (directly inside, sorted by name). `*any_directory` tells whether a
// PATH was a directory. False after a usage error.
bool CollectInvoices(CommandContext& ctx, const std::vector<std::string>& paths,
                     std::vector<Invoice>* out, bool* any_directory, int* rc) {
  *any_directory = false;
  for (const std::string& path : paths) {
    if (path.empty()) {
      *rc = ctx.UsageError("PATH is empty");
      return false;
    }
    std::error_code ec;
    if (!fs::is_directory(path, ec)) {
      if (!ReadInvoice(ctx, path, out, rc)) return false;
      continue;
    }
    *any_directory = true;
    std::vector<std::string> names;
    fs::directory_iterator it(path, ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
      std::error_code type_ec;
      if (IsXmlFileName(it->path()) && it->is_regular_file(type_ec)) {
        names.push_back(it->path().filename().string());
      }
    }
    if (ec) {
      *rc = ctx.UsageError(absl::StrCat("cannot read directory ", path, ": ", ec.message()));
      return false;
    }
    if (names.empty()) {
      *rc = ctx.UsageError(absl::StrCat("no *.xml invoice files in directory ", path));
      return false;
    }
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      if (!ReadInvoice(ctx, (fs::path(path) / name).string(), out, rc)) return false;
    }
  }
  return true;
}

// Where the images go: DIR/NAME, or just NAME for the current directory.
std::string OutPath(const std::string& out_dir, const std::string& name) {
  return out_dir.empty() ? name : (fs::path(out_dir) / name).string();
}

// Writes the images the server sent for `invoice`; returns the files written.
absl::StatusOr<std::vector<std::string>> WriteImages(const Invoice& invoice,
                                                     const v1::OfflineInvoiceCodes& codes,
                                                     const std::string& out_dir) {
  const std::pair<absl::string_view, const std::string*> images[] = {
      {".kod-i.png", &codes.kod_i_png()},
      {".kod-i.svg", &codes.kod_i_svg()},
      {".kod-ii.png", &codes.kod_ii_png()},
      {".kod-ii.svg", &codes.kod_ii_svg()},
  };
  std::vector<std::string> written;
  for (const auto& [suffix, data] : images) {
    if (data->empty()) continue;
    std::string path = OutPath(out_dir, absl::StrCat(invoice.stem, suffix));
    if (absl::Status status = WriteWholeFile(path, *data, "QR image"); !status.ok()) {
      return status;
    }
    written.push_back(std::move(path));
  }
  return written;
}

// The block printed for a signed invoice.
std::string FormatCodes(const Invoice& invoice, const v1::OfflineInvoiceCodes& codes,
                        const std::vector<std::string>& images) {
  std::string label = codes.kod_i_label().empty() ? "OFFLINE" : codes.kod_i_label();
  std::vector<std::pair<std::string, std::string>> fields = {
      {absl::StrCat("KOD I (", label, ")"), codes.kod_i_link()},
      {"KOD II (CERTYFIKAT)", codes.kod_ii_link()},
      {"images", images.empty() ? "none" : absl::StrJoin(images, " ")},
  };
  size_t width = 0;
  for (const auto& [name, value] : fields) width = std::max(width, name.size());
  std::string out = absl::StrCat(invoice.path, "\n");
  for (const auto& [name, value] : fields) {
    absl::StrAppend(&out, "  ", name, ":", std::string(width - name.size() + 1, ' '),
                    value.empty() ? "-" : value, "\n");
  }
  return out;
}

// Prints the results as they come and counts the failures.
class ResultPrinter {
 public:
  ResultPrinter(CommandContext& ctx, const std::vector<Invoice>& invoices, std::string out_dir,
                bool images)
      : ctx_(ctx),
        invoices_(invoices),
        out_dir_(std::move(out_dir)),
        images_(images),
        answered_(invoices.size(), false) {}

  void Add(const v1::OfflineInvoiceResult& result) {
    // Results come in request order; `index` says which one it is.
    size_t i = result.index() >= 0 && static_cast<size_t>(result.index()) < invoices_.size() &&
                       !answered_[static_cast<size_t>(result.index())]
                   ? static_cast<size_t>(result.index())
                   : next_;
    if (i >= invoices_.size() || answered_[i]) return;  // more results than requests
    answered_[i] = true;
    while (next_ < answered_.size() && answered_[next_]) ++next_;
    const Invoice& invoice = invoices_[i];

    if (ctx_.json()) {
      v1::OfflineInvoiceResult line = result;
      line.set_index(static_cast<int64_t>(i));
      if (line.request_id().empty()) line.set_request_id(invoice.path);
      absl::StatusOr<std::string> json = ToJsonLine(line);
      if (json.ok()) {
        ctx_.out() << *json << std::flush;
      } else {
        Fail(invoice, json.status().message());
      }
    }
    if (result.error_code() != 0) {
      grpc::Status status(static_cast<grpc::StatusCode>(result.error_code()),
                          result.error_message());
      Fail(invoice, FormatGrpcStatus(status));
      return;
    }
    if (!result.has_codes()) {
      Fail(invoice, "the server sent neither codes nor an error");
      return;
    }
    std::vector<std::string> written;
    if (images_) {
      absl::StatusOr<std::vector<std::string>> files =
          WriteImages(invoice, result.codes(), out_dir_);
      if (!files.ok()) {
        Fail(invoice, files.status().message());
        return;
      }
      written = *std::move(files);
    }
    if (!ctx_.json()) {
      if (printed_ > 0) ctx_.out() << "\n";
      ctx_.out() << FormatCodes(invoice, result.codes(), written) << std::flush;
      ++printed_;
    }
  }

  // Reports the invoices that got no result; returns the exit status.
  int Finish(int stream_status) {
    for (size_t i = 0; i < invoices_.size(); ++i) {
      if (!answered_[i]) Fail(invoices_[i], "no result from the server");
    }
    if (failed_ > 0) {
      ctx_.err() << "ksef-hsm: qr: " << failed_ << " of " << invoices_.size()
                 << (invoices_.size() == 1 ? " invoice" : " invoices") << " failed\n";
      return kExitFailure;
    }
    return stream_status;
  }

 private:
  void Fail(const Invoice& invoice, absl::string_view message) {
    ++failed_;
    ctx_.err() << invoice.path << ": error: " << message << "\n" << std::flush;
  }

  CommandContext& ctx_;
  const std::vector<Invoice>& invoices_;
  const std::string out_dir_;
  const bool images_;
  std::vector<bool> answered_;
  size_t next_ = 0;
  size_t printed_ = 0;
  size_t failed_ = 0;
};

}  // namespace

int RunQr(CommandContext& ctx) {
  int rc = kExitOk;
  v1::SignOfflineInvoiceRequest base;

  // Which key: NAME (the first positional), or the subject's active Offline
  // key; with --subject-type/--subject every positional is a PATH.
  const std::vector<std::string>& positional = ctx.args().positional;
  const bool by_subject = ctx.args().Has("subject-type") || ctx.args().Has("subject");
  std::vector<std::string> paths;
  if (by_subject) {
    if (!ParseSubjectFlags(ctx, base.mutable_subject(), &rc)) return rc;
    paths = positional;
  } else {
    if (positional.empty()) {
      return ctx.UsageError("missing the key: give NAME or --subject-type TYPE --subject VALUE");
    }
    std::optional<std::string> name = KeyName(ctx, &rc);
    if (!name.has_value()) return rc;
    base.set_name(*name);
    paths.assign(positional.begin() + 1, positional.end());
  }
  if (paths.empty()) {
    return ctx.UsageError(by_subject
                              ? "missing PATH (invoice files or directories)"
                              : absl::StrCat("missing PATH (invoice files or directories); \"",
                                             positional[0], "\" is the key NAME"));
  }

  if (!ParseContextFlags(ctx, base.mutable_context_identifier(), &rc)) return rc;

  v1::QrEnvironment environment = v1::QR_ENVIRONMENT_UNSPECIFIED;
  if (!ParseEnumFlag(ctx, "environment", &ParseEnvironmentFlag, &environment, &rc)) return rc;
  base.set_environment(environment);

  std::optional<std::string> ksef_number = ctx.args().Get("ksef-number");
  if (ksef_number.has_value()) {
    std::string number(absl::StripAsciiWhitespace(*ksef_number));
    if (number.empty()) return ctx.UsageError("--ksef-number is empty");
    base.set_ksef_number(number);
  }

  const bool images = !ctx.args().IsSet("no-images");
  std::optional<std::string> out_dir = ctx.args().Get("out-dir");
  if (out_dir.has_value() && out_dir->empty()) return ctx.UsageError("--out-dir DIR is empty");
  if (out_dir.has_value() && !images) {
    return ctx.UsageError("--out-dir does not go with --no-images (no images are written)");
  }
  base.set_images(images);

  std::vector<Invoice> invoices;
  bool any_directory = false;
  if (!CollectInvoices(ctx, paths, &invoices, &any_directory, &rc)) return rc;
  if (ksef_number.has_value() && invoices.size() > 1) {
    return ctx.UsageError(absl::StrCat("--ksef-number is the number of one invoice, but there are ",
                                       invoices.size(), " invoice files"));
  }
  if (images) {
    // Two invoices of the same name would overwrite each other's images.
    std::map<std::string, const std::string*> by_stem;
    for (const Invoice& invoice : invoices) {
      auto [it, inserted] = by_stem.emplace(invoice.stem, &invoice.path);
      if (!inserted) {
        return ctx.UsageError(absl::StrCat("the images of ", *it->second, " and ", invoice.path,
                                           " would have the same names (", invoice.stem,
                                           ".kod-i.png, ...); sign them separately"));
      }
    }
    if (out_dir.has_value()) {
      std::error_code ec;
      fs::create_directories(*out_dir, ec);
      if (ec || !fs::is_directory(*out_dir)) {
        return ctx.UsageError(absl::StrCat("cannot create --out-dir ", *out_dir, ": ",
                                           ec ? ec.message() : "not a directory"));
      }
    }
  }

  std::vector<v1::SignOfflineInvoiceRequest> requests;
  requests.reserve(invoices.size());
  for (const Invoice& invoice : invoices) {
    v1::SignOfflineInvoiceRequest& request = requests.emplace_back(base);
    request.set_invoice_xml(invoice.xml);
    request.set_request_id(invoice.path);
  }

  ResultPrinter printer(ctx, invoices, out_dir.value_or(""), images);
  if (invoices.size() == 1 && !any_directory) {
    v1::OfflineInvoiceResult result;
    rc = ctx.CallOfflineService(&v1::OfflineInvoiceService::Stub::SignOfflineInvoice, requests[0],
                                result.mutable_codes());
    if (rc != kExitOk) return rc;  // the error has been printed, with a hint
    result.set_request_id(invoices[0].path);
    printer.Add(result);
    return printer.Finish(kExitOk);
  }
  rc = ctx.StreamOfflineService(
      requests, [&printer](const v1::OfflineInvoiceResult& result) { printer.Add(result); });
  return printer.Finish(rc);
}

}  // namespace ksef::client
