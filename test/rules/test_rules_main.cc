// A minimal `stakewatch test rules` for the promtool comparison when the stakewatch binary is not
// built: `stakewatch_test_rules FILE...` runs unittest::TestRulesCommand.
#include <iostream>
#include <string>
#include <vector>

#include "unittest/test_rules.h"

int main(int argc, char** argv) {
  std::vector<std::string> files(argv + 1, argv + argc);
  return stakewatch::unittest::TestRulesCommand(files, std::cout, std::cerr);
}
