// RunCli "qr" against the in-process fake OfflineInvoiceService: one file by
// the unary call, directories and several files by the stream, images,
// --json, and usage errors that stop before any call.
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/cli/cli.h"
#include "client/cli/cli_test_util.h"
#include "client/file_util.h"
#include "client/testing/fake_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ksef::client {
namespace {

namespace v1 = ::ksef::hsm::v1;
namespace fs = std::filesystem;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using FakeOffline = testing::FakeOfflineService;

using Result = testing::CliResult;

// An FA(3)-like invoice whose bytes show any re-encoding: a BOM, CRLF, Polish
// characters and no final newline. `extra` makes each one different.
std::string Invoice(const std::string& extra) {
  return absl::StrCat(
      "\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
      "<Faktura xmlns=\"http://crd.gov.pl/wzor/2025/06/25/13775/\">\r\n"
      "<Podmiot1><DaneIdentyfikacyjne><NIP>5260250274</NIP>"
      "<Nazwa>Sp\xc3\xb3\xc5\x82ka \xc5\xbc\xc3\xb3\xc5\x82ta</Nazwa></DaneIdentyfikacyjne>"
      "</Podmiot1>\r\n<Fa><P_1>2025-07-01</P_1><!-- ",
      extra, " --></Fa></Faktura>");
}

class CliQrTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/cli_qr_test_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result Cli(std::vector<std::string> args) { return CliAt(server_.address(), std::move(args)); }

  static Result CliAt(const std::string& server, std::vector<std::string> args) {
    return testing::RunCliWithEnv(args, testing::PlaintextEnv(server));
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::string File(const std::string& name, const std::string& content) {
    std::string path = Path(name);
    fs::create_directories(fs::path(path).parent_path());
    EXPECT_TRUE(WriteWholeFile(path, content, "test file").ok());
    return path;
  }

  static std::string Read(const std::string& path) {
    absl::StatusOr<std::string> content = ReadWholeFile(path, "test file");
    EXPECT_TRUE(content.ok()) << content.status();
    return content.value_or("");
  }

  // The four images of `stem` in `dir` hold the canned bytes.
  static void ExpectImages(const std::string& dir, const std::string& stem) {
    EXPECT_EQ(Read(absl::StrCat(dir, "/", stem, ".kod-i.png")), FakeOffline::KodIPng()) << stem;
    EXPECT_EQ(Read(absl::StrCat(dir, "/", stem, ".kod-i.svg")), FakeOffline::KodISvg()) << stem;
    EXPECT_EQ(Read(absl::StrCat(dir, "/", stem, ".kod-ii.png")), FakeOffline::KodIIPng()) << stem;
    EXPECT_EQ(Read(absl::StrCat(dir, "/", stem, ".kod-ii.svg")), FakeOffline::KodIISvg()) << stem;
  }

  static bool Exists(const std::string& path) { return fs::exists(path); }

  testing::FakeServer server_;
  std::string dir_;
};

TEST_F(CliQrTest, OneFileIsOneUnaryCallWithTheExactBytes) {
  const std::string xml = Invoice("one");
  std::string invoice = File("FA-2025-0001.xml", xml);
  std::string out_dir = Path("qr/out");  // does not exist yet
  Result r = Cli({"qr", "acme-offline-1", "--nip", "5260250274", "--environment", "demo",
                  "--out-dir", out_dir, invoice});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_THAT(r.err, IsEmpty());

  EXPECT_EQ(server_.offline().unary_calls(), 1);
  EXPECT_EQ(server_.offline().stream_calls(), 0);
  std::vector<v1::SignOfflineInvoiceRequest> requests = server_.offline().requests();
  ASSERT_EQ(requests.size(), 1u);
  const v1::SignOfflineInvoiceRequest& q = requests[0];
  EXPECT_EQ(q.name(), "keys/acme-offline-1");
  EXPECT_FALSE(q.has_subject());
  EXPECT_EQ(q.context_identifier().value_case(), v1::ContextIdentifier::kNip);
  EXPECT_EQ(q.context_identifier().nip(), "5260250274");
  EXPECT_EQ(q.invoice_case(), v1::SignOfflineInvoiceRequest::kInvoiceXml);
  EXPECT_EQ(q.invoice_xml(), xml);  // byte for byte
  EXPECT_EQ(q.environment(), v1::QR_DEMO);
  EXPECT_TRUE(q.images());
  EXPECT_EQ(q.ksef_number(), "");

  // The block: file, both links with their labels, the images written.
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat(invoice, "\n")));
  EXPECT_THAT(r.out, ContainsRegex(
                         absl::StrCat("KOD I \\(OFFLINE\\): +", FakeOffline::KodILink(xml), "\n")));
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("KOD II (CERTYFIKAT): ", FakeOffline::KodIILink(xml))));
  for (const char* suffix : {".kod-i.png", ".kod-i.svg", ".kod-ii.png", ".kod-ii.svg"}) {
    EXPECT_THAT(r.out, HasSubstr(absl::StrCat(out_dir, "/FA-2025-0001", suffix)));
  }
  ExpectImages(out_dir, "FA-2025-0001");
}

TEST_F(CliQrTest, MapsSubjectEveryContextEnvironmentAndKsefNumber) {
  std::string invoice = File("fa.xml", Invoice("x"));
  struct ContextCase {
    std::string flag;
    v1::ContextIdentifier::ValueCase value_case;
  };
  for (const ContextCase& c : std::vector<ContextCase>{
           {"--nip", v1::ContextIdentifier::kNip},
           {"--internal-id", v1::ContextIdentifier::kInternalId},
           {"--nip-vat-ue", v1::ContextIdentifier::kNipVatUe},
           {"--peppol-id", v1::ContextIdentifier::kPeppolId},
       }) {
    Result r = Cli({"qr", "--subject-type", "nip", "--subject", "5260250274", c.flag, "VALUE-1",
                    "--no-images", invoice});
    ASSERT_EQ(r.exit_status, 0) << c.flag << ": " << r.err;
    v1::SignOfflineInvoiceRequest q = server_.offline().requests().back();
    EXPECT_EQ(q.name(), "");
    EXPECT_EQ(q.subject().type(), v1::KsefSubject::NIP);
    EXPECT_EQ(q.subject().value(), "5260250274");
    EXPECT_EQ(q.context_identifier().value_case(), c.value_case) << c.flag;
    EXPECT_THAT(q.context_identifier().ShortDebugString(), HasSubstr("VALUE-1"));
    EXPECT_EQ(q.environment(), v1::QR_ENVIRONMENT_UNSPECIFIED);
  }

  for (const auto& [word, environment] : std::vector<std::pair<std::string, v1::QrEnvironment>>{
           {"test", v1::QR_TEST}, {"DEMO", v1::QR_DEMO}, {"production", v1::QR_PRODUCTION}}) {
    Result r = Cli({"qr", "k", "--nip", "5260250274", "--environment", word, "--ksef-number",
                    "5260250274-20250701-0100001AF629-AF", "--no-images", invoice});
    ASSERT_EQ(r.exit_status, 0) << word << ": " << r.err;
    v1::SignOfflineInvoiceRequest q = server_.offline().requests().back();
    EXPECT_EQ(q.environment(), environment) << word;
    EXPECT_EQ(q.ksef_number(), "5260250274-20250701-0100001AF629-AF");
    // KOD I carries the KSeF number as its label.
    EXPECT_THAT(r.out, HasSubstr("KOD I (5260250274-20250701-0100001AF629-AF): https://"));
  }
}

TEST_F(CliQrTest, ImagesGoToTheCurrentDirectoryByDefault) {
  std::string invoice = File("in/fa-7.xml", Invoice("7"));
  std::string cwd = Path("cwd");
  fs::create_directories(cwd);
  fs::path old = fs::current_path();
  fs::current_path(cwd);
  Result r = Cli({"qr", "k", "--nip", "5260250274", invoice});
  fs::current_path(old);
  ASSERT_EQ(r.exit_status, 0) << r.err;
  ExpectImages(cwd, "fa-7");
  EXPECT_THAT(r.out, ContainsRegex("images: +fa-7.kod-i.png fa-7.kod-i.svg fa-7.kod-ii.png "
                                   "fa-7.kod-ii.svg\n"));
}

TEST_F(CliQrTest, NoImagesAsksForNoneAndWritesNone) {
  std::string invoice = File("fa.xml", Invoice("n"));
  std::string cwd = Path("cwd");
  fs::create_directories(cwd);
  fs::path old = fs::current_path();
  fs::current_path(cwd);
  Result r = Cli({"qr", "k", "--nip", "5260250274", "--no-images", invoice});
  fs::current_path(old);
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_FALSE(server_.offline().requests().back().images());
  EXPECT_TRUE(fs::is_empty(cwd));
  EXPECT_THAT(r.out, ContainsRegex("images: +none\n"));
  EXPECT_THAT(r.out, HasSubstr(FakeOffline::KodIILink(Invoice("n"))));
}

TEST_F(CliQrTest, DirectoryGoesInOneStreamInNameOrderAndOneErrorDoesNotStopIt) {
  // Written out of order; plus files that are not taken.
  File("batch/c.xml", Invoice("c"));
  File("batch/a.xml", Invoice("a"));
  File("batch/b.xml", Invoice("b BAD"));
  File("batch/notes.txt", "not an invoice");
  File("batch/sub/d.xml", Invoice("d"));
  std::string batch = Path("batch");
  std::string out_dir = Path("images");
  Result r = Cli(
      {"qr", "acme-offline-1", "--internal-id", "5260250274-00001", "--out-dir", out_dir, batch});
  EXPECT_EQ(r.exit_status, 1) << r.err;

  EXPECT_EQ(server_.offline().unary_calls(), 0);
  EXPECT_EQ(server_.offline().stream_calls(), 1);
  std::vector<v1::SignOfflineInvoiceRequest> requests = server_.offline().requests();
  ASSERT_EQ(requests.size(), 3u);
  const std::string names[] = {"a", "b", "c"};
  const std::string xmls[] = {Invoice("a"), Invoice("b BAD"), Invoice("c")};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(requests[i].request_id(), absl::StrCat(batch, "/", names[i], ".xml"));
    EXPECT_EQ(requests[i].invoice_xml(), xmls[i]);
    EXPECT_EQ(requests[i].name(), "keys/acme-offline-1");
    EXPECT_EQ(requests[i].context_identifier().internal_id(), "5260250274-00001");
    EXPECT_TRUE(requests[i].images());
  }

  // The failed invoice: one error line naming the file; the others printed in order.
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat(batch, "/b.xml: error: INVALID_ARGUMENT: ",
                                            FakeOffline::kBadMessage, "\n")));
  EXPECT_THAT(r.err, HasSubstr("1 of 3 invoices failed"));
  size_t a = r.out.find(FakeOffline::KodILink(xmls[0]));
  size_t c = r.out.find(FakeOffline::KodILink(xmls[2]));
  ASSERT_NE(a, std::string::npos) << r.out;
  ASSERT_NE(c, std::string::npos) << r.out;
  EXPECT_LT(a, c);
  EXPECT_THAT(r.out, Not(HasSubstr("b.xml")));
  ExpectImages(out_dir, "a");
  ExpectImages(out_dir, "c");
  EXPECT_FALSE(Exists(out_dir + "/b.kod-i.png"));
  EXPECT_FALSE(Exists(out_dir + "/d.kod-i.png"));
}

TEST_F(CliQrTest, SeveralFilesGoInOneStreamInArgumentOrder) {
  std::string second = File("z.xml", Invoice("z"));
  std::string first = File("y.xml", Invoice("y"));
  Result r = Cli({"qr", "k", "--nip", "5260250274", "--no-images", second, first});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(server_.offline().stream_calls(), 1);
  std::vector<v1::SignOfflineInvoiceRequest> requests = server_.offline().requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].request_id(), second);
  EXPECT_EQ(requests[1].request_id(), first);
  EXPECT_FALSE(requests[0].images());
  EXPECT_LT(r.out.find(second), r.out.find(first));
}

TEST_F(CliQrTest, ManyInvoicesDoNotBlockTheStream) {
  // Each invoice is ~200 KB: far more than the flow-control windows, so a
  // client that wrote everything before reading would stall.
  std::string big(200 * 1024, 'x');
  std::string batch = Path("many");
  for (int i = 0; i < 40; ++i) File(absl::StrCat("many/fa-", 100 + i, ".xml"), Invoice(big));
  Result r = Cli({"qr", "k", "--nip", "5260250274", "--out-dir", Path("many-qr"), batch});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(server_.offline().requests().size(), 40u);
  ExpectImages(Path("many-qr"), "fa-139");
}

TEST_F(CliQrTest, JsonPrintsOneLinePerResult) {
  File("j/a.xml", Invoice("a"));
  File("j/b.xml", Invoice("BAD"));
  std::string out_dir = Path("j-qr");
  Result r = Cli({"--json", "qr", "k", "--nip", "5260250274", "--out-dir", out_dir, Path("j")});
  EXPECT_EQ(r.exit_status, 1);
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_THAT(lines[0], HasSubstr("\"index\":\"0\""));
  EXPECT_THAT(lines[0], HasSubstr(absl::StrCat("\"kod_i_link\":\"",
                                               FakeOffline::KodILink(Invoice("a")), "\"")));
  EXPECT_THAT(lines[1], HasSubstr("\"index\":\"1\""));
  EXPECT_THAT(lines[1], HasSubstr("\"error_code\":3"));
  EXPECT_THAT(r.err, HasSubstr("b.xml: error: INVALID_ARGUMENT"));
  ExpectImages(out_dir, "a");  // still written

  // One file: the unary reply, printed the same way.
  r = Cli({"--json", "qr", "k", "--nip", "5260250274", "--no-images", Path("j/a.xml")});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("\"request_id\":\"", Path("j/a.xml"), "\"")));
  EXPECT_THAT(r.out, HasSubstr("\"kod_ii_link\":\"https://"));
}

TEST_F(CliQrTest, ServerErrorsOfOneFile) {
  std::string invoice = File("bad.xml", Invoice("BAD"));
  Result r = Cli({"qr", "k", "--nip", "5260250274", "--no-images", invoice});
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat("INVALID_ARGUMENT: ", FakeOffline::kBadMessage)));
  EXPECT_THAT(r.out, IsEmpty());

  r = Cli({"qr", "missing", "--nip", "5260250274", "--no-images", File("ok.xml", Invoice("ok"))});
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND: key keys/missing not found"));
}

TEST_F(CliQrTest, UsageErrorsComeBeforeAnyCall) {
  std::string ok = File("ok.xml", Invoice("ok"));
  std::string other_ok = File("other/ok.xml", Invoice("ok2"));
  fs::create_directories(Path("empty"));
  File("txt-only/readme.txt", "x");
  std::string empty_file = File("empty.xml", "");
  File("not-a-dir", "x");
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"qr", "k", "--nip", "5260250274"}, "missing PATH"},
           {{"qr", "--subject-type", "nip", "--subject", "5260250274", "--nip", "1"},
            "missing PATH"},
           {{"qr", "--nip", "5260250274"}, "missing the key"},
           {{"qr", ok, "--nip", "5260250274"}, "is the key NAME"},
           {{"qr", "k", ok}, "missing the context identifier"},
           {{"qr", "k", "--nip", "1", "--peppol-id", "PPL1", ok},
            "give exactly one context identifier"},
           {{"qr", "k", "--nip", "1", "--nip", "2", ok}, "give exactly one context identifier"},
           {{"qr", "k", "--nip", " ", ok}, "--nip is empty"},
           {{"qr", "--subject", "5260250274", "--nip", "1", ok}, "missing --subject-type"},
           {{"qr", "--subject-type", "regon", "--subject", "1", "--nip", "1", ok},
            "invalid --subject-type"},
           {{"qr", "k", "--nip", "1", "--environment", "staging", ok}, "invalid --environment"},
           {{"qr", "k", "--nip", "1", Path("nonexistent.xml")}, "cannot read invoice file"},
           {{"qr", "k", "--nip", "1", Path("empty")}, "no *.xml invoice files in directory"},
           {{"qr", "k", "--nip", "1", Path("txt-only")}, "no *.xml invoice files in directory"},
           {{"qr", "k", "--nip", "1", empty_file}, "is empty"},
           {{"qr", "k", "--nip", "1", ok, Path("nonexistent.xml")}, "cannot read invoice file"},
           {{"qr", "k", "--nip", "1", "--ksef-number", "N", ok, other_ok},
            "--ksef-number is the number of one invoice"},
           {{"qr", "k", "--nip", "1", ok, other_ok}, "would have the same names"},
           {{"qr", "k", "--nip", "1", "--no-images", "--out-dir", Path("o"), ok},
            "--out-dir does not go with --no-images"},
           {{"qr", "k", "--nip", "1", "--out-dir", Path("not-a-dir"), ok},
            "cannot create --out-dir"},
       }) {
    Result r = Cli(c.args);
    EXPECT_EQ(r.exit_status, 2) << c.message << "\n" << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << c.message;
    EXPECT_THAT(r.out, IsEmpty()) << c.message;
  }
  // A count, not the requests (GCC 12 -O3 -Wrestrict: cli_enrollment_test.cc).
  EXPECT_EQ(server_.offline().requests().size(), 0u);
  EXPECT_EQ(server_.offline().unary_calls() + server_.offline().stream_calls(), 0);
  EXPECT_FALSE(Exists(Path("o")));

  // The same files may be signed separately when no images are written.
  Result r = Cli({"qr", "k", "--nip", "1", "--no-images", ok, other_ok});
  EXPECT_EQ(r.exit_status, 0) << r.err;
}

}  // namespace
}  // namespace ksef::client
