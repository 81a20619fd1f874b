#include "pkcs11/internal/token.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/encoding.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "pkcs11/internal/ck_status.h"
#include "pkcs11/internal/objects.h"

namespace ksef::pkcs11 {
namespace {

// How long a probe waits for a pooled session.
constexpr absl::Duration kProbeSessionWait = absl::Seconds(2);
// Recovery failures are logged at most this often (the monitor retries often).
constexpr absl::Duration kFailureLogInterval = absl::Seconds(30);

bool LoggedIn(const CK_SESSION_INFO& info) {
  return info.state == CKS_RW_USER_FUNCTIONS || info.state == CKS_RO_USER_FUNCTIONS;
}

}  // namespace

Token::ObjectLock::ObjectLock(absl::Mutex* mu, bool exclusive) : mu_(mu), exclusive_(exclusive) {
  if (exclusive_) {
    mu_->WriterLock();
  } else {
    mu_->ReaderLock();
  }
}

Token::ObjectLock::~ObjectLock() {
  if (exclusive_) {
    mu_->WriterUnlock();
  } else {
    mu_->ReaderUnlock();
  }
}

absl::StatusOr<std::unique_ptr<Token>> Token::Open(Module* module, TokenSelector selector,
                                                   SecureString pin, int pool_size) {
  if (selector.label.empty() && selector.serial.empty()) {
    return absl::InvalidArgumentError("set token_label or token_serial to choose the token");
  }
  if (pin.empty()) return absl::InvalidArgumentError("the token PIN is empty");
  std::unique_ptr<Token> token(new Token(module, std::move(selector), std::move(pin)));
  KSEF_ASSIGN_OR_RETURN(Found found, token->FindSlot(token->selector_));
  token->label_ = found.label;
  token->serial_ = found.serial;
  token->pool_ = std::make_unique<SessionPool>(module->f(), found.slot, pool_size);
  absl::MutexLock lock(&token->recover_mu_);
  token->slot_ = found.slot;
  token->pool_->Reset(found.slot, token->generation_.load());
  KSEF_RETURN_IF_ERROR(token->Login());
  token->usable_ = true;
  return token;
}

Token::Token(Module* module, TokenSelector selector, SecureString pin)
    : module_(module), selector_(std::move(selector)), pin_(std::move(pin)) {}

Token::~Token() {
  pool_.reset();
  absl::MutexLock lock(&recover_mu_);
  if (anchor_ != CK_INVALID_HANDLE) f()->C_CloseSession(anchor_);
}

absl::StatusOr<Token::Found> Token::FindSlot(const TokenSelector& selector) const {
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
    Found found{slot, TrimPadded(info.label, sizeof(info.label)),
                TrimPadded(info.serialNumber, sizeof(info.serialNumber))};
    seen.push_back(absl::StrCat("'", found.label, "' (serial ", found.serial, ")"));
    bool match = selector.serial.empty() ? found.label == selector.label
                                         : found.serial == selector.serial;
    if (!match) continue;
    if (info.flags & CKF_USER_PIN_LOCKED) {
      return absl::FailedPreconditionError(absl::StrCat("the user PIN of token '", found.label,
                                                        "' is locked; the security officer must "
                                                        "unlock it"));
    }
    return found;
  }
  std::string wanted = selector.serial.empty() ? absl::StrCat("label '", selector.label, "'")
                                               : absl::StrCat("serial '", selector.serial, "'");
  std::string listed = seen.empty() ? "none" : absl::StrJoin(seen, ", ");
  return absl::NotFoundError(absl::StrCat("no initialized token with ", wanted, " in module ",
                                          module_->path(), "; tokens found: ", listed));
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
  return absl::OkStatus();
}

absl::StatusOr<SessionLease> Token::LeaseForCall() {
  if (!usable_) {
    return absl::UnavailableError(absl::StrCat(
        "token '", label_, "' is not usable right now; the service is reconnecting to it"));
  }
  uint64_t generation = generation_.load();
  auto lease = pool_->Acquire(absl::Seconds(10));
  if (!lease.ok() && absl::IsUnavailable(lease.status())) ReportLost(generation);
  return lease;
}

void Token::RequireKey(std::string cka_id, CK_OBJECT_HANDLE known, uint64_t known_generation) {
  absl::MutexLock lock(&required_mu_);
  required_key_ = std::move(cka_id);
  required_handle_ = known;
  required_generation_ = known_generation;
}

std::string Token::required_key() const {
  absl::MutexLock lock(&required_mu_);
  return required_key_;
}

absl::StatusOr<bool> Token::StillRequiredKey(Session& session, const std::string& id) {
  CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
  {
    absl::MutexLock lock(&required_mu_);
    if (required_generation_ != generation_.load()) return false;
    handle = required_handle_;
  }
  if (handle == CK_INVALID_HANDLE) return false;
  CK_OBJECT_CLASS cls = 0;
  std::string shown(id.size() + 1, '\0');  // one byte more: a longer CKA_ID differs
  CK_ATTRIBUTE attrs[] = {Attr(CKA_CLASS, &cls), {CKA_ID, shown.data(), shown.size()}};
  CK_RV rv = f()->C_GetAttributeValue(session.handle(), handle, attrs, 2);
  if (rv != CKR_OK) {
    absl::Status s = session.Check(rv, "C_GetAttributeValue (audit key)");
    if (absl::IsUnavailable(s)) return s;
    return false;  // e.g. CKR_OBJECT_HANDLE_INVALID: look for it again
  }
  shown.resize(attrs[1].ulValueLen);
  return cls == CKO_PRIVATE_KEY && shown == id;
}

absl::Status Token::CheckIdentity(Session& session) {
  std::string id = required_key();
  if (id.empty()) return absl::OkStatus();
  KSEF_ASSIGN_OR_RETURN(bool still, StillRequiredKey(session, id));
  if (still) return absl::OkStatus();
  const uint64_t generation = generation_.load();
  CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
  KSEF_ASSIGN_OR_RETURN(auto found,
                        FindObjects(session, {Attr(CKA_CLASS, &cls), BytesAttr(CKA_ID, id)}, 1));
  if (!found.empty()) {
    absl::MutexLock lock(&required_mu_);
    required_handle_ = found.front();
    required_generation_ = generation;
    return absl::OkStatus();
  }
  KSEF_RETURN_IF_ERROR(session.EnsureLoggedIn());
  RequestCheck();
  return absl::UnavailableError(absl::StrCat(
      "token '", label_, "' does not show the service's audit key (CKA_ID ", HexUpper(id),
      "): it is failing or is not the expected token; nothing is written to it"));
}

absl::Status Token::KnownKeyMissing() {
  RequestCheck();
  return absl::UnavailableError(absl::StrCat(
      "the private key is not visible on token '", label_,
      "': the token is failing (the service is checking it now) or the key was removed outside "
      "the service (ksef-hsm check-consistency reports it)"));
}

void Token::ReportLost(uint64_t generation) {
  if (generation != generation_.load()) return;  // a stale lease: already recovered
  check_requested_ = true;
  if (usable_.exchange(false)) LogWarning("token '", label_, "' lost; reconnecting");
}

absl::Status Token::Probe() {
  absl::ReaderMutexLock objects(&object_mu_);
  return ProbeHeld();
}

absl::Status Token::ProbeHeld() {
  CK_SESSION_INFO session;
  CK_RV rv = f()->C_GetSessionInfo(anchor_, &session);
  if (rv != CKR_OK) return CkStatus(rv, "C_GetSessionInfo");
  if (!LoggedIn(session)) return absl::UnavailableError("the token logged the service out");
  CK_TOKEN_INFO info;
  rv = f()->C_GetTokenInfo(slot_, &info);
  if (rv != CKR_OK) return CkStatus(rv, "C_GetTokenInfo");
  std::string serial = TrimPadded(info.serialNumber, sizeof(info.serialNumber));
  if (serial != serial_) {
    return absl::UnavailableError(
        absl::StrCat("the slot now holds token serial ", serial, ", not ", serial_));
  }
  if (required_key().empty()) return absl::OkStatus();
  auto lease = pool_->Acquire(kProbeSessionWait);
  // Every session busy: calls are being served; no reason to reconnect.
  if (absl::IsResourceExhausted(lease.status())) return absl::OkStatus();
  if (!lease.ok()) return lease.status();
  Session probe(this, &*lease);
  return CheckIdentity(probe);
}

absl::Status Token::CheckAndRecover() {
  absl::MutexLock lock(&recover_mu_);
  if (pin_failed_) {
    return absl::FailedPreconditionError(
        "the token PIN was refused; fix pin_file and restart (not retried, to avoid locking "
        "the token)");
  }
  check_requested_ = false;
  if (usable_) {
    absl::Status probe = Probe();
    if (probe.ok()) return probe;
    LogWarning("token '", label_, "' failed its check (", probe.message(), "); reconnecting");
    usable_ = false;
  }
  absl::Status recovered = Recover();
  check_requested_ = false;
  if (recovered.ok()) {
    usable_ = true;
    last_failure_log_ = absl::InfinitePast();
    LogInfo("token '", label_, "' (serial ", serial_,
            ") reconnected and logged in; the audit key is visible");
    return recovered;
  }
  if (absl::Now() - last_failure_log_ >= kFailureLogInterval) {
    LogError("token '", label_, "' (serial ", serial_,
             ") is not usable: ", recovered.message(), "; retrying");
    last_failure_log_ = absl::Now();
  }
  return absl::Status(pin_failed_ ? absl::StatusCode::kFailedPrecondition
                                  : absl::StatusCode::kUnavailable,
                      recovered.message());
}

absl::Status Token::Recover() {
  // Exclusive: calls in flight finish first, and no session is in use while
  // sessions are closed or the module is re-initialized.
  absl::WriterMutexLock drain(&object_mu_);
  absl::Status s = Reconnect(/*reinitialize=*/false);
  if (s.ok() || pin_failed_ || !module_->can_reinitialize()) return s;
  return Reconnect(/*reinitialize=*/true);
}

absl::Status Token::Reconnect(bool reinitialize) {
  ForgetSessions();
  if (reinitialize) KSEF_RETURN_IF_ERROR(module_->Reinitialize());
  // By the serial pinned at Open: another token under the same label is never used.
  KSEF_ASSIGN_OR_RETURN(Found found, FindSlot(TokenSelector{"", serial_}));
  if (found.label != label_) {
    LogWarning("token serial ", serial_, " is now labelled '", found.label, "' (was '", label_,
               "')");
  }
  slot_ = found.slot;
  pool_->Reset(slot_, generation_.load());
  KSEF_RETURN_IF_ERROR(Login());
  return ProbeHeld();
}

void Token::ForgetSessions() {
  // Closes the anchor and every pooled session of this application on the
  // slot (fails harmlessly when the device is gone); handles from before are
  // forgotten, never closed one by one.
  f()->C_CloseAllSessions(slot_);
  anchor_ = CK_INVALID_HANDLE;
  pool_->Reset(slot_, ++generation_);
}

}  // namespace ksef::pkcs11
