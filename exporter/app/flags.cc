#include "app/flags.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace stakewatch::app {

void FlagSet::String(std::string name, std::string* target, std::string help) {
  flags_.push_back({std::move(name), std::move(help), false, *target, [target](std::string_view v) {
                      *target = std::string(v);
                      return absl::OkStatus();
                    }});
}

void FlagSet::StringList(std::string name, std::vector<std::string>* target, std::string help) {
  // The first occurrence replaces the defaults; later ones append.
  auto replaced = std::make_shared<bool>(false);
  std::string defaults;
  for (const auto& d : *target) absl::StrAppend(&defaults, defaults.empty() ? "" : ",", d);
  flags_.push_back(
      {std::move(name), std::move(help), false, defaults, [target, replaced](std::string_view v) {
         if (!*replaced) {
           target->clear();
           *replaced = true;
         }
         target->emplace_back(v);
         return absl::OkStatus();
       }});
}

void FlagSet::Int(std::string name, int64_t* target, std::string help) {
  flags_.push_back(
      {name, std::move(help), false, absl::StrCat(*target), [target, name](std::string_view v) {
         if (!absl::SimpleAtoi(ToAbsl(v), target)) {
           return absl::InvalidArgumentError(
               absl::StrCat("--", name, ": \"", ToAbsl(v), "\" is not an integer"));
         }
         return absl::OkStatus();
       }});
}

void FlagSet::Uint(std::string name, uint64_t* target, std::string help) {
  flags_.push_back(
      {name, std::move(help), false, absl::StrCat(*target), [target, name](std::string_view v) {
         if (v.empty() || v[0] == '-' || v[0] == '+' || !absl::SimpleAtoi(ToAbsl(v), target)) {
           return absl::InvalidArgumentError(
               absl::StrCat("--", name, ": \"", ToAbsl(v), "\" is not a non-negative integer"));
         }
         return absl::OkStatus();
       }});
}

void FlagSet::Double(std::string name, double* target, std::string help) {
  flags_.push_back(
      {name, std::move(help), false, absl::StrCat(*target), [target, name](std::string_view v) {
         if (!absl::SimpleAtod(ToAbsl(v), target)) {
           return absl::InvalidArgumentError(
               absl::StrCat("--", name, ": \"", ToAbsl(v), "\" is not a number"));
         }
         return absl::OkStatus();
       }});
}

void FlagSet::Bool(std::string name, bool* target, std::string help) {
  flags_.push_back(
      {name, std::move(help), true, *target ? "true" : "false", [target, name](std::string_view v) {
         if (v == "true" || v == "1") {
           *target = true;
         } else if (v == "false" || v == "0") {
           *target = false;
         } else {
           return absl::InvalidArgumentError(
               absl::StrCat("--", name, ": \"", ToAbsl(v), "\" is not true or false"));
         }
         return absl::OkStatus();
       }});
}

const FlagSet::Flag* FlagSet::Find(std::string_view name) const {
  for (const Flag& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

absl::Status FlagSet::Parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      help_requested_ = true;
      continue;
    }
    if (arg.size() < 3 || arg.substr(0, 2) != "--") {
      return absl::InvalidArgumentError(
          absl::StrCat(command_, ": unexpected argument \"", ToAbsl(arg), "\""));
    }
    std::string_view body = arg.substr(2);
    std::string_view name = body;
    std::string_view value;
    bool has_value = false;
    if (size_t eq = body.find('='); eq != std::string_view::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
      has_value = true;
    }
    const Flag* flag = Find(name);
    if (flag == nullptr && !has_value && name.substr(0, 3) == "no-") {
      const Flag* negated = Find(name.substr(3));
      if (negated != nullptr && negated->is_bool) {
        if (absl::Status s = negated->set("false"); !s.ok()) return s;
        continue;
      }
    }
    if (flag == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(command_, ": unknown flag --", ToAbsl(name), " (see --help)"));
    }
    if (!has_value) {
      if (flag->is_bool) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat(command_, ": flag --", ToAbsl(name), " needs a value"));
      }
    }
    if (absl::Status s = flag->set(value); !s.ok()) return s;
  }
  return absl::OkStatus();
}

std::string FlagSet::Usage() const {
  std::string out = absl::StrCat("usage: ", command_, " [flags]\n\nFlags:\n");
  for (const Flag& f : flags_) {
    absl::StrAppend(&out, "  --", f.name, f.is_bool ? "" : "=VALUE", "\n      ", f.help);
    if (!f.default_text.empty()) absl::StrAppend(&out, " (default: ", f.default_text, ")");
    absl::StrAppend(&out, "\n");
  }
  return out;
}

}  // namespace stakewatch::app
