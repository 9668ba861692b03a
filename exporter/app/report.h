// `stakewatch report`: one-shot accounting of an epoch range against a beacon node, from the
// same code as the daemon (app::EpochProcessor, accounting::*).
//
//   stakewatch report --beacon-node=URL [--beacon-node=URL2] --validators=SPEC
//                     --epochs=FROM[:TO] [--format=table|json|csv] [--config.file=FILE]
//
// For each epoch E in [FROM, TO] and each requested validator (ascending index) it emits one
// record:
//   * attestation: the duty of E as accounted by accounting::AccountEpoch (null without a duty);
//     reward_gwei / ideal_reward_gwei from POST /eth/v1/beacon/rewards/attestations/E, the ideal
//     row chosen by the effective balance at E's first slot (null when the node cannot serve
//     rewards or validators);
//   * status and balance_gwei: from the validators endpoint at E's last slot (null when the node
//     does not serve it: 404/405 on POST and GET);
//   * proposals: the proposer duties of E and their outcome (proposed/missed);
//   * sync_committee: the validator's sync-committee votes for the slots of E, read from the
//     sync aggregates of slots E.first+1 .. E.last+1 (null when the validator is not in the
//     committee, or the node serves no sync committee: 404/405/400).
// JSON Lines (one object per record), CSV (header row, nested fields flattened, empty for null)
// or an aligned table with a summary line per epoch.
//
// Before fetching, the node's head must be in epoch E+2 or later for every requested E, else the
// report fails with "epoch E is not complete yet (head slot S)". Any other fetch error fails the
// report with the endpoint and the node's error.
//
// Threads: RunReport is synchronous and uses only the calling thread (and the client).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "beacon/client.h"
#include "beacon/types.h"

namespace stakewatch::app {

enum class ReportFormat { kTable, kJson, kCsv };

// Parses "table", "json" or "csv".
absl::StatusOr<ReportFormat> ParseReportFormat(std::string_view text);

// A named set of validators; pubkeys are resolved to indices through the validators endpoint.
struct ReportGroup {
  std::string name;
  std::vector<uint64_t> indices;
  std::vector<std::string> pubkeys;  // 0x + 96 hex digits
};

struct ReportRequest {
  // A validator listed in two groups is reported in the first.
  std::vector<ReportGroup> groups;
  beacon::Epoch from_epoch = 0;
  beacon::Epoch to_epoch = 0;  // inclusive; >= from_epoch
  ReportFormat format = ReportFormat::kTable;
};

// Parses "FROM" or "FROM:TO" (TO >= FROM; at most kMaxReportEpochs epochs).
absl::Status ParseEpochRange(std::string_view text, beacon::Epoch* from, beacon::Epoch* to);
inline constexpr uint64_t kMaxReportEpochs = 10000;

// Runs the report against `client` (borrowed) and writes it to `out`. On error, what was already
// written may be incomplete; the status says which epoch and endpoint failed.
absl::Status RunReport(beacon::BeaconClient* client, const ReportRequest& request,
                       std::ostream& out);

// `stakewatch report ARGS`: parses flags, builds the client, runs the report to stdout. Returns
// the exit code (0 ok, 1 failure, 2 bad flags); errors go to stderr.
int ReportCommand(const std::vector<std::string>& args);

}  // namespace stakewatch::app
