// Session: one leased PKCS#11 session as the callback of Token::WithSession
// sees it. Every CK_RV of a call on the session goes through Check(), the one
// place that decides what a failure means for the session and the token:
//   - a return value saying the session, the login or the device is gone
//     (IsSessionLost: SESSION_HANDLE_INVALID, SESSION_CLOSED, DEVICE_REMOVED,
//     TOKEN_NOT_PRESENT, DEVICE_ERROR, USER_NOT_LOGGED_IN,
//     CRYPTOKI_NOT_INITIALIZED, ...) marks the lease lost (dropped, never
//     closed) and reports the token lost for this lease's generation only,
//     so a stale failure never tears down a fresh login; the status is
//     UNAVAILABLE;
//   - any other failure is returned as mapped by CkStatus.
// Poison() is for an operation that failed half-way (C_Sign after
// C_SignInit, a find that could not be finalized): the session is closed
// rather than reused.
// Not thread-safe: used by one thread inside WithSession. Internal to pkcs11/.
#ifndef KSEF_PKCS11_INTERNAL_SESSION_H_
#define KSEF_PKCS11_INTERNAL_SESSION_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "pkcs11/internal/pkcs11_api.h"
#include "pkcs11/internal/session_pool.h"

namespace ksef::pkcs11 {

class Token;

class Session {
 public:
  Session(Token* token, SessionLease* lease) : token_(token), lease_(lease) {}
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  CK_FUNCTION_LIST* f() const;
  CK_SESSION_HANDLE handle() const { return lease_->get(); }
  Token* token() const { return token_; }

  // OK for CKR_OK; otherwise the status for `operation` (see above).
  absl::Status Check(CK_RV rv, absl::string_view operation);
  void Poison() { lease_->MarkPoisoned(); }

  // OK while the session is in a logged-in state. Otherwise the login is gone:
  // the lease is lost, the token reported lost, and UNAVAILABLE returned.
  // Call it before concluding that a private object is missing: a logged-out
  // session simply cannot see it.
  absl::Status EnsureLoggedIn();

 private:
  Token* const token_;
  SessionLease* const lease_;
};

}  // namespace ksef::pkcs11

#endif  // KSEF_PKCS11_INTERNAL_SESSION_H_
