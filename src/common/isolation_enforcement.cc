#include "common/isolation_enforcement.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/isolation.h"

namespace procsandbox::internal {

std::vector<IsolationKind> RequestedIsolation(const Isolation& isolation) {
  const Namespaces& ns = isolation.namespaces;
  std::vector<IsolationKind> kinds;
  for (IsolationKind kind : kAllIsolationKinds) {
    bool asked = false;
    switch (kind) {
      case IsolationKind::kNoNewPrivs:
        asked = isolation.no_new_privs;
        break;
      case IsolationKind::kCredentials:
        asked = isolation.uid.has_value() || isolation.gid.has_value();
        break;
      case IsolationKind::kCapabilities:
        asked = isolation.drop_capabilities;
        break;
      case IsolationKind::kUserNamespace:
        asked = ns.user;
        break;
      case IsolationKind::kMountNamespace:
        asked = ns.mount || !isolation.mounts.empty();
        break;
      case IsolationKind::kPidNamespace:
        asked = ns.pid;
        break;
      case IsolationKind::kNetNamespace:
        asked = ns.net;
        break;
      case IsolationKind::kIpcNamespace:
        asked = ns.ipc;
        break;
      case IsolationKind::kUtsNamespace:
        asked = ns.uts || !isolation.hostname.empty();
        break;
      case IsolationKind::kCgroupNamespace:
        asked = ns.cgroup;
        break;
      case IsolationKind::kSeccomp:
        asked = isolation.seccomp.has_value();
        break;
    }
    if (asked) kinds.push_back(kind);
  }
  return kinds;
}

absl::Status PlanIsolationEnforcement(
    const Command& command, const std::vector<IsolationEnforcement>& available,
    bool strict, std::vector<IsolationEnforcement>& report) {
  report.clear();
  for (IsolationKind kind : RequestedIsolation(command.isolation)) {
    IsolationEnforcement entry{kind, false, "not available on this manager"};
    for (const IsolationEnforcement& a : available) {
      if (a.kind == kind) entry = a;
    }
    if (!entry.enforced && strict && kind != IsolationKind::kNoNewPrivs) {
      return absl::FailedPreconditionError(
          fmt::format("start \"{}\": isolation {} cannot be had here: {}",
                      command.label(), ToString(kind), entry.detail));
    }
    report.push_back(std::move(entry));
  }
  return absl::OkStatus();
}

std::vector<IsolationEnforcement> UniformIsolation(bool enforced,
                                                   absl::string_view detail) {
  std::vector<IsolationEnforcement> isolation;
  for (IsolationKind kind : kAllIsolationKinds) {
    isolation.push_back({kind, enforced, std::string(detail)});
  }
  return isolation;
}

bool SeccompKills(const Isolation& isolation) {
  if (!isolation.seccomp.has_value()) return false;
  if (isolation.seccomp->default_action == SeccompAction::kKill) return true;
  for (const SeccompRule& rule : isolation.seccomp->rules) {
    if (rule.action == SeccompAction::kKill) return true;
  }
  return false;
}

void SetIsolation(std::vector<IsolationEnforcement>& isolation,
                  IsolationKind kind, bool enforced, std::string detail) {
  for (IsolationEnforcement& e : isolation) {
    if (e.kind == kind) {
      e.enforced = enforced;
      e.detail = std::move(detail);
      return;
    }
  }
  isolation.push_back({kind, enforced, std::move(detail)});
}

}  // namespace procsandbox::internal
