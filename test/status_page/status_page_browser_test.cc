// The status page as a person sees it: `stakewatch simulate` (a child process) feeds
// `stakewatch run` (a child process) with two validator groups and a rule file whose alert fires
// at once; once the daemon is ready and /status shows the first epoch and the firing alert, a
// real headless Chromium (Debian's `chromium`) with JavaScript disabled loads /status, and the
// test reads the DOM Chromium built: the group names exactly as written in the configuration
// (one holds `<b>&"`, so markup would show up as a <b> element), the alert, the beacon node's UP,
// the epoch. A screenshot is written to the test's output directory and its path printed.
//
// JavaScript is disabled through the profile's content setting (Default/Preferences,
// default_content_setting_values.javascript = 2), not `--blink-settings=scriptEnabled=false`:
// in Chromium 156's new headless mode that switch also stops --dump-dom and --screenshot, which
// then print and write nothing. A control page with a script proves the setting takes effect.
//
// Expected values come from this test's own configuration and from the beacon chain's rules
// (one attestation duty per active validator per epoch), never from stakewatch's output.
// Skipped only when /usr/bin/chromium is missing (CI installs it).
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "support/process.h"

namespace stakewatch {
namespace {

using testing::HttpGet;
using testing::LogField;
using testing::MakeTempDir;
using testing::ReadFile;
using testing::StakewatchBinary;
using testing::Subprocess;
using testing::WriteFile;

constexpr char kChromium[] = "/usr/bin/chromium";
// Exactly as written in the configuration (a YAML single-quoted scalar below).
constexpr char kHostileGroup[] = "<b>&\"solo\"";
constexpr char kPlainGroup[] = "pool";
constexpr char kAlert[] = "StatusPageAlwaysFiring";
constexpr char kSummary[] = "always <i>firing</i> & 'quoted'";

// What a person reads in an HTML fragment: tags removed (block-level ones and links read as a
// space), the entities an HTML serializer writes decoded, whitespace collapsed, trimmed.
// Deliberately independent of stakewatch's renderer.
std::string Text(std::string_view html) {
  static const char* const kSpaced[] = {"dt",  "dd",  "th",      "td",     "tr",     "h1",
                                        "h2",  "h3",  "p",       "br",     "a",      "caption",
                                        "div", "nav", "section", "header", "footer", "main"};
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
    name = name.substr(0, name.find_first_of(" \t\n"));
    for (const char* s : kSpaced) {
      if (name == s) raw += ' ';
    }
    i = end + 1;
  }
  raw = absl::StrReplaceAll(raw, {{"&lt;", "<"},
                                  {"&gt;", ">"},
                                  {"&quot;", "\""},
                                  {"&#39;", "'"},
                                  {"&nbsp;", " "},
                                  {"&amp;", "&"}});
  std::string out;
  for (char c : raw) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// The cells (text) of every table row in `html`.
std::vector<std::vector<std::string>> Rows(const std::string& html) {
  std::vector<std::vector<std::string>> rows;
  size_t pos = 0;
  while ((pos = html.find("<tr", pos)) != std::string::npos) {
    const size_t end = html.find("</tr>", pos);
    if (end == std::string::npos) break;
    const std::string row = html.substr(pos, end - pos);
    std::vector<std::string> cells;
    size_t c = 0;
    while (true) {
      const size_t th = row.find("<th", c), td = row.find("<td", c);
      const size_t open = std::min(th, td);
      if (open == std::string::npos) break;
      const std::string close = open == th ? "</th>" : "</td>";
      const size_t body = row.find('>', open) + 1;
      const size_t stop = row.find(close, body);
      if (stop == std::string::npos) break;
      cells.push_back(Text(row.substr(body, stop - body)));
      c = stop + close.size();
    }
    rows.push_back(std::move(cells));
    pos = end;
  }
  return rows;
}

// The first row whose first cell is `name` or starts with `name` and a space (a group's name is
// followed by its labels in the same cell).
std::optional<std::vector<std::string>> RowStartingWith(const std::string& html,
                                                        const std::string& name) {
  for (auto& cells : Rows(html)) {
    if (!cells.empty() && (cells[0] == name || absl::StartsWith(cells[0], name + " "))) {
      return cells;
    }
  }
  return std::nullopt;
}

// The first row with a cell equal to `text`.
std::optional<std::vector<std::string>> RowWithCell(const std::string& html,
                                                    const std::string& text) {
  for (auto& cells : Rows(html)) {
    for (const std::string& c : cells) {
      if (c == text) return cells;
    }
  }
  return std::nullopt;
}

// The number after `label ` in the page text, if any.
std::optional<uint64_t> NumberAfter(const std::string& text, const std::string& label) {
  const size_t at = text.find(label + " ");
  if (at == std::string::npos) return std::nullopt;
  const std::string rest = text.substr(at + label.size() + 1);
  uint64_t v = 0;
  if (!absl::SimpleAtoi(rest.substr(0, rest.find(' ')), &v)) return std::nullopt;
  return v;
}

class StatusPageBrowser : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kChromium, X_OK) != 0) GTEST_SKIP() << kChromium << " is not installed";
    dir_ = MakeTempDir("sw-status-page");
    auto sim = Subprocess::Start({StakewatchBinary(), "simulate", "--listen-address=127.0.0.1",
                                  "--port=0", "--validators=64", "--slot-time=0.1", "--seed=8"},
                                 dir_ + "/sim");
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = std::move(*sim);
    auto line = sim_->WaitForOutput("simulator listening", absl::Seconds(30));
    ASSERT_TRUE(line.ok()) << line.status();
    const std::string sim_port = LogField(*line, "port");

    std::filesystem::create_directories(dir_ + "/rules");
    ASSERT_TRUE(WriteFile(dir_ + "/rules/status.yml",
                          absl::StrCat("groups:\n"
                                       "  - name: status-page\n"
                                       "    interval: 1s\n"
                                       "    rules:\n"
                                       "      - alert: ",
                                       kAlert,
                                       "\n"
                                       "        expr: vector(1)\n"
                                       "        for: 0s\n"
                                       "        labels: {severity: info}\n"
                                       "        annotations:\n"
                                       "          summary: \"always <i>firing</i> & 'quoted'\"\n"))
                    .ok());
    ASSERT_TRUE(WriteFile(dir_ + "/stakewatch.yml", absl::StrCat("global:\n"
                                                                 "  scrape_interval: 1s\n"
                                                                 "  evaluation_interval: 1s\n"
                                                                 "rule_files: [\"rules/*.yml\"]\n"
                                                                 "storage:\n  path: ",
                                                                 dir_,
                                                                 "/state\n"
                                                                 "beacon:\n"
                                                                 "  nodes: [\"http://127.0.0.1:",
                                                                 sim_port,
                                                                 "\"]\n"
                                                                 "  poll_interval: 100ms\n"
                                                                 "validators:\n"
                                                                 "  groups:\n"
                                                                 "    - name: '<b>&\"solo\"'\n"
                                                                 "      labels: {operator: me}\n"
                                                                 "      indices: [\"0-31\"]\n"
                                                                 "    - name: pool\n"
                                                                 "      labels: {operator: acme}\n"
                                                                 "      indices: [\"32-63\"]\n"))
                    .ok());
    auto sw = Subprocess::Start(
        {StakewatchBinary(), "run", absl::StrCat("--config.file=", dir_, "/stakewatch.yml"),
         "--web.listen-address=127.0.0.1:0"},
        dir_ + "/stakewatch");
    ASSERT_TRUE(sw.ok()) << sw.status();
    sw_ = std::move(*sw);
    auto listen = sw_->WaitForOutput("msg=listening", absl::Seconds(30));
    ASSERT_TRUE(listen.ok()) << listen.status();
    const std::string address = LogField(*listen, "address");
    port_ = std::stoi(address.substr(address.rfind(':') + 1));

    // A Chromium profile with JavaScript blocked, and a HOME it may write.
    std::filesystem::create_directories(dir_ + "/chromium/profile/Default");
    std::filesystem::create_directories(dir_ + "/chromium/home");
    ASSERT_TRUE(WriteFile(dir_ + "/chromium/profile/Default/Preferences",
                          "{\"profile\":{\"default_content_setting_values\":{\"javascript\":2}}}")
                    .ok());
  }

  void TearDown() override {
    // Stop the daemon before its state directory goes; keep everything when the test failed.
    if (sw_ != nullptr) sw_->Stop();
    if (sim_ != nullptr) sim_->Stop();
    if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_);
  }

  // Runs Chromium headless with JavaScript off on `url` plus `flags`; returns its stdout.
  std::string Chromium(const std::vector<std::string>& flags, const std::string& url,
                       const std::string& name) {
    setenv("HOME", (dir_ + "/chromium/home").c_str(), 1);
    setenv("XDG_CONFIG_HOME", (dir_ + "/chromium/home/.config").c_str(), 1);
    setenv("XDG_CACHE_HOME", (dir_ + "/chromium/home/.cache").c_str(), 1);
    std::vector<std::string> argv = {kChromium,
                                     "--headless=new",
                                     "--no-sandbox",
                                     "--disable-gpu",
                                     "--no-first-run",
                                     "--hide-scrollbars",
                                     absl::StrCat("--user-data-dir=", dir_, "/chromium/profile")};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back(url);
    auto p = Subprocess::Start(argv, dir_ + "/chromium-" + name);
    EXPECT_TRUE(p.ok()) << p.status();
    if (!p.ok()) return "";
    const absl::Time deadline = absl::Now() + absl::Seconds(90);
    while ((*p)->Running() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(50));
    EXPECT_FALSE((*p)->Running()) << "chromium did not finish within 90 s: " << name;
    (*p)->Stop();
    return (*p)->Stdout();
  }

  std::string dir_;
  int port_ = 0;
  std::unique_ptr<Subprocess> sim_, sw_;
};

TEST_F(StatusPageBrowser, APersonSeesGroupsAlertsSourcesAndTheEpoch) {
  // Ready once the first epoch has been processed.
  absl::Time deadline = absl::Now() + absl::Seconds(120);
  int ready = 0;
  while (absl::Now() < deadline) {
    auto r = HttpGet("127.0.0.1", port_, "/-/ready");
    if (r.ok() && r->status == 200) {
      ready = 200;
      break;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_EQ(ready, 200) << "never ready; stderr:\n" << sw_->Stderr();

  // Then /status shows an epoch and the firing alert (served by the daemon over plain HTTP).
  std::string body;
  int last_code = 0;
  bool shown = false;
  while (absl::Now() < deadline) {
    auto r = HttpGet("127.0.0.1", port_, "/status");
    if (r.ok()) {
      last_code = r->status;
      body = r->body;
      const std::string text = Text(body);
      if (r->status == 200 && NumberAfter(text, "Latest processed epoch").has_value() &&
          absl::StrContains(text, absl::StrCat("FIRING ", kAlert))) {
        shown = true;
        break;
      }
    }
    absl::SleepFor(absl::Milliseconds(250));
  }
  ASSERT_TRUE(shown) << "/status (HTTP " << last_code
                     << ") never showed an epoch and the firing alert:\n"
                     << body.substr(0, 4000);

  // Control: this Chromium setup really runs with JavaScript off.
  ASSERT_TRUE(WriteFile(dir_ + "/control.html",
                        "<!DOCTYPE html><html><body><p id=\"x\">static</p><script>"
                        "document.getElementById('x').textContent='SCRIPT RAN';</script>"
                        "</body></html>")
                  .ok());
  const std::string control =
      Chromium({"--dump-dom"}, absl::StrCat("file://", dir_, "/control.html"), "control");
  ASSERT_TRUE(absl::StrContains(control, "<p id=\"x\">static</p>")) << control;
  ASSERT_FALSE(absl::StrContains(control, "<p id=\"x\">SCRIPT RAN")) << control;

  const std::string url = absl::StrCat("http://127.0.0.1:", port_, "/status");
  const std::string dom = Chromium({"--dump-dom"}, url, "dump-dom");
  ASSERT_TRUE(absl::StrContains(dom, "</html>")) << "no DOM from chromium:\n" << dom;
  ASSERT_TRUE(WriteFile(absl::StrCat(STATUS_PAGE_OUTPUT_DIR, "/status_page.dom.html"), dom).ok());
  const std::string text = Text(dom);

  // No element came from user text: the page itself uses neither <b> nor <i>, nor scripts.
  EXPECT_FALSE(absl::StrContains(dom, "<b>")) << "a group name became markup";
  EXPECT_FALSE(absl::StrContains(dom, "<i>")) << "an alert summary became markup";
  EXPECT_FALSE(absl::StrContains(dom, "<script"));

  // The header: ready, and the latest processed epoch.
  EXPECT_TRUE(absl::StrContains(text, "Ready READY")) << text;
  const std::optional<uint64_t> epoch = NumberAfter(text, "Latest processed epoch");
  ASSERT_TRUE(epoch.has_value()) << text;

  // Validator groups exactly as configured: 32 validators each, one attestation duty per
  // validator in the epoch, and the epoch shown in the header.
  for (const std::string& group : {std::string(kHostileGroup), std::string(kPlainGroup)}) {
    SCOPED_TRACE(group);
    auto row = RowStartingWith(dom, group);
    ASSERT_TRUE(row.has_value()) << text;
    ASSERT_GE(row->size(), 4u) << absl::StrJoin(*row, " | ");
    EXPECT_EQ((*row)[1], "32");
    EXPECT_EQ((*row)[2].substr(0, (*row)[2].find(' ')), absl::StrCat(*epoch))
        << absl::StrJoin(*row, " | ");
    EXPECT_TRUE(absl::EndsWith((*row)[3], " of 32")) << absl::StrJoin(*row, " | ");
  }
  EXPECT_TRUE(absl::StrContains(text, absl::StrCat(kHostileGroup, " operator=\"me\"")));
  // Every slot of the epoch has one proposer, and the two groups hold all 64 validators: their
  // proposal duties ("P of D") add up to the 32 slots of an epoch.
  uint64_t proposal_duties = 0;
  for (const std::string& group : {std::string(kHostileGroup), std::string(kPlainGroup)}) {
    auto row = RowStartingWith(dom, group);
    ASSERT_TRUE(row.has_value() && row->size() >= 9u);
    const std::string& cell = (*row)[8];
    uint64_t d = 0;
    ASSERT_TRUE(absl::SimpleAtoi(cell.substr(cell.rfind(' ') + 1), &d)) << cell;
    proposal_duties += d;
  }
  EXPECT_EQ(proposal_duties, 32u);

  // The firing alert with its summary as written.
  auto alert = RowWithCell(dom, kAlert);
  ASSERT_TRUE(alert.has_value()) << text;
  ASSERT_GE(alert->size(), 6u);
  EXPECT_EQ((*alert)[0], "FIRING");
  EXPECT_EQ((*alert)[5], kSummary);
  EXPECT_TRUE(absl::StrContains((*alert)[2], "severity=\"info\"")) << (*alert)[2];

  // The beacon node source is UP.
  auto source = RowWithCell(dom, "beacon_node");
  ASSERT_TRUE(source.has_value()) << text;
  ASSERT_GE(source->size(), 3u);
  EXPECT_EQ((*source)[2], "UP") << absl::StrJoin(*source, " | ");

  // The rule group and its alerting rule.
  EXPECT_TRUE(absl::StrContains(text, "status-page")) << text;
  size_t rule_rows = 0;  // rows of the rules table (the alerts table's row starts with FIRING)
  for (const auto& cells : Rows(dom)) {
    if (!cells.empty() && cells[0] == kAlert && cells.size() >= 3 && cells[1] == "alerting") {
      ++rule_rows;
      EXPECT_EQ(cells[2], "OK");
    }
  }
  EXPECT_EQ(rule_rows, 1u) << text;

  // A screenshot a person can look at.
  const std::string png = absl::StrCat(STATUS_PAGE_OUTPUT_DIR, "/status_page.png");
  std::filesystem::remove(png);
  Chromium({absl::StrCat("--screenshot=", png), "--window-size=1280,2000"}, url, "screenshot");
  absl::StatusOr<std::string> image = ReadFile(png);
  ASSERT_TRUE(image.ok()) << image.status();
  ASSERT_GE(image->size(), 24u);
  EXPECT_EQ(image->substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(image->substr(12, 4), "IHDR");
  auto be32 = [&](size_t at) {
    return (static_cast<uint32_t>(static_cast<unsigned char>((*image)[at])) << 24) |
           (static_cast<uint32_t>(static_cast<unsigned char>((*image)[at + 1])) << 16) |
           (static_cast<uint32_t>(static_cast<unsigned char>((*image)[at + 2])) << 8) |
           static_cast<uint32_t>(static_cast<unsigned char>((*image)[at + 3]));
  };
  EXPECT_EQ(be32(16), 1280u);
  EXPECT_EQ(be32(20), 2000u);
  // A blank 1280x2000 page compresses to a few kilobytes; text and tables make far more.
  EXPECT_GT(image->size(), 30'000u);
  std::printf("status page screenshot: %s\n", png.c_str());
}

}  // namespace
}  // namespace stakewatch
