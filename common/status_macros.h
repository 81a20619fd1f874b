// Status helpers used across the project.
//
//   KSEF_RETURN_IF_ERROR(expr);              // returns the status if not ok
//   KSEF_ASSIGN_OR_RETURN(auto x, expr);     // unwraps a StatusOr or returns
#ifndef KSEF_COMMON_STATUS_MACROS_H_
#define KSEF_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define KSEF_RETURN_IF_ERROR(expr)                \
  do {                                            \
    ::absl::Status ksef_status_ = (expr);         \
    if (!ksef_status_.ok()) return ksef_status_;  \
  } while (0)

#define KSEF_CONCAT_INNER_(a, b) a##b
#define KSEF_CONCAT_(a, b) KSEF_CONCAT_INNER_(a, b)

#define KSEF_ASSIGN_OR_RETURN(lhs, expr) \
  KSEF_ASSIGN_OR_RETURN_IMPL_(KSEF_CONCAT_(ksef_statusor_, __LINE__), lhs, expr)

#define KSEF_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()

#endif  // KSEF_COMMON_STATUS_MACROS_H_
