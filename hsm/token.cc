#include "hsm/token.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "hsm/ck_status.h"

namespace ksef::hsm {

absl::StatusOr<std::unique_ptr<Token>> Token::Open(Module* module, TokenSelector selector,
                                                   SecureString pin, int pool_size) {
  if (selector.label.empty() && selector.serial.empty()) {
    return absl::InvalidArgumentError("set token_label or token_serial to choose the token");
  }
  if (pin.empty()) return absl::InvalidArgumentError("the token PIN is empty");
  std::unique_ptr<Token> token(new Token(module, std::move(selector), std::move(pin), pool_size));
  absl::MutexLock lock(&token->recover_mu_);
  auto slot = token->FindSlot();
  if (!slot.ok()) return slot.status();
  token->slot_ = *slot;
  token->pool_ = std::make_unique<SessionPool>(module->f(), *slot, pool_size);
  absl::Status s = token->Login();
  if (!s.ok()) return s;
  return token;
}

Token::Token(Module* module, TokenSelector selector, SecureString pin, int /*pool_size*/)
    : module_(module), selector_(std::move(selector)), pin_(std::move(pin)) {}

Token::~Token() {
  pool_.reset();
  if (anchor_ != CK_INVALID_HANDLE) f()->C_CloseSession(anchor_);
}

absl::StatusOr<CK_SLOT_ID> Token::FindSlot() {
  CK_ULONG count = 0;
  CK_RV rv = f()->C_GetSlotList(CK_TRUE, nullptr, &count);
  if (rv != CKR_OK) return CkStatus(rv, "C_GetSlotList");
  std::vector<CK_SLOT_ID> slots(count);
  rv = f()->C_GetSlotList(CK_TRUE, slots.data(), &count);
  if (rv != CKR_OK) return CkStatus(rv, "C_GetSlotList");
  slots.resize(count);
  std::vector<std::string> seen;
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info;
    if (f()->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    if (!(info.flags & CKF_TOKEN_INITIALIZED)) continue;
    std::string label = TrimPadded(info.label, sizeof(info.label));
    std::string serial = TrimPadded(info.serialNumber, sizeof(info.serialNumber));
    seen.push_back(absl::StrCat("'", label, "' (serial ", serial, ")"));
    bool match = selector_.serial.empty() ? label == selector_.label : serial == selector_.serial;
    if (!match) continue;
    if (info.flags & CKF_USER_PIN_LOCKED) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the user PIN of token '", label, "' is locked; the security officer must unlock it"));
    }
    label_ = label;
    serial_ = serial;
    return slot;
  }
  std::string wanted = selector_.serial.empty() ? absl::StrCat("label '", selector_.label, "'")
                                                : absl::StrCat("serial '", selector_.serial, "'");
  std::string found = seen.empty() ? "none" : absl::StrJoin(seen, ", ");
  return absl::NotFoundError(absl::StrCat("no initialized token with ", wanted, " in module ",
                                          module_->path(), "; tokens found: ", found));
}

absl::Status Token::Login() {
  CK_SESSION_HANDLE anchor = CK_INVALID_HANDLE;
  CK_RV rv = f()->C_OpenSession(slot_, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr,
                                &anchor);
  if (rv != CKR_OK) return CkStatus(rv, "C_OpenSession");
  absl::string_view pin = pin_.reveal();
  rv = f()->C_Login(anchor, CKU_USER,
                    reinterpret_cast<CK_UTF8CHAR*>(const_cast<char*>(pin.data())), pin.size());
  if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
    f()->C_CloseSession(anchor);
    if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_PIN_EXPIRED ||
        rv == CKR_PIN_INVALID || rv == CKR_PIN_LEN_RANGE) {
      pin_failed_ = true;
    }
    return CkStatus(rv, absl::StrCat("C_Login to token '", label_, "'"));
  }
  anchor_ = anchor;
  usable_ = true;
  return absl::OkStatus();
}

absl::StatusOr<SessionLease> Token::Lease(absl::Duration timeout) {
  if (!usable_) {
    return absl::UnavailableError(absl::StrCat(
        "token '", label_, "' is not usable right now; the service is reconnecting"));
  }
  auto lease = pool_->Acquire(timeout);
  if (!lease.ok() && absl::IsUnavailable(lease.status())) ReportLost();
  return lease;
}

void Token::ReportLost() {
  if (usable_.exchange(false)) LogWarning("token '", label_, "' lost; will reconnect");
}

absl::Status Token::EnsureLoggedIn(CK_SESSION_HANDLE session) {
  CK_SESSION_INFO info;
  CK_RV rv = f()->C_GetSessionInfo(session, &info);
  if (rv == CKR_OK &&
      (info.state == CKS_RW_USER_FUNCTIONS || info.state == CKS_RO_USER_FUNCTIONS)) {
    return absl::OkStatus();
  }
  ReportLost();
  return absl::UnavailableError(absl::StrCat(
      "token '", label_, "' logged the service out; the service is logging in again"));
}

absl::Status Token::CheckAndRecover() {
  absl::MutexLock lock(&recover_mu_);
  if (pin_failed_) {
    return absl::FailedPreconditionError(
        "the token PIN was refused; fix pin_file and restart (not retried, to avoid locking "
        "the token)");
  }
  if (usable_) {
    CK_SESSION_INFO info;
    CK_RV rv = f()->C_GetSessionInfo(anchor_, &info);
    bool logged_in = rv == CKR_OK && (info.state == CKS_RW_USER_FUNCTIONS ||
                                      info.state == CKS_RO_USER_FUNCTIONS);
    if (logged_in) return absl::OkStatus();
    ReportLost();
  }
  // Start over: every session and handle from before is suspect.
  if (anchor_ != CK_INVALID_HANDLE) {
    f()->C_CloseSession(anchor_);
    anchor_ = CK_INVALID_HANDLE;
  }
  auto slot = FindSlot();
  if (!slot.ok()) return absl::UnavailableError(slot.status().message());
  slot_ = *slot;
  pool_->Reset(slot_);
  ++generation_;
  absl::Status s = Login();
  if (!s.ok()) return s;
  LogInfo("token '", label_, "' reconnected and logged in");
  return absl::OkStatus();
}

}  // namespace ksef::hsm
