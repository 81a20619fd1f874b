// TestCa: a LOCAL TEST CA, NOT KSeF. It issues KSeF-like certificates from
// CSRs (ksef.md 4.1: 8-byte serial, keyUsage by type, basicConstraints
// CA:FALSE, SKI/AKI, two-year validity by default) so the demo and the tests
// can go from a key to an active certificate without KSeF. Its issuer name
// says so: "C=PL, O=ksef-hsm, OU=LOCAL TEST CA - NOT KSeF,
// CN=ksef-hsm local test CA (NOT KSeF)". Its own key is an in-memory EC
// P-256 key (a file when persisted); never use it for anything real.
// Thread-compatible (one caller at a time).
#ifndef KSEF_FORMATS_CERT_TEST_CA_H_
#define KSEF_FORMATS_CERT_TEST_CA_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/secure_string.h"
#include "crypto/software_signer.h"
#include "formats/cert/certificate_info.h"

namespace ksef::cert {

class TestCa {
 public:
  // Loads the CA from `dir` (test-ca-key.pem, test-ca-cert.pem) or, if they
  // do not exist, creates both (the directory too; key file mode 0600).
  static absl::StatusOr<std::unique_ptr<TestCa>> OpenOrCreate(const std::string& dir);
  // A fresh CA that lives only in memory (tests).
  static absl::StatusOr<std::unique_ptr<TestCa>> CreateInMemory();

  // Issues a certificate for the CSR (DER, PEM or Base64 DER). The CSR's
  // signature must verify; its subject and public key are copied. Validity
  // [not_before, not_before + validity]; validity must be positive, but
  // not_before may lie in the past (expired certificates for tests).
  // INVALID_ARGUMENT for a bad CSR.
  absl::StatusOr<std::string> Issue(absl::string_view csr, CertificateType type,
                                    absl::Time not_before,
                                    absl::Duration validity = absl::Hours(24 * 730));

  // The CA's own certificate (DER) and public key (SPKI DER).
  const std::string& certificate_der() const { return certificate_der_; }
  const std::string& signer_public_key_der() const { return signer_->public_key_der(); }

 private:
  TestCa() = default;
  std::unique_ptr<crypto::SoftwareSigner> signer_;
  std::string certificate_der_;
  std::string name_der_;
  SecureString key_pem_;  // written to test-ca-key.pem on creation
};

}  // namespace ksef::cert

#endif  // KSEF_FORMATS_CERT_TEST_CA_H_
