// libksef_fault_pkcs11.so: a PKCS#11 module for fault tests. It forwards
// every call to the real module named by KSEF_FAULT_PKCS11_MODULE (SoftHSM2
// in the tests) and, while the file named by KSEF_FAULT_PKCS11_FILE exists,
// makes the calls that touch the device fail with CKR_DEVICE_ERROR: a token
// outage that a test can start and end by creating and removing a file.
// While the file named by KSEF_FAULT_PKCS11_AUDIT_SIGN_FILE exists, only
// C_SignInit with the key labelled "ksef-hsm-audit" fails (CKR_FUNCTION_FAILED):
// the audit key cannot sign checkpoints while the token is otherwise fine.
// The only PKCS#11 code outside hsm/ (docs/architecture.md, "Tests").
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

namespace {

CK_FUNCTION_LIST g_list;
CK_FUNCTION_LIST_PTR g_real = nullptr;

bool Exists(const char* env) {
  const char* file = std::getenv(env);
  struct stat st;
  return file != nullptr && ::stat(file, &st) == 0;
}

bool Outage() { return Exists("KSEF_FAULT_PKCS11_FILE"); }

bool IsAuditKey(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key) {
  static constexpr char kLabel[] = "ksef-hsm-audit";
  char label[64] = {};
  CK_ATTRIBUTE attr = {CKA_LABEL, label, sizeof(label)};
  if (g_real->C_GetAttributeValue(session, key, &attr, 1) != CKR_OK) return false;
  return attr.ulValueLen == sizeof(kLabel) - 1 &&
         std::memcmp(label, kLabel, sizeof(kLabel) - 1) == 0;
}

CK_RV GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info) {
  return Outage() ? CKR_DEVICE_ERROR : g_real->C_GetTokenInfo(slot, info);
}
CK_RV OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify,
                  CK_SESSION_HANDLE_PTR session) {
  return Outage() ? CKR_DEVICE_ERROR : g_real->C_OpenSession(slot, flags, app, notify, session);
}
CK_RV GetSessionInfo(CK_SESSION_HANDLE session, CK_SESSION_INFO_PTR info) {
  return Outage() ? CKR_DEVICE_ERROR : g_real->C_GetSessionInfo(session, info);
}
CK_RV Login(CK_SESSION_HANDLE session, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len) {
  return Outage() ? CKR_DEVICE_ERROR : g_real->C_Login(session, user, pin, len);
}
CK_RV FindObjectsInit(CK_SESSION_HANDLE session, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count) {
  return Outage() ? CKR_DEVICE_ERROR : g_real->C_FindObjectsInit(session, tmpl, count);
}
CK_RV SignInit(CK_SESSION_HANDLE session, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key) {
  if (Outage()) return CKR_DEVICE_ERROR;
  if (Exists("KSEF_FAULT_PKCS11_AUDIT_SIGN_FILE") && IsAuditKey(session, key)) {
    return CKR_FUNCTION_FAILED;
  }
  return g_real->C_SignInit(session, mech, key);
}
CK_RV Sign(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig,
           CK_ULONG_PTR sig_len) {
  return Outage() ? CKR_DEVICE_ERROR : g_real->C_Sign(session, data, len, sig, sig_len);
}

CK_RV Load() {
  const char* path = std::getenv("KSEF_FAULT_PKCS11_MODULE");
  if (path == nullptr) return CKR_GENERAL_ERROR;
  void* handle = ::dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (handle == nullptr) return CKR_GENERAL_ERROR;
  auto get = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle, "C_GetFunctionList"));
  if (get == nullptr) return CKR_GENERAL_ERROR;
  CK_RV rv = get(&g_real);
  if (rv != CKR_OK) return rv;
  g_list = *g_real;
  g_list.C_GetTokenInfo = &GetTokenInfo;
  g_list.C_OpenSession = &OpenSession;
  g_list.C_GetSessionInfo = &GetSessionInfo;
  g_list.C_Login = &Login;
  g_list.C_FindObjectsInit = &FindObjectsInit;
  g_list.C_SignInit = &SignInit;
  g_list.C_Sign = &Sign;
  return CKR_OK;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) CK_RV C_GetFunctionList(
    CK_FUNCTION_LIST_PTR_PTR list) {
  static std::once_flag once;
  static CK_RV loaded = CKR_GENERAL_ERROR;
  std::call_once(once, [] { loaded = Load(); });
  if (loaded != CKR_OK) return loaded;
  *list = &g_list;
  return CKR_OK;
}
