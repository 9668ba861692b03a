// Clock: the injectable source of time for everything in stakewatch.
//
// Production code takes a `Clock&` (never calls absl::Now() directly) so that tests can drive
// time with FakeClock. Both implementations are thread-safe.
#pragma once

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace stakewatch {

class Clock {
 public:
  virtual ~Clock() = default;
  // Current wall-clock time.
  virtual absl::Time Now() = 0;
  // Blocks the calling thread for `d` of this clock's time (FakeClock: until advanced past it).
  virtual void SleepFor(absl::Duration d) = 0;
  // The process-wide real clock. Never null; lives for the whole program.
  static Clock* Real();
};

// Wall-clock time from absl::Now().
class SystemClock final : public Clock {
 public:
  absl::Time Now() override { return absl::Now(); }
  void SleepFor(absl::Duration d) override { absl::SleepFor(d); }
};

// A clock that moves only when told to. SleepFor blocks until another thread advances the
// clock past the deadline.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1700000000)) : now_(start) {}
  absl::Time Now() override;
  void SleepFor(absl::Duration d) override;
  void Advance(absl::Duration d);
  void SetTime(absl::Time t);

 private:
  absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace stakewatch
