// KeyStore: the service's view of the key objects on one token.
//
// Keys are generated in the token with the strict template of design.md
// section 3 (sensitive, non-extractable, sign-only), and addressed by their
// CKA_ID (16 random bytes, shared by private key, public key and, later, the
// certificate). Object handles are cached per CKA_ID so the signing hot path
// is one C_SignInit + C_Sign.
//
// This header is free of PKCS#11 types so other modules may use it.
// Thread-safe.
#ifndef KSEF_PKCS11_KEY_STORE_H_
#define KSEF_PKCS11_KEY_STORE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "crypto/signer.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace ksef::pkcs11 {

class Token;

// What the token reports about the private key (CKA_* booleans).
struct KeyAttestation {
  bool local = false;
  bool sensitive = false;
  bool extractable = true;
  bool always_sensitive = false;
  bool never_extractable = false;
};

struct TokenKey {
  std::string id;     // CKA_ID bytes
  std::string label;  // CKA_LABEL
  crypto::KeyAlgorithm algorithm = crypto::KeyAlgorithm::kEcP256;
  KeyAttestation attestation;
  std::string public_key_der;  // SubjectPublicKeyInfo
  std::string uri;             // RFC 7512 URI of the private key
};

// A key object that is not part of a complete key: what an interrupted
// C_GenerateKeyPair or import leaves (SoftHSM2 writes the two objects and
// their attributes one after the other; a SIGKILL in between leaves a public
// key without its private key, an object without CKA_ID or label, or an
// object so half-written that not even its CKA_CLASS can be read).
struct IncompleteObject {
  bool private_key = false;  // else a public key (or unreadable, see reason)
  std::string id;            // CKA_ID (may be empty)
  std::string label;         // CKA_LABEL (may be empty)
  std::string reason;        // e.g. "a public key without its private key"
  std::string Describe() const;  // one line for logs and reports
};

// Called after each signature with its key's algorithm and the time the
// token took (C_SignInit + C_Sign), on the signing thread: must be quick and
// thread-safe (metrics).
using TokenSignObserver = std::function<void(crypto::KeyAlgorithm, absl::Duration)>;

// Signatures right now: holding one of max_concurrent_signs slots, or
// waiting for one.
struct SignLoad {
  int64_t in_flight = 0;
  int64_t waiting = 0;
};

// One pass over every object of the token (KeyStore::Inventory).
struct TokenInventory {
  std::vector<TokenKey> keys;                // every describable private key (any label)
  std::vector<IncompleteObject> incomplete;  // see IncompleteObject
  absl::flat_hash_set<std::string> certificate_ids;  // CKA_IDs of certificate objects
  size_t objects = 0;                        // objects read
  // The key with this CKA_ID (the first, if several share it); null if none.
  const TokenKey* FindKey(const std::string& id) const {
    auto it = index.find(id);
    return it == index.end() ? nullptr : &keys[it->second];
  }
  absl::flat_hash_map<std::string, size_t> index;  // CKA_ID -> position in keys
};

class KeyStore {
 public:
  // `token_store_dir`: if not empty, fsync'ed after objects change (SoftHSM2
  // does not fsync its file store). `max_concurrent_signs` bounds signs in
  // flight across all signers of this store. `on_token_sign` (may be empty)
  // sees every signature's token time.
  KeyStore(Token* token, std::string token_store_dir, int max_concurrent_signs,
           TokenSignObserver on_token_sign = {});
  ~KeyStore();

  // Generates a key pair with CKA_LABEL = label and CKA_ID = id (16 random
  // bytes when id is empty). Serialized per token. The returned key is durable
  // on the token (store synced) when this returns; on failure nothing is left.
  absl::StatusOr<TokenKey> Generate(crypto::KeyAlgorithm algorithm, const std::string& label,
                                    const std::string& id = "");

  // 16 random bytes, for callers that record the CKA_ID before generating.
  static std::string NewId();

  // NOT_FOUND if no private key has this CKA_ID.
  absl::StatusOr<TokenKey> Get(const std::string& id);

  // Every key object of the token in one pass: ONE C_FindObjects over all
  // objects, then one C_GetAttributeValue per object with every attribute
  // needed (never a find per key: on SoftHSM2 each find re-reads every
  // object file, so a find per key is quadratic). `incomplete` holds the key
  // objects that are not part of a complete key (see IncompleteObject): a
  // public key whose CKA_ID no private key has (or the reverse), a key object
  // without CKA_ID or label (the service never creates such objects), and
  // objects whose CKA_CLASS cannot be read. Also caches a signer (with the
  // object handle of this pass) for every complete key, so the first
  // signature of each key needs no find either. `stop` (may be empty) is
  // asked before each object is read; when it returns true the pass ends
  // with CANCELLED (a signal during start-up). UNAVAILABLE on token trouble
  // (no partial result).
  absl::StatusOr<TokenInventory> Inventory(const std::function<bool()>& stop = {});

  // Inventory().keys.
  absl::StatusOr<std::vector<TokenKey>> List();

  // Destroys the incomplete objects (as Inventory finds them now) for
  // which `ours` is true; returns how many were destroyed. Durable when this
  // returns.
  absl::StatusOr<int> DestroyIncomplete(
      const std::function<bool(const IncompleteObject&)>& ours);

  // Destroys the private key, public key and certificates with this CKA_ID.
  // NOT_FOUND if none existed.
  absl::Status Destroy(const std::string& id);

  // Imports a private key (P-256 or RSA-2048) with the same strict template
  // as Generate (sensitive, non-extractable, sign-only; the token reports
  // CKA_LOCAL=false) plus its public key object, with CKA_LABEL = label and
  // CKA_ID = id. Intermediate copies of the key are wiped. Durable when this
  // returns; on failure nothing is left on the token.
  absl::StatusOr<TokenKey> ImportPrivateKey(const EVP_PKEY* key, const std::string& label,
                                            const std::string& id);

  // Stores an X.509 certificate (DER) as a CKO_CERTIFICATE beside the key
  // with this CKA_ID (CKA_SUBJECT, CKA_ISSUER, CKA_SERIAL_NUMBER from the
  // DER). A certificate already stored for the key is replaced: the new
  // object is created first, then the old one destroyed. NOT_FOUND if there
  // is no private key with this CKA_ID; INVALID_ARGUMENT for a DER that is
  // not a certificate. Durable when this returns.
  absl::Status StoreCertificate(const std::string& id, const std::string& der,
                                const std::string& label);

  // The certificate (DER) stored with this CKA_ID; NOT_FOUND if none.
  absl::StatusOr<std::string> GetCertificate(const std::string& id);

  // A signer for the private key with this CKA_ID (cached; cheap to call).
  absl::StatusOr<std::shared_ptr<crypto::Signer>> GetSigner(const std::string& id);

  // From now on the token counts as the expected one only while it shows the
  // private key with this CKA_ID (Token::RequireKey: every probe and every
  // object write check it), handing over the key's handle when the store
  // knows it (from Inventory), so the first check needs no find.
  void RequireOnToken(const std::string& id);

  // RFC 7512 URI for a private key on this token.
  std::string UriFor(const std::string& id, const std::string& label) const;

  const std::string& token_label() const;

  // True when object writes must not run beside other object access, as on
  // SoftHSM2 2.6.1 (softhsm/SoftHSMv2#573). Within this process the store
  // serializes them itself; processes sharing the token (replicas on one
  // SoftHSM2 token directory) must serialize their writes among themselves.
  bool serializes_object_writes() const;

  SignLoad sign_load() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ksef::pkcs11

#endif  // KSEF_PKCS11_KEY_STORE_H_
