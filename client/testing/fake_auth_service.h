// Test-only: an AuthService that records the SignAuthToken requests it gets
// and answers with a canned signed document, for the client tests.
// FakeServer (fake_server.h) runs it beside the fake KeyService.
#ifndef KSEF_CLIENT_TESTING_FAKE_AUTH_SERVICE_H_
#define KSEF_CLIENT_TESTING_FAKE_AUTH_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "ksef/hsm/v1/auth_service.grpc.pb.h"

namespace ksef::client::testing {

class FakeAuthService final : public ::ksef::hsm::v1::AuthService::Service {
 public:
  // The canned document: UTF-8 with a CRLF, a NUL-free non-ASCII character
  // and no final newline, so that any re-encoding or added newline shows.
  static std::string Xml();
  static constexpr char kDocumentSha256[] =
      "0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C4B5A69788796A5B4C3D2E1F0";
  static constexpr char kSerial[] = "01F20A5D352AE590";
  static constexpr int64_t kSigningSeconds = 1751371200;  // 2025-07-01T12:00:00Z

  ::ksef::hsm::v1::SignAuthTokenRequest last_request();
  int calls();

  // Keys named "keys/missing" are NOT_FOUND; with a subject instead of a
  // name, the reply names "keys/by-subject".
  grpc::Status SignAuthToken(grpc::ServerContext*,
                             const ::ksef::hsm::v1::SignAuthTokenRequest* request,
                             ::ksef::hsm::v1::SignedAuthToken* response) override;

 private:
  absl::Mutex mu_;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  ::ksef::hsm::v1::SignAuthTokenRequest last_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ksef::client::testing

#endif  // KSEF_CLIENT_TESTING_FAKE_AUTH_SERVICE_H_
