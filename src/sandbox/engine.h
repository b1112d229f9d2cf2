// The sandbox's machinery behind the public Sandbox: a run goes through
// Prepare (the id registered, checks; a refusal leaves nothing), Admit (the
// queue), Start (working directory, process), and Finish (collect, clean up,
// report).
#ifndef PROCSANDBOX_SRC_SANDBOX_ENGINE_H_
#define PROCSANDBOX_SRC_SANDBOX_ENGINE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "procsandbox/command.h"
#include "procsandbox/environment.h"
#include "procsandbox/manager.h"
#include "procsandbox/memory_manager.h"
#include "procsandbox/process.h"
#include "procsandbox/sandbox.h"
#include "procsandbox/verification.h"
#include "sandbox/output_collector.h"
#include "sandbox/redactor.h"
#include "sandbox/run_queue.h"
#include "sandbox/workdir.h"

namespace procsandbox::sandbox_internal {

// Everything about one run, from Prepare to Finish.
struct RunState {
  RunRequest request;
  bool launched = false;
  Redactor redactor;
  // When Prepare() began (the manager's clock): the audit record's
  // queued_at for a run refused before it entered the queue.
  absl::Time received_at;
  Environment env;
  bool env_built = false;  // `env` is the child's (Prepare got that far)
  std::vector<std::string> dropped_env;
  // Names the policy or the request set (they win over set_home/set_tmpdir).
  std::set<std::string, std::less<>> explicit_env;
  ProgramFile program;
  Limits limits;
  // What the ceilings changed, reported once the run has its slot.
  std::vector<std::string> limit_notes;
  // From Prepare (the id registered) to Finish.
  std::shared_ptr<Slot> slot;
  std::unique_ptr<WorkdirProvider::Directory> workdir;
  std::string workdir_path;  // the program's working directory inside it
  std::shared_ptr<OutputCollector> collector;  // null: Pipe streams
  std::shared_ptr<Process> process;
  bool started = false;
  absl::Time started_at;
  // SandboxPolicy::verify: what Process::Verify() read right after the
  // start, or why it could not (redacted).
  std::optional<Verification> verification;
  absl::Status verify_status;
};

// On the in-memory fake, a MemoryManager::HostCall for the scope: the
// sandbox's own code between its calls into the fake counts as a busy host,
// so the fake is not idle and its clock does not auto-advance meanwhile.
// Nothing on another manager.
class FakeHostCall {
 public:
  explicit FakeHostCall(const MemoryManager* fake) {
    if (fake != nullptr) scope_.emplace(*fake);
  }

 private:
  std::optional<MemoryManager::HostCall> scope_;
};

class Engine {
 public:
  Engine(Manager& manager, SandboxPolicy policy);

  absl::StatusOr<SandboxResult> Run(RunRequest request);
  absl::StatusOr<std::unique_ptr<RunState>> Launch(RunRequest request);
  // Collects, cleans up and reports a started run (its process ended or is
  // ended here by Wait()). When Wait() fails (a Process implementation's
  // error: there is no outcome to report), the run is cleaned up all the
  // same and the error returned, naming the run.
  absl::StatusOr<SandboxResult> Finish(RunState& run);

  RunQueue& queue() { return queue_; }
  WorkdirCleaner& cleaner() { return cleaner_; }
  const SandboxPolicy& policy() const { return policy_; }
  Manager& manager() const { return manager_; }
  // The manager when it is the in-memory fake, else null.
  const MemoryManager* fake() const { return fake_; }

 private:
  absl::StatusOr<std::unique_ptr<RunState>> Prepare(RunRequest request,
                                                    bool launch);
  // Queue, working directory, process. On error the slot is left, the
  // directory removed, and the error reported.
  absl::Status Start(RunState& run);
  absl::Status MakeWorkdir(RunState& run);
  // SandboxPolicy::verify, right after the start: reads the run's limits
  // back into `run` and reports them (kVerified, kVerifyFailed). The error
  // that refuses the run under kRefuse (a kLimitMismatch violation), else
  // OK; the caller stops it.
  absl::Status VerifyStarted(RunState& run);
  // Removes the run's directory, or hands it to the cleaner
  // (remove_in_background): kRemoved, kPending, or kFailed with the
  // (redacted) error in `status`, reported as a kCleanupFailed event.
  WorkdirCleanup DisposeWorkdir(RunState& run, absl::Status& status);
  Command MakeCommand(RunState& run);
  // A refusal: reported as an event, redacted.
  absl::Status Refuse(const RunState& run, const absl::Status& status);
  // Hands `record` to SandboxPolicy::audit, if set: OK, or the sink's error
  // (redacted), also reported as a kAuditFailed event.
  absl::Status Audit(const RunState& run, const AuditRecord& record) const;
  // The quota key is the request's (`run`), else `key`.
  void Emit(const RunState* run, SandboxEvent::Kind kind, const std::string& id,
            std::string detail, const std::string& key = {}) const;

  Manager& manager_;
  const MemoryManager* const fake_;
  const SandboxPolicy policy_;
  const absl::Status policy_status_;
  const Environment host_env_;
  RunQueue queue_;
  // Last: destroyed (its thread drained and joined) before what its jobs'
  // callbacks use.
  WorkdirCleaner cleaner_;
};

// What a SandboxProcess holds.
struct LaunchState {
  std::shared_ptr<Engine> engine;
  std::unique_ptr<RunState> run;
  std::optional<absl::StatusOr<SandboxResult>> result;
};

}  // namespace procsandbox::sandbox_internal

#endif  // PROCSANDBOX_SRC_SANDBOX_ENGINE_H_
