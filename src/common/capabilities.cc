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

// The names of 0.1, answered by Has() until 0.3.
struct DeprecatedFeature {
  absl::string_view old_name;
  absl::string_view name;
};
constexpr DeprecatedFeature kDeprecatedFeatures[] = {
    {"cgroup-v2", "cgroup_v2"},         {"cgroup-v1", "cgroup_v1"},
    {"virtual-clock", "virtual_clock"}, {"exit-watch", "exit_watch"},
    {"job-object", "job_object"},       {"handle-list", "handle_list"},
    {"ctrl-break", "ctrl_break"},
};

std::string FlagText(absl::string_view name, bool available,
                     const std::string& detail) {
  std::string text = absl::StrCat(name, "=", available ? "yes" : "no");
  if (!detail.empty()) absl::StrAppend(&text, " (", detail, ")");
  return text;
}

}  // namespace

const std::vector<std::string>& FeatureNames() {
  static const auto* const kNames = new std::vector<std::string>{
      // linux
      "pidfd", "close_range", "clone3", "cgroups", "cgroup_v2", "cgroup_v1",
      "root", "kernel", "namespaces", "seccomp", "no_new_privs",
      // posix
      "posix_spawn", "exit_watch", "die_with_parent",
      // windows
      "job_object", "handle_list", "ctrl_break", "wine",
      // memory
      "virtual_clock",
      // slurm
      "cluster", "accounting", "suspend"};
  return *kNames;
}

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
    case Mechanism::kSlurm:
      return "slurm";
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
  if (feature == "tree-kill") return tree_kill;
  if (feature == "freeze" || feature == "suspend") return tree_freeze;
  for (const DeprecatedFeature& d : kDeprecatedFeatures) {
    if (feature == d.old_name) feature = d.name;
  }
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
        out->append(FlagText(f.name, f.available, f.detail));
      });
  const std::string isolation =
      capabilities.isolation.empty()
          ? std::string()
          : absl::StrCat(", isolation={", JoinIsolation(capabilities.isolation),
                         "}");
  return absl::StrCat("{backend=", capabilities.backend,
                      ", strict=", capabilities.strict ? "true" : "false", ", ",
                      FlagText("tree_kill", capabilities.tree_kill,
                               capabilities.tree_kill_detail),
                      ", ",
                      FlagText("tree_freeze", capabilities.tree_freeze,
                               capabilities.tree_freeze_detail),
                      ", limits={", JoinLimits(capabilities.limits), "}",
                      isolation, ", features={", features, "}}");
}

}  // namespace procsandbox
