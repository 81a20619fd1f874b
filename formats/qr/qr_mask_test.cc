// EncodeQr (libqrencode with mask pattern 0, then qr_mask.h's selection)
// gives exactly the symbol of libqrencode's public QRcode_encodeData, which
// scores all eight patterns itself: same version, same modules, for texts
// of many lengths, bytes and levels, versions 1 to 40 (all three line
// widths of qr_mask.cc: up to 64, 128 and 192 modules).
#include <gtest/gtest.h>
#include <qrencode.h>

#include <memory>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "formats/qr/qr_matrix.h"

namespace ksef::qr {
namespace {

struct QrcodeDeleter {
  void operator()(QRcode* code) const { QRcode_free(code); }
};

// The number of modules where `ours` and libqrencode's own symbol differ
// (-1: a different version or size).
int Differences(const std::string& text, EccLevel ecc) {
  auto ours = EncodeQr(text, ecc);
  EXPECT_TRUE(ours.ok()) << ours.status();
  std::unique_ptr<QRcode, QrcodeDeleter> theirs(QRcode_encodeData(
      static_cast<int>(text.size()), reinterpret_cast<const unsigned char*>(text.data()), 0,
      static_cast<QRecLevel>(static_cast<int>(ecc))));
  EXPECT_NE(theirs, nullptr);
  if (!ours.ok() || theirs == nullptr) return -1;
  if (ours->version != theirs->version || ours->size != theirs->width) return -1;
  int diff = 0;
  for (int y = 0; y < ours->size; ++y) {
    for (int x = 0; x < ours->size; ++x) {
      diff += ours->IsDark(x, y) != ((theirs->data[y * theirs->width + x] & 1) != 0);
    }
  }
  return diff;
}

// Deterministic texts: random bytes, a small alphabet (long runs and
// repeats), one repeated byte.
std::string Text(std::mt19937& rng, int length, int kind) {
  std::string text(static_cast<size_t>(length), 'A');
  for (char& c : text) {
    if (kind == 0) c = static_cast<char>(rng());
    if (kind == 1) c = "ab01/-"[rng() % 6];
  }
  return text;
}

TEST(QrMaskTest, SameSymbolAsLibqrencodeSelection) {
  static_assert(static_cast<int>(EccLevel::kL) == QR_ECLEVEL_L &&
                static_cast<int>(EccLevel::kH) == QR_ECLEVEL_H);
  std::mt19937 rng(20261202);
  int compared = 0;
  for (int i = 0; i < 240; ++i) {
    const int length = 1 + static_cast<int>(rng() % 400);  // versions 1..~20
    const std::string text = Text(rng, length, i % 3);
    for (EccLevel ecc : {EccLevel::kL, EccLevel::kM, EccLevel::kQ, EccLevel::kH}) {
      ASSERT_EQ(Differences(text, ecc), 0)
          << "length " << length << ", kind " << i % 3 << ", level " << static_cast<int>(ecc);
      ++compared;
    }
  }
  // Wider symbols: 2 and 3 words per line.
  for (int length : {600, 900, 1300, 1800, 2300, 2900}) {
    for (int kind = 0; kind < 3; ++kind) {
      ASSERT_EQ(Differences(Text(rng, length, kind), EccLevel::kL), 0)
          << "length " << length << ", kind " << kind;
      ++compared;
    }
  }
  EXPECT_EQ(compared, 240 * 4 + 18);
}

TEST(QrMaskTest, KsefLinksAsLibqrencode) {
  for (const char* link :
       {"https://qr-test.ksef.mf.gov.pl/invoice/1111111111/01-02-2026/"
        "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE",
        "https://qr-test.ksef.mf.gov.pl/certificate/Nip/1111111111/1111111111/01F20A5D352AE590/"
        "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE/"
        "IBA8IW9KvcXwzpr53LYVZ7rEJnZkgdErsYY0Y7XegZGP-v7w0eKNztWhRZ0ysZxf-eTf_iBlGN2MNE7go14bqw"}) {
    EXPECT_EQ(Differences(link, EccLevel::kM), 0) << link;
  }
}

TEST(QrMatrixTest, RunsAlongARow) {
  for (int length : {3, 2900}) {  // version 1 (one word per row) and 40 (three)
    auto m = EncodeQr(std::string(static_cast<size_t>(length), 'r'), EccLevel::kL);
    ASSERT_TRUE(m.ok());
    const int n = m->size;
    // Row 0: a finder's 7 dark modules at each end, a light separator inside each.
    EXPECT_EQ(m->NextDark(0, 0), 0);
    EXPECT_EQ(m->NextLight(0, 0), 7);
    EXPECT_EQ(m->NextDark(n - 8, 0), n - 7);
    EXPECT_EQ(m->NextLight(n - 7, 0), n);
    EXPECT_EQ(m->NextDark(n, 0), n);
    // Row 6: the finders' bottom rows, and between them the timing pattern,
    // dark on even columns.
    EXPECT_EQ(m->NextLight(0, 6), 7);
    EXPECT_EQ(m->NextDark(7, 6), 8);
    EXPECT_EQ(m->NextLight(8, 6), 9);
    EXPECT_EQ(m->NextDark(9, 6), 10);
    if (n > 64) {
      EXPECT_EQ(m->NextDark(63, 6), 64);  // across a word boundary
    }
  }
}

}  // namespace
}  // namespace ksef::qr
