#include "client/cli/enum_names.h"

#include <span>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace ksef::client {
namespace {

namespace v1 = ::ksef::hsm::v1;

// One enum value and the words for it; words[0] is canonical, an empty
// string ends the list.
struct EnumWords {
  int value;
  absl::string_view words[3];
};

constexpr EnumWords kSubjectTypes[] = {
    {v1::KsefSubject::NIP, {"nip"}},
    {v1::KsefSubject::PESEL, {"pesel"}},
    {v1::KsefSubject::CERTIFICATE_FINGERPRINT, {"fingerprint", "certificate-fingerprint"}},
};
constexpr EnumWords kPurposes[] = {
    {v1::AUTHENTICATION, {"authentication"}},
    {v1::OFFLINE, {"offline"}},
};
constexpr EnumWords kAlgorithms[] = {
    {v1::EC_P256, {"ec-p256"}},
    {v1::RSA_2048, {"rsa-2048"}},
};
constexpr EnumWords kStates[] = {
    {v1::PENDING_CERTIFICATE, {"pending-certificate"}},
    {v1::ACTIVE, {"active"}},
    {v1::DISABLED, {"disabled"}},
    {v1::EXPIRED, {"expired"}},
    {v1::SCHEDULED_FOR_DESTRUCTION, {"scheduled-for-destruction"}},
    {v1::DESTROYED, {"destroyed"}},
};

constexpr EnumWords kOrigins[] = {
    {v1::GENERATED, {"generated"}},
    {v1::IMPORTED, {"imported"}},
};
constexpr EnumWords kSelfSignedForms[] = {
    {v1::IssueSelfSignedCertificateRequest::PERSONAL, {"personal"}},
    {v1::IssueSelfSignedCertificateRequest::SEAL, {"seal"}},
};

std::string Canonicalize(absl::string_view word) {
  return absl::StrReplaceAll(absl::AsciiStrToLower(absl::StripAsciiWhitespace(word)), {{"_", "-"}});
}

std::string Words(std::span<const EnumWords> table) {
  std::vector<absl::string_view> words;
  for (const EnumWords& entry : table) words.push_back(entry.words[0]);
  return absl::StrJoin(words, ", ");
}

absl::StatusOr<int> Parse(std::span<const EnumWords> table, absl::string_view word,
                          absl::string_view what) {
  std::string wanted = Canonicalize(word);
  for (const EnumWords& entry : table) {
    for (absl::string_view candidate : entry.words) {
      if (!candidate.empty() && candidate == wanted) return entry.value;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("invalid ", what, " \"", word, "\" (expected one of: ", Words(table), ")"));
}

std::string Word(std::span<const EnumWords> table, int value) {
  if (value == 0) return "unspecified";
  for (const EnumWords& entry : table) {
    if (entry.value == value) return std::string(entry.words[0]);
  }
  return absl::StrCat("unknown(", value, ")");
}

}  // namespace

absl::StatusOr<v1::KsefSubject::IdentifierType> ParseSubjectType(absl::string_view word,
                                                                 absl::string_view what) {
  absl::StatusOr<int> value = Parse(kSubjectTypes, word, what);
  if (!value.ok()) return value.status();
  return static_cast<v1::KsefSubject::IdentifierType>(*value);
}

absl::StatusOr<v1::KeyPurpose> ParsePurpose(absl::string_view word, absl::string_view what) {
  absl::StatusOr<int> value = Parse(kPurposes, word, what);
  if (!value.ok()) return value.status();
  return static_cast<v1::KeyPurpose>(*value);
}

absl::StatusOr<v1::KeyAlgorithm> ParseAlgorithm(absl::string_view word, absl::string_view what) {
  absl::StatusOr<int> value = Parse(kAlgorithms, word, what);
  if (!value.ok()) return value.status();
  return static_cast<v1::KeyAlgorithm>(*value);
}

absl::StatusOr<v1::KeyState> ParseState(absl::string_view word, absl::string_view what) {
  absl::StatusOr<int> value = Parse(kStates, word, what);
  if (!value.ok()) return value.status();
  return static_cast<v1::KeyState>(*value);
}

absl::StatusOr<v1::IssueSelfSignedCertificateRequest::Form> ParseSelfSignedForm(
    absl::string_view word, absl::string_view what) {
  absl::StatusOr<int> value = Parse(kSelfSignedForms, word, what);
  if (!value.ok()) return value.status();
  return static_cast<v1::IssueSelfSignedCertificateRequest::Form>(*value);
}

std::string SubjectTypeWords() { return Words(kSubjectTypes); }
std::string PurposeWords() { return Words(kPurposes); }
std::string AlgorithmWords() { return Words(kAlgorithms); }
std::string StateWords() { return Words(kStates); }

std::string SubjectTypeWord(v1::KsefSubject::IdentifierType type) {
  return Word(kSubjectTypes, type);
}
std::string PurposeWord(v1::KeyPurpose purpose) { return Word(kPurposes, purpose); }
std::string AlgorithmWord(v1::KeyAlgorithm algorithm) { return Word(kAlgorithms, algorithm); }
std::string StateWord(v1::KeyState state) { return Word(kStates, state); }

std::string OriginWord(v1::KeyOrigin origin) { return Word(kOrigins, origin); }

}  // namespace ksef::client
