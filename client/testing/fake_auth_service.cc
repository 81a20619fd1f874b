#include "client/testing/fake_auth_service.h"

namespace ksef::client::testing {

namespace v1 = ::ksef::hsm::v1;

std::string FakeAuthService::Xml() {
  return "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
         "<AuthTokenRequest xmlns=\"http://ksef.mf.gov.pl/auth/token/2.0\">"
         "<Challenge>20250625-CR-20F5EE4000-DA48AE4124-46</Challenge>"
         "<!-- Za\xc5\xbc\xc3\xb3\xc5\x82\xc4\x87 -->"
         "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">...</ds:Signature>"
         "</AuthTokenRequest>";
}

v1::SignAuthTokenRequest FakeAuthService::last_request() {
  absl::MutexLock lock(&mu_);
  return last_;
}

int FakeAuthService::calls() {
  absl::MutexLock lock(&mu_);
  return calls_;
}

grpc::Status FakeAuthService::SignAuthToken(grpc::ServerContext*,
                                            const v1::SignAuthTokenRequest* request,
                                            v1::SignedAuthToken* response) {
  absl::MutexLock lock(&mu_);
  ++calls_;
  last_ = *request;
  if (request->name() == "keys/missing") {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "key keys/missing not found");
  }
  response->set_name(request->name().empty() ? "keys/by-subject" : request->name());
  response->set_xml(Xml());
  response->set_document_sha256(kDocumentSha256);
  response->set_signed_info_sha256(std::string(64, 'B'));
  response->mutable_signing_time()->set_seconds(kSigningSeconds);
  response->set_certificate_serial_number(kSerial);
  response->set_certificate_sha256_fingerprint(std::string(64, 'C'));
  return grpc::Status::OK;
}

}  // namespace ksef::client::testing
