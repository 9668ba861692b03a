// libFuzzer target: the PromQL parser and printer (promql/parser.h, promql/ast.h).
//
// For any input, ParseExpr must return (no crash, no hang, no sanitizer report) and an error
// must be InvalidArgument carrying Prometheus's ParseErr text ("...parse error: ...").
// For an input that parses, printing is a fixed point, as promql_test.cc checks on its tables:
//   once  = Format(ParseExpr(input))
//   ParseExpr(once) must succeed, and Format(ParseExpr(once)) == once.
// A violation is reported with __builtin_trap() after printing both texts to stderr.
//
// One documented exception, which is Prometheus 2.42's own behaviour (checked against the
// running binary's rules API): a +Inf literal prints as "+Inf", so `Inf ^ 2` prints as
// "+Inf ^ 2"; reparsed, that `+` is a unary plus binding looser than `^`, i.e. +(Inf ^ 2), which
// prints as "++Inf ^ 2" (and "-Inf ^ 2" prints as "-+Inf ^ 2"). For printed text containing
// "+Inf ^" the check is therefore: the second print equals the first with every "+Inf ^"
// turned into "++Inf ^" (unless a string literal is present, which could contain that text
// too; then only the reparse is checked). Each such reparse adds a unary level, so it may also
// fail with "nesting too deep" near kMaxNestingDepth.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/str_replace.h"
#include "promql/ast.h"
#include "promql/parser.h"

namespace {

using stakewatch::promql::ExprPtr;
using stakewatch::promql::Format;
using stakewatch::promql::ParseExpr;

[[noreturn]] void Fail(const char* what, std::string_view input, std::string_view detail) {
  std::fprintf(stderr, "fuzz_promql_parser: %s\n  input:  %.*s\n  detail: %.*s\n", what,
               static_cast<int>(input.size()), input.data(), static_cast<int>(detail.size()),
               detail.data());
  __builtin_trap();
}

bool IsParseError(const absl::Status& s) {
  return s.code() == absl::StatusCode::kInvalidArgument &&
         std::string_view(s.message().data(), s.message().size()).find("parse error: ") !=
             std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ExprPtr> e = ParseExpr(input);
  if (!e.ok()) {
    if (!IsParseError(e.status())) Fail("error is not a parse error", input, e.status().ToString());
    return 0;
  }
  const std::string once = Format(**e);
  const bool inf_pow = once.find("+Inf ^") != std::string::npos;
  absl::StatusOr<ExprPtr> again = ParseExpr(once);
  if (!again.ok() && inf_pow &&
      std::string_view(again.status().message().data(), again.status().message().size())
              .find("nesting too deep") != std::string_view::npos) {
    return 0;  // each reparsed "+Inf ^" adds a unary level, which can cross kMaxNestingDepth
  }
  if (!again.ok()) {
    Fail("printed form does not parse", input, once + "  ->  " + again.status().ToString());
  }
  const std::string twice = Format(**again);
  if (!inf_pow) {
    if (twice != once) Fail("printing is not a fixed point", input, once + "  ->  " + twice);
  } else if (once.find('"') == std::string::npos) {
    const std::string want = absl::StrReplaceAll(once, {{"+Inf ^", "++Inf ^"}});
    if (twice != want) Fail("+Inf ^ exception: unexpected reprint", input, once + "  ->  " + twice);
  }
  return 0;
}
