// Cases ported from Prometheus's model/relabel/relabel_test.go (TestRelabel), plus Go
// regexp.Expand corner cases whose expected output follows Go's documented rules.
#include "relabel/relabel.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "re2/re2.h"

namespace stakewatch::relabel {
namespace {

using config::RelabelAction;
using config::RelabelConfig;
using tsdb::Labels;

RelabelConfig Cfg(RelabelAction action, std::vector<std::string> source, std::string regex,
                  std::string target = "", std::string replacement = "$1", uint64_t modulus = 0) {
  RelabelConfig c;
  c.action = action;
  c.source_labels = std::move(source);
  if (!regex.empty()) c.regex = std::move(regex);
  c.target_label = std::move(target);
  c.replacement = std::move(replacement);
  c.modulus = modulus;
  return c;
}

struct Case {
  const char* name;
  Labels input;
  std::vector<RelabelConfig> steps;
  Labels output;  // ignored when drop
  bool drop = false;
};

class RelabelCases : public ::testing::TestWithParam<Case> {};

TEST_P(RelabelCases, MatchesPrometheus) {
  const Case& c = GetParam();
  auto r = Relabeler::Create(c.steps);
  ASSERT_TRUE(r.ok()) << r.status();
  bool keep = false;
  Labels out = (*r)->Process(c.input, &keep);
  EXPECT_EQ(keep, !c.drop);
  if (!c.drop) {
    EXPECT_EQ(out, c.output) << out.ToString() << " vs " << c.output.ToString();
  }
}

constexpr auto R = RelabelAction::kReplace;

INSTANTIATE_TEST_SUITE_P(
    GoCases, RelabelCases,
    ::testing::Values(
        Case{"replace_braces",
             {{"a", "foo"}, {"b", "bar"}, {"c", "baz"}},
             {Cfg(R, {"a"}, "f(.*)", "d", "ch${1}-ch${1}")},
             {{"a", "foo"}, {"b", "bar"}, {"c", "baz"}, {"d", "choo-choo"}}},
        Case{"replace_chain",
             {{"a", "foo"}, {"b", "bar"}, {"c", "baz"}},
             {Cfg(R, {"a", "b"}, "f(.*);(.*)r", "a", "b${1}${2}m"),
              Cfg(R, {"c", "a"}, "(b).*b(.*)ba(.*)", "d", "$1$2$2$3")},
             {{"a", "boobam"}, {"b", "bar"}, {"c", "baz"}, {"d", "boooom"}}},
        Case{"drop_first",
             {{"a", "foo"}},
             {Cfg(RelabelAction::kDrop, {"a"}, ".*o.*"), Cfg(R, {"a"}, "f(.*)", "d", "ch$1-ch$1")},
             {},
             true},
        Case{"drop", {{"a", "foo"}, {"b", "bar"}}, {Cfg(RelabelAction::kDrop, {"a"}, ".*o.*")}, {},
             true},
        Case{"replace_group", {{"a", "abc"}}, {Cfg(R, {"a"}, ".*(b).*", "d", "$1")},
             {{"a", "abc"}, {"d", "b"}}},
        Case{"drop_nomatch", {{"a", "foo"}}, {Cfg(RelabelAction::kDrop, {"a"}, "no-match")},
             {{"a", "foo"}}},
        Case{"drop_anchored", {{"a", "foo"}}, {Cfg(RelabelAction::kDrop, {"a"}, "f|o")},
             {{"a", "foo"}}},
        Case{"keep_nomatch", {{"a", "foo"}}, {Cfg(RelabelAction::kKeep, {"a"}, "no-match")}, {},
             true},
        Case{"keep_match", {{"a", "foo"}}, {Cfg(RelabelAction::kKeep, {"a"}, "f.*")},
             {{"a", "foo"}}},
        Case{"replace_nomatch_no_change", {{"a", "boo"}}, {Cfg(R, {"a"}, "f", "b", "bar")},
             {{"a", "boo"}}},
        Case{"hashmod",
             {{"a", "foo"}, {"b", "bar"}, {"c", "baz"}},
             {Cfg(RelabelAction::kHashMod, {"c"}, "", "d", "$1", 1000)},
             {{"a", "foo"}, {"b", "bar"}, {"c", "baz"}, {"d", "976"}}},
        Case{"hashmod_newline",
             {{"a", "foo\nbar"}},
             {Cfg(RelabelAction::kHashMod, {"a"}, "", "b", "$1", 1000)},
             {{"a", "foo\nbar"}, {"b", "734"}}},
        Case{"labelmap",
             {{"a", "foo"}, {"b1", "bar"}, {"b2", "baz"}},
             {Cfg(RelabelAction::kLabelMap, {}, "(b.*)", "", "bar_${1}")},
             {{"a", "foo"}, {"b1", "bar"}, {"b2", "baz"}, {"bar_b1", "bar"}, {"bar_b2", "baz"}}},
        Case{"labelmap_meta",
             {{"a", "foo"}, {"__meta_my_bar", "aaa"}, {"__meta_my_baz", "bbb"},
              {"__meta_other", "ccc"}},
             {Cfg(RelabelAction::kLabelMap, {}, "__meta_(my.*)", "", "${1}")},
             {{"a", "foo"}, {"__meta_my_bar", "aaa"}, {"__meta_my_baz", "bbb"},
              {"__meta_other", "ccc"}, {"my_bar", "aaa"}, {"my_baz", "bbb"}}},
        Case{"target_expansion",
             {{"a", "some-name-value"}},
             {Cfg(R, {"a"}, "some-([^-]+)-([^,]+)", "${1}", "${2}")},
             {{"a", "some-name-value"}, {"name", "value"}}},
        Case{"empty_replacement",
             {{"a", "some-name-value"}},
             {Cfg(R, {"a"}, "some-([^-]+)-([^,]+)", "${1}", "${3}")},
             {{"a", "some-name-value"}}},
        Case{"invalid_target_skipped",
             {{"a", "some-name-0"}},
             {Cfg(R, {"a"}, "some-([^-]+)-([^,]+)", "${3}", "${1}"),
              Cfg(R, {"a"}, "some-([^-]+)-([^,]+)", "${3}", "${1}"),
              Cfg(R, {"a"}, "some-([^-]+)(-[^,]+)", "${3}", "${1}")},
             {{"a", "some-name-0"}}},
        Case{"real_life",
             {{"__meta_sd_tags", "path:/secret,job:some-job,label:foo=bar"}},
             {Cfg(R, {"__meta_sd_tags"}, "(?:.+,|^)path:(/[^,]+).*", "__metrics_path__", "${1}"),
              Cfg(R, {"__meta_sd_tags"}, "(?:.+,|^)job:([^,]+).*", "job", "${1}"),
              Cfg(R, {"__meta_sd_tags"}, "(?:.+,|^)label:([^=]+)=([^,]+).*", "${1}", "${2}")},
             {{"__meta_sd_tags", "path:/secret,job:some-job,label:foo=bar"},
              {"__metrics_path__", "/secret"},
              {"job", "some-job"},
              {"foo", "bar"}}},
        Case{"issue_12283",
             {{"__meta_kubernetes_pod_container_port_name", "foo"},
              {"__meta_kubernetes_pod_annotation_XXX_metrics_port", "9091"}},
             {Cfg(RelabelAction::kLabelDrop, {}, "^__meta_kubernetes_pod_container_port_name$"),
              Cfg(R, {"__meta_kubernetes_pod_annotation_XXX_metrics_port"}, "(.+)",
                  "__meta_kubernetes_pod_container_port_name", "metrics"),
              Cfg(RelabelAction::kKeep, {"__meta_kubernetes_pod_container_port_name"},
                  "^metrics$")},
             {{"__meta_kubernetes_pod_annotation_XXX_metrics_port", "9091"},
              {"__meta_kubernetes_pod_container_port_name", "metrics"}}},
        Case{"labelkeep",
             {{"a", "foo"}, {"b1", "bar"}, {"b2", "baz"}},
             {Cfg(RelabelAction::kLabelKeep, {}, "(b.*)")},
             {{"b1", "bar"}, {"b2", "baz"}}},
        Case{"labeldrop",
             {{"a", "foo"}, {"b1", "bar"}, {"b2", "baz"}},
             {Cfg(RelabelAction::kLabelDrop, {}, "(b.*)")},
             {{"a", "foo"}}},
        Case{"upper_lower",
             {{"foo", "bAr123Foo"}},
             {Cfg(RelabelAction::kUppercase, {"foo"}, "", "foo_uppercase"),
              Cfg(RelabelAction::kLowercase, {"foo"}, "", "foo_lowercase")},
             {{"foo", "bAr123Foo"}, {"foo_lowercase", "bar123foo"}, {"foo_uppercase", "BAR123FOO"}}},
        Case{"keepequal_keeps",
             {{"__tmp_port", "1234"}, {"__port1", "1234"}, {"__port2", "5678"}},
             {Cfg(RelabelAction::kKeepEqual, {"__tmp_port"}, "", "__port1")},
             {{"__tmp_port", "1234"}, {"__port1", "1234"}, {"__port2", "5678"}}},
        Case{"dropequal_drops",
             {{"__tmp_port", "1234"}, {"__port1", "1234"}, {"__port2", "5678"}},
             {Cfg(RelabelAction::kDropEqual, {"__tmp_port"}, "", "__port1")},
             {},
             true},
        Case{"dropequal_keeps",
             {{"__tmp_port", "1234"}, {"__port1", "1234"}, {"__port2", "5678"}},
             {Cfg(RelabelAction::kDropEqual, {"__tmp_port"}, "", "__port2")},
             {{"__tmp_port", "1234"}, {"__port1", "1234"}, {"__port2", "5678"}}},
        Case{"keepequal_drops",
             {{"__tmp_port", "1234"}, {"__port1", "1234"}, {"__port2", "5678"}},
             {Cfg(RelabelAction::kKeepEqual, {"__tmp_port"}, "", "__port2")},
             {},
             true},
        // Our own: a missing source label is "", so the default regex still matches and the
        // replacement (no $) sets the target.
        Case{"replace_missing_source_sets_constant",
             {{"a", "1"}},
             {Cfg(R, {"nope"}, "", "env", "prod")},
             {{"a", "1"}, {"env", "prod"}}},
        // Named groups and $name (Go's Expand takes the longest name: "$1x" is group "1x").
        Case{"named_groups",
             {{"a", "v-7"}},
             {Cfg(R, {"a"}, "(?P<kind>[a-z])-(?P<n>[0-9])", "out", "${kind}_$n.$1x.$$")},
             {{"a", "v-7"}, {"out", "v_7..$"}}},
        Case{"replace_to_empty_deletes",
             {{"a", "x"}, {"b", "y"}},
             {Cfg(R, {"a"}, "x", "b", "")},
             {{"a", "x"}}},
        Case{"separator",
             {{"a", "1"}, {"b", "2"}},
             {[] {
               RelabelConfig c = Cfg(R, {"a", "b", "c"}, "(.*)", "j");
               c.separator = "|";
               return c;
             }()},
             {{"a", "1"}, {"b", "2"}, {"j", "1|2|"}}}),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

TEST(ExpandTemplate, GoRules) {
  RE2 re("^(?:(?P<first>a)(b)?(c))$");
  std::vector<std::string_view> groups = {"ac", "a", std::string_view(), "c"};
  auto expand = [&](std::string_view t) {
    std::string out;
    ExpandTemplate(re, groups, t, &out);
    return out;
  };
  EXPECT_EQ(expand("$1"), "a");
  EXPECT_EQ(expand("${1}x"), "ax");
  EXPECT_EQ(expand("$1x"), "");      // group named "1x" does not exist
  EXPECT_EQ(expand("$2"), "");       // did not participate
  EXPECT_EQ(expand("$3$0"), "cac");  // $0 is the whole match
  EXPECT_EQ(expand("$first"), "a");
  EXPECT_EQ(expand("${first}"), "a");
  EXPECT_EQ(expand("$01"), "");  // leading zero: a name, which does not exist
  EXPECT_EQ(expand("$9"), "");   // out of range
  EXPECT_EQ(expand("$$1"), "$1");
  EXPECT_EQ(expand("a$"), "a$");    // malformed: raw text
  EXPECT_EQ(expand("${1"), "${1");  // missing brace: raw $
  EXPECT_EQ(expand("${}"), "${}");
  EXPECT_EQ(expand("$-"), "$-");
  EXPECT_EQ(expand("plain"), "plain");
}

TEST(HashMod, Md5LastEightBytes) {
  // md5("") = d41d8cd98f00b204e9800998ecf8427e; last 8 bytes 0xe9800998ecf8427e.
  EXPECT_EQ(HashMod("", 1ULL << 63), 0xe9800998ecf8427eULL % (1ULL << 63));
  EXPECT_EQ(HashMod("", 1000), 0xe9800998ecf8427eULL % 1000);
  EXPECT_EQ(HashMod("baz", 1000), 976u);  // from Prometheus's test
}

TEST(Create, RejectsBadSteps) {
  auto bad_regex = Relabeler::Create({Cfg(RelabelAction::kKeep, {"a"}, "(")});
  EXPECT_EQ(bad_regex.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad_regex.status().message()), ::testing::HasSubstr("step 0"));
  auto bad_mod = Relabeler::Create({Cfg(RelabelAction::kHashMod, {"a"}, "", "t", "$1", 0)});
  EXPECT_EQ(bad_mod.status().code(), absl::StatusCode::kInvalidArgument);
  auto no_target = Relabeler::Create({Cfg(R, {"a"}, "", "")});
  EXPECT_EQ(no_target.status().code(), absl::StatusCode::kInvalidArgument);
  auto empty = Relabeler::Create({});
  ASSERT_TRUE(empty.ok());
  tsdb::LabelsBuilder b(Labels{{"a", "1"}});
  EXPECT_TRUE((*empty)->Process(b));
  EXPECT_EQ(b.Build(), (Labels{{"a", "1"}}));
}

}  // namespace
}  // namespace stakewatch::relabel
