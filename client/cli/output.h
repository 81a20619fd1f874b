// How the ksef-hsm CLI prints KeyService messages: aligned "field: value"
// lines and tables for people, protobuf JSON for scripts. Every function
// returns text that ends with a newline.
#ifndef KSEF_CLIENT_CLI_OUTPUT_H_
#define KSEF_CLIENT_CLI_OUTPUT_H_

#include <google/protobuf/message.h>
#include <google/protobuf/repeated_ptr_field.h>
#include <google/protobuf/timestamp.pb.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ksef/hsm/v1/key_service.pb.h"

namespace ksef::client {

// RFC 3339 in UTC to the second ("2025-03-01T12:00:00Z"); "-" when unset.
std::string FormatTimestamp(const google::protobuf::Timestamp& timestamp);

// "nip 5260250274"; "-" when empty.
std::string FormatSubject(const hsm::v1::KsefSubject& subject);

// All fields of a key, one per line, values aligned, including its origin
// (generated/imported); the certificate (when there is one) as an indented
// block: subject, issuer, serial (hex, and decimal if the server sent it),
// fingerprint, validity and signature algorithm (if sent).
std::string FormatKey(const hsm::v1::Key& key);

// One row per key: NAME STATE PURPOSE ALGORITHM SUBJECT CREATED.
std::string FormatKeyTable(const google::protobuf::RepeatedPtrField<hsm::v1::Key>& keys);

// Counts, the offending names/URIs, and a final "result:" line. The
// foreign_internal_label_keys lines appear only when there are some.
std::string FormatConsistencyReport(const hsm::v1::ConsistencyReport& report);

// No unknown, missing or foreign-internal-label keys (check-consistency's
// exit status 0).
bool IsConsistent(const hsm::v1::ConsistencyReport& report);

// A PEM "PUBLIC KEY" block for SubjectPublicKeyInfo DER.
std::string PemFromDer(absl::string_view der);

// Protobuf JSON: proto field names, primitives always printed, indented.
absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message);

// The same on one line (JSON Lines: one message per line, for streams of
// results).
absl::StatusOr<std::string> ToJsonLine(const google::protobuf::Message& message);

}  // namespace ksef::client

#endif  // KSEF_CLIENT_CLI_OUTPUT_H_
