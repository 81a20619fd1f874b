#include "pkcs11/internal/ck_status.h"

#include <cstdio>

#include "absl/strings/str_cat.h"

namespace ksef::pkcs11 {
namespace {

struct CkrEntry {
  CK_RV rv;
  const char* name;
  absl::StatusCode code;
  const char* hint;  // what an operator should do; may be empty
};

// Codes follow design.md section 5: caller mistakes -> INVALID_ARGUMENT,
// missing objects -> NOT_FOUND, token state -> FAILED_PRECONDITION,
// device loss -> UNAVAILABLE, capacity -> RESOURCE_EXHAUSTED.
constexpr CkrEntry kTable[] = {
    {CKR_CANCEL, "CKR_CANCEL", absl::StatusCode::kCancelled, ""},
    {CKR_HOST_MEMORY, "CKR_HOST_MEMORY", absl::StatusCode::kResourceExhausted,
     "the host is out of memory"},
    {CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID", absl::StatusCode::kUnavailable,
     "the token's slot disappeared"},
    {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR", absl::StatusCode::kInternal,
     "the PKCS#11 module reported a general error; see its log"},
    {CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED", absl::StatusCode::kInternal, ""},
    {CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD", absl::StatusCode::kInternal, ""},
    {CKR_CANT_LOCK, "CKR_CANT_LOCK", absl::StatusCode::kFailedPrecondition,
     "the module does not support OS locking"},
    {CKR_ATTRIBUTE_READ_ONLY, "CKR_ATTRIBUTE_READ_ONLY", absl::StatusCode::kFailedPrecondition, ""},
    {CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE", absl::StatusCode::kPermissionDenied,
     "the attribute is sensitive and cannot be read"},
    {CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID", absl::StatusCode::kInvalidArgument,
     ""},
    {CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID",
     absl::StatusCode::kInvalidArgument, ""},
    {CKR_ACTION_PROHIBITED, "CKR_ACTION_PROHIBITED", absl::StatusCode::kPermissionDenied, ""},
    {CKR_DATA_INVALID, "CKR_DATA_INVALID", absl::StatusCode::kInvalidArgument, ""},
    {CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE", absl::StatusCode::kInvalidArgument, ""},
    {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR", absl::StatusCode::kUnavailable,
     "the HSM reported a device error; the service reconnects"},
    {CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY", absl::StatusCode::kResourceExhausted,
     "the token is out of memory"},
    {CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED", absl::StatusCode::kUnavailable,
     "the token was removed"},
    {CKR_FUNCTION_CANCELED, "CKR_FUNCTION_CANCELED", absl::StatusCode::kCancelled, ""},
    {CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED", absl::StatusCode::kUnimplemented,
     "the PKCS#11 module does not implement this function"},
    {CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID", absl::StatusCode::kNotFound,
     "the key object no longer exists on the token"},
    {CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT", absl::StatusCode::kInvalidArgument,
     ""},
    {CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED",
     absl::StatusCode::kPermissionDenied, "the token key does not allow this operation"},
    {CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID", absl::StatusCode::kUnimplemented,
     "the token does not support this mechanism"},
    {CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID",
     absl::StatusCode::kInvalidArgument, ""},
    {CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID", absl::StatusCode::kNotFound,
     "the object no longer exists on the token"},
    {CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE", absl::StatusCode::kInternal, ""},
    {CKR_OPERATION_NOT_INITIALIZED, "CKR_OPERATION_NOT_INITIALIZED", absl::StatusCode::kInternal,
     ""},
    {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT", absl::StatusCode::kPermissionDenied,
     "the PIN in pin_file is wrong; fix it before restarting (the service never retries a "
     "wrong PIN, so the token is not locked by it)"},
    {CKR_PIN_INVALID, "CKR_PIN_INVALID", absl::StatusCode::kInvalidArgument,
     "the PIN in pin_file has characters the token does not accept"},
    {CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE", absl::StatusCode::kInvalidArgument,
     "the PIN in pin_file is too short or too long for this token"},
    {CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED", absl::StatusCode::kFailedPrecondition,
     "the user PIN has expired; set a new one with the token's admin tool"},
    {CKR_PIN_LOCKED, "CKR_PIN_LOCKED", absl::StatusCode::kFailedPrecondition,
     "the user PIN is locked; the security officer must unlock it"},
    {CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED", absl::StatusCode::kUnavailable, ""},
    {CKR_SESSION_COUNT, "CKR_SESSION_COUNT", absl::StatusCode::kResourceExhausted,
     "the token has no free sessions; lower session_pool_size"},
    {CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID", absl::StatusCode::kUnavailable,
     "the session was lost; the service reconnects"},
    {CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY", absl::StatusCode::kInternal, ""},
    {CKR_SESSION_EXISTS, "CKR_SESSION_EXISTS", absl::StatusCode::kFailedPrecondition, ""},
    {CKR_SIGNATURE_INVALID, "CKR_SIGNATURE_INVALID", absl::StatusCode::kInvalidArgument, ""},
    {CKR_SIGNATURE_LEN_RANGE, "CKR_SIGNATURE_LEN_RANGE", absl::StatusCode::kInvalidArgument, ""},
    {CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE", absl::StatusCode::kInternal, ""},
    {CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT", absl::StatusCode::kInternal, ""},
    {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT", absl::StatusCode::kUnavailable,
     "the token is not present"},
    {CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED", absl::StatusCode::kUnavailable, ""},
    {CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED", absl::StatusCode::kFailedPrecondition,
     "the token is write-protected"},
    {CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN", absl::StatusCode::kOk, ""},
    {CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN", absl::StatusCode::kUnavailable,
     "the token logged the service out; the service logs in again"},
    {CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED",
     absl::StatusCode::kFailedPrecondition,
     "the token has no user PIN; initialize it (softhsm2-util --init-token or the vendor tool)"},
    {CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID", absl::StatusCode::kInternal, ""},
    {CKR_USER_ANOTHER_ALREADY_LOGGED_IN, "CKR_USER_ANOTHER_ALREADY_LOGGED_IN",
     absl::StatusCode::kFailedPrecondition, "another user (SO?) is logged in to the token"},
    {CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL", absl::StatusCode::kInternal, ""},
    {CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED", absl::StatusCode::kUnavailable,
     "the module was finalized; the service re-initializes it"},
    {CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED",
     absl::StatusCode::kFailedPrecondition,
     "another component of this process already initialized the module"},
    {CKR_DOMAIN_PARAMS_INVALID, "CKR_DOMAIN_PARAMS_INVALID", absl::StatusCode::kUnimplemented,
     "the token does not support this curve"},
};

const CkrEntry* Find(CK_RV rv) {
  for (const auto& e : kTable) {
    if (e.rv == rv) return &e;
  }
  return nullptr;
}

}  // namespace

std::string CkrName(CK_RV rv) {
  if (rv == CKR_OK) return "CKR_OK";
  if (const CkrEntry* e = Find(rv)) return e->name;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "CKR_0x%08lX", static_cast<unsigned long>(rv));
  return buf;
}

absl::Status CkStatus(CK_RV rv, absl::string_view operation) {
  if (rv == CKR_OK) return absl::OkStatus();
  const CkrEntry* e = Find(rv);
  absl::StatusCode code = e != nullptr ? e->code : absl::StatusCode::kInternal;
  if (code == absl::StatusCode::kOk) return absl::OkStatus();
  std::string msg = absl::StrCat(operation, ": ", CkrName(rv));
  if (e != nullptr && e->hint[0] != '\0') absl::StrAppend(&msg, " (", e->hint, ")");
  return absl::Status(code, msg);
}

bool IsSessionLost(CK_RV rv) {
  switch (rv) {
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_REMOVED:
    case CKR_SESSION_CLOSED:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_TOKEN_NOT_RECOGNIZED:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_SLOT_ID_INVALID:
    case CKR_CRYPTOKI_NOT_INITIALIZED:
      return true;
    default:
      return false;
  }
}

}  // namespace ksef::pkcs11
