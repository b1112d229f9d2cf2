#include "procsandbox/capabilities.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "procsandbox/isolation.h"
#include "procsandbox/limits.h"

namespace procsandbox {
namespace {

const LimitEnforcement* FindIn(const std::vector<LimitEnforcement>& limits,
                               LimitKind kind) {
  for (const LimitEnforcement& entry : limits) {
    if (entry.limit == kind) return &entry;
  }
  return nullptr;
}

const IsolationEnforcement* FindIn(
    const std::vector<IsolationEnforcement>& isolation, IsolationKind kind) {
  for (const IsolationEnforcement& entry : isolation) {
    if (entry.kind == kind) return &entry;
  }
  return nullptr;
}

std::string JoinIsolation(const std::vector<IsolationEnforcement>& isolation) {
  return absl::StrJoin(isolation, ", ",
                       [](std::string* out, const IsolationEnforcement& e) {
                         out->append(ToString(e));
                       });
}

std::string JoinLimits(const std::vector<LimitEnforcement>& limits) {
  return absl::StrJoin(limits, ", ",
                       [](std::string* out, const LimitEnforcement& entry) {
                         out->append(ToString(entry));
                       });
}

}  // namespace

absl::string_view MechanismName(Mechanism mechanism) {
  switch (mechanism) {
    case Mechanism::kNone:
      return "none";
    case Mechanism::kVirtual:
      return "virtual";
    case Mechanism::kReactor:
      return "reactor";
    case Mechanism::kRlimit:
      return "rlimit";
    case Mechanism::kCgroupV2:
      return "cgroup-v2";
    case Mechanism::kCgroupV1:
      return "cgroup-v1";
    case Mechanism::kJobObject:
      return "job-object";
  }
  return "unknown";
}

const LimitEnforcement* Enforcement::Find(LimitKind kind) const {
  return FindIn(limits, kind);
}

const IsolationEnforcement* Enforcement::Find(IsolationKind kind) const {
  return FindIn(isolation, kind);
}

bool Enforcement::all_enforced() const {
  for (const LimitEnforcement& entry : limits) {
    if (!entry.enforced()) return false;
  }
  for (const IsolationEnforcement& entry : isolation) {
    if (!entry.enforced) return false;
  }
  return true;
}

const LimitEnforcement* Capabilities::Find(LimitKind kind) const {
  return FindIn(limits, kind);
}

const IsolationEnforcement* Capabilities::Find(IsolationKind kind) const {
  return FindIn(isolation, kind);
}

bool Capabilities::Has(absl::string_view feature) const {
  for (const Feature& entry : features) {
    if (entry.name == feature) return entry.available;
  }
  return false;
}

std::string ToString(const LimitEnforcement& enforcement) {
  std::string text = absl::StrCat(LimitKindName(enforcement.limit), ": ",
                                  MechanismName(enforcement.mechanism));
  if (!enforcement.detail.empty()) {
    absl::StrAppend(&text, " (", enforcement.detail, ")");
  }
  return text;
}

std::string ToString(const IsolationEnforcement& enforcement) {
  std::string text = absl::StrCat(IsolationKindName(enforcement.kind), ": ",
                                  enforcement.enforced ? "yes" : "no");
  if (!enforcement.detail.empty()) {
    absl::StrAppend(&text, " (", enforcement.detail, ")");
  }
  return text;
}

std::string ToString(const Enforcement& enforcement) {
  std::string text = absl::StrCat("{", JoinLimits(enforcement.limits));
  if (!enforcement.isolation.empty()) {
    absl::StrAppend(&text, enforcement.limits.empty() ? "" : "; ",
                    JoinIsolation(enforcement.isolation));
  }
  return text + "}";
}

std::string ToString(const Capabilities& capabilities) {
  const std::string features = absl::StrJoin(
      capabilities.features, ", ", [](std::string* out, const Feature& f) {
        absl::StrAppend(out, f.name, "=", f.available ? "yes" : "no");
        if (!f.detail.empty()) absl::StrAppend(out, " (", f.detail, ")");
      });
  const std::string isolation =
      capabilities.isolation.empty()
          ? std::string()
          : absl::StrCat(", isolation={", JoinIsolation(capabilities.isolation),
                         "}");
  return absl::StrCat("{backend=", capabilities.backend,
                      ", strict=", capabilities.strict ? "true" : "false",
                      ", limits={", JoinLimits(capabilities.limits), "}",
                      isolation, ", features={", features, "}}");
}

}  // namespace procsandbox
