// What a pass of ScanObjects means for the service: complete keys (a private
// key and, for EC, the public key with its CKA_ID), incomplete key objects,
// certificates. The one home of the rules that decide which objects form a
// key; KeyStore::Inventory, Get and Generate all describe keys through here.
// Internal to pkcs11/.
#ifndef KSEF_PKCS11_INTERNAL_INVENTORY_H_
#define KSEF_PKCS11_INTERNAL_INVENTORY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pkcs11/internal/object_scan.h"
#include "pkcs11/key_store.h"

namespace ksef::pkcs11 {

// RFC 7512 URI of a private key on the token labelled `token_label`.
std::string KeyUri(const std::string& token_label, const std::string& id,
                   const std::string& label);

// The key formed by private key `priv` and its public half `pub` (may be
// null: then an EC key has an empty public_key_der). FAILED_PRECONDITION for
// a key the service cannot use (no CKA_ID, attestation flags unreadable, a
// key type other than EC/RSA, an EC point that is not P-256).
absl::StatusOr<TokenKey> DescribeKey(const ScannedObject& priv, const ScannedObject* pub,
                                     const std::string& token_label);

// An inventory plus the object handles behind it (valid for the session
// generation the scan ran in).
struct ScannedInventory {
  TokenInventory inventory;
  std::vector<CK_OBJECT_HANDLE> key_handles;         // private key of inventory.keys[i]
  std::vector<CK_OBJECT_HANDLE> incomplete_handles;  // object of inventory.incomplete[i]
};

// Sorts scanned objects into keys, incomplete objects and certificates.
// Private keys that DescribeKey refuses are logged and left out (as before:
// a foreign key never stops the service).
ScannedInventory AssembleInventory(const std::vector<ScannedObject>& objects,
                                   const std::string& token_label);

}  // namespace ksef::pkcs11

#endif  // KSEF_PKCS11_INTERNAL_INVENTORY_H_
