// Persisted alert state: the file format round trip, bad files, the restore arithmetic (values
// worked out by hand from Prometheus 2.42's RestoreForState, see state.h), and a manager that is
// "restarted" (a second Manager over the same state directory) while an alert is pending, while
// it is firing, and after it resolved.
#include "ruleeval/state.h"

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ruleeval/manager.h"
#include "tsdb/storage.h"

namespace stakewatch::ruleeval {
namespace {

using ::testing::SizeIs;

const absl::Time kT = absl::FromUnixSeconds(1'800'000'000);

Alert MakeAlert(AlertState s, absl::Time active) {
  Alert a;
  a.state = s;
  a.labels = tsdb::Labels{{"alertname", "X"}, {"group", "g1"}};
  a.active_at = active;
  return a;
}

TEST(StateFile, RoundTripKeepsEveryField) {
  Alert a;
  a.state = AlertState::kFiring;
  a.labels = tsdb::Labels{{"alertname", "Down"}, {"group", "a \"quoted\"\n\\ group"}};
  a.annotations = {{"summary", "value is 0.5"}, {"z", ""}};
  a.value = 0.1 + 0.2;  // needs 17 digits
  a.active_at = kT;
  a.fired_at = kT + absl::Nanoseconds(123456789);
  a.last_sent_at = kT + absl::Minutes(1);
  a.valid_until = kT + absl::Minutes(5);
  a.keep_firing_since = kT + absl::Seconds(7);
  Alert b = MakeAlert(AlertState::kInactive, kT);
  b.value = std::numeric_limits<double>::quiet_NaN();
  b.resolved_at = kT + absl::Hours(1);
  Alert c = MakeAlert(AlertState::kPending, kT);
  c.value = -std::numeric_limits<double>::infinity();

  PersistedState st;
  st.saved_at = kT + absl::Hours(2);
  st.groups.push_back({.file = "/etc/r.yml", .name = "g", .last_eval = kT, .rules = {}});
  st.groups[0].rules.push_back({"Down{severity=\"critical\"}", {a, b}});
  st.groups[0].rules.push_back({"Other{}", {c}});
  st.groups.push_back({.file = "x", .name = "empty", .last_eval = ZeroTime(), .rules = {}});

  absl::StatusOr<PersistedState> back = DecodeState(EncodeState(st));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->saved_at, st.saved_at);
  ASSERT_THAT(back->groups, SizeIs(2));
  EXPECT_EQ(back->groups[1].last_eval, ZeroTime());
  const PersistedGroup& g = back->groups[0];
  EXPECT_EQ(g.file, "/etc/r.yml");
  EXPECT_EQ(g.name, "g");
  EXPECT_EQ(g.last_eval, kT);
  ASSERT_THAT(g.rules, SizeIs(2));
  EXPECT_EQ(g.rules[0].key, "Down{severity=\"critical\"}");
  ASSERT_THAT(g.rules[0].alerts, SizeIs(2));
  const Alert& a2 = g.rules[0].alerts[0];
  EXPECT_EQ(a2.state, AlertState::kFiring);
  EXPECT_EQ(a2.labels, a.labels);
  EXPECT_EQ(a2.annotations, a.annotations);
  EXPECT_EQ(a2.value, 0.1 + 0.2);
  EXPECT_EQ(a2.active_at, a.active_at);
  EXPECT_EQ(a2.fired_at, a.fired_at);
  EXPECT_EQ(a2.resolved_at, ZeroTime());
  EXPECT_EQ(a2.last_sent_at, a.last_sent_at);
  EXPECT_EQ(a2.valid_until, a.valid_until);
  EXPECT_EQ(a2.keep_firing_since, a.keep_firing_since);
  const Alert& b2 = g.rules[0].alerts[1];
  EXPECT_EQ(b2.state, AlertState::kInactive);
  EXPECT_TRUE(std::isnan(b2.value));
  EXPECT_EQ(b2.resolved_at, b.resolved_at);
  EXPECT_EQ(g.rules[1].alerts[0].state, AlertState::kPending);
  EXPECT_EQ(g.rules[1].alerts[0].value, -std::numeric_limits<double>::infinity());
}

TEST(StateFile, BadFilesAreDataLossErrors) {
  for (const char* bad : {"", "{", "[]", "{\"version\":2,\"groups\":[]}", "{\"version\":1}",
                          "{\"version\":1,\"groups\":[{\"file\":\"f\",\"rules\":[]}]}",
                          "{\"version\":1,\"groups\":[{\"file\":\"f\",\"name\":\"g\",\"rules\":"
                          "[{\"key\":\"k\",\"alerts\":[{\"labels\":{},\"annotations\":{},"
                          "\"state\":\"burning\",\"value\":\"1\"}]}]}]}",
                          "{\"version\":1,\"groups\":[{\"file\":\"f\",\"name\":\"g\",\"rules\":"
                          "[{\"key\":\"k\",\"alerts\":[{\"labels\":{},\"annotations\":{},"
                          "\"state\":\"firing\",\"value\":\"x1\"}]}]}]}",
                          "{\"version\":1,\"groups\":[{\"file\":\"f\",\"name\":\"g\",\"rules\":"
                          "[{\"key\":\"k\",\"alerts\":[{\"labels\":{\"a\":1},\"annotations\":{},"
                          "\"state\":\"firing\",\"value\":\"1\"}]}]}]}"}) {
    absl::StatusOr<PersistedState> st = DecodeState(bad);
    EXPECT_EQ(st.status().code(), absl::StatusCode::kDataLoss) << bad;
  }
}

// RestoreForState, by hand. hold 30m, grace 10m, tolerance 1h; down at kT.
TEST(RestoreAlerts, PendingTimersContinueWithoutTheDowntime) {
  const RestoreOptions o;  // 1h, 10m
  const absl::Duration hold = absl::Minutes(30);
  const absl::Time now = kT + absl::Minutes(10);
  // Pending 5m before the shutdown: 25m remain; they continue from now, so active_at moves by
  // the 10m downtime.
  auto r =
      RestoreAlerts({MakeAlert(AlertState::kPending, kT - absl::Minutes(5))}, hold, kT, now, o);
  ASSERT_THAT(r, SizeIs(1));
  EXPECT_EQ(r[0].active_at, kT + absl::Minutes(5));
  // Pending 25m: 5m remain (< grace): it gets the grace period from now: fires at now + 10m,
  // so active_at = now + 10m - 30m.
  r = RestoreAlerts({MakeAlert(AlertState::kPending, kT - absl::Minutes(25))}, hold, kT, now, o);
  EXPECT_EQ(r[0].active_at, now - absl::Minutes(20));
  // Pending 31m (due): unchanged, fires at the first evaluation.
  r = RestoreAlerts({MakeAlert(AlertState::kPending, kT - absl::Minutes(31))}, hold, kT, now, o);
  EXPECT_EQ(r[0].active_at, kT - absl::Minutes(31));
  // Down for more than the outage tolerance: the pending timer starts again (alert dropped).
  r = RestoreAlerts({MakeAlert(AlertState::kPending, kT - absl::Minutes(5))}, hold, kT,
                    kT + absl::Minutes(61), o);
  EXPECT_THAT(r, SizeIs(0));
  // `for` shorter than the grace period: restored with the downtime excluded (Prometheus
  // would restart it).
  r = RestoreAlerts({MakeAlert(AlertState::kPending, kT - absl::Seconds(30))}, absl::Minutes(1), kT,
                    kT + absl::Minutes(5), o);
  EXPECT_EQ(r[0].active_at, kT + absl::Minutes(4) + absl::Seconds(30));
  // Firing and resolved alerts come back unchanged, even after a long outage.
  Alert f = MakeAlert(AlertState::kFiring, kT - absl::Hours(3));
  f.fired_at = kT - absl::Hours(2);
  r = RestoreAlerts({f}, hold, kT, kT + absl::Hours(5), o);
  ASSERT_THAT(r, SizeIs(1));
  EXPECT_EQ(r[0].active_at, f.active_at);
  EXPECT_EQ(r[0].fired_at, f.fired_at);
}

// ---------------------------------------------------------------------------------------------
// A manager restarted over the same state directory.

class RestartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("ruleeval_state_test_", reinterpret_cast<uintptr_t>(this), "_",
                        ::testing::UnitTest::GetInstance()->random_seed());
    std::filesystem::create_directories(dir_);
    rules_ = (dir_ / "r.yml").string();
    std::ofstream(rules_) << "groups:\n  - name: g\n    interval: 10s\n    rules:\n"
                             "      - alert: Down\n        expr: down > 0\n        for: 1m\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A manager whose query `down > 0` answers one sample while `condition_` is true.
  std::unique_ptr<Manager> NewManager(FakeClock* clock) {
    ManagerOptions o;
    o.storage = &storage_;
    o.clock = clock;
    o.evaluation_interval = absl::Seconds(10);
    o.resend_delay = absl::Seconds(10);
    o.state_dir = (dir_ / "state").string();
    o.restore.grace_period = absl::Seconds(5);
    o.query = [this](const promql::Expr&, std::string_view, int64_t ts) {
      query::Vector v;
      if (condition_) v.push_back({tsdb::Labels{{"instance", "a"}}, ts, 1});
      return absl::StatusOr<query::Vector>(v);
    };
    o.notify = [this](std::string_view, const std::vector<Alert>& alerts) {
      for (const Alert& a : alerts) sent_.push_back(a);
    };
    auto m = std::make_unique<Manager>(std::move(o));
    EXPECT_TRUE(m->Update({rules_}).ok());
    return m;
  }
  // Ticks every second from clock's now for `d`.
  void Run(Manager& m, FakeClock& clock, absl::Duration d) {
    const absl::Time end = clock.Now() + d;
    while (clock.Now() < end) {
      clock.Advance(absl::Seconds(1));
      m.RunOnce(clock.Now());
    }
  }

  std::filesystem::path dir_;
  std::string rules_;
  tsdb::MemStorage storage_;
  std::atomic<bool> condition_{true};
  std::vector<Alert> sent_;
};

TEST_F(RestartTest, PendingTimerSurvivesARestart) {
  FakeClock clock(kT);
  auto m = NewManager(&clock);
  m->RunOnce(clock.Now());  // schedules
  Run(*m, clock, absl::Seconds(40));
  ASSERT_THAT(m->Alerts(), SizeIs(1));
  const Alert before = m->Alerts()[0];
  ASSERT_EQ(before.state, AlertState::kPending);
  m.reset();  // "crash": the state file was written after the last evaluation

  // 20 s later a new process starts. The alert was pending for (last evaluation - active_at)
  // seconds; one minute minus that remains, counted from the restart (the downtime does not
  // count), so it fires at the first evaluation at or after restart + remaining.
  const std::string state_path = (dir_ / "state" / "alerts.json").string();
  std::ifstream in(state_path);
  std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  absl::StatusOr<PersistedState> st = DecodeState(body);
  ASSERT_TRUE(st.ok()) << st.status();
  ASSERT_THAT(st->groups, SizeIs(1));
  const absl::Time down_at = st->groups[0].last_eval;
  EXPECT_GT(down_at, kT);

  clock.Advance(absl::Seconds(20));
  const absl::Time restart = clock.Now();
  auto m2 = NewManager(&clock);
  ASSERT_THAT(m2->Alerts(), SizeIs(1));
  const Alert restored = m2->Alerts()[0];
  EXPECT_EQ(restored.state, AlertState::kPending);
  EXPECT_EQ(restored.labels, before.labels);
  // The shift equals the downtime: restart - last evaluation before the crash.
  EXPECT_EQ(restored.active_at, before.active_at + (restart - down_at));

  m2->RunOnce(clock.Now());
  Run(*m2, clock, absl::Seconds(60));
  ASSERT_THAT(m2->Alerts(), SizeIs(1));
  const Alert fired = m2->Alerts()[0];
  ASSERT_EQ(fired.state, AlertState::kFiring);
  EXPECT_GE(fired.fired_at - restored.active_at, absl::Minutes(1));
  EXPECT_LT(fired.fired_at - restored.active_at, absl::Minutes(1) + absl::Seconds(10));
  // Not restarted: a fresh timer would have fired no earlier than restart + 1m.
  EXPECT_LT(fired.fired_at, restart + absl::Minutes(1));
}

TEST_F(RestartTest, FiringAlertIsResolvedAndSentAfterARestart) {
  FakeClock clock(kT);
  auto m = NewManager(&clock);
  m->RunOnce(clock.Now());
  Run(*m, clock, absl::Seconds(90));
  ASSERT_THAT(m->Alerts(), SizeIs(1));
  ASSERT_EQ(m->Alerts()[0].state, AlertState::kFiring);
  const absl::Time fired_at = m->Alerts()[0].fired_at;
  ASSERT_FALSE(sent_.empty());
  m.reset();

  // The condition clears while stakewatch is down; the restarted process still knows the alert
  // fired, resolves it at its first evaluation and sends the resolve.
  condition_ = false;
  clock.Advance(absl::Minutes(2));
  sent_.clear();
  auto m2 = NewManager(&clock);
  m2->RunOnce(clock.Now());
  Run(*m2, clock, absl::Seconds(15));
  ASSERT_THAT(sent_, SizeIs(1));
  EXPECT_EQ(sent_[0].state, AlertState::kInactive);
  EXPECT_EQ(sent_[0].fired_at, fired_at);
  EXPECT_NE(sent_[0].resolved_at, ZeroTime());
  EXPECT_THAT(m2->Alerts(), SizeIs(0));  // resolved: not active any more
}

TEST_F(RestartTest, UnreadableStateFileStartsEmpty) {
  std::filesystem::create_directories(dir_ / "state");
  std::ofstream((dir_ / "state" / "alerts.json").string()) << "{not json";
  FakeClock clock(kT);
  auto m = NewManager(&clock);  // logs the error, keeps going
  m->RunOnce(clock.Now());
  Run(*m, clock, absl::Seconds(20));
  EXPECT_THAT(m->Alerts(), SizeIs(1));
  // And the broken file has been replaced by a valid one.
  std::ifstream in((dir_ / "state" / "alerts.json").string());
  std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(DecodeState(body).ok());
}

}  // namespace
}  // namespace stakewatch::ruleeval
