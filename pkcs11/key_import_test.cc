// Bring-your-own keys and certificate objects on a real SoftHSM2 token:
// decoding key files, importing them as sensitive non-extractable keys
// (CKA_LOCAL=false), and storing/replacing certificates beside keys.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "crypto/private_key_file.h"
#include "crypto/public_key.h"
#include "crypto/software_signer.h"
#include "pkcs11/internal/module.h"
#include "pkcs11/internal/objects.h"
#include "pkcs11/internal/token.h"
#include "pkcs11/key_store.h"
#include "tests/support/softhsm_token.h"

namespace ksef::pkcs11 {

using crypto::KeyAlgorithm;
using crypto::SignatureScheme;
using crypto::VerifyDigestSignature;
using crypto::DecodePrivateKeyFile;
using crypto::PublicKeyDerOf;
namespace {

using ::testing::HasSubstr;

std::string Sha256(absl::string_view data) {
  unsigned char md[32];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return std::string(reinterpret_cast<char*>(md), 32);
}

std::string BioString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

EvpPkeyPtr NewKey(const char* kind) {
  if (std::string(kind) == "rsa") return EvpPkeyPtr(EVP_RSA_gen(2048));
  return EvpPkeyPtr(EVP_EC_gen(kind));
}

std::string EncryptedPkcs8Pem(EVP_PKEY* key, const std::string& password) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PKCS8PrivateKey(bio.get(), key, EVP_aes_256_cbc(), password.data(),
                                static_cast<int>(password.size()), nullptr, nullptr);
  return BioString(bio.get());
}

// A minimal self-signed certificate for `key` (the token only needs a DER).
std::string SelfSignedDer(EVP_PKEY* key, long serial) {
  X509Ptr x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("import test"), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
  X509_set_pubkey(x.get(), key);
  X509_sign(x.get(), key, EVP_sha256());
  unsigned char* der = nullptr;
  int len = i2d_X509(x.get(), &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

TEST(PrivateKeyFileTest, ReadsEncryptedPkcs8WithItsPassword) {
  EvpPkeyPtr key = NewKey("P-256");
  const std::string pem = EncryptedPkcs8Pem(key.get(), "zażółć gęślą jaźń");
  auto decoded = DecodePrivateKeyFile(pem, SecureString("zażółć gęślą jaźń"));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(PublicKeyDerOf(decoded->get()).value(), PublicKeyDerOf(key.get()).value());

  auto wrong = DecodePrivateKeyFile(pem, SecureString("wrong"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong.status().message(), HasSubstr("wrong password"));
  EXPECT_THAT(wrong.status().message(), ::testing::Not(HasSubstr("wrong\"")));
  auto missing = DecodePrivateKeyFile(pem, SecureString());
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("encrypted"));
}

TEST(PrivateKeyFileTest, ReadsPlainAndTraditionalForms) {
  EvpPkeyPtr ec = NewKey("P-256");
  BioPtr trad(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey_traditional(trad.get(), ec.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr);
  EXPECT_TRUE(DecodePrivateKeyFile(BioString(trad.get()), SecureString()).ok());
  unsigned char* der = nullptr;
  int len = i2d_PrivateKey(ec.get(), &der);  // SEC1 ECPrivateKey
  std::string sec1(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  EXPECT_TRUE(DecodePrivateKeyFile(sec1, SecureString()).ok());
  EvpPkeyPtr rsa = NewKey("rsa");
  BioPtr p8(BIO_new(BIO_s_mem()));
  i2d_PKCS8PrivateKey_bio(p8.get(), rsa.get(), nullptr, nullptr, 0, nullptr, nullptr);
  EXPECT_TRUE(DecodePrivateKeyFile(BioString(p8.get()), SecureString()).ok());
}

TEST(PrivateKeyFileTest, RefusesKeysKsefDoesNotCertify) {
  EvpPkeyPtr p384 = NewKey("P-384");
  auto refused = DecodePrivateKeyFile(EncryptedPkcs8Pem(p384.get(), "pw"), SecureString("pw"));
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("P-256"));
  EXPECT_FALSE(DecodePrivateKeyFile("not a key", SecureString()).ok());
  EXPECT_FALSE(DecodePrivateKeyFile("", SecureString()).ok());
}

class KeyImportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto token = ksef::testing::TestToken::Create();
    ASSERT_TRUE(token.ok()) << token.status();
    test_token_ = token->release();
    auto module = Module::Load(ksef::testing::TestToken::ModulePath());
    ASSERT_TRUE(module.ok()) << module.status();
    module_ = module->release();
    auto t = Token::Open(module_, TokenSelector{test_token_->label(), ""},
                         SecureString(test_token_->pin()), 8);
    ASSERT_TRUE(t.ok()) << t.status();
    token_ = t->release();
    store_ = new KeyStore(token_, test_token_->token_dir(), 4);
  }
  static void TearDownTestSuite() {
    delete store_;
    delete token_;
    delete module_;
    delete test_token_;
  }

  // Count of objects of `cls` with this CKA_ID.
  static size_t CountObjects(const std::string& id, CK_OBJECT_CLASS cls) {
    auto found = token_->WithSession(ObjectAccess::kRead, [&](Session& s) {
      return FindObjects(s, {Attr(CKA_CLASS, &cls), BytesAttr(CKA_ID, id)});
    });
    EXPECT_TRUE(found.ok());
    return found.ok() ? found->size() : 0;
  }

  static ksef::testing::TestToken* test_token_;
  static Module* module_;
  static Token* token_;
  static KeyStore* store_;
};

ksef::testing::TestToken* KeyImportTest::test_token_ = nullptr;
Module* KeyImportTest::module_ = nullptr;
Token* KeyImportTest::token_ = nullptr;
KeyStore* KeyImportTest::store_ = nullptr;

TEST_F(KeyImportTest, ImportedKeysAreSensitiveNonExtractableNotLocalAndSign) {
  for (const char* kind : {"P-256", "rsa"}) {
    SCOPED_TRACE(kind);
    EvpPkeyPtr key = NewKey(kind);
    const std::string id = KeyStore::NewId();
    auto imported = store_->ImportPrivateKey(key.get(), absl::StrCat("byok-", kind), id);
    if (ksef::testing::TestToken::IsTpm2()) {
      // tpm2-pkcs11 1.9 creates only public keys, certificates and data
      // objects with C_CreateObject; a private key is refused with
      // CKR_ATTRIBUTE_VALUE_INVALID and nothing is left behind
      // (docs/operations.md).
      ASSERT_FALSE(imported.ok());
      EXPECT_EQ(imported.status().code(), absl::StatusCode::kInvalidArgument) << imported.status();
      EXPECT_THAT(imported.status().message(),
                  HasSubstr("C_CreateObject (private key): CKR_ATTRIBUTE_VALUE_INVALID"));
      EXPECT_EQ(CountObjects(id, CKO_PRIVATE_KEY), 0u);
      EXPECT_EQ(CountObjects(id, CKO_PUBLIC_KEY), 0u);
      continue;
    }
    ASSERT_TRUE(imported.ok()) << imported.status();
    EXPECT_EQ(imported->id, id);
    EXPECT_FALSE(imported->attestation.local);
    EXPECT_TRUE(imported->attestation.sensitive);
    EXPECT_FALSE(imported->attestation.extractable);
    EXPECT_EQ(imported->public_key_der, PublicKeyDerOf(key.get()).value());
    EXPECT_EQ(CountObjects(id, CKO_PUBLIC_KEY), 1u);

    // The private value cannot be read back.
    absl::Status read = token_->WithSession(ObjectAccess::kRead, [&](Session& s) -> absl::Status {
      CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
      auto handles = FindObjects(s, {Attr(CKA_CLASS, &cls), BytesAttr(CKA_ID, id)});
      EXPECT_TRUE(handles.ok());
      EXPECT_EQ(handles->size(), 1u);
      char buf[512];
      CK_ATTRIBUTE value{std::string(kind) == "rsa" ? CKA_PRIVATE_EXPONENT : CKA_VALUE, buf,
                         sizeof(buf)};
      EXPECT_EQ(s.f()->C_GetAttributeValue(s.handle(), handles->front(), &value, 1),
                CKR_ATTRIBUTE_SENSITIVE);
      return absl::OkStatus();
    });
    EXPECT_TRUE(read.ok()) << read;

    auto signer = store_->GetSigner(id);
    ASSERT_TRUE(signer.ok()) << signer.status();
    const SignatureScheme scheme = std::string(kind) == "rsa" ? SignatureScheme::kRsaPkcs1Sha256
                                                              : SignatureScheme::kEcdsaSha256;
    const std::string digest = Sha256("imported key signs");
    auto signature = (*signer)->SignDigest(scheme, digest);
    ASSERT_TRUE(signature.ok()) << signature.status();
    EXPECT_TRUE(VerifyDigestSignature(PublicKeyDerOf(key.get()).value(), scheme, digest,
                                      *signature)
                    .ok());
  }
}

TEST_F(KeyImportTest, CertificateIsStoredBesideItsKeyAndReplaced) {
  EvpPkeyPtr key = NewKey("P-256");
  auto generated = store_->Generate(KeyAlgorithm::kEcP256, "with-cert");
  ASSERT_TRUE(generated.ok()) << generated.status();
  const std::string& id = generated->id;
  EXPECT_TRUE(absl::IsNotFound(store_->GetCertificate(id).status()));

  const std::string first = SelfSignedDer(key.get(), 1);
  ASSERT_TRUE(store_->StoreCertificate(id, first, "with-cert").ok());
  EXPECT_EQ(store_->GetCertificate(id).value(), first);
  const std::string second = SelfSignedDer(key.get(), 2);
  ASSERT_TRUE(store_->StoreCertificate(id, second, "with-cert").ok());
  EXPECT_EQ(store_->GetCertificate(id).value(), second);
  EXPECT_EQ(CountObjects(id, CKO_CERTIFICATE), 1u);

  // The independent tool sees it as an X.509 certificate with the key's ID.
  std::string out;
  ASSERT_EQ(ksef::testing::RunCommand(
                absl::StrCat("pkcs11-tool --module ", ksef::testing::TestToken::ModulePath(),
                             " --token-label ", test_token_->label(),
                             " --list-objects --type cert"),
                &out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr("label:      with-cert"));

  EXPECT_EQ(store_->StoreCertificate(id, "not a certificate", "x").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::IsNotFound(store_->StoreCertificate(KeyStore::NewId(), first, "x")));
  ASSERT_TRUE(store_->Destroy(id).ok());
  EXPECT_EQ(CountObjects(id, CKO_CERTIFICATE), 0u);
}

}  // namespace
}  // namespace ksef::pkcs11
