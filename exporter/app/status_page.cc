#include "app/status_page.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/go_float.h"
#include "common/strings.h"

namespace stakewatch::app {
namespace {

// Kept small and readable: system fonts, tabular digits, state shown by word and colour, wide
// tables scroll inside their own box on narrow screens. Colours pass WCAG AA on white.
constexpr char kStyle[] = R"css(
:root{color-scheme:light;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--head:#f6f8fa;
--ok:#116329;--okbg:#dafbe1;--bad:#a40e26;--badbg:#ffebe9;--warn:#7d4e00;--warnbg:#fff8c5}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI","Liberation Sans",Arial,sans-serif;
color:var(--fg);background:#fff}
header,main,footer{max-width:1400px;margin:0 auto;padding:0 16px}
header{border-bottom:1px solid var(--line);padding-top:12px;padding-bottom:8px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:18px;margin:28px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:18px 0 6px}
nav a{margin-right:14px}
a{color:#0a58ca}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:12px 0 4px}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;min-width:0;overflow-wrap:anywhere}
@media (max-width:640px){dl.facts{grid-template-columns:1fr;gap:0}dl.facts dt{margin-top:6px}}
.scroll{overflow-x:auto;margin:4px 0 12px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:14px;min-width:50%}
caption{text-align:left;color:var(--muted);padding:2px 0 6px}
th,td{border:1px solid var(--line);padding:4px 5px;text-align:left;vertical-align:top}
thead th{background:var(--head);font-weight:600}
tbody th{font-weight:600}
td.n{text-align:right;white-space:nowrap}
.state{display:inline-block;padding:0 6px;border-radius:4px;font-weight:700;font-size:13px;
letter-spacing:.02em}
.ok{color:var(--ok);background:var(--okbg)}
.bad{color:var(--bad);background:var(--badbg)}
.warn{color:var(--warn);background:var(--warnbg)}
.muted{color:var(--muted)}
.ago{white-space:nowrap}
.lbl{display:inline-block;margin:1px 4px 1px 0;padding:0 5px;border:1px solid var(--line);
border-radius:4px;font:12px/1.5 ui-monospace,"Liberation Mono",monospace;white-space:nowrap}
.err{color:var(--bad);font-family:ui-monospace,"Liberation Mono",monospace;font-size:13px;
white-space:pre-wrap;word-break:break-word}
.lbls{font-weight:400;margin-top:2px}
td.miss{color:var(--bad);font-weight:700}
footer{color:var(--muted);font-size:13px;margin-top:28px;padding-bottom:24px}
)css";

std::string Esc(std::string_view s) { return HtmlEscape(s); }

std::string IsoUtc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// "<time datetime=ISO>ISO</time> (3m ago)", or "never".
std::string When(absl::Time t, absl::Time now) {
  if (t == absl::InfinitePast()) return "<span class=\"muted\">never</span>";
  if (t == absl::InfiniteFuture()) return "<span class=\"muted\">unknown</span>";
  const std::string iso = IsoUtc(t);
  std::string out = absl::StrCat("<time datetime=\"", iso, "\">", iso, "</time>");
  if (now != absl::InfinitePast() && now != absl::InfiniteFuture()) {
    const absl::Duration d = now - t;
    if (d >= absl::ZeroDuration()) {
      absl::StrAppend(&out, " <span class=\"muted ago\">(", HumanDuration(d), " ago)</span>");
    } else {
      absl::StrAppend(&out, " <span class=\"muted ago\">(in ", HumanDuration(d), ")</span>");
    }
  }
  return out;
}

std::string State(std::string_view word, std::string_view cls) {
  return absl::StrCat("<span class=\"state ", ToAbsl(cls), "\">", ToAbsl(word), "</span>");
}

std::string Labels(const std::vector<std::pair<std::string, std::string>>& labels) {
  if (labels.empty()) return "<span class=\"muted\">none</span>";
  std::string out;
  for (const auto& [k, v] : labels) {
    absl::StrAppend(&out, "<span class=\"lbl\">", Esc(k), "=&quot;", Esc(v), "&quot;</span> ");
  }
  out.pop_back();
  return out;
}

std::string Error(std::string_view e) {
  if (e.empty()) return "<span class=\"muted\">none</span>";
  return absl::StrCat("<span class=\"err\">", Esc(e), "</span>");
}

// A right-aligned count; highlighted when it counts something that went wrong.
std::string CountCell(size_t n, bool bad_when_nonzero = false) {
  return absl::StrCat("<td class=\"n", bad_when_nonzero && n > 0 ? " miss" : "", "\">", n, "</td>");
}

std::string Percent(double ratio) {
  if (!std::isfinite(ratio)) return "n/a";
  return absl::StrFormat("%.1f%%", ratio * 100);
}

void Header(const StatusSnapshot& s, std::string* out) {
  absl::StrAppend(out, "<header><h1>stakewatch status</h1><nav aria-label=\"Pages\">",
                  "<a href=\"/\">Home</a><a href=\"", Esc(s.telemetry_path),
                  "\">Metrics</a><a href=\"/-/healthy\">Health</a>",
                  "<a href=\"/-/ready\">Readiness</a><a href=\"\">Reload</a></nav>");
  absl::StrAppend(out, "<dl class=\"facts\">");
  absl::StrAppend(out, "<dt>Version</dt><dd>", s.version.empty() ? "unknown" : Esc(s.version));
  if (!s.revision.empty()) absl::StrAppend(out, " (revision ", Esc(s.revision), ")");
  absl::StrAppend(out, "</dd>");
  absl::StrAppend(out, "<dt>Uptime</dt><dd>");
  if (s.started != absl::InfinitePast() && s.now != absl::InfinitePast()) {
    const std::string iso = IsoUtc(s.started);
    absl::StrAppend(out, HumanDuration(s.now - s.started), " <span class=\"muted\">(since <time ",
                    "datetime=\"", iso, "\">", iso, "</time>)</span>");
  } else {
    absl::StrAppend(out, "<span class=\"muted\">unknown</span>");
  }
  absl::StrAppend(out, "</dd>");
  absl::StrAppend(out, "<dt>Ready</dt><dd>",
                  s.ready ? State("READY", "ok")
                          : absl::StrCat(State("NOT READY", "warn"),
                                         " <span class=\"muted\">waiting for the first epoch to be "
                                         "processed</span>"),
                  "</dd>");
  auto optional_number = [](const std::optional<uint64_t>& v) {
    return v ? absl::StrCat(*v) : std::string("<span class=\"muted\">none yet</span>");
  };
  absl::StrAppend(out, "<dt>Head slot</dt><dd>", optional_number(s.head_slot), "</dd>");
  absl::StrAppend(out, "<dt>Latest processed epoch</dt><dd>",
                  optional_number(s.last_processed_epoch), "</dd>");
  absl::StrAppend(out, "<dt>Latest counted (finalized) epoch</dt><dd>",
                  optional_number(s.last_counted_epoch), "</dd>");
  absl::StrAppend(out, "<dt>Configuration</dt><dd>",
                  s.config_file.empty() ? "<span class=\"muted\">none</span>"
                                        : absl::StrCat("<code>", Esc(s.config_file), "</code>"),
                  "</dd>");
  absl::StrAppend(out, "<dt>Last reload</dt><dd>");
  if (s.last_reload == absl::InfinitePast()) {
    absl::StrAppend(out, "<span class=\"muted\">not reloaded since start</span>");
  } else {
    absl::StrAppend(out, s.last_reload_ok ? State("OK", "ok") : State("FAILED", "bad"), " ",
                    When(s.last_reload, s.now));
  }
  if (!s.last_reload_ok) {
    absl::StrAppend(out, "<br>", Error(s.last_reload_error),
                    "<br><span class=\"muted\">the previous configuration keeps running</span>");
  }
  absl::StrAppend(out, "</dd></dl></header>\n");
}

void Alerts(const StatusSnapshot& s, std::string* out) {
  std::vector<const StatusAlert*> firing, pending, other;
  for (const StatusAlert& a : s.alerts) {
    if (a.state == "firing") {
      firing.push_back(&a);
    } else if (a.state == "pending") {
      pending.push_back(&a);
    } else {
      other.push_back(&a);
    }
  }
  absl::StrAppend(out, "<section id=\"alerts\" aria-labelledby=\"alerts-h\">",
                  "<h2 id=\"alerts-h\">Alerts</h2><p>");
  if (firing.empty()) {
    absl::StrAppend(out, "No alerts firing.");
  } else {
    absl::StrAppend(out, "<strong>", firing.size(), " firing.</strong>");
  }
  absl::StrAppend(
      out, pending.empty() ? " No alerts pending." : absl::StrCat(" ", pending.size(), " pending."),
      "</p>\n");
  if (!s.alerts.empty()) {
    absl::StrAppend(out,
                    "<div class=\"scroll\"><table id=\"alerts-table\"><caption>Active alerts, "
                    "firing first</caption><thead><tr><th scope=\"col\">State</th>"
                    "<th scope=\"col\">Alert</th><th scope=\"col\">Labels</th>"
                    "<th scope=\"col\">Active since</th><th scope=\"col\">Value</th>"
                    "<th scope=\"col\">Summary</th></tr></thead><tbody>\n");
    for (const auto* list : {&firing, &pending, &other}) {
      for (const StatusAlert* a : *list) {
        std::string state;
        if (a->state == "firing") {
          state = State("FIRING", "bad");
        } else if (a->state == "pending") {
          state = State("PENDING", "warn");
        } else {
          state = Esc(a->state);
        }
        absl::StrAppend(out, "<tr><td>", state, "</td><th scope=\"row\">", Esc(a->name),
                        "</th><td>", Labels(a->labels), "</td><td>", When(a->active_since, s.now),
                        "</td><td class=\"n\">", Esc(GoFormatFloatF(a->value)), "</td><td>",
                        a->summary.empty() ? "<span class=\"muted\">none</span>" : Esc(a->summary),
                        "</td></tr>\n");
      }
    }
    absl::StrAppend(out, "</tbody></table></div>");
  }
  absl::StrAppend(out, "</section>\n");
}

void Sources(const StatusSnapshot& s, std::string* out) {
  absl::StrAppend(out, "<section id=\"sources\" aria-labelledby=\"sources-h\">",
                  "<h2 id=\"sources-h\">Sources</h2>");
  if (s.sources.empty()) {
    absl::StrAppend(out, "<p>No sources configured.</p></section>\n");
    return;
  }
  size_t up = 0;
  for (const StatusSource& src : s.sources) up += src.known && src.up ? 1 : 0;
  absl::StrAppend(out, "<p>", up, " of ", s.sources.size(), " up.</p>");
  absl::StrAppend(out,
                  "<div class=\"scroll\"><table id=\"sources-table\"><caption>Sources stakewatch "
                  "reads and their health</caption><thead><tr><th scope=\"col\">Source</th>"
                  "<th scope=\"col\">Target</th><th scope=\"col\">State</th>"
                  "<th scope=\"col\">Last success</th><th scope=\"col\">Last error</th>"
                  "</tr></thead><tbody>\n");
  for (const StatusSource& src : s.sources) {
    const std::string state = !src.known ? State("UNKNOWN", "warn")
                              : src.up   ? State("UP", "ok")
                                         : State("DOWN", "bad");
    absl::StrAppend(out, "<tr><th scope=\"row\">", Esc(src.source), "</th><td>", Esc(src.target),
                    "</td><td>", state, "</td><td>", When(src.last_success, s.now), "</td><td>",
                    Error(src.last_error), "</td></tr>\n");
  }
  absl::StrAppend(out, "</tbody></table></div></section>\n");
}

void Groups(const StatusSnapshot& s, std::string* out) {
  absl::StrAppend(out, "<section id=\"groups\" aria-labelledby=\"groups-h\">",
                  "<h2 id=\"groups-h\">Validator groups</h2>");
  if (s.groups.empty()) {
    absl::StrAppend(out, "<p>No validator groups configured.</p></section>\n");
    return;
  }
  absl::StrAppend(out, "<div class=\"scroll\"><table id=\"groups-table\"><caption>");
  if (s.last_processed_epoch) {
    absl::StrAppend(
        out, "Duties and results of the latest processed epoch, ", *s.last_processed_epoch,
        ". Final: counted after the epoch was finalized; provisional: may still change.");
  } else {
    absl::StrAppend(out, "No epoch processed yet.");
  }
  absl::StrAppend(
      out,
      "</caption><thead><tr><th scope=\"col\" rowspan=\"2\">Group and labels</th>"
      "<th scope=\"col\" rowspan=\"2\">Validators</th>"
      "<th scope=\"col\" rowspan=\"2\">Epoch</th>"
      "<th scope=\"colgroup\" colspan=\"5\">Attestations</th>"
      "<th scope=\"colgroup\" colspan=\"3\">Block proposals</th>"
      "<th scope=\"colgroup\" colspan=\"2\">Sync committee</th></tr><tr>"
      "<th scope=\"col\">Attested of duties</th><th scope=\"col\">Missed</th>"
      "<th scope=\"col\">Correct head / target / source</th>"
      "<th scope=\"col\">Mean inclusion delay (slots)</th><th scope=\"col\">Effectiveness</th>"
      "<th scope=\"col\">Proposed of duties</th><th scope=\"col\">Missed</th>"
      "<th scope=\"col\">Orphaned</th>"
      "<th scope=\"col\">Participated of slots</th><th scope=\"col\">Missed</th>"
      "</tr></thead><tbody>\n");
  for (const StatusGroup& g : s.groups) {
    // Labels sit under the name (not in a column of their own) to keep the table narrow.
    absl::StrAppend(out, "<tr><th scope=\"row\">", Esc(g.name));
    if (!g.labels.empty()) absl::StrAppend(out, "<div class=\"lbls\">", Labels(g.labels), "</div>");
    absl::StrAppend(out, "</th><td class=\"n\">", g.validators, "</td>");
    if (!g.epoch) {
      absl::StrAppend(out, "<td colspan=\"11\" class=\"muted\">no epoch processed yet</td></tr>\n");
      continue;
    }
    absl::StrAppend(out, "<td class=\"n\">", *g.epoch, "<br>",
                    g.final ? State("final", "ok") : State("provisional", "warn"), "</td>");
    absl::StrAppend(out, "<td class=\"n\">", g.attested, " of ", g.attestation_duties, "</td>",
                    CountCell(g.missed, true), "<td class=\"n\">", g.head_correct, " / ",
                    g.target_correct, " / ", g.source_correct, "</td>");
    absl::StrAppend(
        out, "<td class=\"n\">",
        g.attested == 0 ? std::string("n/a") : absl::StrFormat("%.2f", g.mean_inclusion_delay),
        "</td><td class=\"n\">",
        g.attestation_duties == 0 ? std::string("n/a") : Percent(g.effectiveness), "</td>");
    absl::StrAppend(out, "<td class=\"n\">", g.proposed, " of ", g.proposal_duties, "</td>",
                    CountCell(g.proposals_missed, true), CountCell(g.orphaned, true));
    if (!g.sync_known) {
      absl::StrAppend(out, "<td colspan=\"2\" class=\"muted\">when counted</td></tr>\n");
      continue;
    }
    absl::StrAppend(out, "<td class=\"n\">", g.sync_participated, " of ", g.sync_duty_slots,
                    "</td>", CountCell(g.sync_missed, true), "</tr>\n");
  }
  absl::StrAppend(out, "</tbody></table></div></section>\n");
}

void Rules(const StatusSnapshot& s, std::string* out) {
  absl::StrAppend(out, "<section id=\"rules\" aria-labelledby=\"rules-h\">",
                  "<h2 id=\"rules-h\">Rules</h2>");
  if (s.rule_groups.empty()) {
    absl::StrAppend(out, "<p>No rules loaded.</p></section>\n");
    return;
  }
  for (const StatusRuleGroup& g : s.rule_groups) {
    absl::StrAppend(out, "<h3>", Esc(g.name), "</h3><p class=\"muted\">File <code>", Esc(g.file),
                    "</code>, evaluated every ", absl::FormatDuration(g.interval), ", last ",
                    When(g.last_eval, s.now));
    if (g.last_eval != absl::InfinitePast()) {
      absl::StrAppend(out, " in ", absl::FormatDuration(g.last_duration));
    }
    absl::StrAppend(out, ".</p>");
    if (g.rules.empty()) {
      absl::StrAppend(out, "<p>No rules in this group.</p>\n");
      continue;
    }
    absl::StrAppend(out,
                    "<div class=\"scroll\"><table class=\"rules-table\"><caption>Rules of "
                    "group ",
                    Esc(g.name),
                    "</caption><thead><tr><th scope=\"col\">Rule</th><th scope=\"col\">Type</th>"
                    "<th scope=\"col\">Health</th><th scope=\"col\">Active alerts</th>"
                    "<th scope=\"col\">Last error</th></tr></thead><tbody>\n");
    for (const StatusRule& r : g.rules) {
      std::string health;
      if (r.health == "ok") {
        health = State("OK", "ok");
      } else if (r.health == "err") {
        health = State("ERR", "bad");
      } else if (r.health == "unknown" || r.health.empty()) {
        health = State("UNKNOWN", "warn");
      } else {
        health = Esc(r.health);
      }
      absl::StrAppend(out, "<tr><th scope=\"row\">", Esc(r.name), "</th><td>", Esc(r.type),
                      "</td><td>", health, "</td>");
      if (r.type == "alerting") {
        absl::StrAppend(out, CountCell(r.active_alerts));
      } else {
        absl::StrAppend(out, "<td class=\"n muted\">n/a</td>");
      }
      absl::StrAppend(out, "<td>", Error(r.last_error), "</td></tr>\n");
    }
    absl::StrAppend(out, "</tbody></table></div>\n");
  }
  absl::StrAppend(out, "</section>\n");
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string HumanDuration(absl::Duration d) {
  if (d < absl::ZeroDuration()) d = -d;
  if (d == absl::InfiniteDuration()) return "forever";
  const int64_t secs = absl::ToInt64Seconds(d);
  if (secs < 60) return absl::StrCat(secs, "s");
  if (secs < 3600) return absl::StrCat(secs / 60, "m");
  if (secs < 86400) {
    const int64_t m = (secs % 3600) / 60;
    return m == 0 ? absl::StrCat(secs / 3600, "h") : absl::StrCat(secs / 3600, "h ", m, "m");
  }
  const int64_t h = (secs % 86400) / 3600;
  return h == 0 ? absl::StrCat(secs / 86400, "d") : absl::StrCat(secs / 86400, "d ", h, "h");
}

std::string RenderStatusPage(const StatusSnapshot& s) {
  std::string out;
  out.reserve(16384 + 1024 * (s.groups.size() + s.alerts.size() + s.sources.size()));
  absl::StrAppend(&out,
                  "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                  "<title>stakewatch status</title><style>",
                  kStyle, "</style></head>\n<body>\n");
  Header(s, &out);
  absl::StrAppend(&out, "<main>\n");
  Alerts(s, &out);
  Sources(s, &out);
  Groups(s, &out);
  Rules(s, &out);
  absl::StrAppend(&out, "</main>\n<footer>Generated ");
  if (s.now != absl::InfinitePast()) {
    const std::string iso = IsoUtc(s.now);
    absl::StrAppend(&out, "at <time datetime=\"", iso, "\">", iso, "</time> ");
  }
  absl::StrAppend(&out,
                  "by stakewatch. This page does not refresh itself: use Reload to see the "
                  "latest state.</footer>\n</body></html>\n");
  return out;
}

}  // namespace stakewatch::app
