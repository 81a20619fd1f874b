// CK_RV -> absl::Status, in one table (design.md section 5).
// Internal to pkcs11/.
#ifndef KSEF_PKCS11_INTERNAL_CK_STATUS_H_
#define KSEF_PKCS11_INTERNAL_CK_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "pkcs11/internal/pkcs11_api.h"

namespace ksef::pkcs11 {

// "CKR_PIN_INCORRECT", or "CKR_0x000001A0" for values not in the table.
std::string CkrName(CK_RV rv);

// OkStatus for CKR_OK; otherwise a status whose code follows the table and
// whose message is "<operation>: <CKR_NAME> (<hint>)". Never includes a PIN.
absl::Status CkStatus(CK_RV rv, absl::string_view operation);

// True for return values after which a session (or the whole login) must be
// thrown away and re-established: device/session/token loss.
bool IsSessionLost(CK_RV rv);

}  // namespace ksef::pkcs11

#endif  // KSEF_PKCS11_INTERNAL_CK_STATUS_H_
