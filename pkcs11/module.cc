#include "pkcs11/internal/module.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "pkcs11/internal/ck_status.h"

namespace ksef::pkcs11 {
namespace {

CK_C_INITIALIZE_ARGS InitializeArgs() {
  CK_C_INITIALIZE_ARGS args = {};
  args.flags = CKF_OS_LOCKING_OK;
  return args;
}

}  // namespace

std::string TrimPadded(const unsigned char* field, size_t size) {
  std::string s(reinterpret_cast<const char*>(field), size);
  size_t end = s.find_last_not_of(" \0", std::string::npos, 2);
  return end == std::string::npos ? std::string() : s.substr(0, end + 1);
}

absl::StatusOr<std::unique_ptr<Module>> Module::Load(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("PKCS#11 module ", path,
                                            " does not exist; check pkcs11_module in the config "
                                            "(SoftHSM2: apt-get install softhsm2)"));
  }
  // RTLD_NODELETE: modules (SoftHSM2 among them) register OpenSSL/atexit
  // state that must outlive dlclose.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (handle == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot load PKCS#11 module ", path, ": ", ::dlerror()));
  }
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle, "C_GetFunctionList"));
  if (get_list == nullptr) {
    ::dlclose(handle);
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not a PKCS#11 module (no C_GetFunctionList)"));
  }
  CK_FUNCTION_LIST* functions = nullptr;
  CK_RV rv = get_list(&functions);
  if (rv != CKR_OK || functions == nullptr) {
    ::dlclose(handle);
    return absl::FailedPreconditionError(
        absl::StrCat("C_GetFunctionList of ", path, " failed: ", CkrName(rv)));
  }
  CK_C_INITIALIZE_ARGS args = InitializeArgs();
  rv = functions->C_Initialize(&args);
  bool owns = rv != CKR_CRYPTOKI_ALREADY_INITIALIZED;
  if (!owns) {
    LogWarning("PKCS#11 module ", path, " was already initialized in this process; using it "
               "without re-initializing it after device errors");
  } else if (rv != CKR_OK) {
    ::dlclose(handle);
    absl::Status s = CkStatus(rv, absl::StrCat("C_Initialize of ", path));
    return absl::FailedPreconditionError(s.message());
  }
  return std::unique_ptr<Module>(new Module(path, handle, functions, owns));
}

Module::Module(std::string path, void* handle, CK_FUNCTION_LIST* functions,
               bool owns_initialization)
    : path_(std::move(path)),
      handle_(handle),
      functions_(functions),
      owns_initialization_(owns_initialization) {
  CK_INFO info;
  if (functions_->C_GetInfo(&info) == CKR_OK) {
    std::string manufacturer = TrimPadded(info.manufacturerID, sizeof(info.manufacturerID));
    description_ =
        absl::StrCat(manufacturer, " / ",
                     TrimPadded(info.libraryDescription, sizeof(info.libraryDescription)), " ",
                     info.libraryVersion.major, ".", info.libraryVersion.minor);
    serializes_object_writes_ = absl::StartsWith(manufacturer, "SoftHSM");
  }
}

absl::Status Module::Reinitialize() {
  if (!owns_initialization_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "PKCS#11 module ", path_, " was initialized by another component; not re-initializing"));
  }
  CK_RV rv = functions_->C_Finalize(nullptr);
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_NOT_INITIALIZED) {
    LogWarning("C_Finalize of ", path_, " returned ", CkrName(rv), "; initializing again anyway");
  }
  CK_C_INITIALIZE_ARGS args = InitializeArgs();
  rv = functions_->C_Initialize(&args);
  if (rv == CKR_OK || rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) return absl::OkStatus();
  return absl::UnavailableError(CkStatus(rv, absl::StrCat("C_Initialize of ", path_)).message());
}

Module::~Module() {
  if (owns_initialization_) {
    CK_RV rv = functions_->C_Finalize(nullptr);
    if (rv != CKR_OK) LogWarning("C_Finalize of ", path_, " returned ", CkrName(rv));
  }
  ::dlclose(handle_);
}

}  // namespace ksef::pkcs11
