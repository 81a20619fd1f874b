#include "pkcs11/key_store.h"

#include <openssl/rand.h>

#include <cstdlib>
#include <ctime>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/files.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "crypto/public_key.h"
#include "pkcs11/internal/ck_status.h"
#include "pkcs11/internal/objects.h"
#include "pkcs11/internal/pkcs11_signer.h"
#include "pkcs11/internal/public_key.h"
#include "pkcs11/internal/token.h"
#include "pkcs11/internal/token_objects.h"
#include "pkcs11/pkcs11_uri.h"

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
  absl::StatusOr<std::vector<TokenKey>> List();
  absl::Status Destroy(const std::string& id);
  absl::StatusOr<std::vector<IncompleteObject>> ListIncomplete();
  absl::StatusOr<int> DestroyIncomplete(const std::function<bool(const IncompleteObject&)>& ours);
  absl::StatusOr<std::shared_ptr<Signer>> GetSigner(const std::string& id);
  absl::StatusOr<TokenKey> ImportPrivateKey(const EVP_PKEY* key, const std::string& label,
                                            const std::string& id);
  absl::Status StoreCertificate(const std::string& id, const std::string& der,
                                const std::string& label);
  absl::StatusOr<std::string> GetCertificate(const std::string& id);
  std::string UriFor(const std::string& id, const std::string& label) const {
    Pkcs11Uri uri;
    uri.token = token_->label();
    uri.id = id;
    uri.object = label;
    uri.type = "private";
    return uri.ToString();
  }
  Token* token() const { return token_; }
  SignLoad sign_load() const {
    return {slots_.in_flight.load(std::memory_order_relaxed),
            slots_.waiting.load(std::memory_order_relaxed)};
  }

 private:
  // Reads what we expose about a private key.
  absl::StatusOr<TokenKey> Describe(Session& s, CK_OBJECT_HANDLE priv);
  // NOT_FOUND only when the session is logged in and sees no such key.
  absl::StatusOr<CK_OBJECT_HANDLE> FindPrivate(Session& s, const std::string& id);
  absl::Status SyncStore(time_t since);
  struct Found {
    CK_OBJECT_HANDLE handle;
    IncompleteObject object;
  };
  absl::StatusOr<std::vector<Found>> FindIncomplete(Session& s);

  Token* const token_;
  const std::string store_dir_;
  SignSlots slots_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Pkcs11Signer>> signers_ ABSL_GUARDED_BY(mu_);
};

absl::Status KeyStore::Impl::SyncStore(time_t since) {
  if (store_dir_.empty()) return absl::OkStatus();
  // mtime has one-second granularity on some filesystems: look one second back.
  return FsyncChangedSince(store_dir_, static_cast<int64_t>(since) - 1);
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

  return token_->WithSession(ObjectAccess::kWrite, [&](Session& s) -> absl::StatusOr<TokenKey> {
    KSEF_RETURN_IF_ERROR(token_->CheckIdentity(s));
    CK_OBJECT_HANDLE pub_handle = CK_INVALID_HANDLE, priv_handle = CK_INVALID_HANDLE;
    time_t started = std::time(nullptr);
    CK_RV rv = s.f()->C_GenerateKeyPair(s.handle(), &mech, pub.data(), pub.size(), priv.data(),
                                        priv.size(), &pub_handle, &priv_handle);
    KSEF_RETURN_IF_ERROR(s.Check(rv, "C_GenerateKeyPair"));
    auto key = Describe(s, priv_handle);
    absl::Status synced = key.ok() ? SyncStore(started) : absl::OkStatus();
    if (!key.ok() || !synced.ok()) {
      // No orphans: a key we cannot describe or make durable is removed again.
      s.f()->C_DestroyObject(s.handle(), priv_handle);
      s.f()->C_DestroyObject(s.handle(), pub_handle);
      return key.ok() ? synced : key.status();
    }
    return key;
  });
}

absl::StatusOr<TokenKey> KeyStore::Impl::Describe(Session& s, CK_OBJECT_HANDLE priv) {
  TokenKey key;
  KSEF_ASSIGN_OR_RETURN(key.id, GetBytesAttribute(s, priv, CKA_ID));
  auto label = GetBytesAttribute(s, priv, CKA_LABEL);
  if (!label.ok() && absl::IsUnavailable(label.status())) return label.status();
  key.label = label.ok() ? *label : "";
  KSEF_ASSIGN_OR_RETURN(CK_ULONG type, GetUlongAttribute(s, priv, CKA_KEY_TYPE));
  if (type != CKK_EC && type != CKK_RSA) {
    return absl::FailedPreconditionError("key type is neither EC nor RSA");
  }
  key.algorithm = type == CKK_EC ? KeyAlgorithm::kEcP256 : KeyAlgorithm::kRsa2048;

  struct {
    CK_ATTRIBUTE_TYPE type;
    bool* out;
  } flags[] = {{CKA_LOCAL, &key.attestation.local},
               {CKA_SENSITIVE, &key.attestation.sensitive},
               {CKA_EXTRACTABLE, &key.attestation.extractable},
               {CKA_ALWAYS_SENSITIVE, &key.attestation.always_sensitive},
               {CKA_NEVER_EXTRACTABLE, &key.attestation.never_extractable}};
  for (auto& flag : flags) {
    KSEF_ASSIGN_OR_RETURN(*flag.out, GetBoolAttribute(s, priv, flag.type));
  }

  if (key.algorithm == KeyAlgorithm::kRsa2048) {
    KSEF_ASSIGN_OR_RETURN(std::string n, GetBytesAttribute(s, priv, CKA_MODULUS));
    KSEF_ASSIGN_OR_RETURN(std::string e, GetBytesAttribute(s, priv, CKA_PUBLIC_EXPONENT));
    KSEF_ASSIGN_OR_RETURN(key.public_key_der, crypto::RsaSpkiFromModulus(n, e));
  } else {
    CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
    KSEF_ASSIGN_OR_RETURN(auto pubs,
                          FindObjects(s, {Attr(CKA_CLASS, &cls), BytesAttr(CKA_ID, key.id)}, 1));
    if (!pubs.empty()) {
      KSEF_ASSIGN_OR_RETURN(std::string point, GetBytesAttribute(s, pubs.front(), CKA_EC_POINT));
      KSEF_ASSIGN_OR_RETURN(key.public_key_der, EcP256SpkiFromEcPoint(point));
    }
  }
  key.uri = UriFor(key.id, key.label);
  return key;
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

absl::StatusOr<std::vector<TokenKey>> KeyStore::Impl::List() {
  using Keys = std::vector<TokenKey>;
  return token_->WithSession(ObjectAccess::kRead, [&](Session& s) -> absl::StatusOr<Keys> {
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    KSEF_ASSIGN_OR_RETURN(auto handles, FindObjects(s, {Attr(CKA_CLASS, &cls)}));
    Keys keys;
    for (CK_OBJECT_HANDLE h : handles) {
      auto key = Describe(s, h);
      if (absl::IsUnavailable(key.status())) return key.status();  // token trouble: no partial list
      if (!key.ok()) {
        LogWarning("skipping a private key that cannot be described: ", key.status().message());
        continue;
      }
      keys.push_back(std::move(*key));
    }
    return keys;
  });
}

absl::StatusOr<std::vector<KeyStore::Impl::Found>> KeyStore::Impl::FindIncomplete(Session& s) {
  std::vector<Found> all, unreadable;
  absl::flat_hash_set<std::string> private_ids, public_ids;
  // Every object: a half-written one may not even have a class to find it by.
  KSEF_ASSIGN_OR_RETURN(auto handles, FindObjects(s, {}));
  for (CK_OBJECT_HANDLE h : handles) {
    Found f{h, {}};
    auto cls = GetUlongAttribute(s, h, CKA_CLASS);
    if (absl::IsUnavailable(cls.status())) return cls.status();
    if (!cls.ok()) {
      f.object.reason = "unreadable: no CKA_CLASS (a half-written object)";
      unreadable.push_back(std::move(f));
      continue;
    }
    if (*cls != CKO_PRIVATE_KEY && *cls != CKO_PUBLIC_KEY) continue;
    f.object.private_key = *cls == CKO_PRIVATE_KEY;
    auto id = GetBytesAttribute(s, h, CKA_ID);
    if (absl::IsUnavailable(id.status())) return id.status();
    auto label = GetBytesAttribute(s, h, CKA_LABEL);
    if (absl::IsUnavailable(label.status())) return label.status();
    f.object.id = id.ok() ? *id : "";
    f.object.label = label.ok() ? *label : "";
    (f.object.private_key ? private_ids : public_ids).insert(f.object.id);
    all.push_back(std::move(f));
  }
  std::vector<Found> out;
  for (Found& f : all) {
    const IncompleteObject& o = f.object;
    const auto& partners = o.private_key ? public_ids : private_ids;
    if (o.id.empty()) {
      f.object.reason = "no CKA_ID";
    } else if (o.label.empty()) {
      f.object.reason = "no label";
    } else if (!partners.contains(o.id)) {
      f.object.reason = o.private_key ? "a private key without its public key"
                                      : "a public key without its private key";
    } else {
      continue;
    }
    out.push_back(std::move(f));
  }
  for (Found& f : unreadable) out.push_back(std::move(f));
  return out;
}

absl::StatusOr<std::vector<IncompleteObject>> KeyStore::Impl::ListIncomplete() {
  using Objects = std::vector<IncompleteObject>;
  return token_->WithSession(ObjectAccess::kRead, [&](Session& s) -> absl::StatusOr<Objects> {
    KSEF_ASSIGN_OR_RETURN(std::vector<Found> found, FindIncomplete(s));
    Objects out;
    for (Found& f : found) out.push_back(std::move(f.object));
    return out;
  });
}

absl::StatusOr<int> KeyStore::Impl::DestroyIncomplete(
    const std::function<bool(const IncompleteObject&)>& ours) {
  return token_->WithSession(ObjectAccess::kWrite, [&](Session& s) -> absl::StatusOr<int> {
    KSEF_RETURN_IF_ERROR(token_->CheckIdentity(s));
    KSEF_ASSIGN_OR_RETURN(std::vector<Found> found, FindIncomplete(s));
    time_t started = std::time(nullptr);
    int destroyed = 0;
    for (const Found& f : found) {
      if (!ours(f.object)) continue;
      CK_RV rv = s.f()->C_DestroyObject(s.handle(), f.handle);
      if (rv == CKR_OBJECT_HANDLE_INVALID) continue;  // already gone
      KSEF_RETURN_IF_ERROR(s.Check(rv, "C_DestroyObject (incomplete object)"));
      ++destroyed;
    }
    KSEF_RETURN_IF_ERROR(SyncStore(started));
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
    time_t started = std::time(nullptr);
    for (CK_OBJECT_HANDLE h : handles) {
      CK_RV rv = s.f()->C_DestroyObject(s.handle(), h);
      if (rv == CKR_OBJECT_HANDLE_INVALID) continue;  // already gone
      KSEF_RETURN_IF_ERROR(s.Check(rv, "C_DestroyObject"));
    }
    return SyncStore(started);
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
    time_t started = std::time(nullptr);
    CK_OBJECT_HANDLE priv = CK_INVALID_HANDLE, pub = CK_INVALID_HANDLE;
    CK_RV rv = s.f()->C_CreateObject(s.handle(), t.priv.data(), t.priv.size(), &priv);
    KSEF_RETURN_IF_ERROR(s.Check(rv, "C_CreateObject (private key)"));
    rv = s.f()->C_CreateObject(s.handle(), t.pub.data(), t.pub.size(), &pub);
    absl::Status created = s.Check(rv, "C_CreateObject (public key)");
    absl::StatusOr<TokenKey> described = created.ok() ? Describe(s, priv) : created;
    absl::Status synced = described.ok() ? SyncStore(started) : absl::OkStatus();
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
    time_t started = std::time(nullptr);
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
    absl::Status synced = SyncStore(started);
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
absl::StatusOr<std::vector<TokenKey>> KeyStore::List() { return impl_->List(); }
absl::Status KeyStore::Destroy(const std::string& id) { return impl_->Destroy(id); }

absl::StatusOr<std::vector<IncompleteObject>> KeyStore::ListIncomplete() {
  return impl_->ListIncomplete();
}

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
std::string KeyStore::UriFor(const std::string& id, const std::string& label) const {
  return impl_->UriFor(id, label);
}
const std::string& KeyStore::token_label() const { return impl_->token()->label(); }

bool KeyStore::serializes_object_writes() const {
  return impl_->token()->serializes_object_writes();
}

}  // namespace ksef::pkcs11
