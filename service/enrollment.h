// Enrollment: from a token key to the KSeF certificate beside it (ksef.md
// section 4). Builds CSRs signed in the token, checks and stores issued
// certificates, issues self-signed certificates for KSeF's TEST environment
// and imports bring-your-own key pairs. No gRPC types; EnrollmentServiceImpl
// adapts it. All state changes go through KeyManager.
// Thread-safe.
#ifndef KSEF_SERVICE_ENROLLMENT_H_
#define KSEF_SERVICE_ENROLLMENT_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/secure_string.h"
#include "formats/cert/self_signed.h"
#include "formats/csr/enrollment_data.h"
#include "service/key_manager.h"
#include "service/signing_gate.h"

namespace ksef::service {

struct CsrResult {
  std::string key_name;
  std::string der;
  std::string base64;        // "csr" of POST /certificates/enrollments
  std::string pem;
  std::string request_json;  // the whole POST /certificates/enrollments body
};

struct SelfSignedParams {
  cert::SelfSignedForm form = cert::SelfSignedForm::kPersonal;
  std::string common_name;
  std::string given_name;         // personal
  std::string surname;            // personal
  std::string organization_name;  // seal
  int validity_days = 0;          // 0 = 365; 1..730
};

class Enrollment {
 public:
  Enrollment(KeyManager* keys, KeyManager::Clock clock = absl::Now)
      : keys_(keys), clock_(std::move(clock)) {}

  // The values of a CSR request: every subject value is checked against
  // formats/csr/name_rules.h, certificate_name (if set) against KSeF's rule
  // (5-100 characters: letters incl. Polish, digits, space, '_', '-';
  // csr::ValidateCertificateName). INVALID_ARGUMENT naming the field as the
  // gRPC request does ("enrollment_data.common_name: ...", "certificate_name:
  // ..."). Callers run it before they take the permit, so a bad value is
  // reported before the key's state.
  static absl::Status CheckCsrRequest(const csr::EnrollmentData& data,
                                      const std::string& certificate_name);

  // CSR for the permit's key (SigningGate::PermitEnrollment) with `data` as
  // subject. certificate_name empty = "ksef-hsm {key_id}". Checks the values
  // again (CheckCsrRequest) before the key signs.
  absl::StatusOr<CsrResult> GenerateCsr(const SigningPermit& permit,
                                        const csr::EnrollmentData& data,
                                        const std::string& certificate_name,
                                        std::optional<absl::Time> valid_from);

  // `input`: Base64 DER, PEM, DER or the /certificates/retrieve JSON. The
  // certificate must carry the key's public key, the keyUsage of its purpose
  // and must not have expired; otherwise INVALID_ARGUMENT naming the failed
  // check, and the token is unchanged.
  absl::StatusOr<KeyRecord> ImportCertificate(absl::string_view name, absl::string_view input,
                                              absl::string_view serial_hex);

  // INVALID_ARGUMENT for validity_days outside 0 (= 365) or 1..730. Callers
  // run it before they take the permit.
  static absl::Status CheckSelfSignedRequest(const SelfSignedParams& params);

  // Self-signed TEST certificate in the form KSeF TEST accepts, signed in the
  // token by the permit's key (SigningGate::PermitEnrollment) and attached to
  // it; the identifier (NIP/PESEL) is the key's subject. Keys whose subject
  // is a certificate fingerprint, and SEAL for PESEL subjects, get
  // FAILED_PRECONDITION.
  absl::StatusOr<KeyRecord> IssueSelfSigned(const SigningPermit& permit,
                                            const SelfSignedParams& params);

  // Bring-your-own key: decodes `key_file` with `password`, refuses it unless
  // it matches the certificate in `certificate_input` (and that certificate
  // fits the purpose and has not expired), then imports both into the token.
  // The password is never logged or stored.
  absl::StatusOr<KeyRecord> ImportKey(const ImportKeyParams& params, absl::string_view key_file,
                                      const SecureString& password,
                                      absl::string_view certificate_input);

 private:
  KeyManager* const keys_;
  const KeyManager::Clock clock_;
};

}  // namespace ksef::service

#endif  // KSEF_SERVICE_ENROLLMENT_H_
