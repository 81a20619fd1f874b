// Test-only: the values that must break name_rules.h for one attribute, each
// with the text the refusal must contain. Shared by the CSR, self-signed
// certificate and enrollment tests so every field meets the same list.
#ifndef KSEF_FORMATS_CSR_NAME_RULES_TESTING_H_
#define KSEF_FORMATS_CSR_NAME_RULES_TESTING_H_

#include <string>
#include <vector>

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "crypto/software_signer.h"
#include "formats/csr/enrollment_data.h"
#include "formats/csr/name_rules.h"

namespace ksef::csr::testing {

// A software EC P-256 signer that counts its signatures, so a test can show
// that a refused value signs nothing.
class CountingSigner : public crypto::Signer {
 public:
  CountingSigner() : inner_(*crypto::SoftwareSigner::Generate(crypto::KeyAlgorithm::kEcP256)) {}
  crypto::KeyAlgorithm algorithm() const override { return inner_->algorithm(); }
  const std::string& public_key_der() const override { return inner_->public_key_der(); }
  absl::StatusOr<std::string> SignDigest(crypto::SignatureScheme scheme,
                                         absl::string_view digest) const override {
    ++calls;
    return inner_->SignDigest(scheme, digest);
  }
  mutable int calls = 0;

 private:
  std::unique_ptr<crypto::SoftwareSigner> inner_;
};

struct BadNameValue {
  std::string what;  // for test output
  std::string value;
  std::string needle;  // must appear in the message
  bool empty = false;  // the empty value (only a failure for required fields)
};

// Control characters sit at character 2 of a two-character value, so that
// countryName (exactly 2) fails on them and not on its length.
inline std::vector<BadNameValue> BadNameValues(NameAttribute attribute) {
  const size_t max = RuleOf(attribute).max_chars;
  const bool country = attribute == NameAttribute::kCountryName;
  const char* lead = country ? "P" : "A";
  std::vector<BadNameValue> out = {
      {"NUL", std::string(lead) + std::string(1, '\0'), "(U+0000) at position 2"},
      {"newline", absl::StrCat(lead, "\n"), "(U+000A) at position 2"},
      {"carriage return", absl::StrCat(lead, "\r"), "(U+000D) at position 2"},
      {"TAB", absl::StrCat(lead, "\t"), "(U+0009) at position 2"},
      {"DEL", absl::StrCat(lead, "\x7f"), "(U+007F) at position 2"},
      {"C1 control", absl::StrCat(lead, "\xC2\x85"), "(U+0085) at position 2"},
      {"invalid UTF-8", absl::StrCat(lead, "\xFF"), "not valid UTF-8"},
      {"one over the bound", std::string(max + 1, lead[0]),
       absl::StrCat(max + 1, " characters; at most ", max, " allowed")},
      {"70000 characters", std::string(70000, lead[0]),
       absl::StrCat("70000 characters; at most ", max, " allowed")},
  };
  out.push_back({"empty", "", "", true});
  return out;
}

// The longest accepted value: the bound in characters, multibyte where the
// attribute is a UTF8String (64 x 'Ż' is 128 bytes).
inline std::string LongestValidValue(NameAttribute attribute) {
  const NameAttributeRule& rule = RuleOf(attribute);
  if (attribute == NameAttribute::kCountryName) return "PL";
  if (attribute == NameAttribute::kSerialNumber) return std::string(rule.max_chars, 'A');
  std::string out;
  for (size_t i = 0; i < rule.max_chars; ++i) out += "Ż";
  return out;
}

inline void SetField(EnrollmentData& d, NameAttribute a, const std::string& value) {
  switch (a) {
    case NameAttribute::kCommonName:
      d.common_name = value;
      break;
    case NameAttribute::kSurname:
      d.surname = value;
      break;
    case NameAttribute::kGivenName:
      d.given_name = value;
      break;
    case NameAttribute::kOrganizationName:
      d.organization_name = value;
      break;
    case NameAttribute::kOrganizationIdentifier:
      d.organization_identifier = value;
      break;
    case NameAttribute::kCountryName:
      d.country_name = value;
      break;
    case NameAttribute::kSerialNumber:
      d.serial_number = value;
      break;
    case NameAttribute::kUniqueIdentifier:
      d.unique_identifier = value;
      break;
  }
}

// Every field set (a mix of the personal and seal forms; the builder allows it).
inline EnrollmentData FullEnrollmentData() {
  EnrollmentData d;
  d.common_name = "Jan Kowalski";
  d.surname = "Kowalski";
  d.given_name = "Jan";
  d.organization_name = "Firma Kowalski Sp. z o.o.";
  d.organization_identifier = "VATPL-5265877635";
  d.country_name = "PL";
  d.serial_number = "TINPL-5265877635";
  d.unique_identifier = "d9d22724-4696-460c-9e5e-b9e3aafb0af3";
  return d;
}

// `d` as KSeF's JSON: '"', '\\' and C0 controls escaped (\u00XX), every
// other byte as is, so invalid UTF-8 reaches the parser raw.
inline std::string EnrollmentDataToJson(const EnrollmentData& d) {
  std::string json = "{";
  for (NameAttribute a : kAllNameAttributes) {
    const std::string* v = FieldValue(d, a);
    if (v == nullptr) continue;
    absl::StrAppend(&json, json.size() > 1 ? "," : "", "\"", RuleOf(a).json_key, "\":\"");
    for (char c : *v) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        json += '\\';
        json += c;
      } else if (u < 0x20) {
        json += absl::StrFormat("\\u%04x", u);
      } else {
        json += c;
      }
    }
    json += '"';
  }
  return json + "}";
}

}  // namespace ksef::csr::testing

#endif  // KSEF_FORMATS_CSR_NAME_RULES_TESTING_H_
