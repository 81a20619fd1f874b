// Module: one loaded and initialized PKCS#11 library.
//
// Load() dlopens the library, calls C_GetFunctionList and C_Initialize with
// CKF_OS_LOCKING_OK (without it SoftHSM2 disables its own locking). If
// another component of the process initialized the module already
// (CKR_CRYPTOKI_ALREADY_INITIALIZED), the module is used as it is, but never
// finalized or re-initialized by us. The destructor calls C_Finalize when we
// initialized. Exactly one Module per library per process; own it from main
// (never a static) so finalization order is explicit.
// Thread-safe after construction (PKCS#11 functions are called concurrently),
// except Reinitialize(), which the caller must run while no other thread uses
// the module (Token holds its object lock exclusively).
// Internal to pkcs11/.
#ifndef KSEF_PKCS11_INTERNAL_MODULE_H_
#define KSEF_PKCS11_INTERNAL_MODULE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pkcs11/internal/pkcs11_api.h"

namespace ksef::pkcs11 {

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

  // C_Finalize + C_Initialize: what a device error on a real HSM needs before
  // its slots work again. Every session and object handle is invalid after.
  // UNAVAILABLE when C_Initialize fails; FAILED_PRECONDITION when we did not
  // initialize the module (see above).
  absl::Status Reinitialize();
  bool can_reinitialize() const { return owns_initialization_; }

  // True when object writes must not run beside any other object access:
  // SoftHSM2 2.6.1 (softhsm/SoftHSMv2#573). Other modules allow concurrent
  // writes.
  bool serializes_object_writes() const { return serializes_object_writes_; }

 private:
  Module(std::string path, void* handle, CK_FUNCTION_LIST* functions, bool owns_initialization);

  std::string path_;
  void* handle_;
  CK_FUNCTION_LIST* functions_;
  std::string description_;
  bool owns_initialization_;
  bool serializes_object_writes_ = false;
};

// PKCS#11 blank-padded fixed fields ("label           ") -> "label".
std::string TrimPadded(const unsigned char* field, size_t size);

}  // namespace ksef::pkcs11

#endif  // KSEF_PKCS11_INTERNAL_MODULE_H_
