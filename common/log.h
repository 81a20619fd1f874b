// A small thread-safe logger: one line per event on stderr,
//   2026-11-22T10:00:00.123Z INFO  message key=value ...
// or, with SetLogJson(true), one JSON object per line. Callers must never pass
// secrets (PINs, passwords, key material); SecureString has no formatter, so
// the type system helps.
#ifndef KSEF_COMMON_LOG_H_
#define KSEF_COMMON_LOG_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace ksef {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

void SetLogLevel(LogLevel level);
void SetLogJson(bool json);
// Parses "debug" | "info" | "warning" | "error"; false if unknown.
bool ParseLogLevel(absl::string_view text, LogLevel* level);

void Log(LogLevel level, absl::string_view message);

template <typename... Args>
void LogInfo(const Args&... args) {
  Log(LogLevel::kInfo, absl::StrCat(args...));
}
template <typename... Args>
void LogWarning(const Args&... args) {
  Log(LogLevel::kWarning, absl::StrCat(args...));
}
template <typename... Args>
void LogError(const Args&... args) {
  Log(LogLevel::kError, absl::StrCat(args...));
}
template <typename... Args>
void LogDebug(const Args&... args) {
  Log(LogLevel::kDebug, absl::StrCat(args...));
}

}  // namespace ksef

#endif  // KSEF_COMMON_LOG_H_
