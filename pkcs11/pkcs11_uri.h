// RFC 7512 PKCS#11 URIs: "pkcs11:token=ksef-hsm;id=%01%02;object=k1;type=private".
//
// Only the path attributes this service uses are modelled; unknown path
// attributes and all query attributes are refused by Parse (INVALID_ARGUMENT)
// except the standard "pin-source"/"pin-value" query attributes, which are
// refused with a message saying PINs belong in the server config.
// Pure value type; thread-compatible.
#ifndef KSEF_PKCS11_PKCS11_URI_H_
#define KSEF_PKCS11_PKCS11_URI_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ksef::pkcs11 {

struct Pkcs11Uri {
  // Each field: nullopt = attribute absent. Values are decoded bytes.
  std::optional<std::string> token;         // "token"  (CKA token label)
  std::optional<std::string> manufacturer;  // "manufacturer"
  std::optional<std::string> serial;        // "serial" (token serial)
  std::optional<std::string> model;         // "model"
  std::optional<std::string> id;            // "id"     (CKA_ID, raw bytes)
  std::optional<std::string> object;        // "object" (CKA_LABEL)
  std::optional<std::string> type;          // "type": public|private|cert|secret-key|data

  // RFC 7512 section 2.3 order: token, manufacturer, serial, model, object,
  // type, id. Bytes outside the unreserved set + a few allowed chars are
  // %XX-encoded (uppercase); `id` is always fully %-encoded.
  std::string ToString() const;

  // Parses; percent-decoding per RFC 3986; attribute names are case-sensitive;
  // a repeated attribute is an error. INVALID_ARGUMENT with a message that
  // names the offending attribute or position.
  static absl::StatusOr<Pkcs11Uri> Parse(absl::string_view text);

  bool operator==(const Pkcs11Uri& other) const = default;
};

}  // namespace ksef::pkcs11

#endif  // KSEF_PKCS11_PKCS11_URI_H_
