// Small helpers over C_FindObjects / C_GetAttributeValue on a leased
// Session: every CK_RV goes through Session::Check, so a lost session or
// token is noticed here as everywhere else. Internal to pkcs11/.
#ifndef KSEF_PKCS11_INTERNAL_OBJECTS_H_
#define KSEF_PKCS11_INTERNAL_OBJECTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pkcs11/internal/pkcs11_api.h"
#include "pkcs11/internal/session.h"

namespace ksef::pkcs11 {

// Every object matching `tmpl` (up to `max` objects). A find that cannot be
// finalized poisons the session.
absl::StatusOr<std::vector<CK_OBJECT_HANDLE>> FindObjects(Session& session,
                                                          std::vector<CK_ATTRIBUTE> tmpl,
                                                          size_t max = 100000);

// A variable-length attribute's bytes (size query, then read). The status
// carries the CK_RV (e.g. PERMISSION_DENIED for CKR_ATTRIBUTE_SENSITIVE).
absl::StatusOr<std::string> GetBytesAttribute(Session& session, CK_OBJECT_HANDLE object,
                                              CK_ATTRIBUTE_TYPE type);

// Template entry pointing at caller-owned storage.
template <typename T>
CK_ATTRIBUTE Attr(CK_ATTRIBUTE_TYPE type, T* value) {
  return CK_ATTRIBUTE{type, value, sizeof(T)};
}
inline CK_ATTRIBUTE BytesAttr(CK_ATTRIBUTE_TYPE type, const std::string& value) {
  return CK_ATTRIBUTE{type, const_cast<char*>(value.data()), value.size()};
}

}  // namespace ksef::pkcs11

#endif  // KSEF_PKCS11_INTERNAL_OBJECTS_H_
