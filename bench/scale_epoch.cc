// Scale harness: one epoch's complete accounting at mainnet size, timed stage by stage.
//
//   build/release/bench/scale_epoch [--validators=1100000] [--epochs=3]
//
// A simulated chain of N validators (all monitored, in two groups, mainnet-sized committees) is
// served over loopback HTTP by sim::SimServer. For each measured epoch the harness first fetches
// every response once untimed (so that the simulator's own generation and caching is not counted),
// then times stakewatch's complete path with a cold block cache, as the daemon runs it when it
// counts a finalized epoch:
//   process: EpochProcessor::ProcessInto (committees, duties and 64 blocks over loopback, decode,
//            account attestations and proposals);
//   enrich:  EpochEnricher::Enrich (validator_balances of every validator at E's last slot, the
//            rotating 1/32 slice of full validator records, attestation rewards of every
//            validator, sync committee, sync rewards of 32 blocks, block rewards);
//   record:  ValidatorMetrics::RecordEpoch + RecordReport (update the store);
// then a render of /metrics. The enrich stage is warmed up untimed too (a copy of the enricher,
// in the same state, makes the same requests once; the server keeps answers of 1 MB or more), so
// the simulator's own generation is not counted. node_ms is what remains of the simulator's time
// inside the timed stages (small answers, cache look-ups). total_ms = process + enrich + record,
// wall time, stakewatch's fetch over loopback, decode, accounting and store update. Next to it,
// the plain simdjson on-demand parse time of the process-stage bytes. Before the measured epochs,
// the daemon's one-time start-up read of every validator's full record and previous balance
// (EpochEnricher::Prime) is timed separately ("startup"). Prints peak RSS at the end.
#include <sys/resource.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "app/epoch_processor.h"
#include "app/epoch_report.h"
#include "app/flags.h"
#include "app/validator_metrics.h"
#include "beacon/client.h"
#include "exposition/series_store.h"
#include "httplib.h"
#include "sim/options.h"
#include "sim/server.h"
#include "sim/simulator.h"
#include "simdjson.h"

namespace stakewatch {
namespace {

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

// Walks every value of a document with simdjson on-demand (the plain parse baseline).
size_t CountValues(simdjson::ondemand::value v) {
  size_t n = 1;
  switch (v.type()) {
    case simdjson::ondemand::json_type::object:
      for (auto field : v.get_object()) n += CountValues(field.value());
      break;
    case simdjson::ondemand::json_type::array:
      for (auto item : v.get_array()) n += CountValues(item.value());
      break;
    default:
      break;
  }
  return n;
}

int Run(const std::vector<std::string>& args) {
  app::FlagSet flags("scale_epoch");
  uint64_t validators = 1100000;
  uint64_t epochs = 3;
  flags.Uint("validators", &validators, "Validators on the simulated chain (all monitored).");
  flags.Uint("epochs", &epochs, "Epochs to measure.");
  if (absl::Status s = flags.Parse(args); !s.ok() || flags.help_requested()) {
    std::fprintf(stderr, "%s\n%s", std::string(s.message()).c_str(), flags.Usage().c_str());
    return 2;
  }

  // Genesis far enough back that the measured epochs are complete.
  const int64_t genesis = absl::ToUnixSeconds(absl::Now()) - 12 * 32 * 20;
  auto options =
      sim::ParseSimFlags({absl::StrCat("--validators=", validators), "--slot-time=12", "--seed=7",
                          absl::StrCat("--genesis-time=", genesis), "--missed-slot-rate=0.02",
                          "--missed-attestation-rate=0.01", "--late-attestation-rate=0.05",
                          "--wrong-head-rate=0.01", "--duplicate-inclusion-rate=0.05"});
  if (!options.ok())
    return std::fprintf(stderr, "%s\n", std::string(options.status().message()).c_str()), 1;
  auto chain = sim::ChainSimulator::Create(*options, Clock::Real());
  if (!chain.ok()) return 1;
  sim::SimServer server(chain->get(), "127.0.0.1", 0);
  server.CacheLargeResponses(true);  // the warm-up's answers are served again, not rebuilt
  if (!server.Start().ok()) return 1;
  const std::string url = absl::StrCat("http://127.0.0.1:", server.port());

  auto client = beacon::FailoverBeaconClient::FromUrls({{"sim", url}}, {}, Clock::Real());
  if (!client.ok()) return 1;
  exposition::SeriesStore store;
  std::vector<std::pair<uint64_t, int32_t>> members;
  accounting::MonitoredSet monitored;
  for (uint64_t v = 0; v < validators; ++v) {
    const int32_t group = v < validators / 2 ? 0 : 1;
    monitored.Add(v, group);
    members.emplace_back(v, group);
  }
  auto metrics = app::ValidatorMetrics::Create(&store, {{"a", {}}, {"b", {}}}, members, {});
  if (!metrics.ok()) return 1;

  httplib::Client raw("127.0.0.1", server.port());
  raw.set_read_timeout(60, 0);
  simdjson::ondemand::parser parser;
  const uint64_t first = (*chain)->CurrentEpoch() - 2 - epochs;
  std::printf("validators=%llu committees_per_slot=%llu\n",
              static_cast<unsigned long long>(validators),
              static_cast<unsigned long long>((*chain)->committees_per_slot()));
  std::vector<uint64_t> monitored_list;
  for (uint64_t v = 0; v < validators; ++v) monitored_list.push_back(v);
  auto spec = (*client)->GetSpec();
  if (!spec.ok()) return 1;
  app::EpochEnricher enricher(client->get(), *spec, {std::nullopt, std::nullopt});
  {
    const absl::Time t0 = absl::Now();
    absl::Status s = enricher.Prime(first, monitored_list);
    if (!s.ok()) {
      std::fprintf(stderr, "startup: %s\n", std::string(s.message()).c_str());
      return 1;
    }
    std::printf(
        "startup_ms=%.1f (EpochEnricher::Prime: every record and balance, once per start)\n",
        Ms(absl::Now() - t0));
  }
  std::printf("%8s %12s %12s %12s %12s %12s %12s %14s %12s\n", "epoch", "bytes", "process_ms",
              "enrich_ms", "record_ms", "render_ms", "node_ms", "simdjson_ms", "total_ms");
  accounting::EpochResult result;
  app::EpochReport report;
  for (uint64_t e = first; e < first + epochs; ++e) {
    // Untimed warm-up: the simulator builds and caches every response for this epoch.
    std::vector<std::string> bodies;
    std::vector<std::string> paths = {
        absl::StrCat("/eth/v1/beacon/states/", e * 32, "/committees?epoch=", e),
        absl::StrCat("/eth/v1/validator/duties/proposer/", e)};
    for (uint64_t s = e * 32; s < (e + 2) * 32; ++s) {
      paths.push_back(absl::StrCat("/eth/v2/beacon/blocks/", s));
    }
    size_t bytes = 0;
    for (const std::string& p : paths) {
      auto r = raw.Get(p.c_str());
      if (r && r->status == 200) {
        bytes += r->body.size();
        bodies.push_back(r->body);
      }
    }
    // Baseline: simdjson walks the same bytes.
    absl::Time t0 = absl::Now();
    size_t values = 0;
    for (const std::string& b : bodies) {
      simdjson::padded_string padded(b);
      simdjson::ondemand::document doc;
      if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) continue;
      simdjson::ondemand::value root;
      if (doc.get_value().get(root) == simdjson::SUCCESS) values += CountValues(root);
    }
    const absl::Duration simdjson_time = absl::Now() - t0;

    // Untimed warm-up of the enrich stage: a copy of the enricher (same state, so the same
    // requests) runs it once, so that the simulator's answers are built and cached.
    server.ClearResponseCache();  // only this epoch's answers are kept
    {
      app::EpochProcessor warm_processor(client->get(), 32);
      accounting::EpochResult warm_result;
      app::EpochReport warm_report;
      app::EpochEnricher warm = enricher;
      if (!warm_processor.ProcessInto(e, monitored, &warm_result).ok() ||
          !warm.Enrich(e, monitored, monitored_list, &warm_processor, warm_result, &warm_report)
               .ok()) {
        std::fprintf(stderr, "epoch %llu: warm-up failed\n", static_cast<unsigned long long>(e));
        return 1;
      }
    }
    // stakewatch, cold block cache, as the daemon runs it.
    // (A fresh processor per epoch: a cold block cache; the result storage is reused across
    // epochs, as the daemon reuses it.)
    app::EpochProcessor processor(client->get(), 32);
    const absl::Duration busy_before = server.busy_time();
    t0 = absl::Now();
    absl::Status status = processor.ProcessInto(e, monitored, &result);
    const absl::Duration process_time = absl::Now() - t0;
    if (!status.ok()) {
      std::fprintf(stderr, "epoch %llu: %s\n", static_cast<unsigned long long>(e),
                   std::string(status.message()).c_str());
      return 1;
    }
    t0 = absl::Now();
    status = enricher.Enrich(e, monitored, monitored_list, &processor, result, &report);
    const absl::Duration enrich_time = absl::Now() - t0;
    const absl::Duration node_time = server.busy_time() - busy_before;
    if (!status.ok()) {
      std::fprintf(stderr, "epoch %llu enrich: %s\n", static_cast<unsigned long long>(e),
                   std::string(status.message()).c_str());
      return 1;
    }
    if (!report.missing.empty()) {
      std::fprintf(stderr, "epoch %llu: missing sources\n", static_cast<unsigned long long>(e));
      return 1;
    }
    t0 = absl::Now();
    (*metrics)->RecordEpoch(result);
    (*metrics)->RecordReport(result, report, enricher.states(), monitored, monitored_list);
    const absl::Duration record_time = absl::Now() - t0;
    t0 = absl::Now();
    std::string body;
    store.Render(exposition::Format::kText004, &body);
    const absl::Duration render_time = absl::Now() - t0;
    std::printf("%8llu %12zu %12.1f %12.1f %12.1f %12.1f %12.1f %14.1f %12.1f\n",
                static_cast<unsigned long long>(e), bytes, Ms(process_time), Ms(enrich_time),
                Ms(record_time), Ms(render_time), Ms(node_time), Ms(simdjson_time),
                Ms(process_time + enrich_time + record_time));
    (void)values;
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("peak_rss_mb=%.1f (harness, simulator and stakewatch in one process)\n",
              static_cast<double>(usage.ru_maxrss) / 1024.0);
  server.Stop();
  return 0;
}

}  // namespace
}  // namespace stakewatch

int main(int argc, char** argv) {
  return stakewatch::Run(std::vector<std::string>(argv + 1, argv + argc));
}
