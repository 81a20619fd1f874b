#include "pkcs11/internal/objects.h"

#include "pkcs11/internal/ck_status.h"

namespace ksef::pkcs11 {

absl::StatusOr<std::vector<CK_OBJECT_HANDLE>> FindObjects(Session& session,
                                                          std::vector<CK_ATTRIBUTE> tmpl,
                                                          size_t max) {
  CK_FUNCTION_LIST* f = session.f();
  CK_RV rv = f->C_FindObjectsInit(session.handle(), tmpl.data(), tmpl.size());
  if (rv != CKR_OK) return session.Check(rv, "C_FindObjectsInit");
  std::vector<CK_OBJECT_HANDLE> out;
  CK_OBJECT_HANDLE batch[64];
  while (out.size() < max) {
    CK_ULONG n = 0;
    rv = f->C_FindObjects(session.handle(), batch, 64, &n);
    if (rv != CKR_OK) {
      if (f->C_FindObjectsFinal(session.handle()) != CKR_OK) session.Poison();
      return session.Check(rv, "C_FindObjects");
    }
    if (n == 0) break;
    out.insert(out.end(), batch, batch + n);
  }
  rv = f->C_FindObjectsFinal(session.handle());
  if (rv != CKR_OK) {
    session.Poison();
    return session.Check(rv, "C_FindObjectsFinal");
  }
  if (out.size() > max) out.resize(max);
  return out;
}

absl::StatusOr<std::string> GetBytesAttribute(Session& session, CK_OBJECT_HANDLE object,
                                              CK_ATTRIBUTE_TYPE type) {
  CK_FUNCTION_LIST* f = session.f();
  CK_ATTRIBUTE a{type, nullptr, 0};
  CK_RV rv = f->C_GetAttributeValue(session.handle(), object, &a, 1);
  if (rv != CKR_OK) return session.Check(rv, "C_GetAttributeValue");
  if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION) {
    return absl::PermissionDeniedError("C_GetAttributeValue: attribute unavailable");
  }
  std::string value(a.ulValueLen, '\0');
  a.pValue = value.data();
  rv = f->C_GetAttributeValue(session.handle(), object, &a, 1);
  if (rv != CKR_OK) return session.Check(rv, "C_GetAttributeValue");
  value.resize(a.ulValueLen);
  return value;
}

}  // namespace ksef::pkcs11
