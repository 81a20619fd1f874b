// ScanObjects: one pass over every object a session can see, for start-up
// and consistency checks that must not cost a C_FindObjects per key.
//
// Cost model (SoftHSM2's file store, and the reason for this file): every
// C_FindObjectsInit re-validates every object file of the token, so a find is
// O(objects) whatever its template; C_GetAttributeValue on a known handle
// touches that one object only. So: one C_FindObjectsInit with an empty
// template, then one C_GetAttributeValue per object asking for everything
// the service needs at once (ReadObject), never a find per key.
// Internal to pkcs11/.
#ifndef KSEF_PKCS11_INTERNAL_OBJECT_SCAN_H_
#define KSEF_PKCS11_INTERNAL_OBJECT_SCAN_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pkcs11/internal/pkcs11_api.h"
#include "pkcs11/internal/session.h"
#include "pkcs11/key_store.h"

namespace ksef::pkcs11 {

// What one object shows. A field the object does not have (or will not
// reveal) is left empty / false and its has_* flag false.
struct ScannedObject {
  CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
  bool has_class = false;  // false: a half-written object (no readable CKA_CLASS)
  CK_OBJECT_CLASS object_class = 0;
  bool has_id = false;
  std::string id;
  std::string label;  // empty when absent
  bool has_key_type = false;
  CK_KEY_TYPE key_type = 0;
  bool has_attestation = false;  // all five flags below were read
  KeyAttestation attestation;
  std::string ec_point;         // public EC keys
  std::string modulus;          // RSA keys
  std::string public_exponent;  // RSA keys
};

// Everything `handle` shows, in one C_GetAttributeValue (two when a value is
// larger than the first call's buffers). UNAVAILABLE when the session or
// token is gone; any other failure (e.g. an object file that cannot be read)
// yields an object with has_class false.
absl::StatusOr<ScannedObject> ReadObject(Session& session, CK_OBJECT_HANDLE handle);

// Every object the session can see, read with ReadObject. `stop` (may be
// empty) is asked before each object; when it returns true the pass ends
// with CANCELLED. UNAVAILABLE passes through (no partial result).
absl::StatusOr<std::vector<ScannedObject>> ScanObjects(Session& session,
                                                       const std::function<bool()>& stop);

}  // namespace ksef::pkcs11

#endif  // KSEF_PKCS11_INTERNAL_OBJECT_SCAN_H_
