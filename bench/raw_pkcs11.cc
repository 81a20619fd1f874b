#include "bench/raw_pkcs11.h"

#include <dlfcn.h>

#include <cstdlib>

namespace ksef::bench {
namespace {

// A CK_UTF8CHAR field padded with blanks, as a string without the padding.
std::string TrimPadded(const unsigned char* field, size_t size) {
  std::string s(reinterpret_cast<const char*>(field), size);
  size_t end = s.find_last_not_of(" \0", std::string::npos, 2);
  return end == std::string::npos ? std::string() : s.substr(0, end + 1);
}

}  // namespace

CK_FUNCTION_LIST* RawFunctionList(const std::string& module_path) {
  void* handle = ::dlopen(module_path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (handle == nullptr) std::abort();
  auto get = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle, "C_GetFunctionList"));
  CK_FUNCTION_LIST* f = nullptr;
  if (get == nullptr || get(&f) != CKR_OK || f == nullptr) std::abort();
  return f;
}

std::vector<CK_SESSION_HANDLE> OpenRawSessions(CK_FUNCTION_LIST* f, const std::string& label,
                                               int n) {
  CK_ULONG count = 0;
  f->C_GetSlotList(CK_TRUE, nullptr, &count);
  std::vector<CK_SLOT_ID> slots(count);
  f->C_GetSlotList(CK_TRUE, slots.data(), &count);
  std::vector<CK_SESSION_HANDLE> out;
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info;
    if (f->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    if (TrimPadded(info.label, sizeof(info.label)) != label) continue;
    for (int i = 0; i < n; ++i) {
      CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
      if (f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &h) !=
          CKR_OK) {
        std::abort();
      }
      out.push_back(h);
    }
  }
  return out;
}

CK_OBJECT_HANDLE FindKey(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE session, const std::string& id) {
  CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
  CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                         {CKA_ID, const_cast<char*>(id.data()), id.size()}};
  CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
  CK_ULONG n = 0;
  if (f->C_FindObjectsInit(session, tmpl, 2) != CKR_OK) std::abort();
  f->C_FindObjects(session, &handle, 1, &n);
  f->C_FindObjectsFinal(session);
  if (n != 1) std::abort();
  return handle;
}

}  // namespace ksef::bench
