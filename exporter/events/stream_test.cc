#include "events/stream.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stakewatch::events {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ---- A loopback node serving /eth/v1/events ----

// What the server does on its n-th request (requests past the last script reuse the last).
struct Script {
  int status = 200;  // anything else: a JSON error body, no stream
  std::string content_type = "text/event-stream";
  std::vector<std::string> chunks;  // written one by one, each flushed as an HTTP chunk
  bool close_after = false;         // end the response after the chunks; else stay open, idle
};

class SseServer {
 public:
  explicit SseServer(std::vector<Script> scripts) : scripts_(std::move(scripts)) {
    server_.set_tcp_nodelay(true);
    // Idle streams whose client went away hold a worker until shutdown (an idle provider cannot
    // notice the peer closing); give tests plenty.
    server_.new_task_queue = [] { return new httplib::ThreadPool(32); };
    server_.Get(".*",
                [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) absl::SleepFor(absl::Milliseconds(1));
  }
  ~SseServer() {
    shutting_down_ = true;  // ends idle content providers
    server_.stop();
    thread_.join();
  }

  std::string url(std::string_view userinfo = "", std::string_view path = "") const {
    return absl::StrCat("http://", ToAbsl(userinfo), "127.0.0.1:", port_, ToAbsl(path));
  }
  int requests() {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(requests_.size());
  }
  httplib::Request request(int i) {
    absl::MutexLock lock(&mu_);
    return requests_.at(i);
  }

 private:
  static absl::string_view ToAbsl(std::string_view s) { return {s.data(), s.size()}; }

  void Handle(const httplib::Request& req, httplib::Response& res) {
    Script script;
    {
      absl::MutexLock lock(&mu_);
      script = scripts_[std::min(requests_.size(), scripts_.size() - 1)];
      requests_.push_back(req);
    }
    if (script.status != 200) {
      res.status = script.status;
      res.set_content(R"({"code":404,"message":"NOT_FOUND"})", "application/json");
      return;
    }
    res.set_chunked_content_provider(
        script.content_type,
        [this, script, next = size_t{0}](size_t, httplib::DataSink& sink) mutable {
          if (next < script.chunks.size()) {
            const std::string& c = script.chunks[next++];
            return sink.write(c.data(), c.size());
          }
          if (script.close_after) {
            sink.done();
            return true;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(5));  // idle, connection open
          return !shutting_down_.load() && sink.is_writable();
        });
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> shutting_down_{false};
  absl::Mutex mu_;
  const std::vector<Script> scripts_;
  std::vector<httplib::Request> requests_ ABSL_GUARDED_BY(mu_);
};

// ---- Callback recorder ----

struct Connection {
  bool connected;
  absl::StatusCode code;
  std::string message;
};

class Recorder {
 public:
  EventStream::EventCallback OnEvent() {
    return [this](const Event& e) {
      absl::MutexLock lock(&mu_);
      events_.push_back(e);
    };
  }
  EventStream::ConnectionCallback OnConnection() {
    return [this](bool connected, const absl::Status& why) {
      absl::MutexLock lock(&mu_);
      connections_.push_back({connected, why.code(), std::string(why.message())});
    };
  }
  // Waits (up to 10 s) until `n` events / connection changes were recorded.
  bool WaitEvents(size_t n) { return Wait(&events_, n); }
  bool WaitConnections(size_t n) { return Wait(&connections_, n); }

  std::vector<Event> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }
  std::vector<Connection> connections() {
    absl::MutexLock lock(&mu_);
    return connections_;
  }

 private:
  template <typename T>
  bool Wait(const std::vector<T>* v, size_t n) {
    absl::MutexLock lock(&mu_);
    const auto enough = [v, n]() { return v->size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
  }

  absl::Mutex mu_;
  std::vector<Event> events_ ABSL_GUARDED_BY(mu_);
  std::vector<Connection> connections_ ABSL_GUARDED_BY(mu_);
};

// Polls `pred` for up to 10 s.
template <typename Pred>
bool Eventually(Pred pred) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    if (pred()) return true;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return pred();
}

// Stop() must return; a hang aborts the test binary instead of blocking it forever.
void StopWithWatchdog(EventStream* stream) {
  auto done = std::async(std::launch::async, [stream] { stream->Stop(); });
  if (done.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    std::fprintf(stderr, "EventStream::Stop() did not return within 10 s\n");
    std::abort();
  }
}

EventStreamOptions FastOptions() {
  EventStreamOptions o;
  o.initial_backoff = absl::Milliseconds(10);
  o.max_backoff = absl::Milliseconds(40);
  return o;
}

std::unique_ptr<EventStream> StartOrDie(const std::string& url, const EventStreamOptions& options,
                                        Recorder* rec) {
  absl::StatusOr<std::unique_ptr<EventStream>> s =
      EventStream::Start(url, options, rec->OnEvent(), rec->OnConnection());
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

constexpr char kRootHex[] = "0x1111111111111111111111111111111111111111111111111111111111111111";

std::string HeadData(int slot) {
  return absl::StrCat(R"({"slot":")", slot, R"(","block":")", kRootHex, R"(","state":")", kRootHex,
                      R"(","epoch_transition":false,"previous_duty_dependent_root":")", kRootHex,
                      R"(","current_duty_dependent_root":")", kRootHex,
                      R"(","execution_optimistic":false})");
}
std::string Sse(std::string_view type, std::string_view data) {
  return absl::StrCat("event: ", absl::string_view(type.data(), type.size()),
                      "\ndata: ", absl::string_view(data.data(), data.size()), "\n\n");
}
beacon::Slot SlotOf(const Event& e) { return std::get<HeadEvent>(e).slot; }

// ---- Tests ----

TEST(BackoffTest, DoublesToCapAndResets) {
  Backoff b(absl::Milliseconds(200), absl::Seconds(30));
  std::vector<int64_t> ms;
  for (int i = 0; i < 10; ++i) ms.push_back(absl::ToInt64Milliseconds(b.Next()));
  // 200 * 2^k until it passes 30 s.
  EXPECT_THAT(ms, ElementsAre(200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000));
  b.Reset();
  EXPECT_EQ(b.Next(), absl::Milliseconds(200));
}

TEST(EventStreamTest, RejectsBadUrlAndOptions) {
  EXPECT_EQ(EventStream::Start("ftp://x", {}, nullptr, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  EventStreamOptions o;
  o.max_backoff = absl::Milliseconds(1);
  EXPECT_EQ(EventStream::Start("http://127.0.0.1:1", o, nullptr, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  o = {};
  o.idle_timeout = absl::ZeroDuration();
  EXPECT_EQ(EventStream::Start("http://127.0.0.1:1", o, nullptr, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(EventStreamTest, DeliversEventsInOrderAndCounts) {
  const std::string block =
      absl::StrCat(R"({"slot":"11","block":")", kRootHex, R"(","execution_optimistic":true})");
  const std::string reorg = absl::StrCat(
      R"({"slot":"12","depth":"2","old_head_block":")", kRootHex, R"(","new_head_block":")",
      kRootHex, R"(","old_head_state":")", kRootHex, R"(","new_head_state":")", kRootHex,
      R"(","epoch":"0","execution_optimistic":false})");
  const std::string finalized = absl::StrCat(R"({"block":")", kRootHex, R"(","state":")", kRootHex,
                                             R"(","epoch":"3","execution_optimistic":false})");
  const std::string all = absl::StrCat(
      ": hello\n\n", Sse("head", HeadData(10)), Sse("block", block),
      Sse("attestation", R"({"whatever":1})"),  // topic not followed: skipped
      Sse("head", R"({"slot":12})"),            // malformed: counted, skipped
      Sse("chain_reorg", reorg), ": keep-alive\r\n\r\n", Sse("finalized_checkpoint", finalized));
  // Cut the body into uneven chunks, splitting lines and events.
  std::vector<std::string> chunks;
  for (size_t at = 0, n = 7; at < all.size(); at += n, n = n * 3 % 101 + 1) {
    chunks.push_back(all.substr(at, n));
  }
  SseServer server({Script{.chunks = chunks}});
  Recorder rec;
  auto stream = StartOrDie(server.url(), FastOptions(), &rec);
  ASSERT_NE(stream, nullptr);
  ASSERT_TRUE(rec.WaitEvents(4));

  const std::vector<Event> events = rec.events();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(SlotOf(events[0]), 10u);
  ASSERT_TRUE(std::holds_alternative<BlockEvent>(events[1]));
  EXPECT_EQ(std::get<BlockEvent>(events[1]).slot, 11u);
  EXPECT_TRUE(std::get<BlockEvent>(events[1]).execution_optimistic);
  ASSERT_TRUE(std::holds_alternative<ChainReorgEvent>(events[2]));
  EXPECT_EQ(std::get<ChainReorgEvent>(events[2]).depth, 2u);
  ASSERT_TRUE(std::holds_alternative<FinalizedCheckpointEvent>(events[3]));
  EXPECT_EQ(std::get<FinalizedCheckpointEvent>(events[3]).epoch, 3u);

  const EventStreamStats stats = stream->stats();
  EXPECT_TRUE(stats.connected);
  EXPECT_EQ(stats.connects, 1u);
  EXPECT_EQ(stats.disconnects, 0u);
  EXPECT_THAT(stats.events, ElementsAre(1u, 1u, 1u, 1u));
  EXPECT_EQ(stats.skipped_events, 1u);
  EXPECT_EQ(stats.decode_errors, 1u);
  EXPECT_THAT(rec.connections(), ElementsAre(::testing::Field(&Connection::connected, true)));

  const httplib::Request req = server.request(0);
  EXPECT_EQ(req.path, "/eth/v1/events");
  EXPECT_EQ(req.get_param_value("topics"), "head,block,chain_reorg,finalized_checkpoint");
  EXPECT_EQ(req.get_header_value("Accept"), "text/event-stream");
  EXPECT_FALSE(req.has_header("Authorization"));

  StopWithWatchdog(stream.get());
  EXPECT_FALSE(stream->stats().connected);
  EXPECT_EQ(stream->stats().disconnects, 1u);
  const std::vector<Connection> conns = rec.connections();
  ASSERT_EQ(conns.size(), 2u);
  EXPECT_FALSE(conns[1].connected);
  EXPECT_EQ(conns[1].code, absl::StatusCode::kCancelled);
}

TEST(EventStreamTest, SendsBasicAuthAndBasePath) {
  SseServer server({Script{.chunks = {Sse("head", HeadData(1))}}});
  Recorder rec;
  // base64("user:s3cret") = "dXNlcjpzM2NyZXQ=" (worked out by hand: "use" -> dXNl,
  // "r:s" -> cjpz, "3cr" -> M2Ny, "et" -> ZXQ=).
  auto stream = StartOrDie(server.url("user:s3cret@", "/prefix/"), FastOptions(), &rec);
  ASSERT_NE(stream, nullptr);
  ASSERT_TRUE(rec.WaitEvents(1));
  const httplib::Request req = server.request(0);
  EXPECT_EQ(req.get_header_value("Authorization"), "Basic dXNlcjpzM2NyZXQ=");
  EXPECT_EQ(req.path, "/prefix/eth/v1/events");
  EXPECT_THAT(stream->redacted_url(), ::testing::Not(HasSubstr("s3cret")));
  StopWithWatchdog(stream.get());
}

TEST(EventStreamTest, ReconnectsAfterServerCloses) {
  SseServer server({
      Script{.chunks = {Sse("head", HeadData(1))}, .close_after = true},
      Script{.chunks = {Sse("head", HeadData(2))}},
  });
  Recorder rec;
  auto stream = StartOrDie(server.url(), FastOptions(), &rec);
  ASSERT_NE(stream, nullptr);
  ASSERT_TRUE(rec.WaitEvents(2));
  ASSERT_TRUE(rec.WaitConnections(3));

  const std::vector<Event> events = rec.events();
  EXPECT_EQ(SlotOf(events[0]), 1u);
  EXPECT_EQ(SlotOf(events[1]), 2u);
  const std::vector<Connection> conns = rec.connections();
  EXPECT_TRUE(conns[0].connected);
  EXPECT_FALSE(conns[1].connected);
  EXPECT_EQ(conns[1].code, absl::StatusCode::kUnavailable);
  EXPECT_THAT(conns[1].message, HasSubstr("ended by the server"));
  EXPECT_TRUE(conns[2].connected);
  const EventStreamStats stats = stream->stats();
  EXPECT_EQ(stats.connects, 2u);
  EXPECT_EQ(stats.disconnects, 1u);
  EXPECT_EQ(stats.failed_attempts, 0u);
  EXPECT_EQ(server.requests(), 2);
  StopWithWatchdog(stream.get());
}

TEST(EventStreamTest, HttpErrorIsReportedAndRetried) {
  SseServer server({
      Script{.status = 404},
      Script{.status = 404},
      Script{.chunks = {Sse("head", HeadData(7))}},
  });
  Recorder rec;
  auto stream = StartOrDie(server.url(), FastOptions(), &rec);
  ASSERT_NE(stream, nullptr);
  ASSERT_TRUE(rec.WaitEvents(1));
  EXPECT_EQ(SlotOf(rec.events()[0]), 7u);
  const std::vector<Connection> conns = rec.connections();
  ASSERT_EQ(conns.size(), 3u);
  for (int i : {0, 1}) {
    EXPECT_FALSE(conns[i].connected);
    EXPECT_EQ(conns[i].code, absl::StatusCode::kUnimplemented);
    EXPECT_THAT(conns[i].message, HasSubstr("HTTP 404"));
  }
  EXPECT_TRUE(conns[2].connected);
  const EventStreamStats stats = stream->stats();
  EXPECT_EQ(stats.failed_attempts, 2u);
  EXPECT_EQ(stats.connects, 1u);
  StopWithWatchdog(stream.get());
}

TEST(EventStreamTest, WrongContentTypeIsAnError) {
  SseServer server({Script{.content_type = "text/html", .chunks = {"<html>"}}});
  Recorder rec;
  auto stream = StartOrDie(server.url(), FastOptions(), &rec);
  ASSERT_NE(stream, nullptr);
  ASSERT_TRUE(rec.WaitConnections(1));
  EXPECT_FALSE(rec.connections()[0].connected);
  EXPECT_EQ(rec.connections()[0].code, absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(stream->stats().connects, 0u);
  StopWithWatchdog(stream.get());
}

TEST(EventStreamTest, BackoffWaitsOnTheInjectedClock) {
  SseServer server({Script{.status = 404}});
  FakeClock clock;
  EventStreamOptions options;
  options.clock = &clock;
  options.initial_backoff = absl::Seconds(1);
  options.max_backoff = absl::Seconds(2);
  Recorder rec;
  auto stream = StartOrDie(server.url(), options, &rec);
  ASSERT_NE(stream, nullptr);
  const auto failed = [&] { return stream->stats().failed_attempts; };

  ASSERT_TRUE(Eventually([&] { return failed() == 1; }));
  absl::SleepFor(absl::Milliseconds(100));  // real time passes, fake time does not
  EXPECT_EQ(server.requests(), 1);
  clock.Advance(absl::Milliseconds(999));
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(server.requests(), 1);
  clock.Advance(absl::Milliseconds(1));  // the 1 s wait is over
  ASSERT_TRUE(Eventually([&] { return failed() == 2; }));
  EXPECT_EQ(server.requests(), 2);

  clock.Advance(absl::Milliseconds(1999));  // the second wait is 2 s
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(server.requests(), 2);
  clock.Advance(absl::Milliseconds(1));
  ASSERT_TRUE(Eventually([&] { return failed() == 3; }));

  clock.Advance(absl::Milliseconds(1999));  // capped at max_backoff = 2 s
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(server.requests(), 3);
  clock.Advance(absl::Milliseconds(1));
  ASSERT_TRUE(Eventually([&] { return failed() == 4; }));

  StopWithWatchdog(stream.get());  // in the middle of a (fake) 2 s wait
}

TEST(EventStreamTest, SilentStreamIsDroppedAfterIdleTimeout) {
  SseServer server({Script{.chunks = {Sse("head", HeadData(1))}}});
  EventStreamOptions options = FastOptions();
  options.idle_timeout = absl::Milliseconds(300);
  Recorder rec;
  auto stream = StartOrDie(server.url(), options, &rec);
  ASSERT_NE(stream, nullptr);
  ASSERT_TRUE(rec.WaitConnections(3));  // connected, timed out, reconnected
  const std::vector<Connection> conns = rec.connections();
  EXPECT_TRUE(conns[0].connected);
  EXPECT_FALSE(conns[1].connected);
  EXPECT_EQ(conns[1].code, absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(conns[1].message, HasSubstr("idle timeout"));
  EXPECT_TRUE(conns[2].connected);
  StopWithWatchdog(stream.get());
}

TEST(EventStreamTest, OverlongLineDropsTheStreamThenRecovers) {
  SseServer server({
      Script{.chunks = {std::string(600, 'x'), std::string(600, 'x')}},
      Script{.chunks = {Sse("head", HeadData(5))}},  // its data line is about 400 bytes
  });
  EventStreamOptions options = FastOptions();
  options.max_line_bytes = 1000;
  Recorder rec;
  auto stream = StartOrDie(server.url(), options, &rec);
  ASSERT_NE(stream, nullptr);
  ASSERT_TRUE(rec.WaitEvents(1));
  EXPECT_EQ(SlotOf(rec.events()[0]), 5u);
  const std::vector<Connection> conns = rec.connections();
  ASSERT_GE(conns.size(), 3u);
  EXPECT_EQ(conns[1].code, absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(stream->stats().stream_errors, 1u);
  StopWithWatchdog(stream.get());
}

TEST(EventStreamTest, StopWhileConnectedAndIdleReturns) {
  SseServer server({Script{.chunks = {Sse("head", HeadData(1))}}});
  EventStreamOptions options;  // default 60 s idle timeout: only Stop() can end the read
  Recorder rec;
  auto stream = StartOrDie(server.url(), options, &rec);
  ASSERT_NE(stream, nullptr);
  ASSERT_TRUE(rec.WaitEvents(1));
  StopWithWatchdog(stream.get());
  StopWithWatchdog(stream.get());  // idempotent
  EXPECT_EQ(stream->stats().disconnects, 1u);
}

TEST(EventStreamTest, StopWhileRefusedAndBackingOffReturns) {
  int port = 0;
  {
    SseServer gone({Script{}});  // a port that was just free, now closed
    port = static_cast<int>(std::stoi(gone.url().substr(gone.url().rfind(':') + 1)));
  }
  EventStreamOptions options;
  options.initial_backoff = absl::Seconds(30);
  options.max_backoff = absl::Seconds(30);
  Recorder rec;
  auto stream = StartOrDie(absl::StrCat("http://127.0.0.1:", port), options, &rec);
  ASSERT_NE(stream, nullptr);
  ASSERT_TRUE(rec.WaitConnections(1));
  EXPECT_EQ(rec.connections()[0].code, absl::StatusCode::kUnavailable);
  StopWithWatchdog(stream.get());
  EXPECT_EQ(stream->stats().connects, 0u);
}

}  // namespace
}  // namespace stakewatch::events
