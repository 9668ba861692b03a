// The status page a person reads (`/status`): one server-rendered HTML document built from a
// plain snapshot of the daemon's state.
//
// The daemon gathers a StatusSnapshot (sources and their health, validator groups with the latest
// processed epoch's results, rule groups, active alerts) and passes it to RenderStatusPage, a pure
// function: no I/O, no clock (relative times are computed against `snapshot.now`), no globals.
// That keeps the page testable from a hand-built snapshot and keeps the HTTP handler trivial:
//
//   app::StatusSnapshot s = GatherStatus();  // the daemon's job
//   res.set_header("Content-Security-Policy", std::string(app::kStatusPageContentSecurityPolicy));
//   res.set_content(app::RenderStatusPage(s), "text/html; charset=utf-8");
//
// The document:
//   - is complete HTML5 with <meta charset="utf-8"> and a viewport meta (readable on a phone;
//     wide tables scroll sideways inside their own box);
//   - has no JavaScript, no external resources (one inline <style>), no auto-refresh (a person
//     reading must not lose their scroll position); a "Reload" link reloads it;
//   - HTML-escapes every string taken from the snapshot (& < > " ' become entities), so group
//     names, labels, alert summaries, rule names and error texts are shown, never interpreted;
//   - uses tables with <caption> and <th scope>, and shows state in words, not only colour
//     (UP / DOWN / UNKNOWN, FIRING / PENDING, OK / ERR, READY / NOT READY);
//   - shows each time as UTC ISO-8601 in a <time> element plus an age relative to `now`
//     ("3m ago"); absl::InfinitePast() shows as "never";
//   - has these sections in this order: header (version, uptime, readiness, last reload and its
//     error), Alerts (firing, then pending), Sources, Validator groups (latest epoch), Rules.
//     Each section has a stable id (#alerts, #sources, #groups, #rules) and an empty section says
//     so in words ("No alerts firing.", "No sources configured.", ...).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace stakewatch::app {

// One source stakewatch reads (see source_health.h): `source` is its kind ("beacon_node", ...),
// `target` the instance (a redacted URL or a configured name).
struct StatusSource {
  std::string source, target;
  bool up = false;
  bool known = false;  // false until the first success or failure: shown as UNKNOWN
  std::string last_error;
  absl::Time last_success = absl::InfinitePast();
};

// One validator group with the latest processed epoch's results.
struct StatusGroup {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  size_t validators = 0;
  // The latest processed epoch's results for this group (absent before the first epoch):
  std::optional<uint64_t> epoch;
  bool final = false;  // counted (finalized) or provisional
  size_t attestation_duties = 0, attested = 0, missed = 0, head_correct = 0, target_correct = 0,
         source_correct = 0;
  double mean_inclusion_delay = 0;  // over included attestations, in slots
  double effectiveness = 0;         // mean inclusion effectiveness 0..1 over duties
  size_t proposal_duties = 0, proposed = 0, proposals_missed = 0, orphaned = 0;
  size_t sync_duty_slots = 0, sync_participated = 0, sync_missed = 0;
  // Sync-committee results are accounted when an epoch is counted; provisional results have none.
  bool sync_known = true;
};

struct StatusRule {
  std::string name;
  std::string type;    // "alerting" | "recording"
  std::string health;  // "ok" | "err" | "unknown"
  std::string last_error;
  size_t active_alerts = 0;
};

struct StatusRuleGroup {
  std::string name, file;
  absl::Duration interval;
  absl::Time last_eval = absl::InfinitePast();  // InfinitePast: not evaluated yet
  absl::Duration last_duration;
  std::vector<StatusRule> rules;
};

struct StatusAlert {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  std::string state;  // "firing" | "pending"
  absl::Time active_since = absl::InfinitePast();
  double value = 0;
  std::string summary;  // the rendered `summary` annotation, may be empty
};

// Everything the page shows. Plain data, filled by the daemon; the renderer only reads it.
struct StatusSnapshot {
  std::string version, revision;
  absl::Time started = absl::InfinitePast();
  absl::Time now = absl::InfinitePast();  // the reference for every "... ago"
  std::string config_file;
  bool last_reload_ok = true;
  absl::Time last_reload = absl::InfinitePast();
  std::string last_reload_error;
  bool ready = false;  // the first epoch has been processed
  std::optional<uint64_t> head_slot, last_processed_epoch, last_counted_epoch;
  std::vector<StatusSource> sources;
  std::vector<StatusGroup> groups;
  std::vector<StatusRuleGroup> rule_groups;
  std::vector<StatusAlert> alerts;
  std::string telemetry_path = "/metrics";
};

// A Content-Security-Policy that fits the page (no scripts, no external loads, the inline style
// only); the handler that serves RenderStatusPage should send it.
inline constexpr std::string_view kStatusPageContentSecurityPolicy =
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

// Renders the complete status page (see the file comment for what it contains).
// Pure and thread-safe: it reads `s` only; alerts are shown firing first, each state in the
// order given, everything else in the order given.
std::string RenderStatusPage(const StatusSnapshot& s);

// HTML-escapes `text` for element content and quoted attribute values: & < > " ' become
// &amp; &lt; &gt; &quot; &#39;. Exposed for the daemon's other small pages.
std::string HtmlEscape(std::string_view text);

// "45s", "3m", "2h 5m", "3d 4h": a coarse age for people (floor, at most two units; negative
// durations are shown as their absolute value). Exposed for tests.
std::string HumanDuration(absl::Duration d);

}  // namespace stakewatch::app
