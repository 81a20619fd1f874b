#include "formats/qr/png_writer.h"

#include <png.h>

#include <cmath>
#include <csetjmp>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ksef::qr {
namespace {

// Owns the libpng write structs.
class PngWriteStructs {
 public:
  PngWriteStructs() = default;
  PngWriteStructs(const PngWriteStructs&) = delete;
  PngWriteStructs& operator=(const PngWriteStructs&) = delete;
  ~PngWriteStructs() {
    if (png_ != nullptr) png_destroy_write_struct(&png_, info_ != nullptr ? &info_ : nullptr);
  }
  png_structp png_ = nullptr;
  png_infop info_ = nullptr;
};

// Shared with the libpng callbacks through the io/error pointers.
struct WriteContext {
  std::string* out;
  char error[200];
};

void OnWrite(png_structp png, png_bytep data, png_size_t length) {
  auto* ctx = static_cast<WriteContext*>(png_get_io_ptr(png));
  ctx->out->append(reinterpret_cast<const char*>(data), length);
}

void OnFlush(png_structp) {}

// libpng requires error handlers not to return: keep the message and jump
// back to the setjmp in RunLibpng (whose frame holds no C++ objects).
[[noreturn]] void OnError(png_structp png, png_const_charp message) {
  auto* ctx = static_cast<WriteContext*>(png_get_error_ptr(png));
  std::strncpy(ctx->error, message != nullptr ? message : "unknown", sizeof(ctx->error) - 1);
  ctx->error[sizeof(ctx->error) - 1] = '\0';
  png_longjmp(png, 1);
}

void OnWarning(png_structp, png_const_charp) {}

// Every libpng call that may fail runs here: a longjmp out of libpng lands in
// this frame, which owns nothing with a destructor.
bool RunLibpng(png_structp png, png_infop info, const GrayImage& image, png_uint_32 ppm) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_IHDR(png, info, static_cast<png_uint_32>(image.width),
               static_cast<png_uint_32>(image.height), 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_set_pHYs(png, info, ppm, ppm, PNG_RESOLUTION_METER);
  // A QR image is two colours in long runs: no row filter and fast deflate
  // give files as small as the defaults at a fraction of the cost (adaptive
  // filtering tries five filters per row).
  png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
  png_set_compression_level(png, 1);
  png_write_info(png, info);
  for (int y = 0; y < image.height; ++y) {
    png_write_row(png, image.pixels.data() + static_cast<size_t>(y) * image.width);
  }
  png_write_end(png, nullptr);
  return true;
}

}  // namespace

absl::StatusOr<std::string> EncodePngGray(const GrayImage& image, int dpi) {
  if (image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != static_cast<size_t>(image.width) * image.height) {
    return absl::InvalidArgumentError("image: empty, or the pixel buffer does not match its size");
  }
  if (dpi < 1 || dpi > 100000) return absl::InvalidArgumentError("dpi: must be 1..100000");
  std::string out;
  WriteContext ctx{&out, {}};
  PngWriteStructs s;
  s.png_ = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, OnError, OnWarning);
  if (s.png_ == nullptr) return absl::InternalError("libpng: cannot create a write struct");
  s.info_ = png_create_info_struct(s.png_);
  if (s.info_ == nullptr) return absl::InternalError("libpng: cannot create an info struct");
  png_set_write_fn(s.png_, &ctx, OnWrite, OnFlush);
  // pHYs counts pixels per metre; 300 DPI is 11811.
  auto ppm = static_cast<png_uint_32>(std::lround(dpi / 0.0254));
  if (!RunLibpng(s.png_, s.info_, image, ppm)) {
    return absl::InternalError(absl::StrCat("libpng: ", ctx.error));
  }
  return out;
}

}  // namespace ksef::qr
