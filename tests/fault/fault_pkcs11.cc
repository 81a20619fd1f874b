// libksef_fault_pkcs11.so: a PKCS#11 module for fault tests that behaves like
// a failing network HSM. It forwards every call to the real module named by
// KSEF_FAULT_PKCS11_MODULE (SoftHSM2 in the tests) and injects the faults that
// the control files below switch on. It is the only PKCS#11 code outside pkcs11/
// besides its own test (docs/architecture.md, "Tests").
//
// Control by environment (files named by absolute path):
//   KSEF_FAULT_PKCS11_FILE             outage (see `outage` below).
//   KSEF_FAULT_PKCS11_AUDIT_SIGN_FILE  while it exists, C_SignInit with the key
//                                      labelled "ksef-hsm-audit" returns
//                                      CKR_FUNCTION_FAILED; the token is
//                                      otherwise fine.
//
// Control directory KSEF_FAULT_PKCS11_DIR (unset: none of these modes exist).
// Every call stat()s or unlink()s the files it cares about. A one-shot file is
// consumed (unlinked) by the call that fires it, so a test waits for the file
// to disappear to know the fault happened; unlink() success decides which of
// several concurrent calls fires, so it fires exactly once.
//   outage               sticky: as KSEF_FAULT_PKCS11_FILE; C_GetTokenInfo,
//                        C_OpenSession, C_GetSessionInfo, C_Login,
//                        C_FindObjectsInit, C_SignInit and C_Sign return
//                        CKR_DEVICE_ERROR while it exists.
//   invalidate-sessions  one-shot, fires at the next call that takes a session
//                        handle: the real C_CloseAllSessions on every slot
//                        with a token (a partition failover). SoftHSM2 2.6.1
//                        then also logs the token out; the old handles return
//                        CKR_SESSION_HANDLE_INVALID (it does not reuse handle
//                        numbers within one C_Initialize; it does restart them
//                        at 1 after C_Finalize + C_Initialize). The firing
//                        call itself is then forwarded (and so fails).
//   logout               one-shot, fires at the next call that takes a session
//                        handle: the real C_Logout on that session, then the
//                        call is forwarded. All sessions become public
//                        sessions; private objects are invisible. SoftHSM2
//                        2.6.1 also invalidates the private objects' handles:
//                        C_SignInit with a cached private-key handle returns
//                        CKR_OBJECT_HANDLE_INVALID, even after a new C_Login
//                        (find the key again: it gets a new handle).
//   remove               sticky: the device is removed. The first call that
//                        sees the file latches the removal (and closes all
//                        real sessions). From then on, also after the file is
//                        deleted, C_GetSlotList(tokenPresent=TRUE) lists no
//                        slots, C_GetSlotInfo clears CKF_TOKEN_PRESENT, the
//                        token calls (C_GetTokenInfo, C_GetMechanismList/Info,
//                        C_InitToken, C_OpenSession) return
//                        CKR_TOKEN_NOT_PRESENT, and every call with a session
//                        handle and C_CloseAllSessions return
//                        CKR_DEVICE_REMOVED. Only a C_Finalize and then a
//                        C_Initialize, both after the file is gone, end the
//                        removal ("reinserted"). C_Initialize and C_Finalize
//                        are always forwarded (so C_Initialize while the file
//                        exists succeeds, the device staying removed);
//                        while the module is not initialized, calls get the
//                        real CKR_CRYPTOKI_NOT_INITIALIZED.
//   sign-latency-us      sticky, content: decimal microseconds. C_Sign and
//                        C_SignFinal sleep that long before forwarding (a
//                        network round trip). The value is re-read at most
//                        every 100 ms: a change takes effect within 100 ms.
//   attribute-latency-us sticky, content: decimal microseconds.
//                        C_GetAttributeValue sleeps that long before
//                        forwarding (a slow device: makes the start-up's pass
//                        over the token's objects take long). Read at every
//                        call.
//   buffer-too-small     one-shot, fires at the next C_Sign with a non-NULL
//                        output buffer: forwarded with *pulSignatureLen = 1,
//                        so the real module returns CKR_BUFFER_TOO_SMALL with
//                        the required length and (PKCS#11; SoftHSM2 does)
//                        keeps the sign operation active on that session.
//   events.log           written by the module: one line per event, appended
//                        with one write(): "initialize", "finalize" (each on
//                        success of the real call), "fired invalidate-sessions",
//                        "fired logout", "fired buffer-too-small", "removed",
//                        "reinserted".
// Every other function is forwarded untouched. Thread-safe.
//
// Layering exception (docs/architecture.md): a PKCS#11 module and its test
// include the PKCS#11 C header directly; never pkcs11/internal/.
#include <dlfcn.h>
#include <fcntl.h>
#include <p11-kit/pkcs11.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

CK_FUNCTION_LIST g_list;
CK_FUNCTION_LIST_PTR g_real = nullptr;

// ---------------------------------------------------------------- control files

bool FileExists(const char* path) {
  struct stat st;
  return path != nullptr && ::stat(path, &st) == 0;
}

// `name` inside KSEF_FAULT_PKCS11_DIR; empty when the variable is unset.
std::string ControlPath(const char* name) {
  const char* dir = std::getenv("KSEF_FAULT_PKCS11_DIR");
  return dir == nullptr ? std::string() : std::string(dir) + "/" + name;
}

bool ControlExists(const char* name) {
  const std::string path = ControlPath(name);
  return !path.empty() && FileExists(path.c_str());
}

// One-shot modes: true for exactly one caller, the one whose unlink() removed
// the file.
bool Consume(const char* name) {
  const std::string path = ControlPath(name);
  return !path.empty() && ::unlink(path.c_str()) == 0;
}

// Appends `event` as one line to events.log with a single O_APPEND write().
void Record(const char* event) {
  const std::string path = ControlPath("events.log");
  if (path.empty()) return;
  const std::string line = std::string(event) + "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return;
  [[maybe_unused]] const ssize_t written = ::write(fd, line.data(), line.size());
  ::close(fd);
}

bool Outage() {
  return FileExists(std::getenv("KSEF_FAULT_PKCS11_FILE")) || ControlExists("outage");
}

// ------------------------------------------------------------- device actions

// Calls into the real module on sessions hold this shared; closing every
// session holds it exclusively. A real device invalidates sessions between
// calls; SoftHSM2 frees a session object that another thread may be using in
// C_Sign at that moment (a crash, not a device fault), so the close waits
// for calls in flight.
std::shared_mutex g_device_mu;

// The real C_CloseAllSessions on every slot with a token. Must not be called
// while this thread holds g_device_mu.
void CloseAllRealSessions() {
  std::unique_lock<std::shared_mutex> exclusive(g_device_mu);
  CK_ULONG count = 0;
  if (g_real->C_GetSlotList(CK_TRUE, nullptr, &count) != CKR_OK || count == 0) return;
  std::vector<CK_SLOT_ID> slots(count);
  if (g_real->C_GetSlotList(CK_TRUE, slots.data(), &count) != CKR_OK) return;
  for (CK_ULONG i = 0; i < count; ++i) g_real->C_CloseAllSessions(slots[i]);
}

// ------------------------------------------------------------------- removal

std::atomic<bool> g_initialized{false};  // the real module is initialized (by us)
std::atomic<bool> g_removed{false};      // latched removal
std::mutex g_lifecycle_mu;               // C_Initialize / C_Finalize bookkeeping
bool g_reinsert_armed = false;           // guarded: C_Finalize ran after the file was gone

// Latches the removal when the `remove` file exists; true while removed.
bool Removed() {
  if (ControlExists("remove") && !g_removed.exchange(true)) {
    CloseAllRealSessions();
    Record("removed");
  }
  return g_removed.load();
}

// Removed, and the module initialized (else the real module's
// CKR_CRYPTOKI_NOT_INITIALIZED is the right answer).
bool DeviceRemoved() { return Removed() && g_initialized.load(); }

CK_RV Initialize(CK_VOID_PTR args) {
  Removed();
  const CK_RV rv = g_real->C_Initialize(args);
  if (rv != CKR_OK) return rv;
  g_initialized = true;
  Record("initialize");
  std::lock_guard<std::mutex> lock(g_lifecycle_mu);
  if (g_reinsert_armed && !ControlExists("remove")) {
    g_removed = false;
    Record("reinserted");
  }
  g_reinsert_armed = false;
  return rv;
}

CK_RV Finalize(CK_VOID_PTR reserved) {
  const bool removed = Removed();
  const CK_RV rv = g_real->C_Finalize(reserved);
  if (rv != CKR_OK) return rv;
  g_initialized = false;
  Record("finalize");
  std::lock_guard<std::mutex> lock(g_lifecycle_mu);
  g_reinsert_armed = removed && !ControlExists("remove");
  return rv;
}

// ------------------------------------------------------------- slot and token

CK_RV GetSlotList(CK_BBOOL token_present, CK_SLOT_ID_PTR slots, CK_ULONG_PTR count) {
  if (token_present == CK_TRUE && DeviceRemoved() && count != nullptr) {
    *count = 0;
    return CKR_OK;
  }
  return g_real->C_GetSlotList(token_present, slots, count);
}

CK_RV GetSlotInfo(CK_SLOT_ID slot, CK_SLOT_INFO_PTR info) {
  const CK_RV rv = g_real->C_GetSlotInfo(slot, info);
  if (rv == CKR_OK && DeviceRemoved()) info->flags &= ~CK_FLAGS(CKF_TOKEN_PRESENT);
  return rv;
}

CK_RV GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info) {
  if (DeviceRemoved()) return CKR_TOKEN_NOT_PRESENT;
  return Outage() ? CKR_DEVICE_ERROR : g_real->C_GetTokenInfo(slot, info);
}

CK_RV GetMechanismList(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count) {
  return DeviceRemoved() ? CKR_TOKEN_NOT_PRESENT : g_real->C_GetMechanismList(slot, list, count);
}

CK_RV GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info) {
  return DeviceRemoved() ? CKR_TOKEN_NOT_PRESENT : g_real->C_GetMechanismInfo(slot, type, info);
}

CK_RV InitToken(CK_SLOT_ID slot, CK_UTF8CHAR_PTR pin, CK_ULONG len, CK_UTF8CHAR_PTR label) {
  return DeviceRemoved() ? CKR_TOKEN_NOT_PRESENT : g_real->C_InitToken(slot, pin, len, label);
}

CK_RV OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify,
                  CK_SESSION_HANDLE_PTR session) {
  if (DeviceRemoved()) return CKR_TOKEN_NOT_PRESENT;
  if (Outage()) return CKR_DEVICE_ERROR;
  std::shared_lock<std::shared_mutex> device(g_device_mu);
  return g_real->C_OpenSession(slot, flags, app, notify, session);
}

CK_RV CloseAllSessions(CK_SLOT_ID slot) {
  if (DeviceRemoved()) return CKR_DEVICE_REMOVED;
  std::unique_lock<std::shared_mutex> exclusive(g_device_mu);  // as CloseAllRealSessions
  return g_real->C_CloseAllSessions(slot);
}

// ------------------------------------------------------------------- sessions

// What every call with a session handle goes through first: removal, then
// the one-shot invalidate-sessions and logout. CKR_OK: forward the call.
CK_RV SessionFaults(CK_SESSION_HANDLE session) {
  if (DeviceRemoved()) return CKR_DEVICE_REMOVED;
  if (Consume("invalidate-sessions")) {
    CloseAllRealSessions();
    Record("fired invalidate-sessions");
  }
  if (Consume("logout")) {
    g_real->C_Logout(session);
    Record("fired logout");
  }
  return CKR_OK;
}

// Forwards the function list member `Fn` after SessionFaults (and, with
// kOutage, fails with CKR_DEVICE_ERROR during an outage).
template <auto Fn, bool kOutage = false>
struct SessionCall;
template <typename... A, CK_RV (*CK_FUNCTION_LIST::*Fn)(CK_SESSION_HANDLE, A...), bool kOutage>
struct SessionCall<Fn, kOutage> {
  static CK_RV Call(CK_SESSION_HANDLE session, A... args) {
    if (const CK_RV rv = SessionFaults(session); rv != CKR_OK) return rv;
    if (kOutage && Outage()) return CKR_DEVICE_ERROR;
    std::shared_lock<std::shared_mutex> device(g_device_mu);
    return (g_real->*Fn)(session, args...);
  }
};

// ------------------------------------------------------------------- signing

// The decimal microseconds in control file `name` (0 when absent).
long ReadLatencyUs(const char* name) {
  long us = 0;
  const std::string path = ControlPath(name);
  const int fd = path.empty() ? -1 : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char buf[32] = {};
    if (::read(fd, buf, sizeof(buf) - 1) > 0) us = std::strtol(buf, nullptr, 10);
    ::close(fd);
  }
  return us > 0 ? us : 0;
}

void SleepUs(long us) {
  if (us > 0) std::this_thread::sleep_for(std::chrono::microseconds(us));
}

// The sign-latency-us value, re-read at most every 100 ms (lock-free between).
long SignLatencyUs() {
  static std::atomic<long> cached_us{0};
  static std::atomic<std::chrono::steady_clock::rep> checked_at{0};
  const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  auto last = checked_at.load(std::memory_order_relaxed);
  constexpr auto kRecheck = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                std::chrono::milliseconds(100))
                                .count();
  if ((last == 0 || now - last >= kRecheck) && checked_at.compare_exchange_strong(last, now)) {
    cached_us.store(ReadLatencyUs("sign-latency-us"), std::memory_order_relaxed);
  }
  return cached_us.load(std::memory_order_relaxed);
}

void SignLatency() { SleepUs(SignLatencyUs()); }

CK_RV GetAttributeValue(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
                        CK_ATTRIBUTE_PTR attrs, CK_ULONG count) {
  if (const CK_RV rv = SessionFaults(session); rv != CKR_OK) return rv;
  SleepUs(ReadLatencyUs("attribute-latency-us"));
  std::shared_lock<std::shared_mutex> device(g_device_mu);
  return g_real->C_GetAttributeValue(session, object, attrs, count);
}

bool IsAuditKey(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key) {
  static constexpr char kLabel[] = "ksef-hsm-audit";
  char label[64] = {};
  CK_ATTRIBUTE attr = {CKA_LABEL, label, sizeof(label)};
  if (g_real->C_GetAttributeValue(session, key, &attr, 1) != CKR_OK) return false;
  return attr.ulValueLen == sizeof(kLabel) - 1 &&
         std::memcmp(label, kLabel, sizeof(kLabel) - 1) == 0;
}

CK_RV SignInit(CK_SESSION_HANDLE session, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key) {
  if (const CK_RV rv = SessionFaults(session); rv != CKR_OK) return rv;
  if (Outage()) return CKR_DEVICE_ERROR;
  std::shared_lock<std::shared_mutex> device(g_device_mu);
  if (FileExists(std::getenv("KSEF_FAULT_PKCS11_AUDIT_SIGN_FILE")) && IsAuditKey(session, key)) {
    return CKR_FUNCTION_FAILED;
  }
  return g_real->C_SignInit(session, mech, key);
}

CK_RV Sign(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig,
           CK_ULONG_PTR sig_len) {
  if (const CK_RV rv = SessionFaults(session); rv != CKR_OK) return rv;
  if (Outage()) return CKR_DEVICE_ERROR;
  SignLatency();
  if (sig != nullptr && sig_len != nullptr && Consume("buffer-too-small")) {
    *sig_len = 1;
    Record("fired buffer-too-small");
  }
  std::shared_lock<std::shared_mutex> device(g_device_mu);
  return g_real->C_Sign(session, data, len, sig, sig_len);
}

CK_RV SignFinal(CK_SESSION_HANDLE session, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len) {
  if (const CK_RV rv = SessionFaults(session); rv != CKR_OK) return rv;
  SignLatency();
  std::shared_lock<std::shared_mutex> device(g_device_mu);
  return g_real->C_SignFinal(session, sig, sig_len);
}

// --------------------------------------------------------------------- loading

// Every function that takes a session handle and has no fault of its own.
void WrapSessionCalls() {
#define KSEF_WRAP(name) g_list.name = &SessionCall<&CK_FUNCTION_LIST::name>::Call
#define KSEF_WRAP_OUTAGE(name) g_list.name = &SessionCall<&CK_FUNCTION_LIST::name, true>::Call
  KSEF_WRAP_OUTAGE(C_GetSessionInfo);
  KSEF_WRAP_OUTAGE(C_Login);
  KSEF_WRAP_OUTAGE(C_FindObjectsInit);
  KSEF_WRAP(C_CloseSession);
  KSEF_WRAP(C_GetOperationState);
  KSEF_WRAP(C_SetOperationState);
  KSEF_WRAP(C_Logout);
  KSEF_WRAP(C_InitPIN);
  KSEF_WRAP(C_SetPIN);
  KSEF_WRAP(C_CreateObject);
  KSEF_WRAP(C_CopyObject);
  KSEF_WRAP(C_DestroyObject);
  KSEF_WRAP(C_GetObjectSize);
  KSEF_WRAP(C_SetAttributeValue);
  KSEF_WRAP(C_FindObjects);
  KSEF_WRAP(C_FindObjectsFinal);
  KSEF_WRAP(C_EncryptInit);
  KSEF_WRAP(C_Encrypt);
  KSEF_WRAP(C_EncryptUpdate);
  KSEF_WRAP(C_EncryptFinal);
  KSEF_WRAP(C_DecryptInit);
  KSEF_WRAP(C_Decrypt);
  KSEF_WRAP(C_DecryptUpdate);
  KSEF_WRAP(C_DecryptFinal);
  KSEF_WRAP(C_DigestInit);
  KSEF_WRAP(C_Digest);
  KSEF_WRAP(C_DigestUpdate);
  KSEF_WRAP(C_DigestKey);
  KSEF_WRAP(C_DigestFinal);
  KSEF_WRAP(C_SignUpdate);
  KSEF_WRAP(C_SignRecoverInit);
  KSEF_WRAP(C_SignRecover);
  KSEF_WRAP(C_VerifyInit);
  KSEF_WRAP(C_Verify);
  KSEF_WRAP(C_VerifyUpdate);
  KSEF_WRAP(C_VerifyFinal);
  KSEF_WRAP(C_VerifyRecoverInit);
  KSEF_WRAP(C_VerifyRecover);
  KSEF_WRAP(C_DigestEncryptUpdate);
  KSEF_WRAP(C_DecryptDigestUpdate);
  KSEF_WRAP(C_SignEncryptUpdate);
  KSEF_WRAP(C_DecryptVerifyUpdate);
  KSEF_WRAP(C_GenerateKey);
  KSEF_WRAP(C_GenerateKeyPair);
  KSEF_WRAP(C_WrapKey);
  KSEF_WRAP(C_UnwrapKey);
  KSEF_WRAP(C_DeriveKey);
  KSEF_WRAP(C_SeedRandom);
  KSEF_WRAP(C_GenerateRandom);
  KSEF_WRAP(C_GetFunctionStatus);
  KSEF_WRAP(C_CancelFunction);
#undef KSEF_WRAP
#undef KSEF_WRAP_OUTAGE
}

CK_RV Load(CK_C_GetFunctionList self) {
  const char* path = std::getenv("KSEF_FAULT_PKCS11_MODULE");
  if (path == nullptr) return CKR_GENERAL_ERROR;
  void* handle = ::dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (handle == nullptr) return CKR_GENERAL_ERROR;
  auto get = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle, "C_GetFunctionList"));
  if (get == nullptr) return CKR_GENERAL_ERROR;
  const CK_RV rv = get(&g_real);
  if (rv != CKR_OK) return rv;
  g_list = *g_real;
  g_list.C_GetFunctionList = self;
  g_list.C_Initialize = &Initialize;
  g_list.C_Finalize = &Finalize;
  g_list.C_GetSlotList = &GetSlotList;
  g_list.C_GetSlotInfo = &GetSlotInfo;
  g_list.C_GetTokenInfo = &GetTokenInfo;
  g_list.C_GetMechanismList = &GetMechanismList;
  g_list.C_GetMechanismInfo = &GetMechanismInfo;
  g_list.C_InitToken = &InitToken;
  g_list.C_OpenSession = &OpenSession;
  g_list.C_CloseAllSessions = &CloseAllSessions;
  WrapSessionCalls();
  g_list.C_GetAttributeValue = &GetAttributeValue;
  g_list.C_SignInit = &SignInit;
  g_list.C_Sign = &Sign;
  g_list.C_SignFinal = &SignFinal;
  return CKR_OK;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) CK_RV C_GetFunctionList(
    CK_FUNCTION_LIST_PTR_PTR list) {
  static std::once_flag once;
  static CK_RV loaded = CKR_GENERAL_ERROR;
  std::call_once(once, [] { loaded = Load(&C_GetFunctionList); });
  if (loaded != CKR_OK) return loaded;
  *list = &g_list;
  return CKR_OK;
}
