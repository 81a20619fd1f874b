// KeyStore::Inventory, the one pass over a token's objects (issue 15), on a
// real token of its own: complete keys, certificates, foreign objects,
// incomplete key objects, more objects than one C_FindObjects batch, values
// larger than the first read's buffers, and a stop request.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <atomic>
#include <string>

#include "absl/strings/str_cat.h"
#include "crypto/software_signer.h"
#include "pkcs11/internal/module.h"
#include "pkcs11/internal/objects.h"
#include "pkcs11/internal/public_key.h"
#include "pkcs11/internal/token.h"
#include "pkcs11/key_store.h"
#include "tests/support/softhsm_token.h"

namespace ksef::pkcs11 {
namespace {

using crypto::KeyAlgorithm;

// A self-signed certificate (DER) of a fresh software P-256 key: any
// certificate will do for a certificate object.
std::string SomeCertificateDer() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 7);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("inventory"), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
  X509_set_pubkey(x.get(), key.get());
  X509_sign(x.get(), key.get(), EVP_sha256());
  unsigned char* der = nullptr;
  const int len = i2d_X509(x.get(), &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

class InventoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto token = ksef::testing::TestToken::Create("inventory");
    ASSERT_TRUE(token.ok()) << token.status();
    test_token_ = std::move(*token);
    auto module = Module::Load(ksef::testing::TestToken::ModulePath());
    ASSERT_TRUE(module.ok()) << module.status();
    module_ = std::move(*module);
    auto t = Token::Open(module_.get(), TokenSelector{test_token_->label(), ""},
                         SecureString(test_token_->pin()), 4);
    ASSERT_TRUE(t.ok()) << t.status();
    token_ = std::move(*t);
    store_ = std::make_unique<KeyStore>(token_.get(), test_token_->token_dir(), 4);
  }
  void TearDown() override {
    store_.reset();
    token_.reset();
    module_.reset();
  }

  // A token object made with a raw C_CreateObject.
  void Create(std::vector<CK_ATTRIBUTE> tmpl) {
    absl::Status made = token_->WithSession(ObjectAccess::kWrite, [&](Session& s) {
      CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
      return s.Check(s.f()->C_CreateObject(s.handle(), tmpl.data(), tmpl.size(), &h),
                     "C_CreateObject");
    });
    ASSERT_TRUE(made.ok()) << made;
  }
  // A CKO_DATA object: not a key, never reported.
  void DataObject(const std::string& label) {
    CK_OBJECT_CLASS cls = CKO_DATA;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    Create({Attr(CKA_CLASS, &cls), Attr(CKA_TOKEN, &yes), Attr(CKA_PRIVATE, &no),
            BytesAttr(CKA_LABEL, label), BytesAttr(CKA_VALUE, label)});
  }
  // Destroys the public key with this CKA_ID (leaving half a key pair).
  void DestroyPublicHalf(const std::string& id) {
    absl::Status done = token_->WithSession(ObjectAccess::kWrite, [&](Session& s) -> absl::Status {
      CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
      auto found = FindObjects(s, {Attr(CKA_CLASS, &cls), BytesAttr(CKA_ID, id)});
      if (!found.ok()) return found.status();
      if (found->size() != 1) return absl::InternalError("expected one public key");
      return s.Check(s.f()->C_DestroyObject(s.handle(), found->front()), "C_DestroyObject");
    });
    ASSERT_TRUE(done.ok()) << done;
  }

  static bool Mentions(const std::vector<IncompleteObject>& objects, const std::string& id,
                       const std::string& reason) {
    for (const IncompleteObject& o : objects) {
      if (o.id == id && o.reason == reason) return true;
    }
    return false;
  }

  std::unique_ptr<ksef::testing::TestToken> test_token_;
  std::unique_ptr<Module> module_;
  std::unique_ptr<Token> token_;
  std::unique_ptr<KeyStore> store_;
};

TEST_F(InventoryTest, SortsKeysCertificatesForeignAndIncompleteObjects) {
  auto ec = store_->Generate(KeyAlgorithm::kEcP256, "ec-key");
  ASSERT_TRUE(ec.ok()) << ec.status();
  auto rsa = store_->Generate(KeyAlgorithm::kRsa2048, "rsa-key");
  ASSERT_TRUE(rsa.ok()) << rsa.status();
  auto half = store_->Generate(KeyAlgorithm::kEcP256, "half");
  ASSERT_TRUE(half.ok()) << half.status();
  ASSERT_NO_FATAL_FAILURE(DestroyPublicHalf(half->id));
  // A public key alone (what a crash between the two objects leaves).
  const std::string lone_id = KeyStore::NewId();
  CK_OBJECT_CLASS pub_class = CKO_PUBLIC_KEY;
  CK_KEY_TYPE ec_type = CKK_EC;
  CK_BBOOL yes = CK_TRUE;
  const std::string point = std::string("\x04\x41\x04", 3) + std::string(64, '\x01');
  const std::string params(kP256EcParams, kP256EcParamsSize);
  ASSERT_NO_FATAL_FAILURE(Create({Attr(CKA_CLASS, &pub_class), Attr(CKA_KEY_TYPE, &ec_type),
                                  Attr(CKA_TOKEN, &yes), BytesAttr(CKA_ID, lone_id),
                                  BytesAttr(CKA_LABEL, std::string("lone")),
                                  BytesAttr(CKA_EC_PARAMS, params),
                                  BytesAttr(CKA_EC_POINT, point)}));
  ASSERT_NO_FATAL_FAILURE(DataObject("someone else's data"));
  ASSERT_TRUE(store_->StoreCertificate(ec->id, SomeCertificateDer(), "ec-key").ok());

  auto inventory = store_->Inventory();
  ASSERT_TRUE(inventory.ok()) << inventory.status();
  // 2 + 2 + 1 (half) + 1 (lone) + data + certificate.
  EXPECT_EQ(inventory->objects, 8u);
  ASSERT_EQ(inventory->keys.size(), 3u);  // ec, rsa and the private half
  const TokenKey* listed_ec = inventory->FindKey(ec->id);
  ASSERT_NE(listed_ec, nullptr);
  EXPECT_EQ(listed_ec->label, "ec-key");
  EXPECT_EQ(listed_ec->public_key_der, ec->public_key_der);
  EXPECT_EQ(listed_ec->uri, ec->uri);
  EXPECT_TRUE(listed_ec->attestation.sensitive);
  EXPECT_FALSE(listed_ec->attestation.extractable);
  EXPECT_TRUE(listed_ec->attestation.local);
  const TokenKey* listed_rsa = inventory->FindKey(rsa->id);
  ASSERT_NE(listed_rsa, nullptr);
  EXPECT_EQ(listed_rsa->algorithm, KeyAlgorithm::kRsa2048);
  EXPECT_EQ(listed_rsa->public_key_der, rsa->public_key_der);
  const TokenKey* listed_half = inventory->FindKey(half->id);
  ASSERT_NE(listed_half, nullptr);
  EXPECT_TRUE(listed_half->public_key_der.empty());
  EXPECT_EQ(inventory->FindKey(lone_id), nullptr);

  EXPECT_EQ(inventory->incomplete.size(), 2u);
  EXPECT_TRUE(Mentions(inventory->incomplete, half->id, "a private key without its public key"));
  EXPECT_TRUE(Mentions(inventory->incomplete, lone_id, "a public key without its private key"));
  EXPECT_TRUE(inventory->certificate_ids.contains(ec->id));
  EXPECT_EQ(inventory->certificate_ids.size(), 1u);
}

TEST_F(InventoryTest, ReadsEveryObjectAcrossFindBatchesAndPrimesTheSigners) {
  // FindObjects fetches 64 handles per C_FindObjects: 30 keys and 100 data
  // objects span several batches (data objects are quicker to make: no
  // key generation, no fsync).
  constexpr int kKeys = 30, kData = 100;
  std::vector<TokenKey> made;
  for (int i = 0; i < kKeys; ++i) {
    auto k = store_->Generate(KeyAlgorithm::kEcP256, absl::StrCat("bulk-", i));
    ASSERT_TRUE(k.ok()) << k.status();
    made.push_back(*k);
  }
  for (int i = 0; i < kData; ++i) ASSERT_NO_FATAL_FAILURE(DataObject(absl::StrCat("data-", i)));

  // A fresh store (as at start-up): its signer cache is empty.
  KeyStore fresh(token_.get(), test_token_->token_dir(), 4);
  auto inventory = fresh.Inventory();
  ASSERT_TRUE(inventory.ok()) << inventory.status();
  EXPECT_EQ(inventory->objects, static_cast<size_t>(2 * kKeys + kData));
  ASSERT_EQ(inventory->keys.size(), static_cast<size_t>(kKeys));
  EXPECT_TRUE(inventory->incomplete.empty());
  for (const TokenKey& k : made) {
    const TokenKey* listed = inventory->FindKey(k.id);
    ASSERT_NE(listed, nullptr) << k.label;
    EXPECT_EQ(listed->label, k.label);
    EXPECT_EQ(listed->public_key_der, k.public_key_der);
  }
  // The signers cached by the pass sign with the right keys.
  for (const TokenKey* k : {&made.front(), &made[kKeys / 2], &made.back()}) {
    auto signer = fresh.GetSigner(k->id);
    ASSERT_TRUE(signer.ok()) << signer.status();
    const std::string digest(32, '\x5a');
    auto sig = (*signer)->SignDigest(crypto::SignatureScheme::kEcdsaSha256, digest);
    ASSERT_TRUE(sig.ok()) << sig.status();
    EXPECT_TRUE(crypto::VerifyDigestSignature(k->public_key_der,
                                              crypto::SignatureScheme::kEcdsaSha256, digest, *sig)
                    .ok());
  }
}

TEST_F(InventoryTest, ValuesLargerThanTheFirstReadsBuffersAreReadWhole) {
  const std::string long_label(700, 'L');
  const std::string long_id(300, '\x07');
  auto k = store_->Generate(KeyAlgorithm::kEcP256, long_label, long_id);
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(k->label, long_label);
  auto inventory = store_->Inventory();
  ASSERT_TRUE(inventory.ok()) << inventory.status();
  const TokenKey* listed = inventory->FindKey(long_id);
  ASSERT_NE(listed, nullptr);
  EXPECT_EQ(listed->label, long_label);
  EXPECT_EQ(listed->public_key_der, k->public_key_der);
}

TEST_F(InventoryTest, AStopRequestEndsThePassWithCancelled) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store_->Generate(KeyAlgorithm::kEcP256, absl::StrCat("k", i)).ok());
  }
  std::atomic<int> asked{0};
  auto inventory = store_->Inventory([&] { return ++asked > 3; });
  EXPECT_EQ(inventory.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(asked.load(), 4) << "asked before each object, stopped at the first 'yes'";
  // Nothing was left behind: the next pass sees everything.
  auto again = store_->Inventory();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->keys.size(), 5u);
}

}  // namespace
}  // namespace ksef::pkcs11
