// Behaviour tests of the key store on a real SoftHSM2 token (one per binary).
#include "pkcs11/key_store.h"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "common/encoding.h"
#include "crypto/software_signer.h"
#include "pkcs11/internal/module.h"
#include "pkcs11/internal/objects.h"
#include "pkcs11/internal/token.h"
#include "pkcs11/pkcs11_uri.h"
#include "tests/support/softhsm_token.h"

namespace ksef::pkcs11 {

using crypto::KeyAlgorithm;
using crypto::SignatureScheme;
using crypto::VerifyDigestSignature;
namespace {

std::string Sha256(absl::string_view data) {
  unsigned char md[32];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return std::string(reinterpret_cast<char*>(md), 32);
}

class KeyStoreTest : public ::testing::Test {
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

  static ksef::testing::TestToken* test_token_;
  static Module* module_;
  static Token* token_;
  static KeyStore* store_;
};

ksef::testing::TestToken* KeyStoreTest::test_token_ = nullptr;
Module* KeyStoreTest::module_ = nullptr;
Token* KeyStoreTest::token_ = nullptr;
KeyStore* KeyStoreTest::store_ = nullptr;

TEST_F(KeyStoreTest, GeneratedEcKeyIsSensitiveNonExtractableAndLocal) {
  auto key = store_->Generate(KeyAlgorithm::kEcP256, "attest-ec");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->id.size(), 16u);
  EXPECT_EQ(key->label, "attest-ec");
  EXPECT_TRUE(key->attestation.sensitive);
  EXPECT_FALSE(key->attestation.extractable);
  EXPECT_TRUE(key->attestation.never_extractable);
  EXPECT_TRUE(key->attestation.always_sensitive);
  EXPECT_TRUE(key->attestation.local);
  EXPECT_EQ(key->public_key_der.size(), 91u);  // P-256 SPKI

  // The private value cannot be read: CKR_ATTRIBUTE_SENSITIVE (tpm2-pkcs11:
  // CKR_ATTRIBUTE_TYPE_INVALID, the value exists only inside the TPM).
  const CK_RV unreadable = ksef::testing::TestToken::IsTpm2() ? CKR_ATTRIBUTE_TYPE_INVALID
                                                               : CKR_ATTRIBUTE_SENSITIVE;
  absl::Status read = token_->WithSession(ObjectAccess::kRead, [&](Session& s) -> absl::Status {
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    auto handles = FindObjects(s, {Attr(CKA_CLASS, &cls), BytesAttr(CKA_ID, key->id)});
    EXPECT_TRUE(handles.ok());
    EXPECT_EQ(handles->size(), 1u);
    char buf[256];
    CK_ATTRIBUTE value{CKA_VALUE, buf, sizeof(buf)};
    EXPECT_EQ(s.f()->C_GetAttributeValue(s.handle(), handles->front(), &value, 1), unreadable);
    return absl::OkStatus();
  });
  EXPECT_TRUE(read.ok()) << read;
}

TEST_F(KeyStoreTest, IndependentToolListsKeyButCannotReadIt) {
  auto key = store_->Generate(KeyAlgorithm::kEcP256, "seen-by-pkcs11-tool");
  ASSERT_TRUE(key.ok()) << key.status();
  std::string base = absl::StrCat("pkcs11-tool --module ", ksef::testing::TestToken::ModulePath(),
                                  " --token-label ", test_token_->label(), " --login --pin ",
                                  test_token_->pin());
  std::string out;
  ASSERT_EQ(ksef::testing::RunCommand(base + " --list-objects --type privkey", &out), 0) << out;
  size_t at = out.find("label:      seen-by-pkcs11-tool");
  ASSERT_NE(at, std::string::npos) << out;
  std::string block = out.substr(at, out.find("Private Key Object", at) - at);
  EXPECT_NE(block.find("ID:         " + absl::AsciiStrToLower(HexUpper(key->id))),
            std::string::npos)
      << block;
  EXPECT_NE(block.find("Usage:      sign\n"), std::string::npos) << block;
  EXPECT_NE(block.find("Access:     sensitive, always sensitive, never extractable, local"),
            std::string::npos)
      << block;
  // Asking the tool to export the private key yields nothing.
  std::string dump = ksef::testing::MakeTempDir("ksef-dump") + "/key.der";
  ksef::testing::RunCommand(base + " --read-object --type privkey --id " + HexUpper(key->id) +
                                " -o " + dump,
                            &out);
  EXPECT_FALSE(std::filesystem::exists(dump)) << "pkcs11-tool exported a private key: " << out;
}

TEST_F(KeyStoreTest, SignatureIsRawRsAndVerifiesWithOpenSsl) {
  auto key = store_->Generate(KeyAlgorithm::kEcP256, "sign-ec");
  ASSERT_TRUE(key.ok()) << key.status();
  auto signer = store_->GetSigner(key->id);
  ASSERT_TRUE(signer.ok()) << signer.status();
  std::string digest = Sha256("hello KSeF");
  auto sig = (*signer)->SignDigest(SignatureScheme::kEcdsaSha256, digest);
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_EQ(sig->size(), 64u);
  EXPECT_TRUE(VerifyDigestSignature(key->public_key_der, SignatureScheme::kEcdsaSha256, digest,
                                    *sig)
                  .ok());
  // Wrong inputs are refused with a clear status.
  EXPECT_EQ((*signer)->SignDigest(SignatureScheme::kEcdsaSha256, "short").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*signer)->SignDigest(SignatureScheme::kRsaPkcs1Sha256, digest).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(KeyStoreTest, RsaKeySignsPkcs1AndPss) {
  auto key = store_->Generate(KeyAlgorithm::kRsa2048, "sign-rsa");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->algorithm, KeyAlgorithm::kRsa2048);
  EXPECT_FALSE(key->attestation.extractable);
  auto signer = store_->GetSigner(key->id);
  ASSERT_TRUE(signer.ok()) << signer.status();
  std::string digest = Sha256("rsa");
  for (auto scheme : {SignatureScheme::kRsaPkcs1Sha256, SignatureScheme::kRsaPssSha256}) {
    auto sig = (*signer)->SignDigest(scheme, digest);
    if (ksef::testing::TestToken::IsTpm2()) {
      // tpm2-pkcs11 1.9 pads CKM_RSA_PKCS and CKM_RSA_PKCS_PSS itself and
      // then does a raw RSA decryption (TPM2_RSA_Decrypt), which a sign-only
      // key (CKA_DECRYPT=FALSE) may not do: the TPM answers TPM_RC_ATTRIBUTES
      // and the module CKR_GENERAL_ERROR. RSA keys on a TPM token cannot sign
      // a digest (docs/operations.md); EC P-256 can.
      ASSERT_FALSE(sig.ok());
      EXPECT_EQ(sig.status().code(), absl::StatusCode::kInternal) << sig.status();
      EXPECT_NE(sig.status().message().find("C_Sign: CKR_GENERAL_ERROR"), std::string::npos)
          << sig.status();
      continue;
    }
    ASSERT_TRUE(sig.ok()) << sig.status();
    EXPECT_EQ(sig->size(), 256u);
    EXPECT_TRUE(VerifyDigestSignature(key->public_key_der, scheme, digest, *sig).ok());
  }
}

TEST_F(KeyStoreTest, EightConcurrentGenerationsGiveEightDistinctUsableKeys) {
  std::vector<absl::StatusOr<TokenKey>> results(8, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([i, &results] {
      results[i] = store_->Generate(KeyAlgorithm::kEcP256, absl::StrCat("concurrent-", i));
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> ids;
  for (auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
    ids.insert(r->id);
    auto signer = store_->GetSigner(r->id);
    ASSERT_TRUE(signer.ok()) << signer.status();
    std::string digest = Sha256(r->label);
    auto sig = (*signer)->SignDigest(SignatureScheme::kEcdsaSha256, digest);
    ASSERT_TRUE(sig.ok()) << sig.status();
    EXPECT_TRUE(
        VerifyDigestSignature(r->public_key_der, SignatureScheme::kEcdsaSha256, digest, *sig).ok());
  }
  EXPECT_EQ(ids.size(), 8u);
}

TEST_F(KeyStoreTest, EightThreadsSigningInParallelProduceOnlyValidSignatures) {
  auto key = store_->Generate(KeyAlgorithm::kEcP256, "parallel-sign");
  ASSERT_TRUE(key.ok()) << key.status();
  auto signer = store_->GetSigner(key->id);
  ASSERT_TRUE(signer.ok());
  std::atomic<int> signed_ok{0}, bad{0};
  absl::Time deadline = absl::Now() + absl::Seconds(3);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; absl::Now() < deadline; ++i) {
        std::string digest = Sha256(absl::StrCat(t, "/", i));
        auto sig = (*signer)->SignDigest(SignatureScheme::kEcdsaSha256, digest);
        if (sig.ok() && sig->size() == 64 &&
            VerifyDigestSignature(key->public_key_der, SignatureScheme::kEcdsaSha256, digest,
                                  *sig)
                .ok()) {
          ++signed_ok;
        } else {
          ++bad;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  std::printf("[ measured ] %d ECDSA P-256 signatures in 3 s on 8 threads\n", signed_ok.load());
  EXPECT_EQ(bad.load(), 0);
  // A TPM signs one request at a time, about 100/s on swtpm (docs/operations.md).
  EXPECT_GT(signed_ok.load(), ksef::testing::TestToken::IsTpm2() ? 20 : 100);
}

TEST_F(KeyStoreTest, ListGetAndDestroy) {
  auto key = store_->Generate(KeyAlgorithm::kEcP256, "to-destroy");
  ASSERT_TRUE(key.ok());
  auto got = store_->Get(key->id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->public_key_der, key->public_key_der);
  EXPECT_EQ(got->uri, key->uri);
  auto listed = store_->List();
  ASSERT_TRUE(listed.ok());
  bool found = false;
  for (const auto& k : *listed) found |= k.id == key->id;
  EXPECT_TRUE(found);

  ASSERT_TRUE(store_->Destroy(key->id).ok());
  EXPECT_EQ(store_->Get(key->id).status().code(), absl::StatusCode::kNotFound);
  // A signer is asked for keys the service knows: one the token does not
  // show is a token problem (UNAVAILABLE, and a check is requested).
  EXPECT_EQ(store_->GetSigner(key->id).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(token_->check_requested());
  EXPECT_TRUE(token_->CheckAndRecover().ok());
  EXPECT_EQ(store_->Destroy(key->id).code(), absl::StatusCode::kNotFound);
  // No object with the id is left (private, public).
  auto left = token_->WithSession(ObjectAccess::kRead, [&](Session& s) {
    return FindObjects(s, {BytesAttr(CKA_ID, key->id)});
  });
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty());
}

TEST_F(KeyStoreTest, UriNamesTokenIdAndLabel) {
  auto key = store_->Generate(KeyAlgorithm::kEcP256, "uri key");
  ASSERT_TRUE(key.ok());
  auto uri = Pkcs11Uri::Parse(key->uri);
  ASSERT_TRUE(uri.ok()) << uri.status();
  EXPECT_EQ(uri->token, test_token_->label());
  EXPECT_EQ(uri->id, key->id);
  EXPECT_EQ(uri->object, "uri key");
  EXPECT_EQ(uri->type, "private");
}

TEST_F(KeyStoreTest, RecoversAfterTheTokenLoggedUsOut) {
  auto key = store_->Generate(KeyAlgorithm::kEcP256, "recover");
  ASSERT_TRUE(key.ok());
  auto signer = store_->GetSigner(key->id);
  ASSERT_TRUE(signer.ok());
  ASSERT_TRUE(token_->WithSession(ObjectAccess::kRead, [](Session& s) {
    return s.Check(s.f()->C_Logout(s.handle()), "C_Logout");
  }).ok());
  auto sig = (*signer)->SignDigest(SignatureScheme::kEcdsaSha256, Sha256("x"));
  EXPECT_FALSE(sig.ok());
  EXPECT_EQ(sig.status().code(), absl::StatusCode::kUnavailable) << sig.status();
  EXPECT_FALSE(token_->usable());
  ASSERT_TRUE(token_->CheckAndRecover().ok());
  EXPECT_TRUE(token_->usable());
  sig = (*signer)->SignDigest(SignatureScheme::kEcdsaSha256, Sha256("x"));
  ASSERT_TRUE(sig.ok()) << sig.status();
}

}  // namespace
}  // namespace ksef::pkcs11
