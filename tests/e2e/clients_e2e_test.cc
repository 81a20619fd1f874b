// The client examples (examples/python, examples/node) against the real
// ksef-hsmd over mTLS: each signs an AuthTokenRequest and an offline
// invoice's KOD II link, and the results are checked without their help and
// without ours: the XML with xmlsec1, the KOD II signature with the openssl
// command (r||s turned into DER by openssl asn1parse). A caller without a
// grant sees the gRPC status code and message and gets no file.
//
// The Python test needs /usr/bin/python3 with Debian's grpcio and protobuf,
// and protoc with grpc_python_plugin; the Node test node and npm (`npm ci`
// into the build tree, from the npm registry). Without its tools a test
// skips, or fails when KSEF_REQUIRE_CLIENTS=1 (scripts/test.sh sets it).
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/files.h"
#include "tests/e2e/e2e_fixture.h"
#include "tests/support/xmlsec.h"

namespace ksef {
namespace {

constexpr char kPython[] = "/usr/bin/python3";

std::string SourceDir() { return std::getenv("KSEF_SOURCE_DIR"); }
std::string BuildDir() { return std::getenv("KSEF_BUILD_DIR"); }

enum class Example { kPython, kNode };

// What is missing to run `example`, or "" when nothing is.
std::string MissingTools(Example example) {
  std::vector<std::string> missing;
  auto absent = [](const std::string& command) { return RunCommand(command) != 0; };
  if (example == Example::kPython) {
    if (absent(absl::StrCat(kPython, " -c 'import grpc, google.protobuf'"))) {
      missing.push_back("python3-grpcio and python3-protobuf for /usr/bin/python3");
    }
    if (absent("command -v protoc && command -v grpc_python_plugin")) {
      missing.push_back("protoc and grpc_python_plugin (protobuf-compiler-grpc)");
    }
  } else if (absent("command -v node && command -v npm")) {
    missing.push_back("node and npm");
  }
  return absl::StrJoin(missing, ", ");
}

bool ClientsRequired() {
  const char* required = std::getenv("KSEF_REQUIRE_CLIENTS");
  return required != nullptr && std::string(required) == "1";
}

// The quoted arguments of a shell command line.
std::string Quoted(const std::vector<std::string>& args) {
  std::vector<std::string> quoted;
  for (const std::string& arg : args) quoted.push_back(absl::StrCat("'", arg, "'"));
  return absl::StrJoin(quoted, " ");
}

class ClientsE2eTest : public E2eFixture {
 protected:
  // The first step of each test: skips (or fails, with KSEF_REQUIRE_CLIENTS=1)
  // when `example`'s tools are missing, else prepares it (Python stubs, or
  // the Node modules) and starts the server with an Authentication and an
  // Offline key, each with a self-signed TEST certificate.
  void Prepare(Example example) {
    const std::string missing = MissingTools(example);
    if (!missing.empty()) {
      ASSERT_FALSE(ClientsRequired()) << "KSEF_REQUIRE_CLIENTS=1 and missing: " << missing;
      GTEST_SKIP() << "missing " << missing << " (scripts/install-deps.sh; "
                   << "KSEF_REQUIRE_CLIENTS=1 makes this a failure)";
    }
    if (example == Example::kPython) {
      std::string out;
      ASSERT_EQ(RunCommand(Quoted({SourceDir() + "/examples/python/generate_stubs.sh",
                                   dir_ + "/py"}),
                           &out),
                0)
          << out;
    } else {
      ASSERT_NO_FATAL_FAILURE(InstallNodeModules());
    }

    auto server = ServerProcess::Start(config_, dir_ + "/server.log");
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    Caller cli = Connect(server_->port(), "client");
    auth_cert_der_ = SelfSignedKey(cli, "auth-a", pb::AUTHENTICATION);
    SelfSignedKey(cli, "off-a", pb::OFFLINE);
    pb::GetPublicKeyRequest req;
    req.set_name("keys/off-a");
    pb::PublicKey pub;
    ASSERT_TRUE(Call([&](auto* ctx) { return cli.keys->GetPublicKey(ctx, req, &pub); }).ok());
    offline_pub_pem_ = dir_ + "/off-a.pub.pem";
    std::ofstream(offline_pub_pem_) << pub.pem();
  }

  // `npm ci` from examples/node's lock file into the build tree, once per
  // lock file (the source tree stays clean; install scripts do not run).
  void InstallNodeModules() {
    node_dir_ = BuildDir() + "/tests/node-client";
    const std::string lock = SourceDir() + "/examples/node/package-lock.json";
    auto wanted = ReadFile(lock);
    ASSERT_TRUE(wanted.ok()) << wanted.status();
    auto installed = ReadFile(node_dir_ + "/node_modules/.package-lock.json.source");
    if (installed.ok() && *installed == *wanted) return;
    std::string out;
    ASSERT_EQ(RunCommand(absl::StrCat(
                  "mkdir -p ", Quoted({node_dir_}), " && cp ",
                  Quoted({SourceDir() + "/examples/node/package.json", lock, node_dir_}),
                  " && cd ", Quoted({node_dir_}),
                  " && npm ci --ignore-scripts --no-audit --no-fund && cp ", Quoted({lock}),
                  " node_modules/.package-lock.json.source"),
                  &out),
              0)
        << "npm ci (needs the npm registry):\n" << out;
  }

  // An ACTIVE key with a self-signed TEST certificate; returns its DER.
  std::string SelfSignedKey(Caller& c, const std::string& id, pb::KeyPurpose purpose) {
    pb::Key key;
    EXPECT_TRUE(Call([&](auto* ctx) {
                  return c.keys->CreateKey(ctx, KeyRequest(id, kNipA, purpose), &key);
                }).ok());
    pb::IssueSelfSignedCertificateRequest req;
    req.set_name(key.name());
    req.set_form(pb::IssueSelfSignedCertificateRequest::SEAL);
    req.set_common_name("Beta");
    req.set_organization_name("Beta Sp. z o.o.");
    grpc::Status s =
        Call([&](auto* ctx) { return c.enroll->IssueSelfSignedCertificate(ctx, req, &key); });
    EXPECT_TRUE(s.ok()) << s.error_message();
    return key.certificate().der();
  }

  // The connection arguments for the dev-pki identity `who`.
  std::vector<std::string> Connection(const std::string& who) const {
    return {"--server", absl::StrCat("127.0.0.1:", server_->port()), "--ca", dir_ + "/pki/ca.pem",
            "--cert", absl::StrCat(dir_, "/pki/", who, ".pem"), "--key",
            absl::StrCat(dir_, "/pki/", who, ".key")};
  }

  // Runs `example` with the connection of `who` and `args`; returns its exit
  // code, its output in *out.
  int Run(Example example, const std::string& who, const std::vector<std::string>& args,
          std::string* out) {
    if (example == Example::kPython) {
      return RunCommand(absl::StrCat("PYTHONPATH=", Quoted({dir_ + "/py"}), " ", kPython, " ",
                                     CommandLine("/examples/python/ksef_hsm_client.py", who, args)),
                        out);
    }
    // Node warns about an IP address as TLS server name (RFC 6066): this one
    // names the server by its certificate's DNS name (--server-name).
    std::vector<std::string> named = {"--server-name", "localhost"};
    named.insert(named.end(), args.begin(), args.end());
    return RunCommand(absl::StrCat("NODE_PATH=", Quoted({node_dir_ + "/node_modules"}), " node ",
                                   CommandLine("/examples/node/ksef_hsm_client.js", who, named)),
                      out);
  }

  // The example `script`, the connection of `who` and `args`, quoted.
  std::string CommandLine(const std::string& script, const std::string& who,
                          const std::vector<std::string>& args) const {
    std::vector<std::string> all = {SourceDir() + script};
    for (const std::string& arg : Connection(who)) all.push_back(arg);
    all.insert(all.end(), args.begin(), args.end());
    return Quoted(all);
  }

  // The example signs an AuthTokenRequest and a KOD II link; both verify
  // with xmlsec1 and openssl. `tag` names its files.
  void SignsAndVerifies(Example example, const std::string& tag) {
    const std::string xml_path = absl::StrCat(dir_, "/", tag, "-auth.xml");
    std::string out;
    ASSERT_EQ(Run(example, "client",
                  {"auth", "keys/auth-a", "--challenge", kChallenge, "--nip", kNipA, "--out",
                   xml_path},
                  &out),
              0)
        << out;
    auto xml = ReadFile(xml_path);
    ASSERT_TRUE(xml.ok()) << xml.status();
    EXPECT_TRUE(absl::StrContains(*xml, kChallenge));
    std::string verify;
    EXPECT_EQ(ksef::testing::XmlsecVerify(*xml, auth_cert_der_, &verify), 0) << verify;

    const std::string invoice = SourceDir() + "/examples/invoice-fa3.xml";
    const std::string link_path = absl::StrCat(dir_, "/", tag, "-kod2.txt");
    ASSERT_EQ(Run(example, "client",
                  {"offline", "keys/off-a", "--invoice", invoice, "--nip", kNipA, "--out",
                   link_path},
                  &out),
              0)
        << out;
    auto invoice_xml = ReadFile(invoice);
    ASSERT_TRUE(invoice_xml.ok());
    const std::string hash = absl::WebSafeBase64Escape(Sha256(*invoice_xml));
    EXPECT_TRUE(absl::StrContains(
        out, absl::StrCat("https://qr-test.ksef.mf.gov.pl/invoice/", kNipA, "/08-12-2025/", hash)))
        << out;
    auto file = ReadFile(link_path);
    ASSERT_TRUE(file.ok()) << file.status();
    absl::string_view link = *file;
    ASSERT_TRUE(absl::ConsumeSuffix(&link, "\n")) << *file;
    EXPECT_TRUE(absl::StrContains(out, link)) << out;
    ASSERT_TRUE(absl::StartsWith(
        link, absl::StrCat("https://qr-test.ksef.mf.gov.pl/certificate/Nip/", kNipA, "/", kNipA,
                           "/")))
        << link;
    EXPECT_TRUE(absl::StrContains(link, absl::StrCat("/", hash, "/"))) << link;
    VerifyKodII(tag, std::string(link));
  }

  // KOD II: the last path segment is the Base64URL r||s ECDSA P-256 signature
  // of the link without "https://" and without that segment.
  void VerifyKodII(const std::string& tag, const std::string& link) {
    const std::string rest = link.substr(std::string("https://").size());
    const size_t slash = rest.rfind('/');
    std::string raw;
    ASSERT_TRUE(absl::WebSafeBase64Unescape(rest.substr(slash + 1), &raw)) << link;
    ASSERT_EQ(raw.size(), 64u) << link;
    const std::string base = absl::StrCat(dir_, "/", tag, "-kod2");
    std::ofstream(base + ".signed", std::ios::binary) << rest.substr(0, slash);
    std::ofstream(base + ".asn1") << "asn1=SEQUENCE:sig\n[sig]\n"
                                  << "r=INTEGER:0x" << absl::BytesToHexString(raw.substr(0, 32))
                                  << "\ns=INTEGER:0x" << absl::BytesToHexString(raw.substr(32))
                                  << "\n";
    std::string out;
    ASSERT_EQ(RunCommand(absl::StrCat("openssl asn1parse -noout -genconf ", base, ".asn1 -out ",
                                      base, ".der"),
                         &out),
              0)
        << out;
    EXPECT_EQ(RunCommand(absl::StrCat("openssl dgst -sha256 -verify ", offline_pub_pem_,
                                      " -signature ", base, ".der ", base, ".signed"),
                         &out),
              0)
        << out;
    EXPECT_TRUE(absl::StrContains(out, "Verified OK")) << out;
  }

  // A caller without a grant: exit code 1, the status code and the server's
  // message on the output, no file written.
  void RefusedCallerSeesTheStatus(Example example, const std::string& tag) {
    const std::string xml_path = absl::StrCat(dir_, "/", tag, "-refused.xml");
    std::string out;
    EXPECT_EQ(Run(example, "mallory",
                  {"auth", "keys/auth-a", "--challenge", kChallenge, "--nip", kNipA, "--out",
                   xml_path},
                  &out),
              1)
        << out;
    EXPECT_TRUE(absl::StrContains(out, "error: PERMISSION_DENIED: ")) << out;
    EXPECT_FALSE(ReadFile(xml_path).ok()) << "a refused call wrote " << xml_path;
    // A field the server refuses: its message names the field.
    EXPECT_EQ(Run(example, "client",
                  {"offline", "keys/off-a", "--invoice", SourceDir() + "/examples/invoice-fa3.xml",
                   "--nip", "5265877636"},
                  &out),
              1)
        << out;
    EXPECT_TRUE(absl::StrContains(out, "error: INVALID_ARGUMENT: ")) << out;
  }

  std::unique_ptr<ServerProcess> server_;
  std::string auth_cert_der_, offline_pub_pem_, node_dir_;
};

TEST_F(ClientsE2eTest, PythonExampleSignsAndItsOutputVerifies) {
  ASSERT_NO_FATAL_FAILURE(Prepare(Example::kPython));
  if (IsSkipped()) return;
  SignsAndVerifies(Example::kPython, "py");
  RefusedCallerSeesTheStatus(Example::kPython, "py");
}

TEST_F(ClientsE2eTest, NodeExampleSignsAndItsOutputVerifies) {
  ASSERT_NO_FATAL_FAILURE(Prepare(Example::kNode));
  if (IsSkipped()) return;
  SignsAndVerifies(Example::kNode, "node");
  RefusedCallerSeesTheStatus(Example::kNode, "node");
}

}  // namespace
}  // namespace ksef
