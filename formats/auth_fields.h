// Validators for the fields of a KSeF AuthTokenRequest
// (schemat_auth_v2-0.xsd / schemat_auth_v2-1.xsd, ksef.md 2.3).
//
// Each function checks one value against the XSD pattern (read as anchored,
// which is what the schema authors meant even where the XSD writes ^ and $)
// plus the NIP check digit wherever a NIP is embedded. On failure it returns
// INVALID_ARGUMENT whose message starts with `field` and says what is wrong.
// Shared by formats/xades (AuthTokenRequest) and formats/qr (the context
// identifier of KOD II). Pure functions; thread-safe.
#ifndef KSEF_FORMATS_AUTH_FIELDS_H_
#define KSEF_FORMATS_AUTH_FIELDS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ksef {

// 36 characters: \d{8}-CR-[A-F0-9]{10}-[A-F0-9]{10}-[A-F0-9]{2}
// e.g. 20250514-CR-226FB7B000-3ACF9BE4C0-10.
absl::Status ValidateChallenge(absl::string_view challenge, absl::string_view field);

// TNIP: [1-9]((\d[1-9])|([1-9]\d))\d{7} and a correct check digit.
absl::Status ValidateContextNip(absl::string_view nip, absl::string_view field);

// TIID: a valid NIP, '-', 5 digits (e.g. 5265877635-12345).
absl::Status ValidateInternalId(absl::string_view internal_id, absl::string_view field);

// TNipVatUE: a valid NIP, '-', an EU VAT number in the per-country form of
// the XSD (e.g. 5265877635-ATU12345678).
absl::Status ValidateNipVatUe(absl::string_view nip_vat_ue, absl::string_view field);

// TPeppolId: P[A-Z]{2}[0-9]{6} (e.g. PPL123456).
absl::Status ValidatePeppolId(absl::string_view peppol_id, absl::string_view field);

// Ip4Address: dotted quad, each octet 0..255 without leading zeros
// (the v2.1 pattern; v2.0 means the same).
absl::Status ValidateIp4Address(absl::string_view address, absl::string_view field);

// Ip4Range: "a.b.c.d-e.f.g.h", both ends valid addresses and the first not
// above the last (the XSD does not check the order; a reversed range is
// refused as a caller error).
absl::Status ValidateIp4Range(absl::string_view range, absl::string_view field);

// Ip4Mask: "a.b.c.d/n", n in 0..32 without leading zeros.
absl::Status ValidateIp4Mask(absl::string_view mask, absl::string_view field);

}  // namespace ksef

#endif  // KSEF_FORMATS_AUTH_FIELDS_H_
