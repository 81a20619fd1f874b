// Every subject field of the enrollment data, in both forms the API takes
// (structured, named as the gRPC fields; KSeF's JSON, named by its keys),
// against every kind of bad value; nothing is signed for a refused value.
// The longest valid values build a CSR that OpenSSL verifies.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/openssl_ptr.h"
#include "crypto/software_signer.h"
#include "formats/csr/csr_builder.h"
#include "formats/csr/enrollment_data.h"
#include "formats/csr/name_rules.h"
#include "formats/csr/name_rules_testing.h"
#include "formats/csr/subject_name.h"

namespace ksef::csr {
namespace {

using ::ksef::csr::testing::BadNameValue;
using ::ksef::csr::testing::BadNameValues;
using ::ksef::csr::testing::EnrollmentDataToJson;
using ::ksef::csr::testing::FullEnrollmentData;
using ::ksef::csr::testing::LongestValidValue;
using ::ksef::csr::testing::SetField;
using ::ksef::csr::testing::CountingSigner;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using X509ReqPtr = std::unique_ptr<X509_REQ, OpenSslDeleter<X509_REQ, X509_REQ_free>>;

bool Required(NameAttribute a) {
  return a == NameAttribute::kCommonName || a == NameAttribute::kCountryName;
}

TEST(SubjectValidationTest, FullDataIsValidInBothForms) {
  EXPECT_TRUE(ValidateEnrollmentData(FullEnrollmentData(), FieldNaming::kProtoFields, "x.").ok());
  auto parsed = ParseEnrollmentDataJson(EnrollmentDataToJson(FullEnrollmentData()));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->common_name, "Jan Kowalski");
  EXPECT_EQ(parsed->unique_identifier, FullEnrollmentData().unique_identifier);
}

TEST(SubjectValidationTest, StructuredFormRefusesEveryBadValueNamingTheField) {
  CountingSigner signer;
  for (NameAttribute a : kAllNameAttributes) {
    const std::string field = absl::StrCat("enrollment_data.", RuleOf(a).proto_field);
    for (const BadNameValue& bad : BadNameValues(a)) {
      if (bad.empty && !Required(a)) continue;  // an empty optional field is left out
      SCOPED_TRACE(absl::StrCat(field, " / ", bad.what));
      EnrollmentData d = FullEnrollmentData();
      SetField(d, a, bad.value);
      absl::Status s = ValidateEnrollmentData(d, FieldNaming::kProtoFields, "enrollment_data.");
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(std::string(s.message()), StartsWith(field + ": "));
      EXPECT_THAT(std::string(s.message()), HasSubstr(bad.empty ? "is empty" : bad.needle));
      EXPECT_LT(s.message().size(), 200u);
      // The builders refuse it too (the last gate), naming the JSON key.
      auto csr = BuildCsrDer(d, signer);
      EXPECT_EQ(csr.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(std::string(csr.status().message()),
                  StartsWith(absl::StrCat("subject ", RuleOf(a).json_key, ": ")));
    }
  }
  EXPECT_EQ(signer.calls, 0) << "nothing may be signed for a refused value";
}

TEST(SubjectValidationTest, JsonFormRefusesEveryBadValueNamingTheKey) {
  for (NameAttribute a : kAllNameAttributes) {
    const std::string key = RuleOf(a).json_key;
    for (const BadNameValue& bad : BadNameValues(a)) {
      if (bad.empty && !Required(a)) continue;
      SCOPED_TRACE(absl::StrCat(key, " / ", bad.what));
      EnrollmentData d = FullEnrollmentData();
      SetField(d, a, bad.value);
      auto parsed = ParseEnrollmentDataJson(EnrollmentDataToJson(d));
      EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
      const std::string message(parsed.status().message());
      EXPECT_THAT(message, StartsWith("enrollment data: "));
      if (bad.what == "NUL" || bad.what == "invalid UTF-8") {
        // The JSON reader refuses these itself, then names the member.
        EXPECT_THAT(message, HasSubstr(absl::StrCat("(in the value of \"", key, "\")")));
      } else {
        EXPECT_THAT(message, StartsWith(absl::StrCat("enrollment data: ", key)));
        if (!bad.empty) {
          EXPECT_THAT(message, HasSubstr(bad.needle));
        }
      }
      EXPECT_LT(message.size(), 200u);
    }
  }
}

TEST(SubjectValidationTest, LongestValuesAreAcceptedAndTheCsrVerifies) {
  EnrollmentData d;
  for (NameAttribute a : kAllNameAttributes) SetField(d, a, LongestValidValue(a));
  ASSERT_EQ(d.common_name.size(), 128u) << "64 x 'Ż' is 128 bytes";
  ASSERT_TRUE(ValidateEnrollmentData(d, FieldNaming::kProtoFields, "x.").ok());
  auto from_json = ParseEnrollmentDataJson(EnrollmentDataToJson(d));
  ASSERT_TRUE(from_json.ok()) << from_json.status();
  EXPECT_EQ(from_json->given_name, d.given_name);

  CountingSigner signer;
  auto der = BuildCsrDer(d, signer);
  ASSERT_TRUE(der.ok()) << der.status();
  EXPECT_EQ(signer.calls, 1);
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der->size())));
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(X509_REQ_verify(req.get(), X509_REQ_get0_pubkey(req.get())), 1);
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  ASSERT_EQ(X509_NAME_entry_count(name), 8);
  const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, 0));
  EXPECT_EQ(
      std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(cn)), ASN1_STRING_length(cn)),
      d.common_name);
}

TEST(SubjectValidationTest, EmptyOptionalFieldsAreLeftOutNotRefused) {
  EnrollmentData d;
  d.common_name = "Jan";
  d.country_name = "PL";
  d.surname = "";
  EXPECT_TRUE(ValidateEnrollmentData(d, FieldNaming::kProtoFields, "x.").ok());
  EXPECT_TRUE(BuildSubjectNameDer(d).ok());
}

}  // namespace
}  // namespace ksef::csr
