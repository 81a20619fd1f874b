// Module: one loaded and initialized PKCS#11 library.
//
// Load() dlopens the library, calls C_GetFunctionList and C_Initialize with
// CKF_OS_LOCKING_OK (without it SoftHSM2 disables its own locking). The
// destructor calls C_Finalize. Exactly one Module per library per process;
// own it from main (never a static) so finalization order is explicit.
// Thread-safe after construction (PKCS#11 functions are called concurrently).
// Internal to hsm/.
#ifndef KSEF_HSM_MODULE_H_
#define KSEF_HSM_MODULE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "hsm/pkcs11_api.h"

namespace ksef::hsm {

class Module {
 public:
  // NOT_FOUND when the file does not exist, FAILED_PRECONDITION when it is
  // not a PKCS#11 module or C_Initialize fails. Messages name the path.
  static absl::StatusOr<std::unique_ptr<Module>> Load(const std::string& path);

  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  CK_FUNCTION_LIST* f() const { return functions_; }
  const std::string& path() const { return path_; }
  // "SoftHSM 2.6" from C_GetInfo (manufacturer + description, trimmed).
  const std::string& description() const { return description_; }

 private:
  Module(std::string path, void* handle, CK_FUNCTION_LIST* functions);

  std::string path_;
  void* handle_;
  CK_FUNCTION_LIST* functions_;
  std::string description_;
};

// PKCS#11 blank-padded fixed fields ("label           ") -> "label".
std::string TrimPadded(const unsigned char* field, size_t size);

}  // namespace ksef::hsm

#endif  // KSEF_HSM_MODULE_H_
