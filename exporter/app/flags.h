// FlagSet: command-line flags in the style of Prometheus exporters (kingpin):
// `--name=value` or `--name value`; booleans as `--name`, `--no-name` or `--name=true|false`;
// repeatable flags collect every occurrence. Unknown flags, missing values, bad numbers and
// positional arguments are errors naming the flag.
//
//   FlagSet flags("stakewatch run");
//   std::string config_file;
//   flags.String("config.file", &config_file, "Path to the configuration file.");
//   RETURN_IF_ERROR(flags.Parse(args));
//
// Owns nothing but the flag descriptions; targets are borrowed and must outlive Parse().
// Thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace stakewatch::app {

class FlagSet {
 public:
  explicit FlagSet(std::string command) : command_(std::move(command)) {}

  void String(std::string name, std::string* target, std::string help);
  void StringList(std::string name, std::vector<std::string>* target, std::string help);
  void Int(std::string name, int64_t* target, std::string help);
  void Uint(std::string name, uint64_t* target, std::string help);
  void Double(std::string name, double* target, std::string help);
  void Bool(std::string name, bool* target, std::string help);

  // Parses `args` (without the program and subcommand names). `--help` sets help_requested().
  absl::Status Parse(const std::vector<std::string>& args);
  bool help_requested() const { return help_requested_; }
  // One line per flag with its help text and current (default) value.
  std::string Usage() const;

 private:
  struct Flag {
    std::string name;
    std::string help;
    bool is_bool = false;
    std::string default_text;
    std::function<absl::Status(std::string_view)> set;
  };
  const Flag* Find(std::string_view name) const;

  std::string command_;
  std::vector<Flag> flags_;
  bool help_requested_ = false;
};

}  // namespace stakewatch::app
