// Status helpers: RETURN_IF_ERROR and ASSIGN_OR_RETURN for absl::Status / absl::StatusOr.
//
// Debian's abseil (20220623) has no status macros, so stakewatch carries these two.
//
//   absl::Status Load() {
//     RETURN_IF_ERROR(Open());
//     ASSIGN_OR_RETURN(Config c, Parse(text));
//     ...
//   }
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SW_STATUS_CONCAT_INNER_(a, b) a##b
#define SW_STATUS_CONCAT_(a, b) SW_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the enclosing function if not OK.
#define RETURN_IF_ERROR(expr)                \
  do {                                       \
    ::absl::Status sw_status_ = (expr);      \
    if (!sw_status_.ok()) return sw_status_; \
  } while (0)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status, otherwise moves the
// value into `lhs`, which may be a declaration (`ASSIGN_OR_RETURN(auto x, F())`).
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  SW_ASSIGN_OR_RETURN_IMPL_(SW_STATUS_CONCAT_(sw_statusor_, __LINE__), lhs, rexpr)

#define SW_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr)    \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()
