// PeriodicThread: runs a task on its own thread, once at start and then every `interval`, until
// Stop(). Each source of the signing path (slashing DB, Web3Signer, each validator client, each
// beacon node's info) gets its own, so one slow or hanging source never delays another or the
// epoch accounting. The task's own timeouts bound how long Stop() waits.
//
// Threads: Start/Stop from one controlling thread; the task runs on the worker thread.
#pragma once

#include <functional>
#include <thread>
#include <utility>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace stakewatch::app {

class PeriodicThread {
 public:
  PeriodicThread(absl::Duration interval, std::function<void()> task)
      : interval_(interval), task_(std::move(task)) {}
  ~PeriodicThread() { Stop(); }
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;

  void Start() {
    thread_ = std::thread([this] {
      do {
        task_();
      } while (!stop_.WaitForNotificationWithTimeout(interval_));
    });
  }
  // Idempotent; waits for the task in progress to return.
  void Stop() {
    if (!stop_.HasBeenNotified()) stop_.Notify();
    if (thread_.joinable()) thread_.join();
  }
  bool stopping() const { return stop_.HasBeenNotified(); }

 private:
  absl::Duration interval_;
  std::function<void()> task_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace stakewatch::app
