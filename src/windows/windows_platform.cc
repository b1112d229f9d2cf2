#include "windows/windows_platform.h"

#include <windows.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/isolation_enforcement.h"
#include "os/platform.h"
#include "procsandbox/capabilities.h"
#include "windows/iocp_loop.h"
#include "windows/spawn.h"
#include "windows/windows_child.h"

namespace procsandbox::windows_internal {
namespace {

class WindowsPlatform final : public os_internal::Platform {
 public:
  WindowsPlatform(OsManagerOptions options, std::unique_ptr<IocpLoop> loop)
      : options_(std::move(options)),
        capabilities_(WindowsCapabilities(options_)),
        loop_(std::move(loop)) {}

  os_internal::EventLoop& loop() override { return *loop_; }
  const Capabilities& capabilities() const override { return capabilities_; }
  absl::Status CheckHost(absl::string_view /*label*/) const override {
    return absl::OkStatus();
  }

  absl::StatusOr<std::shared_ptr<os_internal::Child>> Spawn(
      const os_internal::SpawnRequest& request) override {
    // Every check without a side effect first.
    absl::StatusOr<SpawnPlan> plan = PlanSpawn(*request.command);
    if (!plan.ok()) return plan.status();
    auto child = std::make_shared<WindowsChild>(loop_.get(), &options_);
    if (absl::Status s = child->Start(request, *plan); !s.ok()) {
      child->Discard();
      return s;
    }
    return std::shared_ptr<os_internal::Child>(std::move(child));
  }

  void Started(const os_internal::Child& /*child*/) override {}
  void StopLoop() override { loop_->Stop(); }
  void RemoveContainers() override {}  // a job goes with its last handle

 private:
  const OsManagerOptions options_;
  const Capabilities capabilities_;
  std::unique_ptr<IocpLoop> loop_;
};

}  // namespace

std::string WineVersion() {
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  if (ntdll == nullptr) return "";
  using Fn = const char*(__cdecl*)();
  auto fn = reinterpret_cast<Fn>(
      reinterpret_cast<void*>(GetProcAddress(ntdll, "wine_get_version")));
  return fn != nullptr && fn() != nullptr ? std::string(fn()) : "";
}

Capabilities WindowsCapabilities(const OsManagerOptions& options) {
  const std::string wine = WineVersion();
  // Under Wine the job keeps memory and process limits (read back) but
  // nothing holds a process to them, and neither its accounting nor
  // GetProcessTimes of another process shows CPU time: reported as not
  // enforced, and README's support table says so.
  auto job_limit = [&wine](LimitKind kind, std::string detail) {
    if (!wine.empty()) {
      return LimitEnforcement{
          kind, Mechanism::kNone,
          absl::StrCat(detail, ": set on the job, but Wine ", wine,
                       " does not enforce it")};
    }
    return LimitEnforcement{kind, Mechanism::kJobObject, std::move(detail)};
  };
  Capabilities caps;
  caps.backend = "windows";
  caps.strict = options.strict;
  // Each tree has a Job Object of its own, assigned before the child runs,
  // and every process it starts joins it.
  caps.tree_kill = true;
  caps.tree_kill_detail = "TerminateJobObject on the tree's Job Object";
  caps.tree_freeze = true;
  caps.tree_freeze_detail =
      "SuspendThread on every thread of every process of the job, again "
      "while new ones appear";
  for (LimitKind kind : kAllLimitKinds) {
    LimitEnforcement e{kind, Mechanism::kNone, "unknown"};
    switch (kind) {
      case LimitKind::kWallTime:
        e = {kind, Mechanism::kReactor,
             "completion port deadline, CTRL_BREAK then TerminateJobObject"};
        break;
      case LimitKind::kCpuTime:
        e = job_limit(kind,
                      "job CPU time, user + kernel (its accounting, checked "
                      "by the loop; and PerJobUserTimeLimit)");
        break;
      case LimitKind::kMemory:
        e = job_limit(kind,
                      "job and process committed memory (JobMemoryLimit); "
                      "an allocation over it fails");
        break;
      case LimitKind::kFileSize:
        e = {kind, Mechanism::kNone, "Windows has no file size limit"};
        break;
      case LimitKind::kOpenFiles:
        e = {kind, Mechanism::kNone, "Windows has no handle count limit"};
        break;
      case LimitKind::kProcesses:
        e = job_limit(kind, "job active processes (ActiveProcessLimit)");
        break;
      case LimitKind::kOutput:
        e = {kind, Mechanism::kReactor, "captured bytes"};
        break;
      case LimitKind::kCpuWeight:
        e = {kind, Mechanism::kNone, "not applied by the Windows backend"};
        break;
    }
    caps.limits.push_back(std::move(e));
  }
  caps.features.push_back(
      {"job_object", true,
       "each tree in a Job Object of its own, assigned before it runs"});
  caps.features.push_back(
      {"handle_list", true,
       "PROC_THREAD_ATTRIBUTE_HANDLE_LIST: a child inherits its three "
       "standard handles only"});
  caps.features.push_back(
      {"ctrl_break", true,
       "a graceful stop is CTRL_BREAK_EVENT to the child's process group; "
       "a program without the host's console gets the kill after the grace"});
  caps.features.push_back(
      {"die_with_parent", true,
       "JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE: the tree ends with the host "
       "process (not with the starting thread)"});
  caps.features.push_back(
      {"no_new_privs", false, "Linux only: not applied by this backend"});
  if (!wine.empty()) caps.features.push_back({"wine", true, wine});
  caps.isolation = internal::UniformIsolation(
      false, "Linux only: not applied by the Windows backend");
  internal::SetIsolation(caps.isolation, IsolationKind::kCredentials, false,
                         "switching the account needs a logon token");
  return caps;
}

absl::StatusOr<std::unique_ptr<os_internal::Platform>> NewWindowsPlatform(
    const OsManagerOptions& options) {
  absl::StatusOr<std::unique_ptr<IocpLoop>> loop = IocpLoop::Create();
  if (!loop.ok()) return loop.status();
  return std::unique_ptr<os_internal::Platform>(
      std::make_unique<WindowsPlatform>(options, *std::move(loop)));
}

}  // namespace procsandbox::windows_internal
