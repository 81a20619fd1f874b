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

void GenerateKeyPairs(const std::string& module_path, const std::string& label,
                      const std::string& pin, const std::string& label_prefix, int count,
                      const std::function<void(int)>& progress) {
  CK_FUNCTION_LIST* f = RawFunctionList(module_path);
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  if (f->C_Initialize(&args) != CKR_OK) std::abort();
  std::vector<CK_SESSION_HANDLE> session = OpenRawSessions(f, label, 1);
  if (session.size() != 1) std::abort();
  const CK_SESSION_HANDLE s = session.front();
  std::string pin_bytes = pin;
  if (f->C_Login(s, CKU_USER, reinterpret_cast<CK_UTF8CHAR*>(pin_bytes.data()),
                 pin_bytes.size()) != CKR_OK) {
    std::abort();
  }
  // DER OID of prime256v1.
  static const unsigned char kP256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  CK_MECHANISM mech{CKM_EC_KEY_PAIR_GEN, nullptr, 0};
  for (int i = 0; i < count; ++i) {
    unsigned char id[16];
    if (f->C_GenerateRandom(s, id, sizeof(id)) != CKR_OK) std::abort();
    std::string key_label = label_prefix + std::to_string(i);
    CK_ATTRIBUTE pub[] = {{CKA_TOKEN, &yes, sizeof(yes)},
                          {CKA_PRIVATE, &no, sizeof(no)},
                          {CKA_ID, id, sizeof(id)},
                          {CKA_LABEL, key_label.data(), key_label.size()},
                          {CKA_EC_PARAMS, const_cast<unsigned char*>(kP256), sizeof(kP256)}};
    CK_ATTRIBUTE priv[] = {{CKA_TOKEN, &yes, sizeof(yes)},
                           {CKA_PRIVATE, &yes, sizeof(yes)},
                           {CKA_SENSITIVE, &yes, sizeof(yes)},
                           {CKA_EXTRACTABLE, &no, sizeof(no)},
                           {CKA_SIGN, &yes, sizeof(yes)},
                           {CKA_ID, id, sizeof(id)},
                           {CKA_LABEL, key_label.data(), key_label.size()}};
    CK_OBJECT_HANDLE pub_handle = CK_INVALID_HANDLE, priv_handle = CK_INVALID_HANDLE;
    if (f->C_GenerateKeyPair(s, &mech, pub, 5, priv, 7, &pub_handle, &priv_handle) != CKR_OK) {
      std::abort();
    }
    if ((i + 1) % 500 == 0 || i + 1 == count) progress(i + 1);
  }
  f->C_CloseSession(s);
  f->C_Finalize(nullptr);
}

}  // namespace ksef::bench
