#include "client/cli/output.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/encoding.h"
#include "client/cli/enum_names.h"

namespace ksef::client {
namespace {

namespace v1 = ::ksef::hsm::v1;

using Field = std::pair<std::string, std::string>;

// "label:" padded so that all values start in the same column. A field with
// an empty value is a heading ("certificate:") and gets no padding; one with
// an empty label is printed as a line of its own.
std::string AlignFields(const std::vector<Field>& fields) {
  size_t width = 0;
  for (const auto& [label, value] : fields) width = std::max(width, label.size() + 1);
  std::string out;
  for (const auto& [label, value] : fields) {
    if (label.empty()) {
      absl::StrAppend(&out, value, "\n");
      continue;
    }
    absl::StrAppend(&out, label, ":");
    if (!value.empty()) absl::StrAppend(&out, std::string(width - label.size() + 1, ' '), value);
    absl::StrAppend(&out, "\n");
  }
  return out;
}

std::string YesNo(bool value) { return value ? "yes" : "no"; }

std::string FormatAttestation(const v1::Key& key) {
  if (!key.has_attestation()) return "(not reported)";
  const v1::KeyAttestation& a = key.attestation();
  return absl::StrCat("local=", YesNo(a.local()), " sensitive=", YesNo(a.sensitive()),
                      " extractable=", YesNo(a.extractable()),
                      " always_sensitive=", YesNo(a.always_sensitive()),
                      " never_extractable=", YesNo(a.never_extractable()));
}

std::string OrDash(const std::string& value) { return value.empty() ? "-" : value; }

}  // namespace

std::string FormatTimestamp(const google::protobuf::Timestamp& timestamp) {
  if (timestamp.seconds() == 0 && timestamp.nanos() == 0) return "-";
  absl::Time time = absl::FromUnixSeconds(timestamp.seconds());
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, absl::UTCTimeZone());
}

std::string FormatSubject(const v1::KsefSubject& subject) {
  if (subject.type() == v1::KsefSubject::IDENTIFIER_TYPE_UNSPECIFIED && subject.value().empty()) {
    return "-";
  }
  return absl::StrCat(SubjectTypeWord(subject.type()), " ", OrDash(subject.value()));
}

std::string FormatKey(const v1::Key& key) {
  std::vector<Field> fields = {
      {"name", OrDash(key.name())},
      {"state", StateWord(key.state())},
      {"purpose", PurposeWord(key.purpose())},
      {"algorithm", AlgorithmWord(key.algorithm())},
      {"subject", FormatSubject(key.subject())},
      {"pkcs11_uri", OrDash(key.pkcs11_uri())},
      {"create_time", FormatTimestamp(key.create_time())},
      {"update_time", FormatTimestamp(key.update_time())},
  };
  if (key.has_destroy_time()) {
    fields.push_back({"destroy_time", FormatTimestamp(key.destroy_time())});
  }
  fields.push_back({"attestation", FormatAttestation(key)});
  fields.push_back({"origin", OriginWord(key.origin())});
  fields.push_back(
      {"usage_limit", key.usage_limit() == 0 ? std::string("none")
                                             : absl::StrCat(key.usage_limit(), " signatures")});
  if (!key.has_certificate()) {
    fields.push_back({"certificate", "none"});
  } else {
    const v1::Certificate& cert = key.certificate();
    fields.push_back({"certificate", ""});
    fields.push_back({"  subject", OrDash(cert.subject())});
    fields.push_back({"  issuer", OrDash(cert.issuer())});
    fields.push_back({"  serial_number", OrDash(cert.serial_number())});
    // Newer servers only: shown when the server filled them.
    if (!cert.serial_number_decimal().empty()) {
      fields.push_back({"  serial_number_decimal", cert.serial_number_decimal()});
    }
    fields.push_back({"  sha256_fingerprint", OrDash(cert.sha256_fingerprint())});
    fields.push_back({"  not_before", FormatTimestamp(cert.not_before())});
    fields.push_back({"  not_after", FormatTimestamp(cert.not_after())});
    if (!cert.signature_algorithm().empty()) {
      fields.push_back({"  signature_algorithm", cert.signature_algorithm()});
    }
  }
  return AlignFields(fields);
}

std::string FormatKeyTable(const google::protobuf::RepeatedPtrField<v1::Key>& keys) {
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "STATE", "PURPOSE", "ALGORITHM", "SUBJECT", "CREATED"}};
  for (const v1::Key& key : keys) {
    rows.push_back({OrDash(key.name()), StateWord(key.state()), PurposeWord(key.purpose()),
                    AlgorithmWord(key.algorithm()), FormatSubject(key.subject()),
                    FormatTimestamp(key.create_time())});
  }
  std::vector<size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) {
      absl::StrAppend(&out, row[c]);
      if (c + 1 < row.size())
        absl::StrAppend(&out, std::string(widths[c] - row[c].size() + 2, ' '));
    }
    absl::StrAppend(&out, "\n");
  }
  return out;
}

bool IsConsistent(const v1::ConsistencyReport& report) {
  return report.unknown_token_keys_size() == 0 && report.missing_keys_size() == 0 &&
         report.foreign_internal_label_keys_size() == 0 &&
         report.incomplete_token_objects_size() == 0;
}

std::string FormatConsistencyReport(const v1::ConsistencyReport& report) {
  std::vector<Field> fields = {{"checked_keys", absl::StrCat(report.checked_keys())}};
  fields.push_back({"unknown_token_keys", absl::StrCat(report.unknown_token_keys_size())});
  for (const std::string& uri : report.unknown_token_keys()) fields.push_back({"", "  - " + uri});
  fields.push_back({"missing_keys", absl::StrCat(report.missing_keys_size())});
  for (const std::string& name : report.missing_keys()) fields.push_back({"", "  - " + name});
  // Shown only when there are some, so the usual output stays as it was.
  if (report.foreign_internal_label_keys_size() > 0) {
    fields.push_back({"foreign_internal_label_keys",
                      absl::StrCat(report.foreign_internal_label_keys_size(),
                                   " (label reserved for the server's own keys; not used by it)")});
    for (const std::string& uri : report.foreign_internal_label_keys()) {
      fields.push_back({"", "  - " + uri});
    }
  }
  if (report.incomplete_token_objects_size() > 0) {
    fields.push_back({"incomplete_token_objects",
                      absl::StrCat(report.incomplete_token_objects_size(),
                                   " (left by an interrupted key generation)")});
    for (const std::string& line : report.incomplete_token_objects()) {
      fields.push_back({"", "  - " + line});
    }
  }
  fields.push_back({"result", IsConsistent(report) ? "consistent" : "INCONSISTENT"});
  return AlignFields(fields);
}

std::string PemFromDer(absl::string_view der) { return PemArmor("PUBLIC KEY", der); }

namespace {

absl::StatusOr<std::string> MessageToJson(const google::protobuf::Message& message,
                                          bool add_whitespace) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = add_whitespace;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot convert the reply to JSON: ", status.ToString()));
  }
  if (json.empty() || json.back() != '\n') json.push_back('\n');
  return json;
}

}  // namespace

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message) {
  return MessageToJson(message, /*add_whitespace=*/true);
}

absl::StatusOr<std::string> ToJsonLine(const google::protobuf::Message& message) {
  return MessageToJson(message, /*add_whitespace=*/false);
}

}  // namespace ksef::client
