// bench/grpc_thread_model: what each gRPC server thread model costs per call
// on this machine, to choose ksef-hsmd's by measurement (issue 15, scope 2).
//
// Three servers in this process, each with ksef-hsmd's mTLS set-up (the
// e2e fixture's PKI, client certificate required) and one trivial RPC, the
// grpc.health.v1 Check answered SERVING, so what is measured is gRPC itself:
//   sync         a synchronous service: each call is handed from the thread
//                that read it to a thread of the sync pool (ksef-hsmd's
//                services are written this way);
//   callback     a callback service: the handler runs on the thread that
//                read the call (gRPC's default health service, the floor of
//                bench/grpc_load, is one);
//   sync+cb      the sync service in a server that also has a callback
//                service, as ksef-hsmd has (its health service): the
//                callback queue's own threads poll the connections too.
// Each at 1, 4 and 16 callers, every caller on its own connection, as
// calls/s and as CPU per call of this whole process (client and server: the
// client's share is the same in every row, so differences are the server's).
//
// Run: build/bench/grpc_thread_model [--seconds=2]
// Output: a table, and bench/results/grpc_thread_model.json.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "bench/bench_main.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/e2e/e2e_fixture.h"

namespace ksef {
namespace {

namespace health = ::grpc::health::v1;

int g_seconds = 2;

class SyncHealth final : public health::Health::Service {
  grpc::Status Check(grpc::ServerContext*, const health::HealthCheckRequest*,
                     health::HealthCheckResponse* resp) override {
    resp->set_status(health::HealthCheckResponse::SERVING);
    return grpc::Status::OK;
  }
};

class CallbackHealth final : public health::Health::CallbackService {
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const health::HealthCheckRequest*,
                                  health::HealthCheckResponse* resp) override {
    resp->set_status(health::HealthCheckResponse::SERVING);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(u.ru_utime) + seconds(u.ru_stime);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct Row {
  std::string model;
  int callers = 0;
  double calls_per_second = 0;
  double cpu_us_per_call = 0;
};

class GrpcThreadModel : public E2eFixture {
 protected:
  // A server on an ephemeral loopback port with `services`; its port.
  std::unique_ptr<grpc::Server> Serve(const std::vector<grpc::Service*>& services, int* port) {
    grpc::SslServerCredentialsOptions tls(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    tls.pem_root_certs = ReadFile(dir_ + "/pki/ca.pem");
    tls.pem_key_cert_pairs.push_back(
        {ReadFile(dir_ + "/pki/server.key"), ReadFile(dir_ + "/pki/server.pem")});
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(tls), port);
    for (grpc::Service* s : services) builder.RegisterService(s);
    return builder.BuildAndStart();
  }

  // `callers` threads, each on its own connection, call Check for the case's
  // time.
  Row Closed(const std::string& model, int port, int callers) {
    std::vector<std::unique_ptr<health::Health::Stub>> stubs;
    std::vector<Caller> conns;
    for (int t = 0; t < callers; ++t) {
      conns.push_back(Connect(port, "client"));
      stubs.push_back(health::Health::NewStub(conns.back().channel));
    }
    auto check = [](health::Health::Stub& stub) {
      grpc::ClientContext ctx;
      health::HealthCheckResponse resp;
      return stub.Check(&ctx, health::HealthCheckRequest(), &resp);
    };
    for (auto& stub : stubs) EXPECT_TRUE(check(*stub).ok());  // connect and warm up
    std::atomic<bool> stop{false};
    std::atomic<int64_t> calls{0};
    const double cpu0 = CpuSeconds();
    const absl::Time start = absl::Now();
    std::vector<std::thread> threads;
    for (int t = 0; t < callers; ++t) {
      threads.emplace_back([&, t] {
        int64_t n = 0;
        while (!stop.load(std::memory_order_relaxed)) n += check(*stubs[t]).ok() ? 1 : 0;
        calls += n;
      });
    }
    absl::SleepFor(absl::Seconds(g_seconds));
    stop = true;
    for (std::thread& th : threads) th.join();
    Row row{model, callers, 0, 0};
    const double took = absl::ToDoubleSeconds(absl::Now() - start);
    row.calls_per_second = static_cast<double>(calls.load()) / took;
    row.cpu_us_per_call = (CpuSeconds() - cpu0) * 1e6 / std::max<double>(1, calls.load());
    std::cerr << "  " << model << " x" << callers << ": " << std::fixed << std::setprecision(0)
              << row.calls_per_second << " calls/s\n";
    return row;
  }
};

TEST_F(GrpcThreadModel, SyncAgainstCallback) {
  SyncHealth sync_only;
  CallbackHealth callback_only;
  SyncHealth sync_beside;
  pb::AuditService::CallbackService other_callback;  // every method UNIMPLEMENTED
  int sync_port = 0, callback_port = 0, mixed_port = 0;
  auto sync_server = Serve({&sync_only}, &sync_port);
  auto callback_server = Serve({&callback_only}, &callback_port);
  auto mixed_server = Serve({&sync_beside, &other_callback}, &mixed_port);
  ASSERT_TRUE(sync_server && callback_server && mixed_server);

  std::vector<Row> rows;
  for (int callers : {1, 4, 16}) {
    rows.push_back(Closed("sync", sync_port, callers));
    rows.push_back(Closed("callback", callback_port, callers));
    rows.push_back(Closed("sync+cb", mixed_port, callers));
  }
  for (auto* s : {sync_server.get(), callback_server.get(), mixed_server.get()}) s->Shutdown();

  std::cout << "| model | callers | calls/s | of callback | process CPU us/call |\n"
               "|---|---|---|---|---|\n";
  std::ostringstream json;
  json << "{\n  \"rows\": [\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    double callback = 0;
    for (const Row& c : rows) {
      if (c.model == "callback" && c.callers == r.callers) callback = c.calls_per_second;
    }
    const double ratio = callback > 0 ? r.calls_per_second / callback : 0;
    std::cout << std::fixed << "| " << r.model << " | " << r.callers << " | "
              << std::setprecision(0) << r.calls_per_second << " | " << std::setprecision(2)
              << ratio << " | " << std::setprecision(0) << r.cpu_us_per_call << " |\n";
    json << "    {\"model\": \"" << r.model << "\", \"callers\": " << r.callers
         << ", \"calls_per_second\": " << std::setprecision(1) << r.calls_per_second
         << ", \"of_callback\": " << std::setprecision(3) << ratio
         << ", \"process_cpu_us_per_call\": " << std::setprecision(1) << r.cpu_us_per_call << "}"
         << (i + 1 < rows.size() ? "," : "") << "\n";
  }
  json << "  ],\n  \"seconds_per_case\": " << g_seconds << "\n}\n";
  const std::string out =
      std::string(KSEF_BENCH_SOURCE_DIR) + "/bench/results/grpc_thread_model.json";
  std::ofstream(out) << json.str();
  std::cerr << "wrote " << out << "\n";
}

}  // namespace
}  // namespace ksef

int main(int argc, char** argv) {
  return ksef::bench::RunBenches(argc, argv,
                                 {ksef::bench::IntFlag("--seconds=", &ksef::g_seconds)});
}
