#include "procsandbox/verification.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace procsandbox {

absl::string_view CheckResultName(CheckResult result) {
  switch (result) {
    case CheckResult::kMatch:
      return "match";
    case CheckResult::kMismatch:
      return "mismatch";
    case CheckResult::kNotEnforced:
      return "not_enforced";
    case CheckResult::kUnverified:
      return "unverified";
  }
  return "unknown";
}

bool operator==(const VerificationCheck& a, const VerificationCheck& b) {
  return a.item == b.item && a.limit == b.limit && a.isolation == b.isolation &&
         a.asked == b.asked && a.found == b.found && a.source == b.source &&
         a.result == b.result && a.detail == b.detail;
}

bool operator==(const Verification& a, const Verification& b) {
  return a.checks == b.checks && a.time == b.time;
}

bool Verification::ok() const {
  for (const VerificationCheck& check : checks) {
    if (check.result == CheckResult::kMismatch) return false;
  }
  return true;
}

bool Verification::all_verified() const {
  for (const VerificationCheck& check : checks) {
    if (check.result != CheckResult::kMatch) return false;
  }
  return true;
}

std::vector<VerificationCheck> Verification::mismatches() const {
  std::vector<VerificationCheck> found;
  for (const VerificationCheck& check : checks) {
    if (check.result == CheckResult::kMismatch) found.push_back(check);
  }
  return found;
}

const VerificationCheck* Verification::Find(LimitKind kind) const {
  for (const VerificationCheck& check : checks) {
    if (check.limit == kind) return &check;
  }
  return nullptr;
}

const VerificationCheck* Verification::Find(IsolationKind kind) const {
  for (const VerificationCheck& check : checks) {
    if (check.isolation == kind) return &check;
  }
  return nullptr;
}

const VerificationCheck* Verification::Find(absl::string_view item) const {
  for (const VerificationCheck& check : checks) {
    if (check.item == item) return &check;
  }
  return nullptr;
}

std::string ToString(const VerificationCheck& check) {
  std::string text =
      absl::StrCat(check.item, ": ", CheckResultName(check.result), ": asked ",
                   check.asked.empty() ? "-" : check.asked);
  if (!check.found.empty()) absl::StrAppend(&text, ", found ", check.found);
  if (!check.source.empty()) absl::StrAppend(&text, " (", check.source, ")");
  if (!check.detail.empty()) absl::StrAppend(&text, ": ", check.detail);
  return text;
}

std::string ToString(const Verification& verification) {
  std::vector<VerificationCheck> bad = verification.mismatches();
  if (!bad.empty()) {
    return absl::StrCat(
        "MISMATCH: ",
        absl::StrJoin(bad, "; ",
                      [](std::string* out, const VerificationCheck& check) {
                        absl::StrAppend(out, ToString(check));
                      }));
  }
  int counts[4] = {0, 0, 0, 0};
  for (const VerificationCheck& check : verification.checks) {
    ++counts[static_cast<int>(check.result)];
  }
  std::vector<std::string> parts;
  for (CheckResult result : {CheckResult::kMatch, CheckResult::kUnverified,
                             CheckResult::kNotEnforced}) {
    if (counts[static_cast<int>(result)] > 0) {
      parts.push_back(absl::StrCat(counts[static_cast<int>(result)], " ",
                                   CheckResultName(result)));
    }
  }
  if (parts.empty()) return "verified: nothing asked";
  return absl::StrCat("verified: ", absl::StrJoin(parts, ", "));
}

}  // namespace procsandbox
