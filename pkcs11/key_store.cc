#include "pkcs11/key_store.h"

#include <openssl/rand.h>

#include <cstdlib>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/files.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "crypto/public_key.h"
#include "pkcs11/internal/ck_status.h"
#include "pkcs11/internal/inventory.h"
#include "pkcs11/internal/object_scan.h"
#include "pkcs11/internal/objects.h"
#include "pkcs11/internal/pkcs11_signer.h"
#include "pkcs11/internal/public_key.h"
#include "pkcs11/internal/token.h"
#include "pkcs11/internal/token_objects.h"

namespace ksef::pkcs11 {

using crypto::KeyAlgorithm;
using crypto::Signer;

class KeyStore::Impl {
 public:
  Impl(Token* token, std::string store_dir, int max_signs, TokenSignObserver on_token_sign)
      : token_(token), store_dir_(std::move(store_dir)), slots_(max_signs, std::move(on_token_sign)) {}

  absl::StatusOr<TokenKey> Generate(KeyAlgorithm algorithm, const std::string& label,
                                    std::string id);
  absl::StatusOr<TokenKey> Get(const std::string& id);
  absl::StatusOr<TokenInventory> Inventory(const std::function<bool()>& stop);
  absl::Status Destroy(const std::string& id);
  absl::StatusOr<int> DestroyIncomplete(const std::function<bool(const IncompleteObject&)>& ours);
  absl::StatusOr<std::shared_ptr<Signer>> GetSigner(const std::string& id);
  absl::StatusOr<TokenKey> ImportPrivateKey(const EVP_PKEY* key, const std::string& label,
                                            const std::string& id);
  absl::Status StoreCertificate(const std::string& id, const std::string& der,
                                const std::string& label);
  absl::StatusOr<std::string> GetCertificate(const std::string& id);
  std::string UriFor(const std::string& id, const std::string& label) const {
    return KeyUri(token_->label(), id, label);
  }
  Token* token() const { return token_; }
  SignLoad sign_load() const {
    return {slots_.in_flight.load(std::memory_order_relaxed),
            slots_.waiting.load(std::memory_order_relaxed)};
  }
  void RequireOnToken(const std::string& id) {
    std::shared_ptr<Pkcs11Signer> signer;
    {
      absl::MutexLock lock(&mu_);
      auto it = signers_.find(id);
      if (it != signers_.end()) signer = it->second;
    }
    if (signer == nullptr) {
      token_->RequireKey(id);
      return;
    }
    auto [handle, generation] = signer->cached_handle();
    token_->RequireKey(id, handle, generation);
  }

 private:
  // Reads what we expose about a private key. `pub`: its public key when
  // known (a key just made); otherwise found by CKA_ID (EC keys only).
  absl::StatusOr<TokenKey> Describe(Session& s, CK_OBJECT_HANDLE priv,
                                    CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE);
  // NOT_FOUND only when the session is logged in and sees no such key.
  absl::StatusOr<CK_OBJECT_HANDLE> FindPrivate(Session& s, const std::string& id);
  absl::Status SyncStore();
  absl::StatusOr<ScannedInventory> Scan(Session& s, const std::function<bool()>& stop);
  // Caches a signer for `key` (handle `priv`, valid in `generation`) unless
  // one is cached already.
  void CacheSigner(const TokenKey& key, CK_OBJECT_HANDLE priv, uint64_t generation);

  Token* const token_;
  const std::string store_dir_;
  SignSlots slots_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Pkcs11Signer>> signers_ ABSL_GUARDED_BY(mu_);
};

absl::Status KeyStore::Impl::SyncStore() {
  if (store_dir_.empty()) return absl::OkStatus();
  return SyncFileSystemOf(store_dir_);
}

absl::StatusOr<TokenKey> KeyStore::Impl::Generate(KeyAlgorithm algorithm,
                                                  const std::string& label, std::string id) {
  if (id.empty()) id = KeyStore::NewId();
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  CK_ULONG modulus_bits = 2048;
  CK_BYTE public_exponent[] = {0x01, 0x00, 0x01};
  std::string ec_params(kP256EcParams, kP256EcParamsSize);

  // No CKA_VERIFY/CKA_ENCRYPT: tpm2-pkcs11 1.9 derives both from the TPM
  // key's sign bit (VERIFY=FALSE, ENCRYPT=TRUE for a sign-only key) and fails
  // C_GenerateKeyPair with CKR_GENERAL_ERROR when the template says otherwise.
  // The public object's usage flags do not matter: we verify in software.
  std::vector<CK_ATTRIBUTE> pub = {Attr(CKA_TOKEN, &yes), Attr(CKA_PRIVATE, &no),
                                   Attr(CKA_WRAP, &no), BytesAttr(CKA_ID, id),
                                   BytesAttr(CKA_LABEL, label)};
  // design.md section 3: sign-only, sensitive, never extractable.
  std::vector<CK_ATTRIBUTE> priv = {
      Attr(CKA_TOKEN, &yes),   Attr(CKA_PRIVATE, &yes),     Attr(CKA_SENSITIVE, &yes),
      Attr(CKA_EXTRACTABLE, &no), Attr(CKA_SIGN, &yes),     Attr(CKA_DECRYPT, &no),
      Attr(CKA_UNWRAP, &no),   Attr(CKA_DERIVE, &no),       BytesAttr(CKA_ID, id),
      BytesAttr(CKA_LABEL, label)};
  CK_MECHANISM mech{CKM_EC_KEY_PAIR_GEN, nullptr, 0};
  if (algorithm == KeyAlgorithm::kEcP256) {
    pub.push_back(BytesAttr(CKA_EC_PARAMS, ec_params));
  } else {
    mech = {CKM_RSA_PKCS_KEY_PAIR_GEN, nullptr, 0};
    pub.push_back(Attr(CKA_MODULUS_BITS, &modulus_bits));
    pub.push_back(CK_ATTRIBUTE{CKA_PUBLIC_EXPONENT, public_exponent, sizeof(public_exponent)});
  }

  const uint64_t generation = token_->generation();
  return token_->WithSession(ObjectAccess::kWrite, [&](Session& s) -> absl::StatusOr<TokenKey> {
    KSEF_RETURN_IF_ERROR(token_->CheckIdentity(s));
    CK_OBJECT_HANDLE pub_handle = CK_INVALID_HANDLE, priv_handle = CK_INVALID_HANDLE;
    CK_RV rv = s.f()->C_GenerateKeyPair(s.handle(), &mech, pub.data(), pub.size(), priv.data(),
                                        priv.size(), &pub_handle, &priv_handle);
    KSEF_RETURN_IF_ERROR(s.Check(rv, "C_GenerateKeyPair"));
    auto key = Describe(s, priv_handle, pub_handle);
    absl::Status synced = key.ok() ? SyncStore() : absl::OkStatus();
    if (!key.ok() || !synced.ok()) {
      // No orphans: a key we cannot describe or make durable is removed again.
      s.f()->C_DestroyObject(s.handle(), priv_handle);
      s.f()->C_DestroyObject(s.handle(), pub_handle);
      return key.ok() ? synced : key.status();
    }
    CacheSigner(*key, priv_handle, generation);
    return key;
  });
}

absl::StatusOr<TokenKey> KeyStore::Impl::Describe(Session& s, CK_OBJECT_HANDLE priv,
                                                  CK_OBJECT_HANDLE pub) {
  KSEF_ASSIGN_OR_RETURN(ScannedObject priv_object, ReadObject(s, priv));
  if (pub == CK_INVALID_HANDLE && priv_object.has_key_type && priv_object.key_type == CKK_EC) {
    CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
    KSEF_ASSIGN_OR_RETURN(
        auto pubs, FindObjects(s, {Attr(CKA_CLASS, &cls), BytesAttr(CKA_ID, priv_object.id)}, 1));
    if (!pubs.empty()) pub = pubs.front();
  }
  std::optional<ScannedObject> pub_object;
  if (pub != CK_INVALID_HANDLE) {
    KSEF_ASSIGN_OR_RETURN(pub_object, ReadObject(s, pub));
  }
  return DescribeKey(priv_object, pub_object ? &*pub_object : nullptr, token_->label());
}

void KeyStore::Impl::CacheSigner(const TokenKey& key, CK_OBJECT_HANDLE priv,
                                 uint64_t generation) {
  if (key.public_key_der.empty()) return;  // half a key: nothing to verify against
  absl::MutexLock lock(&mu_);
  if (signers_.contains(key.id)) return;
  signers_.emplace(key.id, std::make_shared<Pkcs11Signer>(token_, &slots_, key.id, key.algorithm,
                                                          key.public_key_der, priv, generation));
}

absl::StatusOr<CK_OBJECT_HANDLE> KeyStore::Impl::FindPrivate(Session& s, const std::string& id) {
  CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
  KSEF_ASSIGN_OR_RETURN(auto found,
                        FindObjects(s, {Attr(CKA_CLASS, &cls), BytesAttr(CKA_ID, id)}, 2));
  if (found.empty()) {
    KSEF_RETURN_IF_ERROR(s.EnsureLoggedIn());
    return absl::NotFoundError("no private key with this CKA_ID on the token");
  }
  return found.front();
}

absl::StatusOr<TokenKey> KeyStore::Impl::Get(const std::string& id) {
  return token_->WithSession(ObjectAccess::kRead, [&](Session& s) -> absl::StatusOr<TokenKey> {
    KSEF_ASSIGN_OR_RETURN(CK_OBJECT_HANDLE priv, FindPrivate(s, id));
    return Describe(s, priv);
  });
}

absl::StatusOr<ScannedInventory> KeyStore::Impl::Scan(Session& s,
                                                      const std::function<bool()>& stop) {
  KSEF_ASSIGN_OR_RETURN(std::vector<ScannedObject> objects, ScanObjects(s, stop));
  // A session logged out meanwhile sees no private object: never an
  // inventory that silently lacks the keys.
  KSEF_RETURN_IF_ERROR(s.EnsureLoggedIn());
  return AssembleInventory(objects, token_->label());
}

absl::StatusOr<TokenInventory> KeyStore::Impl::Inventory(const std::function<bool()>& stop) {
  // Read before the pass: a recovery meanwhile makes the handles look stale
  // (re-resolved), never fresh.
  const uint64_t generation = token_->generation();
  auto scanned = token_->WithSession(
      ObjectAccess::kRead,
      [&](Session& s) -> absl::StatusOr<ScannedInventory> { return Scan(s, stop); });
  if (!scanned.ok()) return scanned.status();
  for (size_t i = 0; i < scanned->inventory.keys.size(); ++i) {
    CacheSigner(scanned->inventory.keys[i], scanned->key_handles[i], generation);
  }
  return std::move(scanned->inventory);
}

absl::StatusOr<int> KeyStore::Impl::DestroyIncomplete(
    const std::function<bool(const IncompleteObject&)>& ours) {
  return token_->WithSession(ObjectAccess::kWrite, [&](Session& s) -> absl::StatusOr<int> {
    KSEF_RETURN_IF_ERROR(token_->CheckIdentity(s));
    KSEF_ASSIGN_OR_RETURN(ScannedInventory found, Scan(s, {}));
    int destroyed = 0;
    for (size_t i = 0; i < found.inventory.incomplete.size(); ++i) {
      if (!ours(found.inventory.incomplete[i])) continue;
      CK_RV rv = s.f()->C_DestroyObject(s.handle(), found.incomplete_handles[i]);
      if (rv == CKR_OBJECT_HANDLE_INVALID) continue;  // already gone
      KSEF_RETURN_IF_ERROR(s.Check(rv, "C_DestroyObject (incomplete object)"));
      ++destroyed;
    }
    KSEF_RETURN_IF_ERROR(SyncStore());
    return destroyed;
  });
}

absl::Status KeyStore::Impl::Destroy(const std::string& id) {
  {
    absl::MutexLock lock(&mu_);
    signers_.erase(id);
  }
  return token_->WithSession(ObjectAccess::kWrite, [&](Session& s) -> absl::Status {
    KSEF_ASSIGN_OR_RETURN(auto handles, FindObjects(s, {BytesAttr(CKA_ID, id)}));
    if (handles.empty()) {
      KSEF_RETURN_IF_ERROR(s.EnsureLoggedIn());
      return absl::NotFoundError("no object with this CKA_ID on the token");
    }
    for (CK_OBJECT_HANDLE h : handles) {
      CK_RV rv = s.f()->C_DestroyObject(s.handle(), h);
      if (rv == CKR_OBJECT_HANDLE_INVALID) continue;  // already gone
      KSEF_RETURN_IF_ERROR(s.Check(rv, "C_DestroyObject"));
    }
    return SyncStore();
  });
}

absl::StatusOr<std::shared_ptr<Signer>> KeyStore::Impl::GetSigner(const std::string& id) {
  {
    absl::MutexLock lock(&mu_);
    auto it = signers_.find(id);
    if (it != signers_.end()) return std::static_pointer_cast<Signer>(it->second);
  }
  uint64_t generation = token_->generation();
  auto described = token_->WithSession(
      ObjectAccess::kRead, [&](Session& s) -> absl::StatusOr<std::pair<TokenKey, CK_OBJECT_HANDLE>> {
        auto priv = FindPrivate(s, id);
        if (absl::IsNotFound(priv.status())) return token_->KnownKeyMissing();
        if (!priv.ok()) return priv.status();
        KSEF_ASSIGN_OR_RETURN(TokenKey key, Describe(s, *priv));
        return std::make_pair(std::move(key), *priv);
      });
  if (!described.ok()) return described.status();
  auto signer = std::make_shared<Pkcs11Signer>(token_, &slots_, id, described->first.algorithm,
                                               described->first.public_key_der, described->second,
                                               generation);
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = signers_.emplace(id, signer);
  return std::static_pointer_cast<Signer>(it->second);
}

absl::StatusOr<TokenKey> KeyStore::Impl::ImportPrivateKey(const EVP_PKEY* key,
                                                          const std::string& label,
                                                          const std::string& id) {
  ImportTemplates t;
  KSEF_RETURN_IF_ERROR(t.Fill(key, label, id));
  return token_->WithSession(ObjectAccess::kWrite, [&](Session& s) -> absl::StatusOr<TokenKey> {
    KSEF_RETURN_IF_ERROR(token_->CheckIdentity(s));
    CK_OBJECT_HANDLE priv = CK_INVALID_HANDLE, pub = CK_INVALID_HANDLE;
    CK_RV rv = s.f()->C_CreateObject(s.handle(), t.priv.data(), t.priv.size(), &priv);
    KSEF_RETURN_IF_ERROR(s.Check(rv, "C_CreateObject (private key)"));
    rv = s.f()->C_CreateObject(s.handle(), t.pub.data(), t.pub.size(), &pub);
    absl::Status created = s.Check(rv, "C_CreateObject (public key)");
    absl::StatusOr<TokenKey> described = created.ok() ? Describe(s, priv, pub) : created;
    absl::Status synced = described.ok() ? SyncStore() : absl::OkStatus();
    if (!described.ok() || !synced.ok()) {
      // No orphans: whatever was created is removed again.
      s.f()->C_DestroyObject(s.handle(), priv);
      if (pub != CK_INVALID_HANDLE) s.f()->C_DestroyObject(s.handle(), pub);
      return described.ok() ? synced : described.status();
    }
    return described;
  });
}

absl::Status KeyStore::Impl::StoreCertificate(const std::string& id, const std::string& der,
                                              const std::string& label) {
  KSEF_ASSIGN_OR_RETURN(CertificateAttributes attrs, ReadCertificateAttributes(der));
  CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
  CK_CERTIFICATE_TYPE type = CKC_X_509;
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  std::vector<CK_ATTRIBUTE> tmpl = {
      Attr(CKA_CLASS, &cls),          Attr(CKA_CERTIFICATE_TYPE, &type),
      Attr(CKA_TOKEN, &yes),          Attr(CKA_PRIVATE, &no),
      Attr(CKA_MODIFIABLE, &yes),     BytesAttr(CKA_ID, id),
      BytesAttr(CKA_LABEL, label),    BytesAttr(CKA_SUBJECT, attrs.subject),
      BytesAttr(CKA_ISSUER, attrs.issuer), BytesAttr(CKA_SERIAL_NUMBER, attrs.serial),
      BytesAttr(CKA_VALUE, der)};
  return token_->WithSession(ObjectAccess::kWrite, [&](Session& s) -> absl::Status {
    KSEF_RETURN_IF_ERROR(FindPrivate(s, id).status());
    KSEF_ASSIGN_OR_RETURN(auto old, FindObjects(s, {Attr(CKA_CLASS, &cls), BytesAttr(CKA_ID, id)}));
    CK_OBJECT_HANDLE created = CK_INVALID_HANDLE;
    CK_RV rv = s.f()->C_CreateObject(s.handle(), tmpl.data(), tmpl.size(), &created);
    KSEF_RETURN_IF_ERROR(s.Check(rv, "C_CreateObject (certificate)"));
    for (CK_OBJECT_HANDLE h : old) {
      rv = s.f()->C_DestroyObject(s.handle(), h);
      if (rv != CKR_OK && rv != CKR_OBJECT_HANDLE_INVALID) {
        LogWarning("the previous certificate object could not be removed: ",
                   CkStatus(rv, "C_DestroyObject").message());
      }
    }
    absl::Status synced = SyncStore();
    if (!synced.ok()) {
      s.f()->C_DestroyObject(s.handle(), created);
      return synced;
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::string> KeyStore::Impl::GetCertificate(const std::string& id) {
  return token_->WithSession(ObjectAccess::kRead, [&](Session& s) -> absl::StatusOr<std::string> {
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    KSEF_ASSIGN_OR_RETURN(auto found,
                          FindObjects(s, {Attr(CKA_CLASS, &cls), BytesAttr(CKA_ID, id)}, 2));
    if (found.empty()) {
      KSEF_RETURN_IF_ERROR(s.EnsureLoggedIn());
      return absl::NotFoundError("no certificate with this CKA_ID on the token");
    }
    return GetBytesAttribute(s, found.front(), CKA_VALUE);
  });
}

KeyStore::KeyStore(Token* token, std::string token_store_dir, int max_concurrent_signs,
                   TokenSignObserver on_token_sign)
    : impl_(std::make_unique<Impl>(token, std::move(token_store_dir), max_concurrent_signs,
                                   std::move(on_token_sign))) {}
SignLoad KeyStore::sign_load() const { return impl_->sign_load(); }
KeyStore::~KeyStore() = default;

absl::StatusOr<TokenKey> KeyStore::Generate(KeyAlgorithm algorithm, const std::string& label,
                                            const std::string& id) {
  return impl_->Generate(algorithm, label, id);
}

std::string KeyStore::NewId() {
  std::string id(16, '\0');
  // RAND_bytes only fails when the DRBG cannot be seeded: nothing would work then.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(id.data()), id.size()) != 1) std::abort();
  return id;
}
absl::StatusOr<TokenKey> KeyStore::Get(const std::string& id) { return impl_->Get(id); }
absl::StatusOr<TokenKey> KeyStore::ImportPrivateKey(const EVP_PKEY* key, const std::string& label,
                                                    const std::string& id) {
  return impl_->ImportPrivateKey(key, label, id);
}
absl::Status KeyStore::StoreCertificate(const std::string& id, const std::string& der,
                                        const std::string& label) {
  return impl_->StoreCertificate(id, der, label);
}
absl::StatusOr<std::string> KeyStore::GetCertificate(const std::string& id) {
  return impl_->GetCertificate(id);
}
absl::StatusOr<TokenInventory> KeyStore::Inventory(const std::function<bool()>& stop) {
  return impl_->Inventory(stop);
}
absl::StatusOr<std::vector<TokenKey>> KeyStore::List() {
  auto inventory = impl_->Inventory({});
  if (!inventory.ok()) return inventory.status();
  return std::move(inventory->keys);
}
absl::Status KeyStore::Destroy(const std::string& id) { return impl_->Destroy(id); }

absl::StatusOr<int> KeyStore::DestroyIncomplete(
    const std::function<bool(const IncompleteObject&)>& ours) {
  return impl_->DestroyIncomplete(ours);
}

std::string IncompleteObject::Describe() const {
  return absl::StrCat(private_key ? "private" : "public", " key", label.empty() ? "" : " '",
                      label, label.empty() ? "" : "'", " CKA_ID ",
                      id.empty() ? "(none)" : HexUpper(id), ": ", reason);
}
absl::StatusOr<std::shared_ptr<Signer>> KeyStore::GetSigner(const std::string& id) {
  return impl_->GetSigner(id);
}
void KeyStore::RequireOnToken(const std::string& id) { impl_->RequireOnToken(id); }
std::string KeyStore::UriFor(const std::string& id, const std::string& label) const {
  return impl_->UriFor(id, label);
}
const std::string& KeyStore::token_label() const { return impl_->token()->label(); }

bool KeyStore::serializes_object_writes() const {
  return impl_->token()->serializes_object_writes();
}

}  // namespace ksef::pkcs11
