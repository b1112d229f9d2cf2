#include "linux/isolation.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/isolation_enforcement.h"
#include "linux/child_capabilities.h"
#include "linux/child_mounts.h"
#include "linux/child_namespaces.h"
#include "linux/child_seccomp.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/isolation.h"

namespace procsandbox::linux_internal {

using ::procsandbox::internal::SetIsolation;

std::vector<IsolationEnforcement> ProbeIsolation() {
  std::vector<IsolationEnforcement> isolation = internal::UniformIsolation(
      false, "not implemented by the linux backend yet");
  SetIsolation(isolation, IsolationKind::kNoNewPrivs, true,
               "PR_SET_NO_NEW_PRIVS before exec");
  SetIsolation(isolation, IsolationKind::kCredentials, true,
               "setgroups, setresgid, setresuid before exec (needs the "
               "privilege to switch)");
  // [capabilities]
  {
    std::string detail;
    const bool available = CapabilitiesAvailable(detail);
    SetIsolation(isolation, IsolationKind::kCapabilities, available,
                 std::move(detail));
  }
  // [namespaces]
  for (IsolationEnforcement& e : ProbeNamespaces()) {
    SetIsolation(isolation, e.kind, e.enforced, std::move(e.detail));
  }
  // [mounts]
  ProbeMounts(isolation);
  // [seccomp]
  {
    IsolationEnforcement seccomp = ProbeSeccomp();
    SetIsolation(isolation, IsolationKind::kSeccomp, seccomp.enforced,
                 std::move(seccomp.detail));
  }
  return isolation;
}

absl::Status PlanIsolation(const os_internal::SpawnRequest& request,
                           SpawnPlan& plan) {
  const Enforcement& enforcement = *request.enforcement;
  auto wanted = [&enforcement](IsolationKind kind) {
    const IsolationEnforcement* e = enforcement.Find(kind);
    return e != nullptr && e->enforced;
  };
  // [capabilities]
  if (wanted(IsolationKind::kCapabilities)) {
    absl::StatusOr<std::shared_ptr<const CapabilityPlan>> caps =
        PlanCapabilities(request.command->isolation);
    if (!caps.ok()) return caps.status();
    plan.capabilities = *std::move(caps);
  }
  // [namespaces]
  if (absl::Status s = PlanNamespaces(request, plan); !s.ok()) return s;
  // [mounts]
  if (wanted(IsolationKind::kMountNamespace)) {
    if (absl::Status s = PlanMounts(request.command->isolation, plan);
        !s.ok()) {
      return s;
    }
  }
  // [seccomp]
  if (request.command->isolation.seccomp.has_value() &&
      wanted(IsolationKind::kSeccomp)) {
    absl::StatusOr<std::shared_ptr<const SeccompPlan>> seccomp =
        PlanSeccomp(request.command->isolation);
    if (!seccomp.ok()) return seccomp.status();
    plan.seccomp = *std::move(seccomp);
  }
  return absl::OkStatus();
}

}  // namespace procsandbox::linux_internal
