#include "pkcs11/internal/session.h"

#include "absl/strings/str_cat.h"
#include "pkcs11/internal/ck_status.h"
#include "pkcs11/internal/token.h"

namespace ksef::pkcs11 {

CK_FUNCTION_LIST* Session::f() const { return token_->f(); }

absl::Status Session::Check(CK_RV rv, absl::string_view operation) {
  if (rv == CKR_OK) return absl::OkStatus();
  absl::Status status = CkStatus(rv, operation);
  if (!IsSessionLost(rv)) return status;
  lease_->MarkLost();
  token_->ReportLost(lease_->generation());
  return absl::UnavailableError(absl::StrCat(status.message(), "; the service is reconnecting to token '",
                                             token_->label(), "'"));
}

absl::Status Session::EnsureLoggedIn() {
  CK_SESSION_INFO info;
  CK_RV rv = f()->C_GetSessionInfo(handle(), &info);
  if (rv != CKR_OK) return Check(rv, "C_GetSessionInfo");
  if (info.state == CKS_RW_USER_FUNCTIONS || info.state == CKS_RO_USER_FUNCTIONS) {
    return absl::OkStatus();
  }
  return Check(CKR_USER_NOT_LOGGED_IN, "C_GetSessionInfo (session state)");
}

}  // namespace ksef::pkcs11
