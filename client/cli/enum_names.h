// The words the CLI uses for KeyService enums, in both directions.
//
// Parsing is forgiving: case does not matter and '_' counts as '-', so
// "ec-p256", "EC_P256" and "Ec_P256" are all KeyAlgorithm EC_P256. The proto
// spelling of every value is accepted too ("certificate-fingerprint",
// "scheduled_for_destruction"). Printing uses the first (canonical) word.
#ifndef KSEF_CLIENT_CLI_ENUM_NAMES_H_
#define KSEF_CLIENT_CLI_ENUM_NAMES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ksef/hsm/v1/enrollment_service.pb.h"
#include "ksef/hsm/v1/key_service.pb.h"

namespace ksef::client {

// Parsers. INVALID_ARGUMENT names `what` and lists the accepted words:
// invalid purpose "x" (expected one of: authentication, offline)

// nip | pesel | fingerprint (alias certificate-fingerprint)
absl::StatusOr<hsm::v1::KsefSubject::IdentifierType> ParseSubjectType(
    absl::string_view word, absl::string_view what = "subject type");
// authentication | offline
absl::StatusOr<hsm::v1::KeyPurpose> ParsePurpose(absl::string_view word,
                                                 absl::string_view what = "purpose");
// ec-p256 | rsa-2048
absl::StatusOr<hsm::v1::KeyAlgorithm> ParseAlgorithm(absl::string_view word,
                                                     absl::string_view what = "algorithm");
// pending-certificate | active | disabled | expired | scheduled-for-destruction | destroyed
absl::StatusOr<hsm::v1::KeyState> ParseState(absl::string_view word,
                                             absl::string_view what = "state");

// personal | seal (IssueSelfSignedCertificateRequest.form)
absl::StatusOr<hsm::v1::IssueSelfSignedCertificateRequest::Form> ParseSelfSignedForm(
    absl::string_view word, absl::string_view what = "form");

// The accepted words, for messages and help: "nip, pesel, fingerprint".
std::string SubjectTypeWords();
std::string PurposeWords();
std::string AlgorithmWords();
std::string StateWords();

// Canonical word; "unspecified" for 0 and "unknown(<n>)" for a value this
// client does not know (a newer server).
std::string SubjectTypeWord(hsm::v1::KsefSubject::IdentifierType type);
std::string PurposeWord(hsm::v1::KeyPurpose purpose);
std::string AlgorithmWord(hsm::v1::KeyAlgorithm algorithm);
std::string StateWord(hsm::v1::KeyState state);
// generated | imported
std::string OriginWord(hsm::v1::KeyOrigin origin);

}  // namespace ksef::client

#endif  // KSEF_CLIENT_CLI_ENUM_NAMES_H_
