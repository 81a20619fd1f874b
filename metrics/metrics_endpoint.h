// MetricsEndpoint: serves Metrics over HTTP at /metrics (prometheus-cpp's
// civetweb exposer) and nothing else: any other path is 404, no files are
// served, no request body is read.
//
// Plain HTTP, deliberately: Debian's civetweb loads OpenSSL at run time by
// the unversioned name libssl.so (only present with libssl-dev) and
// initializes it apart from the server's own TLS, so the endpoint listens on
// loopback by default and is put behind a TLS proxy when it must be reached
// from elsewhere (docs/operations.md, "Metrics").
//
// What a scraper sees is bounded and safe to show anyone who can reach the
// port (docs/operations.md lists every series): counts, latencies, states,
// and the key ids of keys with a certificate or a usage limit. Two worker
// threads serve scrapes; a third connection waits, so scrapers cannot make
// the server hold more.
// Thread-safe. Destroying it stops the listener and its threads.
#ifndef KSEF_METRICS_METRICS_ENDPOINT_H_
#define KSEF_METRICS_METRICS_ENDPOINT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "metrics/metrics.h"

namespace prometheus {
class Exposer;
}

namespace ksef::metrics {

class MetricsEndpoint {
 public:
  // Listens on `host_port` ("127.0.0.1:9464", "[::1]:9464"; port 0 picks a
  // free one) and serves `metrics`, which must outlive the endpoint.
  // UNAVAILABLE (naming the address) when it cannot listen.
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(const Metrics& metrics,
                                                                const std::string& host_port);
  ~MetricsEndpoint();

  int port() const { return port_; }

 private:
  MetricsEndpoint() = default;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

}  // namespace ksef::metrics

#endif  // KSEF_METRICS_METRICS_ENDPOINT_H_
