#include "query/engine.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/go_float.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "promql/parser.h"
#include "query/function_impl.h"

namespace stakewatch::query {
namespace {

using promql::AggregateExpr;
using promql::AggregateOp;
using promql::AtModifier;
using promql::BinaryExpr;
using promql::BinaryOp;
using promql::Call;
using promql::Expr;
using promql::MatrixSelector;
using promql::NumberLiteral;
using promql::ParenExpr;
using promql::StringLiteral;
using promql::SubqueryExpr;
using promql::UnaryExpr;
using promql::ValueType;
using promql::VectorMatchCardinality;
using promql::VectorMatching;
using promql::VectorSelector;

constexpr std::string_view kTooManySamples =
    "query processing would load too many samples into memory in query execution";
constexpr std::string_view kTimedOut = "query timed out in expression evaluation";
constexpr std::string_view kSameLabelset = "vector cannot contain metrics with the same labelset";

absl::Status EvalError(std::string_view msg) { return absl::InvalidArgumentError(ToAbsl(msg)); }

struct LabelsHash {
  size_t operator()(const Labels& l) const { return l.Hash(); }
};

const Expr* UnwrapParens(const Expr* e) {
  while (const auto* p = std::get_if<ParenExpr>(&e->node)) e = p->expr.get();
  return e;
}

bool ContainsSameLabelset(const Vector& v) {
  if (v.size() < 2) return false;
  if (v.size() == 2) return v[0].metric == v[1].metric;
  absl::flat_hash_set<Labels, LabelsHash> seen;
  seen.reserve(v.size());
  for (const VSample& s : v) {
    if (!seen.insert(s.metric).second) return true;
  }
  return false;
}

bool MatrixContainsSameLabelset(const Matrix& m) {
  if (m.size() < 2) return false;
  absl::flat_hash_set<Labels, LabelsHash> seen;
  seen.reserve(m.size());
  for (const Series& s : m) {
    if (!seen.insert(s.metric).second) return true;
  }
  return false;
}

// createLabelsForAbsentFunction: the equality matchers of a selector argument.
Labels LabelsForAbsent(const Expr* arg) {
  arg = UnwrapParens(arg);
  const std::vector<promql::Matcher>* lm = nullptr;
  if (const auto* vs = std::get_if<VectorSelector>(&arg->node)) {
    lm = &vs->matchers;
  } else if (const auto* ms = std::get_if<MatrixSelector>(&arg->node)) {
    lm = &ms->vector_selector.matchers;
  } else {
    return Labels();
  }
  tsdb::LabelsBuilder b;
  absl::flat_hash_set<std::string> has;
  for (const promql::Matcher& m : *lm) {
    if (m.name == tsdb::kMetricName) continue;
    if (m.type == promql::MatchType::kEqual && !has.contains(m.name)) {
      b.Set(m.name, m.value);
      has.insert(m.name);
    } else {
      b.Del(m.name);
    }
  }
  return b.Build();
}

double ScalarBinop(BinaryOp op, double l, double r) {
  switch (op) {
    case BinaryOp::kAdd:
      return l + r;
    case BinaryOp::kSub:
      return l - r;
    case BinaryOp::kMul:
      return l * r;
    case BinaryOp::kDiv:
      return l / r;
    case BinaryOp::kPow:
      return std::pow(l, r);
    case BinaryOp::kMod:
      return std::fmod(l, r);
    case BinaryOp::kEqlc:
      return l == r ? 1 : 0;
    case BinaryOp::kNeq:
      return l != r ? 1 : 0;
    case BinaryOp::kGtr:
      return l > r ? 1 : 0;
    case BinaryOp::kLss:
      return l < r ? 1 : 0;
    case BinaryOp::kGte:
      return l >= r ? 1 : 0;
    case BinaryOp::kLte:
      return l <= r ? 1 : 0;
    case BinaryOp::kAtan2:
      return std::atan2(l, r);
    default:
      return std::nan("");
  }
}

// vectorElemBinop: the value and whether the element is kept (comparisons filter).
std::pair<double, bool> VectorElemBinop(BinaryOp op, double l, double r) {
  switch (op) {
    case BinaryOp::kEqlc:
      return {l, l == r};
    case BinaryOp::kNeq:
      return {l, l != r};
    case BinaryOp::kGtr:
      return {l, l > r};
    case BinaryOp::kLss:
      return {l, l < r};
    case BinaryOp::kGte:
      return {l, l >= r};
    case BinaryOp::kLte:
      return {l, l <= r};
    default:
      return {ScalarBinop(op, l, r), true};
  }
}

bool ShouldDropMetricName(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
    case BinaryOp::kSub:
    case BinaryOp::kDiv:
    case BinaryOp::kMul:
    case BinaryOp::kPow:
    case BinaryOp::kMod:
      return true;
    default:
      return false;
  }
}

bool Contains(const std::vector<std::string>& names, std::string_view n) {
  return std::find(names.begin(), names.end(), n) != names.end();
}

// The join signature of a series for vector matching (signatureFunc): with on(...) the listed
// labels, otherwise every label except the ignored ones and __name__.
std::string Signature(const Labels& l, bool on, const std::vector<std::string>& names) {
  std::string sig;
  for (const tsdb::Label& lab : l) {
    const bool listed = Contains(names, lab.name);
    if (on ? !listed : (listed || lab.name == tsdb::kMetricName)) continue;
    absl::StrAppend(&sig, lab.name, "\xff", lab.value, "\xff");
  }
  return sig;
}

// Labels.MatchLabels, for error messages.
Labels MatchLabels(const Labels& l, bool on, const std::vector<std::string>& names) {
  std::vector<tsdb::Label> out;
  for (const tsdb::Label& lab : l) {
    const bool listed = Contains(names, lab.name);
    if (on ? listed : (!listed && lab.name != tsdb::kMetricName)) out.push_back(lab);
  }
  return Labels::FromSorted(std::move(out));
}

Labels ResultMetric(const Labels& lhs, const Labels& rhs, BinaryOp op, const VectorMatching& m) {
  tsdb::LabelsBuilder b(lhs);
  if (ShouldDropMetricName(op)) b.Del(tsdb::kMetricName);
  if (m.card == VectorMatchCardinality::kOneToOne) {
    if (m.on) {
      for (const tsdb::Label& lab : lhs) {
        if (!Contains(m.matching_labels, lab.name)) b.Del(lab.name);
      }
    } else {
      for (const std::string& n : m.matching_labels) b.Del(n);
    }
  }
  for (const std::string& n : m.include) {
    std::string_view v = rhs.Get(n);
    if (!v.empty()) {
      b.Set(n, v);
    } else {
      b.Del(n);
    }
  }
  return b.Build();
}

// Go's container/heap over a slice with a "less" function, so that topk/bottomk keep exactly the
// elements Prometheus keeps when values tie.
template <typename Less>
void HeapUp(std::vector<VSample>& h, size_t j, Less less) {
  while (j > 0) {
    size_t i = (j - 1) / 2;
    if (i == j || !less(h[j], h[i])) break;
    std::swap(h[i], h[j]);
    j = i;
  }
}
template <typename Less>
bool HeapDown(std::vector<VSample>& h, size_t i0, size_t n, Less less) {
  size_t i = i0;
  for (;;) {
    size_t j1 = 2 * i + 1;
    if (j1 >= n) break;
    size_t j = j1;
    if (size_t j2 = j1 + 1; j2 < n && less(h[j2], h[j1])) j = j2;
    if (!less(h[j], h[i])) break;
    std::swap(h[i], h[j]);
    i = j;
  }
  return i > i0;
}
template <typename Less>
void HeapPush(std::vector<VSample>& h, VSample s, Less less) {
  h.push_back(std::move(s));
  HeapUp(h, h.size() - 1, less);
}
template <typename Less>
void HeapPop(std::vector<VSample>& h, Less less) {
  size_t n = h.size() - 1;
  std::swap(h[0], h[n]);
  HeapDown(h, 0, n, less);
  h.pop_back();
}

bool ValueHeapLess(const VSample& a, const VSample& b) {
  if (std::isnan(a.v)) return true;
  return a.v < b.v;
}
bool ReverseValueHeapLess(const VSample& a, const VSample& b) {
  if (std::isnan(a.v)) return true;
  return a.v > b.v;
}

// quantile.go quantile() over the values of one aggregation group.
double Quantile(double q, std::vector<double> values) {
  if (values.empty()) return std::nan("");
  if (q < 0) return -std::numeric_limits<double>::infinity();
  if (q > 1) return std::numeric_limits<double>::infinity();
  std::stable_sort(values.begin(), values.end(), [](double a, double b) {
    if (std::isnan(a)) return !std::isnan(b);
    return a < b;
  });
  const double n = static_cast<double>(values.size());
  const double rank = q * (n - 1);
  const double lower = std::max(0.0, std::floor(rank));
  const double upper = std::min(n - 1, lower + 1);
  const double weight = rank - std::floor(rank);
  return values[static_cast<size_t>(lower)] * (1 - weight) +
         values[static_cast<size_t>(upper)] * weight;
}

// Everything one query shares between its (nested) evaluators.
struct QueryState {
  const EngineOptions* opts = nullptr;
  const tsdb::Storage* storage = nullptr;
  Clock* clock = nullptr;
  absl::Time deadline;
  int64_t query_start = 0;
  int64_t query_end = 0;
  // The @ timestamp of each selector/subquery that has one (start()/end() resolved), and the
  // effective offset (setOffsetForAtModifier) of every selector/subquery.
  absl::flat_hash_map<const void*, int64_t> at;
  absl::flat_hash_map<const void*, int64_t> offset;
  // Nodes Prometheus wraps in a StepInvariantExpr.
  absl::flat_hash_set<const Expr*> step_invariant;
  // Function caches, one per Call node.
  // (node-based: references stay valid while nested evaluations add entries)
  std::unordered_map<const Expr*, std::unique_ptr<FunctionCache>> caches;
  int checks = 0;

  absl::Status CheckDeadline() {
    if ((++checks & 63) != 0) return absl::OkStatus();
    if (clock->Now() > deadline) return absl::DeadlineExceededError(ToAbsl(kTimedOut));
    return absl::OkStatus();
  }

  std::optional<int64_t> AtOf(const void* node) const {
    auto it = at.find(node);
    if (it == at.end()) return std::nullopt;
    return it->second;
  }
  int64_t OffsetOf(const void* node, int64_t original) const {
    auto it = offset.find(node);
    return it == offset.end() ? original : it->second;
  }
};

// PreprocessExpr: resolves start()/end() and marks step-invariant subtrees.
bool PreprocessHelper(const Expr* e, QueryState& qs) {
  auto resolve = [&qs](const void* node, const std::optional<int64_t>& ts, AtModifier se) {
    if (se == AtModifier::kStart) {
      qs.at[node] = qs.query_start;
    } else if (se == AtModifier::kEnd) {
      qs.at[node] = qs.query_end;
    } else if (ts.has_value()) {
      qs.at[node] = *ts;
    }
    return qs.at.contains(node);
  };
  if (const auto* vs = std::get_if<VectorSelector>(&e->node)) {
    return resolve(vs, vs->timestamp_ms, vs->start_or_end);
  }
  if (const auto* ms = std::get_if<MatrixSelector>(&e->node)) {
    return resolve(&ms->vector_selector, ms->vector_selector.timestamp_ms,
                   ms->vector_selector.start_or_end);
  }
  if (const auto* agg = std::get_if<AggregateExpr>(&e->node)) {
    // As Prometheus: only the aggregated expression decides (the parameter is not visited).
    return PreprocessHelper(agg->expr.get(), qs);
  }
  if (const auto* bin = std::get_if<BinaryExpr>(&e->node)) {
    bool l = PreprocessHelper(bin->lhs.get(), qs);
    bool r = PreprocessHelper(bin->rhs.get(), qs);
    if (l && r) return true;
    if (l) qs.step_invariant.insert(bin->lhs.get());
    if (r) qs.step_invariant.insert(bin->rhs.get());
    return false;
  }
  if (const auto* call = std::get_if<Call>(&e->node)) {
    bool invariant = !IsAtModifierUnsafeFunction(call->func->name);
    std::vector<bool> arg_inv(call->args.size());
    for (size_t i = 0; i < call->args.size(); ++i) {
      arg_inv[i] = PreprocessHelper(call->args[i].get(), qs);
      invariant = invariant && arg_inv[i];
    }
    if (invariant) return true;
    for (size_t i = 0; i < call->args.size(); ++i) {
      if (arg_inv[i]) qs.step_invariant.insert(call->args[i].get());
    }
    return false;
  }
  if (const auto* sq = std::get_if<SubqueryExpr>(&e->node)) {
    if (PreprocessHelper(sq->expr.get(), qs)) qs.step_invariant.insert(sq->expr.get());
    return resolve(sq, sq->timestamp_ms, sq->start_or_end);
  }
  if (const auto* p = std::get_if<ParenExpr>(&e->node)) return PreprocessHelper(p->expr.get(), qs);
  if (const auto* u = std::get_if<UnaryExpr>(&e->node)) return PreprocessHelper(u->expr.get(), qs);
  return true;  // number and string literals
}

// setOffsetForAtModifier(evalTime, expr): `path` holds the subqueries enclosing the node
// within `expr`.
void SetOffsets(int64_t eval_time, const Expr* e, std::vector<const SubqueryExpr*>& path,
                QueryState& qs) {
  auto get_offset = [&](const void* node, int64_t original) {
    std::optional<int64_t> ts = qs.AtOf(node);
    if (!ts.has_value()) return original;
    // subqueryTimes(path)
    int64_t subq_offset = 0;
    std::optional<int64_t> subq_ts;
    for (const SubqueryExpr* s : path) {
      subq_offset += s->original_offset_ms;
      if (std::optional<int64_t> t = qs.AtOf(s); t.has_value()) {
        subq_offset = s->original_offset_ms;
        subq_ts = *t;
      }
    }
    if (subq_ts.has_value()) subq_offset += eval_time - *subq_ts;
    const int64_t offset_for_ts = eval_time - *ts;
    return original + (offset_for_ts - subq_offset);
  };
  if (const auto* vs = std::get_if<VectorSelector>(&e->node)) {
    qs.offset[vs] = get_offset(vs, vs->original_offset_ms);
  } else if (const auto* ms = std::get_if<MatrixSelector>(&e->node)) {
    qs.offset[&ms->vector_selector] =
        get_offset(&ms->vector_selector, ms->vector_selector.original_offset_ms);
  } else if (const auto* sq = std::get_if<SubqueryExpr>(&e->node)) {
    qs.offset[sq] = get_offset(sq, sq->original_offset_ms);
    path.push_back(sq);
    SetOffsets(eval_time, sq->expr.get(), path, qs);
    path.pop_back();
  } else if (const auto* agg = std::get_if<AggregateExpr>(&e->node)) {
    if (agg->param) SetOffsets(eval_time, agg->param.get(), path, qs);
    SetOffsets(eval_time, agg->expr.get(), path, qs);
  } else if (const auto* bin = std::get_if<BinaryExpr>(&e->node)) {
    SetOffsets(eval_time, bin->lhs.get(), path, qs);
    SetOffsets(eval_time, bin->rhs.get(), path, qs);
  } else if (const auto* call = std::get_if<Call>(&e->node)) {
    for (const auto& a : call->args) SetOffsets(eval_time, a.get(), path, qs);
  } else if (const auto* p = std::get_if<ParenExpr>(&e->node)) {
    SetOffsets(eval_time, p->expr.get(), path, qs);
  } else if (const auto* u = std::get_if<UnaryExpr>(&e->node)) {
    SetOffsets(eval_time, u->expr.get(), path, qs);
  }
}

void SetOffsets(int64_t eval_time, const Expr* e, QueryState& qs) {
  std::vector<const SubqueryExpr*> path;
  SetOffsets(eval_time, e, path, qs);
}

// One evaluation over [start, end] by `interval` (Prometheus's evaluator).
class Evaluator {
 public:
  Evaluator(QueryState* qs, int64_t start, int64_t end, int64_t interval, int64_t current_samples)
      : qs_(qs), start_(start), end_(end), interval_(interval), current_samples_(current_samples) {}

  int64_t current_samples() const { return current_samples_; }

  // eval(): every node yields a matrix (a string literal yields nothing here; its value is read
  // from the AST where it is used).
  absl::StatusOr<Matrix> Eval(const Expr* e) {
    if (qs_->step_invariant.contains(e) && !std::holds_alternative<NumberLiteral>(e->node) &&
        !std::holds_alternative<StringLiteral>(e->node)) {
      return EvalStepInvariant(e);
    }
    return EvalNode(e);
  }

 private:
  int NumSteps() const { return static_cast<int>((end_ - start_) / interval_) + 1; }

  absl::Status AddSamples(int64_t n) {
    current_samples_ += n;
    if (current_samples_ > qs_->opts->max_samples) return EvalError(kTooManySamples);
    return absl::OkStatus();
  }

  absl::StatusOr<Matrix> EvalStepInvariant(const Expr* e) {
    Evaluator inner(qs_, start_, start_, interval_, current_samples_);
    ASSIGN_OR_RETURN(Matrix res, inner.EvalNode(e));
    current_samples_ = inner.current_samples_;
    if (std::holds_alternative<MatrixSelector>(e->node) ||
        std::holds_alternative<SubqueryExpr>(e->node)) {
      return res;
    }
    for (Series& s : res) {
      if (s.points.size() != 1) return absl::InternalError("unexpected number of samples");
      const double v = s.points[0].v;
      for (int64_t ts = start_ + interval_; ts <= end_; ts += interval_) {
        s.points.push_back(Point{ts, v});
        RETURN_IF_ERROR(AddSamples(1));
      }
    }
    return res;
  }

  absl::StatusOr<Matrix> EvalNode(const Expr* e) {
    RETURN_IF_ERROR(qs_->CheckDeadline());
    return std::visit([this, e](const auto& n) { return EvalOf(e, n); }, e->node);
  }

  // ---- literals, parens, unary -------------------------------------------------------------
  absl::StatusOr<Matrix> EvalOf(const Expr*, const NumberLiteral& n) {
    const double v = n.value;
    return RangeEval(nullptr,
                     [v](std::vector<Vector>&, const std::vector<std::vector<const std::string*>>&,
                         int64_t, Vector* out) {
                       out->push_back(VSample{Labels(), 0, v});
                       return absl::OkStatus();
                     },
                     {});
  }
  absl::StatusOr<Matrix> EvalOf(const Expr*, const StringLiteral&) { return Matrix(); }
  absl::StatusOr<Matrix> EvalOf(const Expr*, const ParenExpr& p) { return Eval(p.expr.get()); }
  absl::StatusOr<Matrix> EvalOf(const Expr*, const UnaryExpr& u) {
    ASSIGN_OR_RETURN(Matrix m, Eval(u.expr.get()));
    if (u.op == promql::UnaryOp::kSub) {
      for (Series& s : m) {
        s.metric = DropMetricName(s.metric);
        for (Point& p : s.points) p.v = -p.v;
      }
      if (MatrixContainsSameLabelset(m)) return EvalError(kSameLabelset);
    }
    return m;
  }

  // ---- selectors --------------------------------------------------------------------------
  absl::StatusOr<std::vector<tsdb::Series>> SelectSeries(const VectorSelector& vs, int64_t min_t,
                                                         int64_t max_t) {
    return qs_->storage->Select(ToStorageMatchers(vs.matchers), min_t, max_t);
  }

  // vectorSelectorSingle over a sorted sample vector, with a cursor that only moves forward.
  std::optional<Point> SelectorSingle(const std::vector<Point>& samples, size_t* cursor,
                                      int64_t ref_time) {
    size_t& i = *cursor;
    while (i < samples.size() && samples[i].t_ms <= ref_time) ++i;
    if (i == 0) return std::nullopt;
    const Point& p = samples[i - 1];
    if (p.t_ms < ref_time - qs_->opts->lookback_delta_ms) return std::nullopt;
    if (tsdb::IsStaleNaN(p.v)) return std::nullopt;
    return p;
  }

  absl::StatusOr<Matrix> EvalOf(const Expr*, const VectorSelector& vs) {
    const int64_t offset = qs_->OffsetOf(&vs, vs.original_offset_ms);
    const int64_t min_t = start_ - offset - qs_->opts->lookback_delta_ms;
    const int64_t max_t = end_ - offset;
    Matrix mat;
    if (const auto* mem = dynamic_cast<const tsdb::MemStorage*>(qs_->storage)) {
      // Fast path: decode each series lazily, moving forward step by step.
      ASSIGN_OR_RETURN(std::vector<tsdb::SeriesCursor> cursors,
                       mem->Query(ToStorageMatchers(vs.matchers), min_t, max_t));
      mat.reserve(cursors.size());
      for (tsdb::SeriesCursor& c : cursors) {
        RETURN_IF_ERROR(qs_->CheckDeadline());
        Series out{std::move(c.labels), {}};
        Point p;
        for (int64_t ts = start_; ts <= end_; ts += interval_) {
          const int64_t ref = ts - offset;
          if (!c.samples.AtOrBefore(ref, &p)) continue;
          if (p.t_ms < ref - qs_->opts->lookback_delta_ms || tsdb::IsStaleNaN(p.v)) continue;
          RETURN_IF_ERROR(AddSamples(1));
          out.points.push_back(Point{ts, p.v});
        }
        RETURN_IF_ERROR(c.samples.status());
        if (!out.points.empty()) mat.push_back(std::move(out));
      }
      return mat;
    }
    ASSIGN_OR_RETURN(std::vector<tsdb::Series> series, SelectSeries(vs, min_t, max_t));
    mat.reserve(series.size());
    for (tsdb::Series& s : series) {
      RETURN_IF_ERROR(qs_->CheckDeadline());
      Series out{std::move(s.labels), {}};
      size_t cursor = 0;
      for (int64_t ts = start_; ts <= end_; ts += interval_) {
        if (std::optional<Point> p = SelectorSingle(s.samples, &cursor, ts - offset)) {
          RETURN_IF_ERROR(AddSamples(1));
          out.points.push_back(Point{ts, p->v});
        }
      }
      if (!out.points.empty()) mat.push_back(std::move(out));
    }
    return mat;
  }

  // The points of `samples` in [mint, maxt] without staleness markers (matrixIterSlice).
  static void WindowPoints(const std::vector<Point>& samples, int64_t mint, int64_t maxt,
                           std::vector<Point>* out) {
    out->clear();
    auto it = std::lower_bound(samples.begin(), samples.end(), mint,
                               [](const Point& p, int64_t t) { return p.t_ms < t; });
    for (; it != samples.end() && it->t_ms <= maxt; ++it) {
      if (!tsdb::IsStaleNaN(it->v)) out->push_back(*it);
    }
  }

  absl::StatusOr<Matrix> EvalOf(const Expr*, const MatrixSelector& ms) {
    const VectorSelector& vs = ms.vector_selector;
    const int64_t offset = qs_->OffsetOf(&vs, vs.original_offset_ms);
    const int64_t maxt = start_ - offset;
    const int64_t mint = maxt - ms.range_ms;
    ASSIGN_OR_RETURN(std::vector<tsdb::Series> series, SelectSeries(vs, mint, maxt));
    Matrix mat;
    for (tsdb::Series& s : series) {
      RETURN_IF_ERROR(qs_->CheckDeadline());
      Series out{std::move(s.labels), {}};
      WindowPoints(s.samples, mint, maxt, &out.points);
      RETURN_IF_ERROR(AddSamples(static_cast<int64_t>(out.points.size())));
      if (!out.points.empty()) mat.push_back(std::move(out));
    }
    return mat;
  }

  // ---- subqueries --------------------------------------------------------------------------
  absl::StatusOr<Matrix> EvalOf(const Expr*, const SubqueryExpr& sq) {
    const int64_t offset = qs_->OffsetOf(&sq, sq.original_offset_ms);
    const int64_t range = sq.range_ms;
    int64_t interval = sq.step_ms != 0 ? sq.step_ms : qs_->opts->no_step_subquery_interval_ms;
    const int64_t new_end = end_ - offset;
    // Go's integer division truncates toward zero; so does C++'s.
    int64_t new_start = interval * ((start_ - offset - range) / interval);
    if (new_start < start_ - offset - range) new_start += interval;
    if (new_start != start_) SetOffsets(new_start, sq.expr.get(), *qs_);
    Evaluator inner(qs_, new_start, new_end, interval, current_samples_);
    ASSIGN_OR_RETURN(Matrix res, inner.Eval(sq.expr.get()));
    current_samples_ = inner.current_samples_;
    return res;
  }

  // ---- rangeEval ---------------------------------------------------------------------------
  // Per-series key (join signature or grouping key) computed once per input series.
  using PrepFn = std::function<std::string(const Labels&)>;
  using StepFn = std::function<absl::Status(
      std::vector<Vector>& args, const std::vector<std::vector<const std::string*>>& keys,
      int64_t ts, Vector* out)>;

  absl::StatusOr<Matrix> RangeEval(const PrepFn& prep, const StepFn& fn,
                                   const std::vector<const Expr*>& exprs) {
    const size_t n = exprs.size();
    std::vector<Matrix> matrixes(n);
    for (size_t i = 0; i < n; ++i) {
      if (exprs[i] != nullptr && promql::Type(*exprs[i]) != ValueType::kString) {
        ASSIGN_OR_RETURN(matrixes[i], Eval(exprs[i]));
      }
    }
    const int64_t original_samples = current_samples_;
    // Keys per input series.
    std::vector<std::vector<std::string>> series_keys(n);
    if (prep) {
      for (size_t i = 0; i < n; ++i) {
        series_keys[i].reserve(matrixes[i].size());
        for (const Series& s : matrixes[i]) series_keys[i].push_back(prep(s.metric));
      }
    }
    std::vector<std::vector<size_t>> cursors(n);
    for (size_t i = 0; i < n; ++i) cursors[i].assign(matrixes[i].size(), 0);
    std::vector<Vector> vectors(n);
    std::vector<std::vector<const std::string*>> keys(n);
    absl::flat_hash_map<Labels, size_t, LabelsHash> index;
    Matrix out_mat;
    int64_t temp_samples = current_samples_;
    Vector out;
    for (int64_t ts = start_; ts <= end_; ts += interval_) {
      RETURN_IF_ERROR(qs_->CheckDeadline());
      current_samples_ = temp_samples;
      for (size_t i = 0; i < n; ++i) {
        vectors[i].clear();
        keys[i].clear();
        for (size_t si = 0; si < matrixes[i].size(); ++si) {
          const Series& s = matrixes[i][si];
          size_t& c = cursors[i][si];
          if (c < s.points.size() && s.points[c].t_ms == ts) {
            if (current_samples_ >= qs_->opts->max_samples) return EvalError(kTooManySamples);
            vectors[i].push_back(VSample{s.metric, ts, s.points[c].v});
            if (prep) keys[i].push_back(&series_keys[i][si]);
            ++c;
            ++current_samples_;
          }
        }
      }
      out.clear();
      RETURN_IF_ERROR(fn(vectors, keys, ts, &out));
      if (ContainsSameLabelset(out)) return EvalError(kSameLabelset);
      current_samples_ += static_cast<int64_t>(out.size());
      temp_samples += static_cast<int64_t>(out.size());
      if (current_samples_ > qs_->opts->max_samples) return EvalError(kTooManySamples);
      if (start_ == end_) {
        Matrix mat;
        mat.reserve(out.size());
        for (VSample& s : out) mat.push_back(Series{std::move(s.metric), {Point{ts, s.v}}});
        current_samples_ = original_samples + static_cast<int64_t>(mat.size());
        return mat;
      }
      for (VSample& s : out) {
        auto [it, inserted] = index.try_emplace(s.metric, out_mat.size());
        if (inserted) {
          out_mat.push_back(Series{std::move(s.metric), {}});
          out_mat.back().points.reserve(NumSteps());
        }
        out_mat[it->second].points.push_back(Point{ts, s.v});
      }
    }
    int64_t total = 0;
    for (const Series& s : out_mat) total += static_cast<int64_t>(s.points.size());
    current_samples_ = original_samples + total;
    return out_mat;
  }

  // ---- binary operators ------------------------------------------------------------------
  absl::StatusOr<Matrix> EvalOf(const Expr*, const BinaryExpr& b) {
    const ValueType lt = promql::Type(*b.lhs), rt = promql::Type(*b.rhs);
    const BinaryOp op = b.op;
    const bool return_bool = b.return_bool;
    if (lt == ValueType::kScalar && rt == ValueType::kScalar) {
      return RangeEval(
          nullptr,
          [op](std::vector<Vector>& v, const auto&, int64_t, Vector* out) {
            out->push_back(VSample{Labels(), 0, ScalarBinop(op, v[0][0].v, v[1][0].v)});
            return absl::OkStatus();
          },
          {b.lhs.get(), b.rhs.get()});
    }
    if (lt == ValueType::kVector && rt == ValueType::kVector) {
      static const VectorMatching kDefault;
      const VectorMatching& m = b.vector_matching.has_value() ? *b.vector_matching : kDefault;
      PrepFn sig = [&m](const Labels& l) { return Signature(l, m.on, m.matching_labels); };
      switch (op) {
        case BinaryOp::kAnd:
          return RangeEval(sig,
                           [](std::vector<Vector>& v, const auto& k, int64_t, Vector* out) {
                             VectorAnd(v[0], v[1], k[0], k[1], out);
                             return absl::OkStatus();
                           },
                           {b.lhs.get(), b.rhs.get()});
        case BinaryOp::kOr:
          return RangeEval(sig,
                           [](std::vector<Vector>& v, const auto& k, int64_t, Vector* out) {
                             VectorOr(v[0], v[1], k[0], k[1], out);
                             return absl::OkStatus();
                           },
                           {b.lhs.get(), b.rhs.get()});
        case BinaryOp::kUnless:
          return RangeEval(sig,
                           [](std::vector<Vector>& v, const auto& k, int64_t, Vector* out) {
                             VectorUnless(v[0], v[1], k[0], k[1], out);
                             return absl::OkStatus();
                           },
                           {b.lhs.get(), b.rhs.get()});
        default:
          return RangeEval(
              sig,
              [op, &m, return_bool](std::vector<Vector>& v, const auto& k, int64_t, Vector* out) {
                return VectorBinop(op, v[0], v[1], m, return_bool, k[0], k[1], out);
              },
              {b.lhs.get(), b.rhs.get()});
      }
    }
    const bool swap = lt == ValueType::kScalar;
    const Expr* vec = swap ? b.rhs.get() : b.lhs.get();
    (void)vec;
    return RangeEval(
        nullptr,
        [op, swap, return_bool](std::vector<Vector>& v, const auto&, int64_t, Vector* out) {
          const Vector& lhs = swap ? v[1] : v[0];
          const double scalar = swap ? v[0][0].v : v[1][0].v;
          VectorScalarBinop(op, lhs, scalar, swap, return_bool, out);
          return absl::OkStatus();
        },
        {b.lhs.get(), b.rhs.get()});
  }

  static void VectorAnd(const Vector& lhs, const Vector& rhs,
                        const std::vector<const std::string*>& lk,
                        const std::vector<const std::string*>& rk, Vector* out) {
    if (lhs.empty() || rhs.empty()) return;
    absl::flat_hash_set<std::string_view> right;
    for (const std::string* s : rk) right.insert(*s);
    for (size_t i = 0; i < lhs.size(); ++i) {
      if (right.contains(*lk[i])) out->push_back(lhs[i]);
    }
  }

  static void VectorOr(const Vector& lhs, const Vector& rhs,
                       const std::vector<const std::string*>& lk,
                       const std::vector<const std::string*>& rk, Vector* out) {
    if (lhs.empty()) {
      out->insert(out->end(), rhs.begin(), rhs.end());
      return;
    }
    if (rhs.empty()) {
      out->insert(out->end(), lhs.begin(), lhs.end());
      return;
    }
    absl::flat_hash_set<std::string_view> left;
    for (size_t i = 0; i < lhs.size(); ++i) {
      left.insert(*lk[i]);
      out->push_back(lhs[i]);
    }
    for (size_t j = 0; j < rhs.size(); ++j) {
      if (!left.contains(*rk[j])) out->push_back(rhs[j]);
    }
  }

  static void VectorUnless(const Vector& lhs, const Vector& rhs,
                           const std::vector<const std::string*>& lk,
                           const std::vector<const std::string*>& rk, Vector* out) {
    if (lhs.empty() || rhs.empty()) {
      out->insert(out->end(), lhs.begin(), lhs.end());
      return;
    }
    absl::flat_hash_set<std::string_view> right;
    for (const std::string* s : rk) right.insert(*s);
    for (size_t i = 0; i < lhs.size(); ++i) {
      if (!right.contains(*lk[i])) out->push_back(lhs[i]);
    }
  }

  static absl::Status VectorBinop(BinaryOp op, const Vector& lhs_in, const Vector& rhs_in,
                                  const VectorMatching& m, bool return_bool,
                                  const std::vector<const std::string*>& lk_in,
                                  const std::vector<const std::string*>& rk_in, Vector* out) {
    if (lhs_in.empty() || rhs_in.empty()) return absl::OkStatus();
    const bool one_to_many = m.card == VectorMatchCardinality::kOneToMany;
    const Vector& lhs = one_to_many ? rhs_in : lhs_in;
    const Vector& rhs = one_to_many ? lhs_in : rhs_in;
    const auto& lk = one_to_many ? rk_in : lk_in;
    const auto& rk = one_to_many ? lk_in : rk_in;
    absl::flat_hash_map<std::string_view, size_t> right;
    for (size_t i = 0; i < rhs.size(); ++i) {
      auto [it, inserted] = right.try_emplace(*rk[i], i);
      if (!inserted) {
        const VSample& dup = rhs[it->second];
        return EvalError(absl::StrCat(
            "found duplicate series for the match group ",
            MatchLabels(rhs[i].metric, m.on, m.matching_labels).ToString(), " on the ",
            one_to_many ? "left" : "right", " hand-side of the operation: [",
            rhs[i].metric.ToString(), ", ", dup.metric.ToString(),
            "];many-to-many matching not allowed: matching labels must be unique on one side"));
      }
    }
    absl::flat_hash_map<std::string_view, absl::flat_hash_set<Labels, LabelsHash>> matched;
    for (size_t i = 0; i < lhs.size(); ++i) {
      auto r = right.find(*lk[i]);
      if (r == right.end()) continue;
      const VSample& ls = lhs[i];
      const VSample& rs = rhs[r->second];
      double vl = ls.v, vr = rs.v;
      if (one_to_many) std::swap(vl, vr);
      auto [value, keep] = VectorElemBinop(op, vl, vr);
      if (return_bool) {
        value = keep ? 1.0 : 0.0;
      } else if (!keep) {
        continue;
      }
      Labels metric = ResultMetric(ls.metric, rs.metric, op, m);
      if (return_bool) metric = DropMetricName(metric);
      auto [mit, first] = matched.try_emplace(*lk[i]);
      if (m.card == VectorMatchCardinality::kOneToOne) {
        if (!first) {
          return EvalError(
              "multiple matches for labels: many-to-one matching must be explicit "
              "(group_left/group_right)");
        }
      } else if (!mit->second.insert(metric).second) {
        return EvalError("multiple matches for labels: grouping labels must ensure unique matches");
      }
      out->push_back(VSample{std::move(metric), 0, value});
    }
    return absl::OkStatus();
  }

  static void VectorScalarBinop(BinaryOp op, const Vector& lhs, double scalar, bool swap,
                                bool return_bool, Vector* out) {
    for (const VSample& s : lhs) {
      double lv = s.v, rv = scalar;
      if (swap) std::swap(lv, rv);
      auto [value, keep] = VectorElemBinop(op, lv, rv);
      if (promql::IsComparisonOp(op) && swap) value = rv;
      if (return_bool) {
        value = keep ? 1.0 : 0.0;
        keep = true;
      }
      if (!keep) continue;
      VSample o{s.metric, 0, value};
      if (ShouldDropMetricName(op) || return_bool) o.metric = DropMetricName(o.metric);
      out->push_back(std::move(o));
    }
  }

  // ---- aggregations ----------------------------------------------------------------------
  absl::StatusOr<Matrix> EvalOf(const Expr*, const AggregateExpr& a) {
    std::vector<std::string> grouping = a.grouping;
    std::sort(grouping.begin(), grouping.end());
    const bool without = a.without;
    PrepFn key = [grouping, without](const Labels& l) { return GroupingKey(l, grouping, without); };
    const AggregateOp op = a.op;
    const Expr* param = a.param ? UnwrapParens(a.param.get()) : nullptr;
    if (param != nullptr) {
      if (const auto* s = std::get_if<StringLiteral>(&param->node)) {
        const std::string label = s->value;
        return RangeEval(key,
                         [op, grouping, without, label](std::vector<Vector>& v, const auto& k,
                                                        int64_t, Vector* out) {
                           return Aggregate(op, grouping, without, 0, label, v[0], k[0], out);
                         },
                         {a.expr.get()});
      }
    }
    return RangeEval(key,
                     [op, grouping, without, has_param = a.param != nullptr](
                         std::vector<Vector>& v, const auto& k, int64_t, Vector* out) {
                       const double p = has_param && !v[0].empty() ? v[0][0].v : 0;
                       return Aggregate(op, grouping, without, p, "", v[1], k[1], out);
                     },
                     {a.param.get(), a.expr.get()});
  }

  static std::string GroupingKey(const Labels& l, const std::vector<std::string>& grouping,
                                 bool without) {
    std::string key;
    if (without) {
      for (const tsdb::Label& lab : l) {
        if (lab.name == tsdb::kMetricName || Contains(grouping, lab.name)) continue;
        absl::StrAppend(&key, lab.name, "\xff", lab.value, "\xff");
      }
    } else {
      for (const tsdb::Label& lab : l) {
        if (!Contains(grouping, lab.name)) continue;
        absl::StrAppend(&key, lab.name, "\xff", lab.value, "\xff");
      }
    }
    return key;
  }

  struct Group {
    Labels labels;
    double value = 0;
    double mean = 0;
    int64_t count = 0;
    std::vector<VSample> heap;
    std::vector<double> values;  // quantile
  };

  static absl::Status Aggregate(AggregateOp op, std::vector<std::string> grouping, bool without,
                                double param, const std::string& value_label, const Vector& vec,
                                const std::vector<const std::string*>& keys, Vector* out) {
    int64_t k = 0;
    if (op == AggregateOp::kTopk || op == AggregateOp::kBottomk) {
      if (!(param <= 9.223372036854775807e18 && param >= -9.223372036854775808e18)) {
        return EvalError(
            absl::StrCat("Scalar value ", promql::FormatFloat(param), " overflows int64"));
      }
      k = static_cast<int64_t>(param);
      if (k < 1) return absl::OkStatus();
    }
    bool recompute = false;
    if (op == AggregateOp::kCountValues) {
      if (!tsdb::IsValidLabelName(value_label)) {
        return EvalError(absl::StrCat("invalid label name ", promql::GoQuote(value_label)));
      }
      if (!without) {
        grouping.push_back(value_label);
        std::sort(grouping.begin(), grouping.end());
      }
      recompute = true;
    }
    absl::flat_hash_map<std::string, size_t> result;
    std::vector<Group> groups;
    for (size_t si = 0; si < vec.size(); ++si) {
      const VSample& s = vec[si];
      Labels metric = s.metric;
      if (op == AggregateOp::kCountValues) {
        tsdb::LabelsBuilder lb(metric);
        lb.Set(value_label, GoFormatFloatF(s.v));
        metric = lb.Build();
      }
      std::string key = recompute ? GroupingKey(metric, grouping, without) : *keys[si];
      auto [it, inserted] = result.try_emplace(std::move(key), groups.size());
      if (inserted) {
        Group g;
        if (without) {
          tsdb::LabelsBuilder lb(metric);
          for (const std::string& n : grouping) lb.Del(n);
          lb.Del(tsdb::kMetricName);
          g.labels = lb.Build();
        } else if (!grouping.empty()) {
          std::vector<tsdb::Label> kept;
          for (const tsdb::Label& lab : metric) {
            if (Contains(grouping, lab.name)) kept.push_back(lab);
          }
          g.labels = Labels::FromSorted(std::move(kept));
        }
        g.value = s.v;
        g.mean = s.v;
        g.count = 1;
        switch (op) {
          case AggregateOp::kStdvar:
          case AggregateOp::kStddev:
            g.value = 0;
            break;
          case AggregateOp::kTopk:
          case AggregateOp::kBottomk:
            g.heap.push_back(VSample{s.metric, 0, s.v});
            break;
          case AggregateOp::kQuantile:
            g.values.push_back(s.v);
            break;
          case AggregateOp::kGroup:
            g.value = 1;
            break;
          default:
            break;
        }
        groups.push_back(std::move(g));
        continue;
      }
      Group& g = groups[it->second];
      switch (op) {
        case AggregateOp::kSum:
          g.value += s.v;
          break;
        case AggregateOp::kAvg: {
          g.count++;
          if (std::isinf(g.mean)) {
            if (std::isinf(s.v) && (g.mean > 0) == (s.v > 0)) break;
            if (!std::isinf(s.v) && !std::isnan(s.v)) break;
          }
          const double c = static_cast<double>(g.count);
          g.mean += s.v / c - g.mean / c;
          break;
        }
        case AggregateOp::kGroup:
          break;
        case AggregateOp::kMax:
          if (g.value < s.v || std::isnan(g.value)) g.value = s.v;
          break;
        case AggregateOp::kMin:
          if (g.value > s.v || std::isnan(g.value)) g.value = s.v;
          break;
        case AggregateOp::kCount:
        case AggregateOp::kCountValues:
          g.count++;
          break;
        case AggregateOp::kStdvar:
        case AggregateOp::kStddev: {
          g.count++;
          const double delta = s.v - g.mean;
          g.mean += delta / static_cast<double>(g.count);
          g.value += delta * (s.v - g.mean);
          break;
        }
        case AggregateOp::kTopk:
          if (static_cast<int64_t>(g.heap.size()) < k || g.heap[0].v < s.v ||
              std::isnan(g.heap[0].v)) {
            if (static_cast<int64_t>(g.heap.size()) == k) {
              if (k == 1) {
                g.heap[0] = VSample{s.metric, 0, s.v};
                break;
              }
              HeapPop(g.heap, ValueHeapLess);
            }
            HeapPush(g.heap, VSample{s.metric, 0, s.v}, ValueHeapLess);
          }
          break;
        case AggregateOp::kBottomk:
          if (static_cast<int64_t>(g.heap.size()) < k || g.heap[0].v > s.v ||
              std::isnan(g.heap[0].v)) {
            if (static_cast<int64_t>(g.heap.size()) == k) {
              if (k == 1) {
                g.heap[0] = VSample{s.metric, 0, s.v};
                break;
              }
              HeapPop(g.heap, ReverseValueHeapLess);
            }
            HeapPush(g.heap, VSample{s.metric, 0, s.v}, ReverseValueHeapLess);
          }
          break;
        case AggregateOp::kQuantile:
          g.values.push_back(s.v);
          break;
      }
    }
    for (Group& g : groups) {
      switch (op) {
        case AggregateOp::kAvg:
          g.value = g.mean;
          break;
        case AggregateOp::kCount:
        case AggregateOp::kCountValues:
          g.value = static_cast<double>(g.count);
          break;
        case AggregateOp::kStdvar:
          g.value = g.value / static_cast<double>(g.count);
          break;
        case AggregateOp::kStddev:
          g.value = std::sqrt(g.value / static_cast<double>(g.count));
          break;
        case AggregateOp::kTopk:
        case AggregateOp::kBottomk: {
          // sort.Sort(sort.Reverse(heap)): descending for topk, ascending for bottomk.
          auto less = op == AggregateOp::kTopk ? ValueHeapLess : ReverseValueHeapLess;
          if (g.heap.size() > 1) {
            std::stable_sort(g.heap.begin(), g.heap.end(),
                             [less](const VSample& a, const VSample& b) { return less(b, a); });
          }
          for (VSample& v : g.heap) out->push_back(std::move(v));
          continue;
        }
        case AggregateOp::kQuantile:
          g.value = Quantile(param, std::move(g.values));
          break;
        default:
          break;
      }
      out->push_back(VSample{std::move(g.labels), 0, g.value});
    }
    return absl::OkStatus();
  }

  // ---- function calls ----------------------------------------------------------------------
  absl::StatusOr<Matrix> EvalOf(const Expr* e, const Call& c) {
    FunctionImpl impl = LookupFunctionImpl(c.func->name);
    if (impl == nullptr) {
      return absl::UnimplementedError(
          absl::StrCat("function ", ToAbsl(c.func->name), " not implemented"));
    }
    std::unique_ptr<FunctionCache>& cache = qs_->caches[e];
    if (c.func->name == "timestamp") {
      const Expr* arg = UnwrapParens(c.args[0].get());
      if (const auto* vs = std::get_if<VectorSelector>(&arg->node)) {
        return TimestampOverSelector(c, *vs, impl, &cache);
      }
    }
    // The range-vector argument, if any.
    int matrix_index = -1;
    for (size_t i = 0; i < c.args.size(); ++i) {
      const Expr* a = UnwrapParens(c.args[i].get());
      if (std::holds_alternative<MatrixSelector>(a->node) ||
          std::holds_alternative<SubqueryExpr>(a->node)) {
        matrix_index = static_cast<int>(i);
        break;
      }
    }
    if (matrix_index < 0) {
      std::vector<const Expr*> exprs;
      for (const auto& a : c.args) exprs.push_back(a.get());
      return RangeEval(
          nullptr,
          [this, &c, impl, &cache](std::vector<Vector>& v, const auto&, int64_t ts, Vector* out) {
            FunctionContext ctx;
            ctx.ts_ms = ts;
            ctx.call = &c;
            ctx.cache = &cache;
            for (size_t i = 0; i < c.args.size(); ++i) {
              const bool is_string = promql::Type(*c.args[i]) == ValueType::kString;
              ctx.args.push_back(is_string ? nullptr : &v[i]);
            }
            (void)this;
            return impl(ctx, out);
          },
          exprs);
    }
    return MatrixCall(c, static_cast<size_t>(matrix_index), impl, &cache);
  }

  // rangeEvalTimestampFunctionOverVectorSelector: timestamp() of a plain selector reports the
  // samples' own times. With `@`, Prometheus sets the selector's offset to (step - @) at every
  // step, so every step reads the sample at the @ time (the written offset is not applied).
  absl::StatusOr<Matrix> TimestampOverSelector(const Call& c, const VectorSelector& vs,
                                               FunctionImpl impl,
                                               std::unique_ptr<FunctionCache>* cache) {
    const std::optional<int64_t> at = qs_->AtOf(&vs);
    const int64_t offset = qs_->OffsetOf(&vs, vs.original_offset_ms);
    const int64_t min_ref = at.has_value() ? std::min(*at, start_ - offset) : start_ - offset;
    const int64_t max_ref = at.has_value() ? std::max(*at, end_ - offset) : end_ - offset;
    ASSIGN_OR_RETURN(std::vector<tsdb::Series> series,
                     SelectSeries(vs, min_ref - qs_->opts->lookback_delta_ms, max_ref));
    std::vector<size_t> cursors(series.size(), 0);
    return RangeEval(
        nullptr,
        [&](std::vector<Vector>&, const auto&, int64_t ts, Vector* out) -> absl::Status {
          const int64_t ref = at.has_value() ? *at : ts - offset;
          Vector in;
          for (size_t i = 0; i < series.size(); ++i) {
            if (at.has_value()) cursors[i] = 0;  // the reference time need not move forward
            if (std::optional<Point> p = SelectorSingle(series[i].samples, &cursors[i], ref)) {
              in.push_back(VSample{series[i].labels, p->t_ms, p->v});
              RETURN_IF_ERROR(AddSamples(1));
            }
          }
          FunctionContext ctx;
          ctx.ts_ms = ts;
          ctx.call = &c;
          ctx.cache = cache;
          ctx.args.push_back(&in);
          return impl(ctx, out);
        },
        {});
  }

  absl::StatusOr<Matrix> MatrixCall(const Call& c, size_t matrix_index, FunctionImpl impl,
                                    std::unique_ptr<FunctionCache>* cache) {
    // Evaluate the other (scalar) arguments over all steps.
    std::vector<Matrix> other(c.args.size());
    for (size_t i = 0; i < c.args.size(); ++i) {
      if (i == matrix_index || promql::Type(*c.args[i]) == ValueType::kString) continue;
      ASSIGN_OR_RETURN(other[i], Eval(c.args[i].get()));
    }
    // The series of the range argument and their selection.
    const Expr* arg = UnwrapParens(c.args[matrix_index].get());
    int64_t range = 0, offset = 0;
    std::vector<tsdb::Series> input;
    if (const auto* ms = std::get_if<MatrixSelector>(&arg->node)) {
      const VectorSelector& vs = ms->vector_selector;
      range = ms->range_ms;
      offset = qs_->OffsetOf(&vs, vs.original_offset_ms);
      ASSIGN_OR_RETURN(input, SelectSeries(vs, start_ - offset - range, end_ - offset));
    } else {
      const auto& sq = std::get<SubqueryExpr>(arg->node);
      range = sq.range_ms;
      offset = qs_->OffsetOf(&sq, sq.original_offset_ms);
      ASSIGN_OR_RETURN(Matrix sub, EvalOf(arg, sq));
      input.reserve(sub.size());
      for (Series& s : sub) input.push_back(tsdb::Series{std::move(s.metric), std::move(s.points)});
    }
    const bool keep_name = c.func->name == "last_over_time";
    Matrix mat;
    Series window;
    Vector out;
    std::vector<Vector> scalar_args(c.args.size());
    for (size_t i = 0; i < c.args.size(); ++i) scalar_args[i].push_back(VSample{});
    for (tsdb::Series& s : input) {
      RETURN_IF_ERROR(qs_->CheckDeadline());
      Series ss{keep_name ? s.labels : DropMetricName(s.labels), {}};
      window.metric = s.labels;
      int step = -1;
      for (int64_t ts = start_; ts <= end_; ts += interval_) {
        ++step;
        const int64_t maxt = ts - offset;
        const int64_t mint = maxt - range;
        WindowPoints(s.samples, mint, maxt, &window.points);
        if (window.points.empty()) continue;
        FunctionContext ctx;
        ctx.ts_ms = ts;
        ctx.call = &c;
        ctx.cache = cache;
        ctx.matrix = &window;
        ctx.range_ms = range;
        ctx.offset_ms = offset;
        for (size_t j = 0; j < c.args.size(); ++j) {
          if (j == matrix_index || promql::Type(*c.args[j]) == ValueType::kString) {
            ctx.args.push_back(nullptr);
            continue;
          }
          const Matrix& om = other[j];
          scalar_args[j][0].v = (!om.empty() && static_cast<size_t>(step) < om[0].points.size())
                                    ? om[0].points[step].v
                                    : 0;
          ctx.args.push_back(&scalar_args[j]);
        }
        out.clear();
        RETURN_IF_ERROR(impl(ctx, &out));
        if (!out.empty()) ss.points.push_back(Point{ts, out[0].v});
      }
      if (!ss.points.empty()) {
        RETURN_IF_ERROR(AddSamples(static_cast<int64_t>(ss.points.size())));
        mat.push_back(std::move(ss));
      }
    }
    if (c.func->name == "absent_over_time") {
      const int64_t steps = NumSteps();
      for (const Series& s : mat) {
        if (static_cast<int64_t>(s.points.size()) == steps) return Matrix();
      }
      absl::flat_hash_set<int64_t> found;
      for (size_t i = 0; i < mat.size(); ++i) {
        for (const Point& p : mat[i].points) found.insert(p.t_ms);
        if (i > 0 && static_cast<int64_t>(found.size()) == steps) return Matrix();
      }
      Series absent{
          std::holds_alternative<MatrixSelector>(arg->node) ? LabelsForAbsent(arg) : Labels(), {}};
      for (int64_t ts = start_; ts <= end_; ts += interval_) {
        if (!found.contains(ts)) absent.points.push_back(Point{ts, 1});
      }
      Matrix res;
      res.push_back(std::move(absent));
      return res;
    }
    if (MatrixContainsSameLabelset(mat)) return EvalError(kSameLabelset);
    return mat;
  }

  QueryState* qs_;
  int64_t start_;
  int64_t end_;
  int64_t interval_;
  int64_t current_samples_;
};

void InitState(QueryState& qs, const EngineOptions& opts, const tsdb::Storage& storage,
               int64_t start, int64_t end) {
  qs.opts = &opts;
  qs.storage = &storage;
  qs.clock = opts.clock != nullptr ? opts.clock : Clock::Real();
  qs.deadline = qs.clock->Now() + opts.timeout;
  qs.query_start = start;
  qs.query_end = end;
}

// Records every explicit `@ <timestamp>` in the tree. In Prometheus the parser sets these, so
// they hold everywhere, also where PreprocessExpr does not look (aggregation parameters);
// only start()/end() depend on PreprocessExpr visiting the node.
void RecordExplicitAts(const Expr* e, QueryState& qs) {
  if (const auto* vs = std::get_if<VectorSelector>(&e->node)) {
    if (vs->timestamp_ms.has_value()) qs.at[vs] = *vs->timestamp_ms;
  } else if (const auto* ms = std::get_if<MatrixSelector>(&e->node)) {
    const VectorSelector& v = ms->vector_selector;
    if (v.timestamp_ms.has_value()) qs.at[&v] = *v.timestamp_ms;
  } else if (const auto* sq = std::get_if<SubqueryExpr>(&e->node)) {
    if (sq->timestamp_ms.has_value()) qs.at[sq] = *sq->timestamp_ms;
    RecordExplicitAts(sq->expr.get(), qs);
  } else if (const auto* agg = std::get_if<AggregateExpr>(&e->node)) {
    if (agg->param) RecordExplicitAts(agg->param.get(), qs);
    RecordExplicitAts(agg->expr.get(), qs);
  } else if (const auto* bin = std::get_if<BinaryExpr>(&e->node)) {
    RecordExplicitAts(bin->lhs.get(), qs);
    RecordExplicitAts(bin->rhs.get(), qs);
  } else if (const auto* call = std::get_if<Call>(&e->node)) {
    for (const auto& a : call->args) RecordExplicitAts(a.get(), qs);
  } else if (const auto* p = std::get_if<ParenExpr>(&e->node)) {
    RecordExplicitAts(p->expr.get(), qs);
  } else if (const auto* u = std::get_if<UnaryExpr>(&e->node)) {
    RecordExplicitAts(u->expr.get(), qs);
  }
}

// Preprocess + setOffsetForAtModifier; the whole expression is marked step invariant when it is.
void Prepare(QueryState& qs, const Expr& expr) {
  RecordExplicitAts(&expr, qs);
  if (PreprocessHelper(&expr, qs)) qs.step_invariant.insert(&expr);
  SetOffsets(qs.query_start, &expr, qs);
}

}  // namespace

std::vector<tsdb::Matcher> ToStorageMatchers(const std::vector<promql::Matcher>& ms) {
  std::vector<tsdb::Matcher> out;
  out.reserve(ms.size());
  for (const promql::Matcher& m : ms) {
    tsdb::Matcher t;
    switch (m.type) {
      case promql::MatchType::kEqual:
        t.type = tsdb::Matcher::Type::kEqual;
        break;
      case promql::MatchType::kNotEqual:
        t.type = tsdb::Matcher::Type::kNotEqual;
        break;
      case promql::MatchType::kRegexMatch:
        t.type = tsdb::Matcher::Type::kRegexMatch;
        break;
      case promql::MatchType::kRegexNoMatch:
        t.type = tsdb::Matcher::Type::kRegexNoMatch;
        break;
    }
    t.name = m.name;
    t.value = m.value;
    out.push_back(std::move(t));
  }
  return out;
}

bool IsAtModifierUnsafeFunction(std::string_view name) {
  static const absl::flat_hash_set<std::string_view>* const kUnsafe =
      new absl::flat_hash_set<std::string_view>{
          "days_in_month", "day_of_month", "day_of_week",    "day_of_year", "hour",     "minute",
          "month",         "year",         "predict_linear", "time",        "timestamp"};
  return kUnsafe->contains(name);
}

Engine::Engine(EngineOptions options) : options_(options) {}

absl::StatusOr<Value> Engine::Instant(const promql::Expr& expr, int64_t t_ms,
                                      const tsdb::Storage& storage) const {
  QueryState qs;
  InitState(qs, options_, storage, t_ms, t_ms);
  const ValueType type = promql::Type(expr);
  if (type == ValueType::kString) {
    const Expr* e = UnwrapParens(&expr);
    if (const auto* s = std::get_if<StringLiteral>(&e->node)) return String{t_ms, s->value};
    return absl::InternalError("string expression is not a literal");
  }
  Prepare(qs, expr);
  Evaluator ev(&qs, t_ms, t_ms, 1, 0);
  ASSIGN_OR_RETURN(Matrix mat, ev.Eval(&expr));
  switch (type) {
    case ValueType::kVector: {
      Vector v;
      v.reserve(mat.size());
      for (Series& s : mat) {
        if (s.points.empty()) continue;
        v.push_back(VSample{std::move(s.metric), t_ms, s.points[0].v});
      }
      return v;
    }
    case ValueType::kScalar:
      if (mat.empty() || mat[0].points.empty()) return absl::InternalError("scalar without value");
      return Scalar{t_ms, mat[0].points[0].v};
    case ValueType::kMatrix:
      return mat;
    default:
      return absl::InternalError("unexpected expression type");
  }
}

absl::StatusOr<Value> Engine::Instant(std::string_view query, int64_t t_ms,
                                      const tsdb::Storage& storage) const {
  ASSIGN_OR_RETURN(promql::ExprPtr e, promql::ParseExpr(query));
  return Instant(*e, t_ms, storage);
}

absl::StatusOr<Matrix> Engine::Range(const promql::Expr& expr, int64_t start_ms, int64_t end_ms,
                                     int64_t step_ms, const tsdb::Storage& storage) const {
  const ValueType type = promql::Type(expr);
  if (type != ValueType::kVector && type != ValueType::kScalar) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid expression type \"", ToAbsl(promql::DocumentedTypeName(type)),
                     "\" for range query, must be Scalar or instant Vector"));
  }
  if (step_ms <= 0) return absl::InvalidArgumentError("zero or negative query resolution step");
  if (end_ms < start_ms)
    return absl::InvalidArgumentError("end timestamp must not be before start time");
  QueryState qs;
  InitState(qs, options_, storage, start_ms, end_ms);
  Prepare(qs, expr);
  Evaluator ev(&qs, start_ms, end_ms, step_ms, 0);
  ASSIGN_OR_RETURN(Matrix mat, ev.Eval(&expr));
  std::sort(mat.begin(), mat.end(),
            [](const Series& a, const Series& b) { return a.metric < b.metric; });
  return mat;
}

absl::StatusOr<Matrix> Engine::Range(std::string_view query, int64_t start_ms, int64_t end_ms,
                                     int64_t step_ms, const tsdb::Storage& storage) const {
  ASSIGN_OR_RETURN(promql::ExprPtr e, promql::ParseExpr(query));
  return Range(*e, start_ms, end_ms, step_ms, storage);
}

namespace {

// atModifierTestCases: pins `@ t` on selectors and subqueries outside subqueries.
void PinNode(Expr* e, int64_t t, bool* unsafe) {
  // As test.go: a node without a timestamp gets one, even if it has `@ start()`/`@ end()` (the
  // printed form then shows the timestamp, which wins over start()/end()).
  auto pin = [t](std::optional<int64_t>& ts, AtModifier& se) {
    if (ts.has_value()) return;
    ts = t;
    se = AtModifier::kNone;
  };
  if (auto* vs = std::get_if<VectorSelector>(&e->node)) {
    pin(vs->timestamp_ms, vs->start_or_end);
  } else if (auto* ms = std::get_if<MatrixSelector>(&e->node)) {
    pin(ms->vector_selector.timestamp_ms, ms->vector_selector.start_or_end);
  } else if (auto* sq = std::get_if<SubqueryExpr>(&e->node)) {
    // Nothing inside a subquery (which now always has a timestamp) is visited further: as in
    // test.go, not even @-unsafe function calls there.
    pin(sq->timestamp_ms, sq->start_or_end);
  } else if (auto* c = std::get_if<Call>(&e->node)) {
    if (IsAtModifierUnsafeFunction(c->func->name)) *unsafe = true;
    for (auto& a : c->args) PinNode(a.get(), t, unsafe);
  } else if (auto* a = std::get_if<AggregateExpr>(&e->node)) {
    if (a->param) PinNode(a->param.get(), t, unsafe);
    PinNode(a->expr.get(), t, unsafe);
  } else if (auto* b = std::get_if<BinaryExpr>(&e->node)) {
    PinNode(b->lhs.get(), t, unsafe);
    PinNode(b->rhs.get(), t, unsafe);
  } else if (auto* p = std::get_if<ParenExpr>(&e->node)) {
    PinNode(p->expr.get(), t, unsafe);
  } else if (auto* u = std::get_if<UnaryExpr>(&e->node)) {
    PinNode(u->expr.get(), t, unsafe);
  }
}

}  // namespace

absl::StatusOr<std::optional<std::string>> PinAt(std::string_view query, int64_t t_ms) {
  ASSIGN_OR_RETURN(promql::ExprPtr e, promql::ParseExpr(query));
  bool unsafe = false;
  PinNode(e.get(), t_ms, &unsafe);
  if (unsafe) return std::optional<std::string>();
  return std::optional<std::string>(promql::Format(*e));
}

}  // namespace stakewatch::query
