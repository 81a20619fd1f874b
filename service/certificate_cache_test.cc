#include "service/certificate_cache.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <string>

#include "common/openssl_ptr.h"

namespace ksef::service {
namespace {

// A self-signed EC certificate (CN=cache-test), as PEM and DER.
struct TestCertificate {
  std::string pem;
  std::string der;
};

TestCertificate MakeCertificate() {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  X509Ptr x509(X509_new());
  X509_set_version(x509.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x509.get()), 42);
  X509_gmtime_adj(X509_getm_notBefore(x509.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(x509.get()), 3600);
  X509_NAME* name = X509_get_subject_name(x509.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("cache-test"), -1, -1, 0);
  X509_set_issuer_name(x509.get(), name);
  X509_set_pubkey(x509.get(), key.get());
  X509_sign(x509.get(), key.get(), EVP_sha256());
  TestCertificate out;
  unsigned char* der = nullptr;
  const int len = i2d_X509(x509.get(), &der);
  out.der.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), x509.get());
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  out.pem.assign(data, static_cast<size_t>(size));
  return out;
}

TEST(CertificateCacheTest, PemAndDerOfOneCertificateShareOneParsedEntry) {
  const TestCertificate cert = MakeCertificate();
  CertificateCache cache;
  auto by_pem = cache.GetPem(cert.pem);
  ASSERT_TRUE(by_pem.ok()) << by_pem.status();
  EXPECT_EQ((*by_pem)->info.serial_hex, "2A");
  auto again = cache.GetPem(cert.pem);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->get(), by_pem->get());  // not parsed again
  auto by_der = cache.Get(cert.der);
  ASSERT_TRUE(by_der.ok());
  EXPECT_EQ(by_der->get(), by_pem->get());
}

TEST(CertificateCacheTest, WhatIsNotACertificateIsInvalidArgument) {
  CertificateCache cache;
  auto pem =
      cache.GetPem("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(pem.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cache.Get("not a certificate").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ksef::service
