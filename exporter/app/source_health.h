// SourceHealth: the same three health series for every source stakewatch reads, so that one
// alert rule covers them all:
//
//   stakewatch_source_up{source, target}                              1 or 0
//   stakewatch_source_last_success_timestamp_seconds{source, target}  Unix time of the last success
//   stakewatch_source_errors_total{source, target, reason}           failures by reason
//
// `source` is one of kBeaconNode, kValidatorClient, kWeb3Signer, kSlashingDb, kScrape; `target`
// names the instance (a redacted URL, a configured name, or job/instance for scrape targets).
// Every failure is also logged, once per change of (state, reason), so a source that stays down
// does not flood the log; the error counter counts every failure.
//
// Threads: all methods are thread-safe (each source's poller calls from its own thread).
// Ownership: the store and clock are borrowed and outlive this object.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "exposition/series_store.h"

namespace stakewatch::app {

inline constexpr std::string_view kSourceBeaconNode = "beacon_node";
inline constexpr std::string_view kSourceValidatorClient = "validator_client";
inline constexpr std::string_view kSourceWeb3Signer = "web3signer";
inline constexpr std::string_view kSourceSlashingDb = "slashing_db";
inline constexpr std::string_view kSourceScrape = "scrape";

class SourceHealth {
 public:
  static absl::StatusOr<std::unique_ptr<SourceHealth>> Create(exposition::SeriesStore* store,
                                                              Clock* clock);

  // Creates the series of a source (up = 0 until its first success).
  void Register(std::string_view source, std::string_view target);
  void Success(std::string_view source, std::string_view target);
  // `reason` is a short label value ("timeout", "connect", "decode", ...); `message` goes to the
  // log only and must not hold secrets.
  void Failure(std::string_view source, std::string_view target, std::string_view reason,
               std::string_view message);
  // Current up value (for tests and the landing page); false for an unknown source.
  bool IsUp(std::string_view source, std::string_view target) const;

  // Every registered source, sorted by (source, target), for the status page.
  struct Entry {
    std::string source, target;
    bool up = false;
    bool known = false;
    std::string last_error;  // "reason: message" of the current failure; empty when up
    absl::Time last_success = absl::InfinitePast();
  };
  std::vector<Entry> List() const;

 private:
  SourceHealth(Clock* clock) : clock_(clock) {}
  Clock* clock_;
  exposition::Family* up_ = nullptr;
  exposition::Family* last_success_ = nullptr;
  exposition::Family* errors_ = nullptr;
  struct State {
    bool up = false;
    bool known = false;  // had a success or a failure
    std::string last_reason;
    std::string last_message;
    absl::Time last_success = absl::InfinitePast();
  };
  mutable absl::Mutex mu_;
  std::map<std::pair<std::string, std::string>, State> states_ ABSL_GUARDED_BY(mu_);
};

}  // namespace stakewatch::app
