#include "hsm/key_store.h"

#include <openssl/rand.h>

#include <cstdlib>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "hsm/ck_status.h"
#include "hsm/objects.h"
#include "hsm/pkcs11_signer.h"
#include "hsm/pkcs11_uri.h"
#include "hsm/public_key.h"
#include "hsm/token.h"
#include "hsm/token_objects.h"

namespace ksef::hsm {

class KeyStore::Impl {
 public:
  Impl(Token* token, std::string store_dir, int max_signs)
      : token_(token), store_dir_(std::move(store_dir)), slots_(max_signs) {}

  absl::StatusOr<TokenKey> Generate(KeyAlgorithm algorithm, const std::string& label,
                                    std::string id);
  absl::StatusOr<TokenKey> Get(const std::string& id);
  absl::StatusOr<std::vector<TokenKey>> List();
  absl::Status Destroy(const std::string& id);
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

 private:
  // Reads what we expose about a private key; `session` must stay leased.
  absl::StatusOr<TokenKey> Describe(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE priv);
  absl::StatusOr<CK_OBJECT_HANDLE> FindPrivate(CK_SESSION_HANDLE session, const std::string& id);
  absl::Status SyncStore(time_t since);
  absl::Status Checked(SessionLease& lease, CK_RV rv, absl::string_view what);

  Token* const token_;
  const std::string store_dir_;
  SignSlots slots_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Pkcs11Signer>> signers_ ABSL_GUARDED_BY(mu_);
};

absl::Status KeyStore::Impl::Checked(SessionLease& lease, CK_RV rv, absl::string_view what) {
  if (rv == CKR_OK) return absl::OkStatus();
  if (IsSessionLost(rv)) {
    lease.MarkBroken();
    token_->ReportLost();
  }
  return CkStatus(rv, what);
}

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

  auto lease = token_->Lease();
  if (!lease.ok()) return lease.status();
  CK_OBJECT_HANDLE pub_handle = CK_INVALID_HANDLE, priv_handle = CK_INVALID_HANDLE;
  time_t started = std::time(nullptr);
  std::unique_lock<std::shared_mutex> write(token_->object_mutex());
  {
    CK_RV rv = token_->f()->C_GenerateKeyPair(lease->get(), &mech, pub.data(), pub.size(),
                                              priv.data(), priv.size(), &pub_handle,
                                              &priv_handle);
    absl::Status s = Checked(*lease, rv, "C_GenerateKeyPair");
    if (!s.ok()) return s;
  }
  auto key = Describe(lease->get(), priv_handle);
  absl::Status synced = key.ok() ? SyncStore(started) : absl::OkStatus();
  if (!key.ok() || !synced.ok()) {
    // No orphans: a key we cannot describe or make durable is removed again.
    token_->f()->C_DestroyObject(lease->get(), priv_handle);
    token_->f()->C_DestroyObject(lease->get(), pub_handle);
    return key.ok() ? synced : key.status();
  }
  return key;
}

absl::StatusOr<TokenKey> KeyStore::Impl::Describe(CK_SESSION_HANDLE session,
                                                  CK_OBJECT_HANDLE priv) {
  CK_FUNCTION_LIST* f = token_->f();
  TokenKey key;
  auto id = GetBytesAttribute(f, session, priv, CKA_ID);
  if (!id.ok()) return id.status();
  key.id = *id;
  auto label = GetBytesAttribute(f, session, priv, CKA_LABEL);
  key.label = label.ok() ? *label : "";
  auto type = GetUlongAttribute(f, session, priv, CKA_KEY_TYPE);
  if (!type.ok()) return type.status();
  if (*type != CKK_EC && *type != CKK_RSA) {
    return absl::FailedPreconditionError("key type is neither EC nor RSA");
  }
  key.algorithm = *type == CKK_EC ? KeyAlgorithm::kEcP256 : KeyAlgorithm::kRsa2048;

  struct {
    CK_ATTRIBUTE_TYPE type;
    bool* out;
  } flags[] = {{CKA_LOCAL, &key.attestation.local},
               {CKA_SENSITIVE, &key.attestation.sensitive},
               {CKA_EXTRACTABLE, &key.attestation.extractable},
               {CKA_ALWAYS_SENSITIVE, &key.attestation.always_sensitive},
               {CKA_NEVER_EXTRACTABLE, &key.attestation.never_extractable}};
  for (auto& flag : flags) {
    auto v = GetBoolAttribute(f, session, priv, flag.type);
    if (!v.ok()) return v.status();
    *flag.out = *v;
  }

  if (key.algorithm == KeyAlgorithm::kRsa2048) {
    auto n = GetBytesAttribute(f, session, priv, CKA_MODULUS);
    auto e = GetBytesAttribute(f, session, priv, CKA_PUBLIC_EXPONENT);
    if (!n.ok()) return n.status();
    if (!e.ok()) return e.status();
    auto spki = RsaSpkiFromModulus(*n, *e);
    if (!spki.ok()) return spki.status();
    key.public_key_der = *spki;
  } else {
    CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
    auto pubs = FindObjects(f, session, {Attr(CKA_CLASS, &cls), BytesAttr(CKA_ID, key.id)}, 1);
    if (!pubs.ok()) return pubs.status();
    if (!pubs->empty()) {
      auto point = GetBytesAttribute(f, session, pubs->front(), CKA_EC_POINT);
      if (!point.ok()) return point.status();
      auto spki = EcP256SpkiFromEcPoint(*point);
      if (!spki.ok()) return spki.status();
      key.public_key_der = *spki;
    }
  }
  key.uri = UriFor(key.id, key.label);
  return key;
}

absl::StatusOr<CK_OBJECT_HANDLE> KeyStore::Impl::FindPrivate(CK_SESSION_HANDLE session,
                                                             const std::string& id) {
  CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
  auto found = FindObjects(token_->f(), session, {Attr(CKA_CLASS, &cls), BytesAttr(CKA_ID, id)}, 2);
  if (!found.ok()) return found.status();
  if (found->empty()) {
    KSEF_RETURN_IF_ERROR(token_->EnsureLoggedIn(session));
    return absl::NotFoundError("no private key with this CKA_ID on the token");
  }
  return found->front();
}

absl::StatusOr<TokenKey> KeyStore::Impl::Get(const std::string& id) {
  std::shared_lock<std::shared_mutex> read(token_->object_mutex());
  auto lease = token_->Lease();
  if (!lease.ok()) return lease.status();
  auto priv = FindPrivate(lease->get(), id);
  if (!priv.ok()) return priv.status();
  return Describe(lease->get(), *priv);
}

absl::StatusOr<std::vector<TokenKey>> KeyStore::Impl::List() {
  std::shared_lock<std::shared_mutex> read(token_->object_mutex());
  auto lease = token_->Lease();
  if (!lease.ok()) return lease.status();
  CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
  auto handles = FindObjects(token_->f(), lease->get(), {Attr(CKA_CLASS, &cls)});
  if (!handles.ok()) return handles.status();
  std::vector<TokenKey> keys;
  for (CK_OBJECT_HANDLE h : *handles) {
    auto key = Describe(lease->get(), h);
    if (!key.ok()) {
      LogWarning("skipping a private key that cannot be described: ", key.status().message());
      continue;
    }
    keys.push_back(std::move(*key));
  }
  return keys;
}

absl::Status KeyStore::Impl::Destroy(const std::string& id) {
  {
    absl::MutexLock lock(&mu_);
    signers_.erase(id);
  }
  std::unique_lock<std::shared_mutex> write(token_->object_mutex());
  auto lease = token_->Lease();
  if (!lease.ok()) return lease.status();
  auto handles = FindObjects(token_->f(), lease->get(), {BytesAttr(CKA_ID, id)});
  if (!handles.ok()) return handles.status();
  if (handles->empty()) {
    KSEF_RETURN_IF_ERROR(token_->EnsureLoggedIn(lease->get()));
    return absl::NotFoundError("no object with this CKA_ID on the token");
  }
  time_t started = std::time(nullptr);
  for (CK_OBJECT_HANDLE h : *handles) {
    CK_RV rv = token_->f()->C_DestroyObject(lease->get(), h);
    if (rv == CKR_OBJECT_HANDLE_INVALID) continue;  // already gone
    absl::Status s = Checked(*lease, rv, "C_DestroyObject");
    if (!s.ok()) return s;
  }
  return SyncStore(started);
}

absl::StatusOr<std::shared_ptr<Signer>> KeyStore::Impl::GetSigner(const std::string& id) {
  {
    absl::MutexLock lock(&mu_);
    auto it = signers_.find(id);
    if (it != signers_.end()) return std::static_pointer_cast<Signer>(it->second);
  }
  uint64_t generation = token_->generation();
  std::shared_lock<std::shared_mutex> read(token_->object_mutex());
  auto lease = token_->Lease();
  if (!lease.ok()) return lease.status();
  auto priv = FindPrivate(lease->get(), id);
  if (!priv.ok()) return priv.status();
  auto key = Describe(lease->get(), *priv);
  if (!key.ok()) return key.status();
  auto signer = std::make_shared<Pkcs11Signer>(token_, &slots_, id, key->algorithm,
                                               key->public_key_der, *priv, generation);
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = signers_.emplace(id, signer);
  return std::static_pointer_cast<Signer>(it->second);
}

absl::StatusOr<TokenKey> KeyStore::Impl::ImportPrivateKey(const EVP_PKEY* key,
                                                          const std::string& label,
                                                          const std::string& id) {
  ImportTemplates t;
  KSEF_RETURN_IF_ERROR(t.Fill(key, label, id));
  auto lease = token_->Lease();
  if (!lease.ok()) return lease.status();
  std::unique_lock<std::shared_mutex> write(token_->object_mutex());
  time_t started = std::time(nullptr);
  CK_OBJECT_HANDLE priv = CK_INVALID_HANDLE, pub = CK_INVALID_HANDLE;
  CK_RV rv = token_->f()->C_CreateObject(lease->get(), t.priv.data(), t.priv.size(), &priv);
  KSEF_RETURN_IF_ERROR(Checked(*lease, rv, "C_CreateObject (private key)"));
  rv = token_->f()->C_CreateObject(lease->get(), t.pub.data(), t.pub.size(), &pub);
  absl::Status s = Checked(*lease, rv, "C_CreateObject (public key)");
  absl::StatusOr<TokenKey> described = s.ok() ? Describe(lease->get(), priv) : s;
  if (described.ok()) s = SyncStore(started);
  if (!described.ok() || !s.ok()) {
    // No orphans: whatever was created is removed again.
    token_->f()->C_DestroyObject(lease->get(), priv);
    if (pub != CK_INVALID_HANDLE) token_->f()->C_DestroyObject(lease->get(), pub);
    return described.ok() ? s : described.status();
  }
  return described;
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
  auto lease = token_->Lease();
  if (!lease.ok()) return lease.status();
  std::unique_lock<std::shared_mutex> write(token_->object_mutex());
  KSEF_RETURN_IF_ERROR(FindPrivate(lease->get(), id).status());
  auto old = FindObjects(token_->f(), lease->get(), {Attr(CKA_CLASS, &cls), BytesAttr(CKA_ID, id)});
  if (!old.ok()) return old.status();
  time_t started = std::time(nullptr);
  CK_OBJECT_HANDLE created = CK_INVALID_HANDLE;
  CK_RV rv = token_->f()->C_CreateObject(lease->get(), tmpl.data(), tmpl.size(), &created);
  KSEF_RETURN_IF_ERROR(Checked(*lease, rv, "C_CreateObject (certificate)"));
  for (CK_OBJECT_HANDLE h : *old) {
    rv = token_->f()->C_DestroyObject(lease->get(), h);
    if (rv != CKR_OK && rv != CKR_OBJECT_HANDLE_INVALID) {
      LogWarning("the previous certificate object could not be removed: ",
                 CkStatus(rv, "C_DestroyObject").message());
    }
  }
  absl::Status synced = SyncStore(started);
  if (!synced.ok()) {
    token_->f()->C_DestroyObject(lease->get(), created);
    return synced;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> KeyStore::Impl::GetCertificate(const std::string& id) {
  std::shared_lock<std::shared_mutex> read(token_->object_mutex());
  auto lease = token_->Lease();
  if (!lease.ok()) return lease.status();
  CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
  auto found =
      FindObjects(token_->f(), lease->get(), {Attr(CKA_CLASS, &cls), BytesAttr(CKA_ID, id)}, 2);
  if (!found.ok()) return found.status();
  if (found->empty()) return absl::NotFoundError("no certificate with this CKA_ID on the token");
  return GetBytesAttribute(token_->f(), lease->get(), found->front(), CKA_VALUE);
}

KeyStore::KeyStore(Token* token, std::string token_store_dir, int max_concurrent_signs)
    : impl_(std::make_unique<Impl>(token, std::move(token_store_dir), max_concurrent_signs)) {}
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
absl::StatusOr<std::shared_ptr<Signer>> KeyStore::GetSigner(const std::string& id) {
  return impl_->GetSigner(id);
}
std::string KeyStore::UriFor(const std::string& id, const std::string& label) const {
  return impl_->UriFor(id, label);
}
const std::string& KeyStore::token_label() const { return impl_->token()->label(); }

}  // namespace ksef::hsm
