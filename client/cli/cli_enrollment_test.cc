// RunCli against the in-process fakes: the enrollment commands (csr,
// import-cert, self-signed, import-key), list-keys --expiring-within, the key
// fields that came with enrollment (origin, certificate details), and the
// local test CA (test-ca, no server involved).
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "client/cli/cli.h"
#include "client/cli/cli_test_util.h"
#include "client/file_util.h"
#include "client/testing/fake_server.h"
#include "formats/cert/certificate_info.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ksef::client {
namespace {

namespace v1 = ::ksef::hsm::v1;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;
using Fake = testing::FakeEnrollmentService;

using Result = testing::CliResult;

class CliEnrollmentTest : public ::testing::Test {
 protected:
  void SetUp() override { server_.keys().AddKey(testing::FakeKeyService::MakeKey("acme-auth-1")); }

  Result Cli(std::vector<std::string> args, const std::string& stdin_text = "") {
    return testing::RunCliWithEnv(args, testing::PlaintextEnv(server_.address()), stdin_text);
  }

  // Writes `content` to a file in the test's temporary directory.
  static std::string File(const std::string& name, const std::string& content, mode_t mode = 0600) {
    std::string path = ::testing::TempDir() + "/cli_enrollment_test_" + name;
    EXPECT_TRUE(WriteWholeFile(path, content, "test file").ok());
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return path;
  }

  static std::string Read(const std::string& path) {
    absl::StatusOr<std::string> content = ReadWholeFile(path, "test file");
    EXPECT_TRUE(content.ok()) << content.status();
    return content.value_or("");
  }

  testing::FakeServer server_;
};

constexpr char kEnrollmentData[] =
    "{\"commonName\":\"Acme Sp. z o.o.\",\"countryName\":\"PL\",\n"
    " \"organizationName\":\"Acme Sp. z o.o.\",\"organizationIdentifier\":\"VATPL-5260250274\"}\n";

TEST_F(CliEnrollmentTest, CsrFromEnrollmentDataPrintsTheEnrollmentBody) {
  std::string data = File("data.json", kEnrollmentData);
  Result r = Cli({"csr", "acme-auth-1", "--enrollment-data", data, "--certificate-name",
                  "Acme auth 1", "--valid-from", "2025-07-01T00:00:00Z"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, std::string(Fake::kEnrollmentJson) + "\n");
  EXPECT_THAT(r.err, IsEmpty());
  v1::GenerateCsrRequest request = server_.enrollment().last_csr_request();
  EXPECT_EQ(request.name(), "keys/acme-auth-1");
  EXPECT_EQ(request.enrollment_case(), v1::GenerateCsrRequest::kEnrollmentDataJson);
  EXPECT_EQ(request.enrollment_data_json(), kEnrollmentData);  // as is, not parsed
  EXPECT_EQ(request.certificate_name(), "Acme auth 1");
  EXPECT_EQ(request.valid_from().seconds(), 1751328000);
}

TEST_F(CliEnrollmentTest, CsrFormats) {
  std::string data = File("data2.json", kEnrollmentData);
  std::string pem = ::testing::TempDir() + "/cli_enrollment_test_out.pem";
  Result r =
      Cli({"csr", "acme-auth-1", "--enrollment-data", data, "--format", "pem", "--out", pem});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(Read(pem), Fake::kCsrPem);
  EXPECT_THAT(r.out, StartsWith("wrote "));
  EXPECT_THAT(r.out, HasSubstr(pem));

  r = Cli({"csr", "acme-auth-1", "--enrollment-data", data, "--format", "base64"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, std::string(Fake::kCsrBase64) + "\n");

  r = Cli({"csr", "acme-auth-1", "--enrollment-data", data, "--format", "pem"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, Fake::kCsrPem);

  std::string der = ::testing::TempDir() + "/cli_enrollment_test_out.der";
  r = Cli({"csr", "acme-auth-1", "--enrollment-data", data, "--format=der", "--out", der});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(Read(der), std::string(Fake::kCsrDer, sizeof(Fake::kCsrDer) - 1));

  // --json: the whole reply.
  r = Cli({"--json", "csr", "acme-auth-1", "--enrollment-data", data});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"csr_base64\": \"MIIBCt6tvu8=\""));
  EXPECT_THAT(r.out, HasSubstr("\"enrollment_request_json\""));
}

TEST_F(CliEnrollmentTest, CsrFromSubjectOptions) {
  Result r = Cli({"csr", "keys/acme-auth-1", "--common-name", "Jan Kowalski", "--country-name",
                  "PL", "--given-name", "Jan", "--surname", "Kowalski", "--serial-number",
                  "PNOPL-44051401359", "--format", "base64"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  v1::GenerateCsrRequest request = server_.enrollment().last_csr_request();
  ASSERT_EQ(request.enrollment_case(), v1::GenerateCsrRequest::kEnrollmentData);
  const v1::EnrollmentData& data = request.enrollment_data();
  EXPECT_EQ(data.common_name(), "Jan Kowalski");
  EXPECT_EQ(data.country_name(), "PL");
  EXPECT_EQ(data.given_name(), "Jan");
  EXPECT_EQ(data.surname(), "Kowalski");
  EXPECT_EQ(data.serial_number(), "PNOPL-44051401359");
  EXPECT_FALSE(data.has_organization_name());
  EXPECT_FALSE(data.has_organization_identifier());
  EXPECT_FALSE(data.has_unique_identifier());
  EXPECT_FALSE(request.has_valid_from());
}

TEST_F(CliEnrollmentTest, CsrUsageErrorsComeBeforeAnyCall) {
  std::string data = File("data3.json", kEnrollmentData);
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"csr"}, "csr: missing NAME"},
           {{"csr", "acme-auth-1"}, "missing the subject"},
           {{"csr", "acme-auth-1", "--enrollment-data", data, "--common-name", "X"}, "not both"},
           {{"csr", "acme-auth-1", "--common-name", "X"}, "missing --country-name"},
           {{"csr", "acme-auth-1", "--enrollment-data", data, "--format", "xml"},
            "invalid --format \"xml\""},
           {{"csr", "acme-auth-1", "--enrollment-data", data, "--format", "der"}, "give --out"},
           {{"csr", "acme-auth-1", "--enrollment-data", data, "--valid-from", "tomorrow"},
            "invalid --valid-from"},
           {{"csr", "acme-auth-1", "--enrollment-data", "/nonexistent/data.json"},
            "cannot read enrollment data file /nonexistent/data.json"},
       }) {
    Result r = Cli(c.args);
    EXPECT_EQ(r.exit_status, 2) << c.message;
    EXPECT_THAT(r.err, HasSubstr(c.message));
    EXPECT_THAT(r.out, IsEmpty());
  }
  EXPECT_EQ(server_.enrollment().calls(), 0);
}

TEST_F(CliEnrollmentTest, ImportCert) {
  std::string der("\x30\x82\x00\x00\xff\x00\x01", 7);  // bytes are passed as they are
  std::string cert = File("cert.der", der);
  Result r = Cli({"import-cert", "acme-auth-1", "--cert", cert, "--serial", "01F20A5D352AE590"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  v1::ImportCertificateRequest request = server_.enrollment().last_import_cert_request();
  EXPECT_EQ(request.name(), "keys/acme-auth-1");
  EXPECT_EQ(request.certificate(), der);
  EXPECT_EQ(request.certificate_serial_number(), "01F20A5D352AE590");
  EXPECT_THAT(r.out, StartsWith("name:"));
  EXPECT_THAT(r.out, HasSubstr("keys/acme-auth-1"));
  EXPECT_THAT(r.out, ContainsRegex("origin: +generated\n"));

  r = Cli({"import-cert", "acme-auth-1"});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_THAT(r.err, HasSubstr("missing --cert"));
}

TEST_F(CliEnrollmentTest, SelfSigned) {
  Result r =
      Cli({"self-signed", "acme-auth-1", "--form", "personal", "--common-name", "Jan Kowalski",
           "--given-name", "Jan", "--surname", "Kowalski", "--validity-days", "30"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  v1::IssueSelfSignedCertificateRequest request = server_.enrollment().last_self_signed_request();
  EXPECT_EQ(request.name(), "keys/acme-auth-1");
  EXPECT_EQ(request.form(), v1::IssueSelfSignedCertificateRequest::PERSONAL);
  EXPECT_EQ(request.common_name(), "Jan Kowalski");
  EXPECT_EQ(request.given_name(), "Jan");
  EXPECT_EQ(request.surname(), "Kowalski");
  EXPECT_EQ(request.organization_name(), "");
  EXPECT_EQ(request.validity_days(), 30);
  EXPECT_THAT(r.out, HasSubstr("issuer:              CN=Jan Kowalski\n"));

  r = Cli({"self-signed", "acme-auth-1", "--form", "SEAL", "--common-name", "Acme",
           "--organization-name", "Acme Sp. z o.o."});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  request = server_.enrollment().last_self_signed_request();
  EXPECT_EQ(request.form(), v1::IssueSelfSignedCertificateRequest::SEAL);
  EXPECT_EQ(request.organization_name(), "Acme Sp. z o.o.");
  EXPECT_EQ(request.validity_days(), 0);

  int calls = server_.enrollment().calls();
  EXPECT_EQ(
      Cli({"self-signed", "acme-auth-1", "--form", "company", "--common-name", "A"}).exit_status,
      2);
  r = Cli({"self-signed", "acme-auth-1", "--common-name", "A"});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_THAT(r.err, HasSubstr("missing --form"));
  r = Cli({"self-signed", "acme-auth-1", "--form", "seal", "--common-name", "A", "--surname", "B"});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_EQ(server_.enrollment().calls(), calls);

  r = Cli({"self-signed", "--help"});
  EXPECT_THAT(r.out, HasSubstr("ONLY FOR KSeF's TEST ENVIRONMENT"));
}

TEST_F(CliEnrollmentTest, ImportKeyWithPasswordFile) {
  std::string key = File("acme.key", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nxyz\n");
  std::string cert = File("acme.crt", "-----BEGIN CERTIFICATE-----\nabc\n");
  std::string password = File("acme.pass", "s3cret pass\n", 0600);
  Result r = Cli({"import-key", "--subject-type", "nip", "--subject", "5260250274", "--purpose",
                  "offline", "--key", key, "--cert", cert, "--password-file", password, "--key-id",
                  "keys/acme-offline-1"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  v1::ImportKeyRequest request = server_.enrollment().last_import_key_request();
  EXPECT_EQ(request.key_id(), "acme-offline-1");
  EXPECT_EQ(request.subject().type(), v1::KsefSubject::NIP);
  EXPECT_EQ(request.subject().value(), "5260250274");
  EXPECT_EQ(request.purpose(), v1::OFFLINE);
  EXPECT_EQ(request.private_key(), "-----BEGIN ENCRYPTED PRIVATE KEY-----\nxyz\n");
  EXPECT_EQ(request.certificate(), "-----BEGIN CERTIFICATE-----\nabc\n");
  EXPECT_EQ(request.password(), "s3cret pass");
  EXPECT_THAT(r.out, ContainsRegex("origin: +imported\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("s3cret")));
}

TEST_F(CliEnrollmentTest, ImportKeyRefusesAReadablePasswordFile) {
  std::string key = File("b.key", "key");
  std::string cert = File("b.crt", "cert");
  std::string password = File("b.pass", "s3cret\n", 0644);
  Result r = Cli({"import-key", "--subject-type", "nip", "--subject", "5260250274", "--purpose",
                  "offline", "--key", key, "--cert", cert, "--password-file", password});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_THAT(r.err, HasSubstr("chmod 600"));
  EXPECT_THAT(r.err, Not(HasSubstr("s3cret")));
  EXPECT_EQ(server_.enrollment().calls(), 0);
}

TEST_F(CliEnrollmentTest, ImportKeyWithPasswordFromStdin) {
  std::string key = File("c.key", "key");
  std::string cert = File("c.crt", "cert");
  Result r = Cli({"import-key", "--subject-type", "pesel", "--subject", "44051401359", "--purpose",
                  "authentication", "--key", key, "--cert", cert, "--password-stdin"},
                 "from stdin\r\nsecond line\n");
  ASSERT_EQ(r.exit_status, 0) << r.err;
  v1::ImportKeyRequest request = server_.enrollment().last_import_key_request();
  EXPECT_EQ(request.password(), "from stdin");
  EXPECT_EQ(request.key_id(), "");

  // No password option: an empty password (unencrypted key file).
  r = Cli({"import-key", "--subject-type", "pesel", "--subject", "44051401359", "--purpose",
           "authentication", "--key", key, "--cert", cert});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(server_.enrollment().last_import_key_request().password(), "");
}

TEST_F(CliEnrollmentTest, ImportKeyUsageErrors) {
  std::string key = File("d.key", "key");
  std::string cert = File("d.crt", "cert");
  std::string password = File("d.pass", "pw\n", 0600);
  std::vector<std::string> base = {"import-key", "--subject-type", "nip",    "--subject",
                                   "5260250274", "--purpose",      "offline"};
  auto with = [&base](std::vector<std::string> more) {
    std::vector<std::string> args = base;
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  // There is no --password: passwords do not belong on command lines.
  Result r = Cli(with({"--key", key, "--cert", cert, "--password", "pw"}));
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown option --password"));

  r = Cli(with({"--key", key, "--cert", cert, "--password-file", password, "--password-stdin"}),
          "pw\n");
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_THAT(r.err, HasSubstr("not both"));

  r = Cli(with({"--key", key, "--cert", cert, "--password-stdin"}), "");
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_THAT(r.err, HasSubstr("standard input ended"));

  r = Cli(with({"--cert", cert}));
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_THAT(r.err, HasSubstr("missing --key"));

  r = Cli(with({"--key", "/nonexistent/x.key", "--cert", cert}));
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_THAT(r.err, HasSubstr("cannot read private key file /nonexistent/x.key"));
  EXPECT_EQ(server_.enrollment().calls(), 0);
}

TEST_F(CliEnrollmentTest, ListKeysExpiringWithin) {
  Result r = Cli({"list-keys", "--expiring-within", "30d"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  std::vector<v1::ListKeysRequest> requests = server_.keys().list_requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].expiring_within().seconds(), 2592000);
  EXPECT_EQ(requests[0].expiring_within().nanos(), 0);

  ASSERT_EQ(Cli({"list-keys", "--expiring-within=720h"}).exit_status, 0);
  EXPECT_EQ(server_.keys().list_requests().back().expiring_within().seconds(), 2592000);

  ASSERT_EQ(Cli({"list-keys"}).exit_status, 0);
  EXPECT_FALSE(server_.keys().list_requests().back().has_expiring_within());

  r = Cli({"list-keys", "--expiring-within", "soon"});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_THAT(r.err, HasSubstr("invalid --expiring-within \"soon\""));
}

TEST_F(CliEnrollmentTest, GetKeyShowsOriginAndCertificateDetails) {
  v1::Key key = testing::FakeKeyService::MakeKey("jan-1");
  key.set_origin(v1::IMPORTED);
  key.mutable_certificate()->set_serial_number("01F20A5D352AE590");
  key.mutable_certificate()->set_serial_number_decimal("140185933842146704");
  key.mutable_certificate()->set_signature_algorithm("ecdsa-with-SHA512");
  server_.keys().AddKey(key);
  Result r = Cli({"get-key", "jan-1"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  for (const char* line : {
           "origin:                   imported\n",
           "  subject:                CN=jan-1,O=Acme\n",
           "  issuer:                 CN=KSeF Test CA\n",
           "  serial_number:          01F20A5D352AE590\n",
           "  serial_number_decimal:  140185933842146704\n",
           "  sha256_fingerprint:     "
           "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
           "  not_before:             2025-01-01T12:00:00Z\n",
           "  not_after:              2027-01-01T12:00:00Z\n",
           "  signature_algorithm:    ecdsa-with-SHA512\n",
       }) {
    EXPECT_THAT(r.out, HasSubstr(line));
  }
  // An older server: no origin, no decimal serial or algorithm.
  r = Cli({"get-key", "acme-auth-1"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("origin:                unspecified\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("serial_number_decimal")));
  EXPECT_THAT(r.out, Not(HasSubstr("signature_algorithm")));
}

// A PEM CSR for a fresh EC P-256 key, made with OpenSSL directly.
std::string MakeCsrPem() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509_REQ* req = X509_REQ_new();
  X509_NAME* name = X509_REQ_get_subject_name(req);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("Acme"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "C", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("PL"),
                             -1, -1, 0);
  X509_REQ_set_pubkey(req, key);
  X509_REQ_sign(req, key, EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_REQ(bio, req);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  X509_REQ_free(req);
  EVP_PKEY_free(key);
  return pem;
}

TEST_F(CliEnrollmentTest, TestCaIssuesLocally) {
  std::string dir = ::testing::TempDir() + "/cli_enrollment_test_ca";
  std::filesystem::remove_all(dir);
  Result r = Cli({"test-ca", "cert", "--ca-dir", dir});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("-----BEGIN CERTIFICATE-----\n"));
  std::string ca_pem = r.out;
  r = Cli({"test-ca", "cert", "--ca-dir", dir});  // the same CA the second time
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, ca_pem);

  std::string csr = File("test-ca.csr.pem", MakeCsrPem());
  std::string out = ::testing::TempDir() + "/cli_enrollment_test_issued.pem";
  r = Cli({"test-ca", "issue", "--ca-dir", dir, "--csr", csr, "--type", "offline", "--not-before",
           "2024-01-01T00:00:00Z", "--validity-days", "10", "--out", out});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("NOT KSeF"));
  std::string pem = Read(out);
  EXPECT_THAT(pem, StartsWith("-----BEGIN CERTIFICATE-----\n"));
  absl::StatusOr<std::string> der = cert::DecodeCertificateInput(pem);
  ASSERT_TRUE(der.ok()) << der.status();
  absl::StatusOr<cert::CertificateInfo> info = cert::ParseCertificateDer(*der);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_THAT(info->issuer, HasSubstr("NOT KSeF"));
  EXPECT_THAT(info->subject, HasSubstr("CN=Acme"));
  EXPECT_TRUE(info->non_repudiation);
  EXPECT_EQ(info->not_before, absl::FromUnixSeconds(1704067200));
  EXPECT_EQ(info->not_after - info->not_before, absl::Hours(240));

  // Garbage instead of a CSR: the CA says no (exit 1).
  r = Cli({"test-ca", "issue", "--ca-dir", dir, "--csr", File("bad.csr", "not a csr"), "--type",
           "authentication", "--out", out});
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_EQ(server_.enrollment().calls(), 0);
  // The count, not the requests: printing a vector of protobuf messages
  // instantiates gtest's ProtobufPrinter ("\n" + DebugString()), which GCC 12
  // at -O3 flags with a -Wrestrict false positive in libstdc++ (GCC PR 105329).
  EXPECT_EQ(server_.keys().list_requests().size(), 0u);
}

TEST_F(CliEnrollmentTest, TestCaUsage) {
  for (const auto& [args, message] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"test-ca"}, "test-ca: missing issue|cert"},
           {{"test-ca", "sign", "--ca-dir", "d"}, "unknown subcommand \"sign\""},
           {{"test-ca", "cert"}, "missing --ca-dir"},
           {{"test-ca", "cert", "--ca-dir", "d", "--csr", "x"}, "--csr does not apply"},
           {{"test-ca", "issue", "--ca-dir", "d", "--csr", "x", "--type", "offline"},
            "missing --out"},
           {{"test-ca", "issue", "--ca-dir", "d", "--csr", "x", "--type", "seal", "--out", "o"},
            "invalid --type \"seal\""},
       }) {
    Result r = Cli(args);
    EXPECT_EQ(r.exit_status, 2) << message;
    EXPECT_THAT(r.err, HasSubstr(message));
  }
  Result r = Cli({"test-ca", "--help"});
  EXPECT_THAT(r.out, HasSubstr("LOCAL TEST CA - NOT KSeF: for demos and tests only"));
}

}  // namespace
}  // namespace ksef::client
