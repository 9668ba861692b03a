// docs/metrics.md must list exactly the metric families stakewatch registers.
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "app/daemon.h"
#include "gtest/gtest.h"
#include "re2/re2.h"

namespace stakewatch::app {
namespace {

std::set<std::string> DocumentedMetrics() {
  std::ifstream f(STAKEWATCH_SOURCE_DIR "/docs/metrics.md");
  std::stringstream ss;
  ss << f.rdbuf();
  std::set<std::string> names;
  std::istringstream lines(ss.str());
  std::string line;
  static const re2::RE2 row(R"(^\| `([a-zA-Z_:][a-zA-Z0-9_:]*)` \|)");
  while (std::getline(lines, line)) {
    std::string name;
    if (re2::RE2::PartialMatch(line, row, &name)) names.insert(name);
  }
  return names;
}

TEST(MetricsDocTest, DocsListEveryRegisteredFamilyAndNothingElse) {
  DaemonOptions options;
  options.config.beacon.nodes = {"http://127.0.0.1:1"};
  options.config.validators.per_validator_metrics = true;
  config::ValidatorGroup group;
  group.name = "g";
  group.indices = {1, 2, 3};
  options.config.validators.groups.push_back(group);
  // Every optional source configured, so that their families are registered too.
  setenv("SW_METRICS_DOC_TEST_DSN", "host=127.0.0.1 port=1 dbname=none", 1);
  options.config.slashing_db.emplace();
  options.config.slashing_db->dsn_env = "SW_METRICS_DOC_TEST_DSN";
  options.config.web3signer.emplace();
  options.config.web3signer->url = "http://127.0.0.1:1";
  options.config.validator_clients.push_back({"vc", "http://127.0.0.1:1/metrics"});
  // A web configuration (basic auth only) for the web families.
  const std::string web = ::testing::TempDir() + "/metrics_doc_web.yml";
  std::ofstream(web) << "basic_auth_users:\n  a: "
                        "'$2y$10$kuM61h9j3MN35IH.c5V2A.jUaLHviPyEVYRsOdHKJowT9BpnRnBg.'\n";
  options.web_config_file = web;
  auto daemon = Daemon::Create(std::move(options));
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  std::vector<std::string> registered = (*daemon)->store().FamilyNames();
  const std::set<std::string> exposed(registered.begin(), registered.end());
  const std::set<std::string> documented = DocumentedMetrics();
  ASSERT_FALSE(documented.empty()) << "could not read docs/metrics.md";
  for (const std::string& name : exposed) {
    EXPECT_TRUE(documented.count(name)) << name << " is exposed but not in docs/metrics.md";
  }
  for (const std::string& name : documented) {
    EXPECT_TRUE(exposed.count(name)) << name << " is in docs/metrics.md but not exposed";
  }
}

}  // namespace
}  // namespace stakewatch::app
