// RenderStatusPage from hand-built snapshots. Expected values are written by hand from the
// snapshot each test builds; the page is read back with a small tag-stripping reader written here
// (not the renderer's code), so a cell's text is compared with what a person would read.
#include "app/status_page.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stakewatch::app {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// 2024-05-01T12:00:00Z
const absl::Time kNow = absl::FromUnixSeconds(1714564800);

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t p = haystack.find(needle); p != std::string::npos;
       p = haystack.find(needle, p + needle.size())) {
    ++n;
  }
  return n;
}

// What a person reads in an HTML fragment: tags removed (block-level ones and links read as a
// space), the five entities decoded, whitespace runs collapsed to one space, trimmed.
std::string Text(std::string_view html) {
  static const std::set<std::string> kSpaced = {
      "dt",      "dd",  "th",      "td",     "tr",     "h1",  "h2",   "h3",    "p",     "br",   "a",
      "caption", "div", "section", "header", "footer", "nav", "main", "table", "tbody", "thead"};
  std::string raw;
  size_t i = 0;
  while (i < html.size()) {
    if (html[i] != '<') {
      raw += html[i++];
      continue;
    }
    const size_t end = html.find('>', i);
    if (end == std::string_view::npos) break;
    std::string name(html.substr(i + 1, end - i - 1));
    if (!name.empty() && name[0] == '/') name.erase(0, 1);
    name = name.substr(0, name.find(' '));
    if (kSpaced.count(name) > 0) raw += ' ';
    i = end + 1;
  }
  raw = absl::StrReplaceAll(
      raw, {{"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}});
  std::string out;
  for (char c : raw) {
    if (c == ' ' || c == '\n' || c == '\t') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// The text of each cell (<th> or <td>) of the first table row with a cell that reads `row_name`
// or whose first cell (the row header) starts with `row_name` and a space (a validator group's
// name followed by its labels).
std::vector<std::string> RowCells(const std::string& html, const std::string& row_name) {
  size_t pos = 0;
  while ((pos = html.find("<tr>", pos)) != std::string::npos) {
    const size_t end = html.find("</tr>", pos);
    if (end == std::string::npos) break;
    const std::string row = html.substr(pos + 4, end - pos - 4);
    std::vector<std::string> cells;
    size_t c = 0;
    while (true) {
      const size_t th = row.find("<th", c), td = row.find("<td", c);
      const size_t open = std::min(th, td);
      if (open == std::string::npos) break;
      const std::string close = open == th ? "</th>" : "</td>";
      const size_t body = row.find('>', open) + 1;
      const size_t stop = row.find(close, body);
      cells.push_back(Text(row.substr(body, stop - body)));
      c = stop + close.size();
    }
    for (const std::string& cell : cells) {
      if (cell == row_name) return cells;
    }
    if (!cells.empty() && absl::StartsWith(cells[0], row_name + " ")) return cells;
    pos = end;
  }
  return {};
}

// Whether every non-void element is closed in order (a structural check independent of the
// renderer; <style> content has no '<').
bool Balanced(const std::string& html, std::string* why) {
  std::vector<std::string> stack;
  size_t pos = 0;
  while ((pos = html.find('<', pos)) != std::string::npos) {
    const size_t end = html.find('>', pos);
    if (end == std::string::npos) {
      *why = "unterminated tag";
      return false;
    }
    std::string tag = html.substr(pos + 1, end - pos - 1);
    pos = end + 1;
    if (tag.empty() || tag[0] == '!') continue;
    const bool closing = tag[0] == '/';
    if (closing) tag = tag.substr(1);
    tag = tag.substr(0, tag.find(' '));
    if (tag == "meta" || tag == "br") continue;
    if (!closing) {
      stack.push_back(tag);
    } else if (stack.empty() || stack.back() != tag) {
      *why = absl::StrCat("</", tag, "> closes <", stack.empty() ? "nothing" : stack.back(), ">");
      return false;
    } else {
      stack.pop_back();
    }
  }
  if (!stack.empty()) *why = absl::StrCat("<", stack.back(), "> never closed");
  return stack.empty();
}

// Whether any tag carries an inline event handler (` onclick=`, ` onmouseover=`, ...).
bool HasEventHandlerAttribute(const std::string& html) {
  size_t pos = 0;
  while ((pos = html.find('<', pos)) != std::string::npos) {
    const size_t end = html.find('>', pos);
    if (end == std::string::npos) return false;
    const std::string tag = html.substr(pos, end - pos);
    for (size_t p = tag.find(" on"); p != std::string::npos; p = tag.find(" on", p + 1)) {
      size_t q = p + 3;
      while (q < tag.size() && std::isalpha(static_cast<unsigned char>(tag[q]))) ++q;
      if (q < tag.size() && tag[q] == '=') return true;
    }
    pos = end + 1;
  }
  return false;
}

// The text of the element with id `id` (up to its section end).
std::string Section(const std::string& html, const std::string& id) {
  const size_t start = html.find(absl::StrCat("<section id=\"", id, "\""));
  if (start == std::string::npos) return "";
  const size_t end = html.find("</section>", start);
  return html.substr(start, end - start);
}

StatusSnapshot FullSnapshot() {
  StatusSnapshot s;
  s.version = "0.9.1";
  s.revision = "abc1234";
  s.now = kNow;
  s.started = kNow - absl::Hours(2) - absl::Minutes(5) - absl::Seconds(17);
  s.config_file = "/etc/stakewatch/stakewatch.yml";
  s.last_reload_ok = true;
  s.last_reload = kNow - absl::Minutes(3) - absl::Seconds(20);
  s.ready = true;
  s.head_slot = 3950;
  s.last_processed_epoch = 122;
  s.last_counted_epoch = 120;

  StatusSource bn{.source = "beacon_node",
                  .target = "http://lighthouse:5052",
                  .up = true,
                  .known = true,
                  .last_error = "",
                  .last_success = kNow - absl::Seconds(4)};
  StatusSource vc{.source = "validator_client",
                  .target = "http://vc:5064",
                  .up = false,
                  .known = true,
                  .last_error = "connect: connection refused",
                  .last_success = absl::InfinitePast()};
  StatusSource signer{.source = "web3signer", .target = "signer-1"};
  s.sources = {bn, vc, signer};

  StatusGroup solo;
  solo.name = "solo";
  solo.labels = {{"operator", "me"}};
  solo.validators = 300;
  solo.epoch = 122;
  solo.final = false;
  solo.attestation_duties = 300;
  solo.attested = 295;
  solo.missed = 5;
  solo.head_correct = 280;
  solo.target_correct = 290;
  solo.source_correct = 295;
  solo.mean_inclusion_delay = 1.25;
  solo.effectiveness = 0.9412;
  solo.proposal_duties = 2;
  solo.proposed = 1;
  solo.proposals_missed = 1;
  solo.orphaned = 0;
  solo.sync_duty_slots = 64;
  solo.sync_participated = 60;
  solo.sync_missed = 4;
  StatusGroup pool;
  pool.name = "pool";
  pool.labels = {{"operator", "acme"}, {"client", "lighthouse"}};
  pool.validators = 700;
  s.groups = {solo, pool};

  StatusRuleGroup rg;
  rg.name = "validators";
  rg.file = "/etc/stakewatch/rules/validators.yml";
  rg.interval = absl::Seconds(30);
  rg.last_eval = kNow - absl::Seconds(12);
  rg.last_duration = absl::Milliseconds(3);
  rg.rules = {{.name = "group:missed:rate5m",
               .type = "recording",
               .health = "ok",
               .last_error = "",
               .active_alerts = 0},
              {.name = "ValidatorMissedAttestations",
               .type = "alerting",
               .health = "err",
               .last_error = "query timed out",
               .active_alerts = 2}};
  s.rule_groups = {rg};

  // Pending first on purpose: the page shows firing first.
  s.alerts = {{.name = "BeaconNodeSlow",
               .labels = {{"severity", "warning"}},
               .state = "pending",
               .active_since = kNow - absl::Seconds(45),
               .value = 2.5,
               .summary = "beacon node answers slowly"},
              {.name = "ValidatorMissedAttestations",
               .labels = {{"group", "solo"}, {"severity", "critical"}},
               .state = "firing",
               .active_since = kNow - absl::Minutes(3) - absl::Seconds(20),
               .value = 5,
               .summary = "5 attestations missed in group solo"}};
  return s;
}

TEST(HtmlEscapeTest, EscapesTheFiveCharacters) {
  EXPECT_EQ(HtmlEscape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
  EXPECT_EQ(HtmlEscape(""), "");
  EXPECT_EQ(HtmlEscape("plain ü text"), "plain ü text");
  EXPECT_EQ(HtmlEscape("&amp;"), "&amp;amp;");
}

TEST(HumanDurationTest, CoarseFloorAtMostTwoUnits) {
  EXPECT_EQ(HumanDuration(absl::ZeroDuration()), "0s");
  EXPECT_EQ(HumanDuration(absl::Milliseconds(999)), "0s");
  EXPECT_EQ(HumanDuration(absl::Seconds(59)), "59s");
  EXPECT_EQ(HumanDuration(absl::Seconds(60)), "1m");
  EXPECT_EQ(HumanDuration(absl::Minutes(3) + absl::Seconds(59)), "3m");
  EXPECT_EQ(HumanDuration(absl::Hours(1)), "1h");
  EXPECT_EQ(HumanDuration(absl::Hours(2) + absl::Minutes(5) + absl::Seconds(17)), "2h 5m");
  EXPECT_EQ(HumanDuration(absl::Hours(24)), "1d");
  EXPECT_EQ(HumanDuration(absl::Hours(76) + absl::Minutes(59)), "3d 4h");
  EXPECT_EQ(HumanDuration(-absl::Seconds(90)), "1m");
  EXPECT_EQ(HumanDuration(absl::InfiniteDuration()), "forever");
}

TEST(StatusPageTest, IsACompleteStaticDocument) {
  const std::string html = RenderStatusPage(FullSnapshot());
  EXPECT_TRUE(absl::StartsWith(html, "<!DOCTYPE html>\n<html lang=\"en\">"));
  EXPECT_TRUE(absl::EndsWith(html, "</html>\n"));
  EXPECT_THAT(html, HasSubstr("<meta charset=\"utf-8\">"));
  EXPECT_THAT(html, HasSubstr("<meta name=\"viewport\" content=\"width=device-width, "
                              "initial-scale=1\">"));
  EXPECT_THAT(html, HasSubstr("<title>stakewatch status</title>"));
  EXPECT_EQ(Count(html, "<style>"), 1u);
  // No scripts, no auto-refresh, nothing loaded from elsewhere.
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("http-equiv")));
  EXPECT_THAT(html, Not(HasSubstr("src=")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_THAT(html, Not(HasSubstr("url(")));
  EXPECT_THAT(html, Not(HasSubstr("@import")));
  EXPECT_THAT(html, Not(HasSubstr("href=\"http")));
  EXPECT_FALSE(HasEventHandlerAttribute(html));
  std::string why;
  EXPECT_TRUE(Balanced(html, &why)) << why;
  // A reload link, and links to the machine endpoints.
  EXPECT_THAT(html, HasSubstr("<a href=\"\">Reload</a>"));
  EXPECT_THAT(html, HasSubstr("<a href=\"/metrics\">Metrics</a>"));
  EXPECT_THAT(html, HasSubstr("<a href=\"/-/ready\">Readiness</a>"));
}

TEST(StatusPageTest, SectionsInOrder) {
  const std::string html = RenderStatusPage(FullSnapshot());
  const size_t header = html.find("<header>");
  const size_t alerts = html.find("<section id=\"alerts\"");
  const size_t sources = html.find("<section id=\"sources\"");
  const size_t groups = html.find("<section id=\"groups\"");
  const size_t rules = html.find("<section id=\"rules\"");
  ASSERT_NE(header, std::string::npos);
  ASSERT_NE(rules, std::string::npos);
  EXPECT_LT(header, alerts);
  EXPECT_LT(alerts, sources);
  EXPECT_LT(sources, groups);
  EXPECT_LT(groups, rules);
  EXPECT_THAT(Text(Section(html, "alerts")), testing::StartsWith("Alerts "));
  EXPECT_THAT(Text(Section(html, "sources")), testing::StartsWith("Sources "));
  EXPECT_THAT(Text(Section(html, "groups")), testing::StartsWith("Validator groups "));
  EXPECT_THAT(Text(Section(html, "rules")), testing::StartsWith("Rules "));
}

TEST(StatusPageTest, HeaderFacts) {
  const std::string html = RenderStatusPage(FullSnapshot());
  const std::string header = Text(html.substr(0, html.find("</header>")));
  EXPECT_THAT(header, HasSubstr("Version 0.9.1 (revision abc1234)"));
  // started = 12:00:00 - 2h05m17s = 09:54:43.
  EXPECT_THAT(header, HasSubstr("Uptime 2h 5m (since 2024-05-01T09:54:43Z)"));
  EXPECT_THAT(html, HasSubstr("<time datetime=\"2024-05-01T09:54:43Z\">"));
  EXPECT_THAT(header, HasSubstr("Ready READY"));
  EXPECT_THAT(header, HasSubstr("Head slot 3950"));
  EXPECT_THAT(header, HasSubstr("Latest processed epoch 122"));
  EXPECT_THAT(header, HasSubstr("Latest counted (finalized) epoch 120"));
  EXPECT_THAT(header, HasSubstr("Configuration /etc/stakewatch/stakewatch.yml"));
  // last reload = 12:00:00 - 3m20s = 11:56:40.
  EXPECT_THAT(header, HasSubstr("Last reload OK 2024-05-01T11:56:40Z (3m ago)"));
  EXPECT_THAT(header, Not(HasSubstr("FAILED")));
  // The footer says when the page was made.
  EXPECT_THAT(Text(html), HasSubstr("Generated at 2024-05-01T12:00:00Z"));
}

TEST(StatusPageTest, FailedReloadShowsItsError) {
  StatusSnapshot s = FullSnapshot();
  s.last_reload_ok = false;
  s.last_reload_error = "stakewatch.yml:7:3: validators.groups[0]: name is required";
  s.ready = false;
  const std::string html = RenderStatusPage(s);
  const std::string header = Text(html.substr(0, html.find("</header>")));
  EXPECT_THAT(header, HasSubstr("Last reload FAILED 2024-05-01T11:56:40Z (3m ago) "
                                "stakewatch.yml:7:3: validators.groups[0]: name is required "
                                "the previous configuration keeps running"));
  EXPECT_THAT(header, HasSubstr("Ready NOT READY waiting for the first epoch"));
}

TEST(StatusPageTest, AlertsFiringFirstWithTheirDetails) {
  const std::string html = RenderStatusPage(FullSnapshot());
  const std::string alerts = Section(html, "alerts");
  EXPECT_THAT(Text(alerts), HasSubstr("1 firing. 1 pending."));
  EXPECT_THAT(alerts, Not(HasSubstr("No alerts firing")));
  const size_t firing = alerts.find("FIRING");
  const size_t pending = alerts.find("PENDING");
  ASSERT_NE(firing, std::string::npos);
  ASSERT_NE(pending, std::string::npos);
  EXPECT_LT(firing, pending);
  // active since 12:00:00 - 3m20s and 12:00:00 - 45s.
  EXPECT_THAT(
      RowCells(alerts, "ValidatorMissedAttestations"),
      ElementsAre("FIRING", "ValidatorMissedAttestations", "group=\"solo\" severity=\"critical\"",
                  "2024-05-01T11:56:40Z (3m ago)", "5", "5 attestations missed in group solo"));
  EXPECT_THAT(RowCells(alerts, "BeaconNodeSlow"),
              ElementsAre("PENDING", "BeaconNodeSlow", "severity=\"warning\"",
                          "2024-05-01T11:59:15Z (45s ago)", "2.5", "beacon node answers slowly"));
}

TEST(StatusPageTest, SourcesShowStateInWords) {
  const std::string html = RenderStatusPage(FullSnapshot());
  const std::string sources = Section(html, "sources");
  EXPECT_THAT(Text(sources), HasSubstr("1 of 3 up."));
  EXPECT_THAT(RowCells(sources, "beacon_node"),
              ElementsAre("beacon_node", "http://lighthouse:5052", "UP",
                          "2024-05-01T11:59:56Z (4s ago)", "none"));
  EXPECT_THAT(RowCells(sources, "validator_client"),
              ElementsAre("validator_client", "http://vc:5064", "DOWN", "never",
                          "connect: connection refused"));
  EXPECT_THAT(RowCells(sources, "web3signer"),
              ElementsAre("web3signer", "signer-1", "UNKNOWN", "never", "none"));
  // Colour is an addition to the word, not a replacement.
  EXPECT_THAT(sources, HasSubstr("<span class=\"state ok\">UP</span>"));
  EXPECT_THAT(sources, HasSubstr("<span class=\"state bad\">DOWN</span>"));
}

TEST(StatusPageTest, GroupsWithThisEpochsResults) {
  const std::string html = RenderStatusPage(FullSnapshot());
  const std::string groups = Section(html, "groups");
  EXPECT_THAT(Text(groups), HasSubstr("latest processed epoch, 122."));
  EXPECT_THAT(groups, HasSubstr("<caption>"));
  EXPECT_THAT(groups, HasSubstr("<th scope=\"col\""));
  EXPECT_THAT(groups, HasSubstr("<th scope=\"row\">solo<div class=\"lbls\">"));
  // Effectiveness 0.9412 -> 94.1%; mean inclusion delay 1.25 (slots, said by the header).
  EXPECT_THAT(RowCells(groups, "solo"),
              ElementsAre("solo operator=\"me\"", "300", "122 provisional", "295 of 300", "5",
                          "280 / 290 / 295", "1.25", "94.1%", "1 of 2", "1", "0", "60 of 64", "4"));
  EXPECT_THAT(RowCells(groups, "pool"), ElementsAre("pool operator=\"acme\" client=\"lighthouse\"",
                                                    "700", "no epoch processed yet"));
  StatusSnapshot s = FullSnapshot();
  s.groups[0].final = true;
  EXPECT_EQ(RowCells(Section(RenderStatusPage(s), "groups"), "solo")[2], "122 final");
}

TEST(StatusPageTest, RulesWithHealthAndErrors) {
  const std::string html = RenderStatusPage(FullSnapshot());
  const std::string rules = Section(html, "rules");
  EXPECT_THAT(Text(rules),
              HasSubstr("validators File /etc/stakewatch/rules/validators.yml, evaluated every "
                        "30s, last 2024-05-01T11:59:48Z (12s ago) in 3ms."));
  EXPECT_THAT(RowCells(rules, "group:missed:rate5m"),
              ElementsAre("group:missed:rate5m", "recording", "OK", "n/a", "none"));
  EXPECT_THAT(
      RowCells(rules, "ValidatorMissedAttestations"),
      ElementsAre("ValidatorMissedAttestations", "alerting", "ERR", "2", "query timed out"));
}

TEST(StatusPageTest, EmptySectionsSaySoInWords) {
  StatusSnapshot s;  // nothing known yet
  s.now = kNow;
  s.started = kNow - absl::Seconds(5);
  const std::string html = RenderStatusPage(s);
  EXPECT_THAT(Text(Section(html, "alerts")), HasSubstr("No alerts firing. No alerts pending."));
  EXPECT_THAT(Text(Section(html, "sources")), HasSubstr("No sources configured."));
  EXPECT_THAT(Text(Section(html, "groups")), HasSubstr("No validator groups configured."));
  EXPECT_THAT(Text(Section(html, "rules")), HasSubstr("No rules loaded."));
  const std::string header = Text(html.substr(0, html.find("</header>")));
  EXPECT_THAT(header, HasSubstr("Version unknown"));
  EXPECT_THAT(header, HasSubstr("Uptime 5s"));
  EXPECT_THAT(header, HasSubstr("Ready NOT READY"));
  EXPECT_THAT(header, HasSubstr("Head slot none yet"));
  EXPECT_THAT(header, HasSubstr("Last reload not reloaded since start"));
  EXPECT_THAT(html, Not(HasSubstr("<table")));
  std::string why;
  EXPECT_TRUE(Balanced(html, &why)) << why;

  // A fully default snapshot (no clock either) still renders a whole page.
  const std::string bare = RenderStatusPage(StatusSnapshot{});
  EXPECT_TRUE(Balanced(bare, &why)) << why;
  EXPECT_THAT(Text(bare), HasSubstr("Uptime unknown"));
}

TEST(StatusPageTest, OnlyPendingAlerts) {
  StatusSnapshot s = FullSnapshot();
  s.alerts.erase(s.alerts.begin() + 1);  // drop the firing one
  EXPECT_THAT(Text(Section(RenderStatusPage(s), "alerts")),
              HasSubstr("No alerts firing. 1 pending."));
}

// Every field that can carry text from a user (configuration, rule files, annotations, errors
// from the network) is shown escaped: the hostile string never appears as markup.
TEST(StatusPageTest, EscapesEveryUserTextField) {
  const std::string evil = "<script>alert(1)</script>\"onmouseover=alert(2) x='y' &amp;";
  const std::string escaped =
      "&lt;script&gt;alert(1)&lt;/script&gt;&quot;onmouseover=alert(2) x=&#39;y&#39; &amp;amp;";
  using Setter = std::function<void(StatusSnapshot&)>;
  const std::vector<std::pair<std::string, Setter>> fields = {
      {"version", [&](StatusSnapshot& s) { s.version = evil; }},
      {"revision", [&](StatusSnapshot& s) { s.revision = evil; }},
      {"config_file", [&](StatusSnapshot& s) { s.config_file = evil; }},
      {"last_reload_error",
       [&](StatusSnapshot& s) {
         s.last_reload_ok = false;
         s.last_reload_error = evil;
       }},
      {"telemetry_path", [&](StatusSnapshot& s) { s.telemetry_path = evil; }},
      {"source", [&](StatusSnapshot& s) { s.sources[0].source = evil; }},
      {"target", [&](StatusSnapshot& s) { s.sources[0].target = evil; }},
      {"source last_error", [&](StatusSnapshot& s) { s.sources[1].last_error = evil; }},
      {"group name", [&](StatusSnapshot& s) { s.groups[0].name = evil; }},
      {"group label name", [&](StatusSnapshot& s) { s.groups[0].labels[0].first = evil; }},
      {"group label value", [&](StatusSnapshot& s) { s.groups[1].labels[1].second = evil; }},
      {"rule group name", [&](StatusSnapshot& s) { s.rule_groups[0].name = evil; }},
      {"rule file", [&](StatusSnapshot& s) { s.rule_groups[0].file = evil; }},
      {"rule name", [&](StatusSnapshot& s) { s.rule_groups[0].rules[1].name = evil; }},
      {"rule type", [&](StatusSnapshot& s) { s.rule_groups[0].rules[1].type = evil; }},
      {"rule health", [&](StatusSnapshot& s) { s.rule_groups[0].rules[1].health = evil; }},
      {"rule last_error", [&](StatusSnapshot& s) { s.rule_groups[0].rules[1].last_error = evil; }},
      {"alert name", [&](StatusSnapshot& s) { s.alerts[0].name = evil; }},
      {"alert label name", [&](StatusSnapshot& s) { s.alerts[1].labels[0].first = evil; }},
      {"alert label value", [&](StatusSnapshot& s) { s.alerts[1].labels[1].second = evil; }},
      {"alert state", [&](StatusSnapshot& s) { s.alerts[0].state = evil; }},
      {"alert summary", [&](StatusSnapshot& s) { s.alerts[1].summary = evil; }},
  };
  for (const auto& [field, set] : fields) {
    SCOPED_TRACE(field);
    StatusSnapshot s = FullSnapshot();
    set(s);
    const std::string html = RenderStatusPage(s);
    EXPECT_THAT(html, Not(HasSubstr("<script")));
    EXPECT_THAT(html, Not(HasSubstr("\"onmouseover")));
    EXPECT_THAT(html, Not(HasSubstr("'y'")));
    EXPECT_THAT(html, Not(HasSubstr("</script>")));
    EXPECT_THAT(html, HasSubstr(escaped));
    if (field == "telemetry_path") {
      // Only in an attribute: the link target is the string as written, quoted safely.
      EXPECT_THAT(html, HasSubstr(absl::StrCat("<a href=\"", escaped, "\">Metrics</a>")));
    } else {
      // What a person reads is the string as written.
      EXPECT_THAT(Text(html), HasSubstr(evil));
    }
    std::string why;
    EXPECT_TRUE(Balanced(html, &why)) << why;
  }
}

// A group name with markup characters reads back exactly as written in its table cell.
TEST(StatusPageTest, GroupNameWithMarkupCharactersReadsAsWritten) {
  StatusSnapshot s = FullSnapshot();
  s.groups[0].name = "<b>&\"bold\"";
  const std::string groups = Section(RenderStatusPage(s), "groups");
  EXPECT_THAT(groups,
              HasSubstr("<th scope=\"row\">&lt;b&gt;&amp;&quot;bold&quot;<div class=\"lbls\">"));
  EXPECT_EQ(RowCells(groups, "<b>&\"bold\"").size(), 13u);
  EXPECT_THAT(groups, Not(HasSubstr("<b>")));
}

TEST(StatusPageTest, NonFiniteNumbersDoNotBreakThePage) {
  StatusSnapshot s = FullSnapshot();
  s.alerts[0].value = std::numeric_limits<double>::quiet_NaN();
  s.alerts[1].value = std::numeric_limits<double>::infinity();
  s.groups[0].effectiveness = std::numeric_limits<double>::quiet_NaN();
  s.alerts[0].active_since = absl::InfiniteFuture();
  const std::string html = RenderStatusPage(s);
  EXPECT_EQ(RowCells(html, "BeaconNodeSlow")[4], "NaN");
  EXPECT_EQ(RowCells(html, "BeaconNodeSlow")[3], "unknown");
  EXPECT_EQ(RowCells(html, "ValidatorMissedAttestations")[4], "+Inf");
  EXPECT_EQ(RowCells(html, "solo")[7], "n/a");
  std::string why;
  EXPECT_TRUE(Balanced(html, &why)) << why;
}

}  // namespace
}  // namespace stakewatch::app
