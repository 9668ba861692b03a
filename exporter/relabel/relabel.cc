#include "relabel/relabel.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "re2/re2.h"

namespace stakewatch::relabel {

using config::RelabelAction;

struct Relabeler::Step {
  config::RelabelConfig cfg;
  std::unique_ptr<RE2> re;
};

namespace {

bool IsNameByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool NeedsTarget(RelabelAction a) {
  return a == RelabelAction::kReplace || a == RelabelAction::kHashMod ||
         a == RelabelAction::kLowercase || a == RelabelAction::kUppercase ||
         a == RelabelAction::kKeepEqual || a == RelabelAction::kDropEqual;
}

// Matches the whole of `text` (the regex is already anchored) and fills `groups`.
bool MatchGroups(const RE2& re, std::string_view text, std::vector<std::string_view>* groups) {
  const int n = re.NumberOfCapturingGroups() + 1;
  std::vector<re2::StringPiece> sp(static_cast<size_t>(n));
  if (!re.Match(re2::StringPiece(text), 0, text.size(), RE2::ANCHOR_BOTH, sp.data(), n)) {
    return false;
  }
  groups->clear();
  groups->reserve(sp.size());
  for (const re2::StringPiece& s : sp) {
    groups->push_back(s.data() == nullptr ? std::string_view()
                                          : std::string_view(s.data(), s.size()));
  }
  return true;
}

bool FullMatch(const RE2& re, std::string_view text) {
  return re.Match(re2::StringPiece(text), 0, text.size(), RE2::ANCHOR_BOTH, nullptr, 0);
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string AsciiUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

void ExpandTemplate(const RE2& re, const std::vector<std::string_view>& groups,
                    std::string_view tmpl, std::string* out) {
  while (!tmpl.empty()) {
    const size_t dollar = tmpl.find('$');
    if (dollar == std::string_view::npos) break;
    out->append(tmpl.substr(0, dollar));
    tmpl.remove_prefix(dollar + 1);
    if (!tmpl.empty() && tmpl[0] == '$') {  // $$ is a literal $
      out->push_back('$');
      tmpl.remove_prefix(1);
      continue;
    }
    // extract(): an optional brace, a non-empty name, the closing brace if opened.
    std::string_view s = tmpl;
    const bool brace = !s.empty() && s[0] == '{';
    if (brace) s.remove_prefix(1);
    size_t i = 0;
    while (i < s.size() && IsNameByte(s[i])) ++i;
    if (i == 0 || (brace && (i >= s.size() || s[i] != '}'))) {
      out->push_back('$');  // malformed: the $ is raw text
      continue;
    }
    const std::string_view name = s.substr(0, i);
    tmpl = s.substr(brace ? i + 1 : i);
    // A number (no leading zero, below 1e8) refers to a group by index; anything else by name.
    int num = 0;
    for (char c : name) {
      if (c < '0' || c > '9' || num >= 100000000) {
        num = -1;
        break;
      }
      num = num * 10 + (c - '0');
    }
    if (name[0] == '0' && name.size() > 1) num = -1;
    if (num >= 0) {
      if (static_cast<size_t>(num) < groups.size()) out->append(groups[num]);
    } else {
      const auto& named = re.NamedCapturingGroups();
      auto it = named.find(std::string(name));
      if (it != named.end() && static_cast<size_t>(it->second) < groups.size()) {
        out->append(groups[it->second]);
      }
    }
  }
  out->append(tmpl);
}

uint64_t HashMod(std::string_view value, uint64_t modulus) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(value.data(), value.size(), digest, &len, EVP_md5(), nullptr);
  uint64_t v = 0;
  for (int i = 8; i < 16; ++i) v = (v << 8) | digest[i];
  return v % modulus;
}

absl::StatusOr<std::unique_ptr<Relabeler>> Relabeler::Create(
    const std::vector<config::RelabelConfig>& configs) {
  std::unique_ptr<Relabeler> r(new Relabeler());
  r->steps_.reserve(configs.size());
  for (size_t i = 0; i < configs.size(); ++i) {
    const config::RelabelConfig& c = configs[i];
    const std::string where =
        absl::StrCat("relabel step ", i, " (", ToAbsl(config::RelabelActionName(c.action)), "): ");
    RE2::Options opts;
    opts.set_log_errors(false);
    auto re = std::make_unique<RE2>(config::AnchoredRegex(c), opts);
    if (!re->ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "invalid regex \"", c.regex, "\": ", re->error()));
    }
    if (c.action == RelabelAction::kHashMod && c.modulus == 0) {
      return absl::InvalidArgumentError(absl::StrCat(where, "hashmod requires a non-zero modulus"));
    }
    if (NeedsTarget(c.action) && c.target_label.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where, "requires 'target_label'"));
    }
    r->steps_.push_back(Step{c, std::move(re)});
  }
  return r;
}

Relabeler::~Relabeler() = default;

bool Relabeler::Process(tsdb::LabelsBuilder& lb) const {
  std::string val;
  std::vector<std::string_view> groups;
  std::string target, res;
  for (const Step& step : steps_) {
    const config::RelabelConfig& cfg = step.cfg;
    const RE2& re = *step.re;
    val.clear();
    for (size_t i = 0; i < cfg.source_labels.size(); ++i) {
      if (i > 0) val += cfg.separator;
      val += lb.Get(cfg.source_labels[i]);
    }
    switch (cfg.action) {
      case RelabelAction::kDrop:
        if (FullMatch(re, val)) return false;
        break;
      case RelabelAction::kKeep:
        if (!FullMatch(re, val)) return false;
        break;
      case RelabelAction::kDropEqual:
        if (lb.Get(cfg.target_label) == val) return false;
        break;
      case RelabelAction::kKeepEqual:
        if (lb.Get(cfg.target_label) != val) return false;
        break;
      case RelabelAction::kReplace: {
        if (!MatchGroups(re, val, &groups)) break;  // no match: no replacement
        target.clear();
        ExpandTemplate(re, groups, cfg.target_label, &target);
        if (!tsdb::IsValidLabelName(target)) break;
        res.clear();
        ExpandTemplate(re, groups, cfg.replacement, &res);
        if (res.empty()) {
          lb.Del(target);
        } else {
          lb.Set(target, res);
        }
        break;
      }
      case RelabelAction::kLowercase:
        lb.Set(cfg.target_label, AsciiLower(val));
        break;
      case RelabelAction::kUppercase:
        lb.Set(cfg.target_label, AsciiUpper(val));
        break;
      case RelabelAction::kHashMod:
        lb.Set(cfg.target_label, std::to_string(HashMod(val, cfg.modulus)));
        break;
      case RelabelAction::kLabelMap:
        // Range iterates over a snapshot, so labels set here are not visited again.
        lb.Range([&](std::string_view name, std::string_view value) {
          if (!MatchGroups(re, name, &groups)) return;
          std::string mapped;
          ExpandTemplate(re, groups, cfg.replacement, &mapped);
          lb.Set(mapped, value);
        });
        break;
      case RelabelAction::kLabelDrop:
        lb.Range([&](std::string_view name, std::string_view) {
          if (FullMatch(re, name)) lb.Del(name);
        });
        break;
      case RelabelAction::kLabelKeep:
        lb.Range([&](std::string_view name, std::string_view) {
          if (!FullMatch(re, name)) lb.Del(name);
        });
        break;
    }
  }
  return true;
}

tsdb::Labels Relabeler::Process(const tsdb::Labels& labels, bool* keep) const {
  tsdb::LabelsBuilder b(labels);
  *keep = Process(b);
  return *keep ? b.Build() : tsdb::Labels();
}

}  // namespace stakewatch::relabel
