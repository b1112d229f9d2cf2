// procsandbox/sandbox/sandbox.h: run tools for requests, safely, over any
// Manager.
//
// A `Sandbox` wraps a `Manager&` with a `SandboxPolicy` and answers "run this
// tool for this request, and tell me what happened". For every run it:
//   1. builds the environment from the policy (nothing inherited unless
//      asked; names that look like credentials dropped unless given as
//      secrets; secrets never shown in any text the library makes),
//   2. resolves the program to an absolute path (symlinks resolved) and
//      checks it: allowlist, privilege tools, setuid/setgid, shells and exec
//      wrappers (env, nice, timeout...), a regular executable file nobody
//      else can write or replace,
//   3. counts it against its key's quota (runs per window, runs at once),
//      if quotas are on, and waits for a slot in a FIFO queue (at most N
//      runs at once; a key at its own cap does not hold up other keys),
//   4. makes a fresh private working directory under a checked root,
//   5. runs it with stdout/stderr captured and capped by bytes and lines,
//   6. removes the working directory (bounded in time, failures reported;
//      by default on a background thread, after the result is returned),
// and reports each step to an optional event sink. It is written against the
// public `Manager`/`Process` interface only, so it behaves the same on the
// OS manager and on the in-memory fake.
//
// Example:
//   procsandbox::SandboxPolicy policy;
//   policy.environment.mode = procsandbox::EnvironmentPolicy::Mode::kAllowlist;
//   policy.environment.allow = {"PATH", "LANG", "MYAPP_*"};
//   policy.programs.allow = {"/usr/bin/python3"};
//   policy.workdir.root = "/var/lib/myapp/runs";   // 0700, owned by us
//   policy.queue.max_concurrent = 4;
//   procsandbox::Sandbox sandbox(manager, policy);
//
//   procsandbox::RunRequest request;
//   request.id = "req-42";
//   request.program = "python3";
//   request.args = {"-c", "print(42)"};
//   request.env.SetSecret("API_TOKEN", token).IgnoreError();
//   request.limits.wall_time = absl::Seconds(10);
//   absl::StatusOr<procsandbox::SandboxResult> r = sandbox.Run(request);
//   switch (procsandbox::StatusOf(r)) {   // completed, failed, rejected, ...
//     ...
//   }
//   if (auto v = procsandbox::GetSecurityViolation(r.status())) {
//     LOG(WARNING) << *v;   // "privilege_tool (critical): ..."
//   }
//
// On the in-memory fake (MemoryManager), for unit tests: a policy without a
// resolver finds programs in the fake's registrations
// (MemoryProgramResolver), WorkdirPolicy::provider may keep directories in
// memory (MemoryWorkdirProvider), a run waiting in the queue counts as a
// host waiting on the fake (MemoryManager::HostWait: the clock may
// auto-advance to its queue timeout, and MemoryManager::WaitIdle() counts
// it), and the Sandbox's own steps between calls into the fake count as
// busy (MemoryManager::HostCall). A test with several runs at once:
//   fake.clock().SetAutoAdvance(false);
//   std::thread a([&] { ra = sandbox.Run(first); });
//   ASSERT_THAT(fake.WaitIdle(1), IsOk());   // "first" runs, a in Wait()
//   std::thread b([&] { rb = sandbox.Run(second); });
//   ASSERT_THAT(fake.WaitIdle(2), IsOk());   // "second" queued (1 slot)
//   ... Position(), Stats(), clock().Advance(), WaitForCleanup() ...
//
// Thread-safety: a Sandbox may be used from any number of threads at once;
// Run() blocks the calling thread while queued and while the program runs.
// The Sandbox must outlive every call into it; its Manager must outlive it.
//
// Platforms: the program checks and working directories use the POSIX file
// API (realpath, stat, openat with O_NOFOLLOW); everything else is
// platform-neutral.
//
// The example uses the whole layer: include "procsandbox/sandbox.h", which
// brings this header and the others of procsandbox/sandbox/.
#ifndef PROCSANDBOX_SANDBOX_SANDBOX_H_
#define PROCSANDBOX_SANDBOX_SANDBOX_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "procsandbox/command.h"
#include "procsandbox/environment.h"
#include "procsandbox/export.h"
#include "procsandbox/limits.h"
#include "procsandbox/manager.h"
#include "procsandbox/monitor.h"
#include "procsandbox/process.h"
#include "procsandbox/sandbox/policy.h"
#include "procsandbox/sandbox/quota.h"
#include "procsandbox/sandbox/result.h"
#include "procsandbox/stdio.h"

namespace procsandbox {

// One run asked of a Sandbox: what to run, with what, for whom. A plain
// value; checked by Run()/Launch() (InvalidArgument naming the field).
struct PROCSANDBOX_EXPORT RunRequest {
  // Names the run in events, Cancel() and Position(); unique among the
  // sandbox's live runs. Empty: "run-<n>" is assigned, one no live run has
  // (a caller's id included).
  std::string id;
  // A name looked up on the PATH of the final environment, or an absolute
  // path. Never run through a shell.
  std::string program;
  std::vector<std::string> args;
  // Variables for this run; secrets through env.SetSecret().
  Environment env;
  // Relative to the run's fresh directory (created when missing); needs
  // WorkdirPolicy::root. "..", absolute paths and symlinks are refused
  // (kPathTraversal).
  std::string working_dir;
  // Run(): Data or Null (default). Launch(): also Pipe.
  Stdio stdin_;
  // Merged over SandboxPolicy::default_limits, capped by max_limits.
  Limits limits;
  absl::Duration kill_grace = kDefaultKillGrace;
  // Overrides QueuePolicy::queue_timeout.
  std::optional<absl::Duration> queue_timeout;
  // Each kept line of output as it arrives, tagged with its stream, from a
  // library thread, one call at a time per run. It must not call into the
  // Sandbox.
  std::function<void(Stream stream, absl::string_view line)> on_line;
  // A label for logs; defaults to the program.
  std::string name;
  // Whose quota the run counts against (QuotaPolicy): required when quotas
  // are enabled, ignored otherwise. 1 to 256 bytes, no control characters
  // (it appears in messages and events).
  std::string quota_key;
  // Who asked, for the audit log (a user, a service account): free text,
  // at most 256 bytes, no control characters.
  std::string principal;
  // Live usage sampling (monitor.h); the timeline comes back in
  // SandboxResult::outcome.samples.
  Monitoring monitor;
};

namespace sandbox_internal {
class Engine;
struct LaunchState;
}  // namespace sandbox_internal

// A long-running program started by Sandbox::Launch(): drive it through
// process() (Write, ReadLine on its Stdio::Pipe() streams). It holds a queue
// slot and its working directory until Finish() or its destruction.
class PROCSANDBOX_EXPORT SandboxProcess {
 public:
  ~SandboxProcess();  // Finish(), ignoring its result
  SandboxProcess(const SandboxProcess&) = delete;
  SandboxProcess& operator=(const SandboxProcess&) = delete;

  const std::string& id() const;
  Process& process();
  // Closes stdin, waits up to `grace` (the manager's clock) for the program
  // to end, then terminates it; removes the working directory (or hands it
  // to the background cleaner: WorkdirPolicy::remove_in_background), frees
  // the slot, and returns the result (stdout_/stderr_ hold what was captured:
  // nothing for a Pipe stream). Later calls return the same result.
  absl::StatusOr<SandboxResult> Finish(absl::Duration grace = absl::Seconds(5));

  // Implementation details follow.
  explicit SandboxProcess(std::unique_ptr<sandbox_internal::LaunchState> s);

 private:
  std::unique_ptr<sandbox_internal::LaunchState> state_;
};

class PROCSANDBOX_EXPORT Sandbox {
 public:
  // `manager` must outlive the Sandbox. An invalid policy
  // (ValidateSandboxPolicy) makes every Run()/Launch() fail with it; Create()
  // refuses it instead.
  Sandbox(Manager& manager, SandboxPolicy policy);
  // The policy checked first: its InvalidArgument, or the Sandbox.
  static absl::StatusOr<std::unique_ptr<Sandbox>> Create(Manager& manager,
                                                         SandboxPolicy policy);
  // Cancels what is queued and running, waits for those calls to return,
  // then for the background removal of every directory handed over (each
  // within WorkdirPolicy::removal_timeout; failures are still reported).
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  // Checks, queues, runs `request` to its end, cleans up. A program that
  // ran is an OK result whatever its end. Errors (nothing ran):
  // PermissionDenied / InvalidArgument with a SecurityViolation payload;
  // InvalidArgument (a bad request: an id in use, stdin Pipe, limits,
  // working_dir without a root, a missing or bad quota_key);
  // ResourceExhausted (queue full, or a quota, at once: GetQuotaExceeded);
  // DeadlineExceeded (queue timeout); Cancelled (cancelled while queued);
  // NotFound (no such program); whatever Start() returns; the policy's
  // error. And one after the start: under VerifyPolicy::kRefuse,
  // PermissionDenied with a kLimitMismatch violation when the limits read
  // back are weaker than asked (the program was killed at once). No message
  // or payload contains a secret's value.
  absl::StatusOr<SandboxResult> Run(RunRequest request);

  // As Run() up to the start, for a server driven over stdio: stdin, stdout
  // and stderr default to Stdio::Pipe() (stdout/stderr are captured with
  // the output caps instead when request.on_line is set: then only stdin is
  // a pipe). The process keeps its slot until SandboxProcess::Finish().
  absl::StatusOr<std::unique_ptr<SandboxProcess>> Launch(RunRequest request);

  // Cancels the run `id`: a queued one returns Cancelled from Run(), a
  // running one is terminated (TERM, KILL after its grace) and ends
  // kCancelled. NotFound when no live run has that id.
  absl::Status Cancel(absl::string_view id);
  // 0 while running, 1.. while queued: the place in arrival order among the
  // waiting runs (1 = earliest; with quotas a run whose key is at its
  // max_concurrent lets later runs of other keys pass); NotFound otherwise.
  absl::StatusOr<std::size_t> Position(absl::string_view id) const;
  QueueStats Stats() const;
  // One key's quota use (also for a key not tracked: its full quota).
  // FailedPrecondition when quotas are not enabled.
  absl::StatusOr<QuotaKeyStats> KeyStats(absl::string_view key) const;

  // Waits (in real time, at most `timeout`) until every working directory
  // handed to the background cleaner (WorkdirPolicy::remove_in_background)
  // so far is removed or given up on, its kCleanupFailed event sent: a test
  // checks the removal without destroying the Sandbox. OK at once when
  // nothing is pending; DeadlineExceeded naming how many are still pending.
  // Thread-safe; directories handed over meanwhile are waited for too.
  absl::Status WaitForCleanup(absl::Duration timeout);

  const SandboxPolicy& policy() const;
  Manager& manager() const;

 private:
  std::shared_ptr<sandbox_internal::Engine> engine_;
};

}  // namespace procsandbox

#endif  // PROCSANDBOX_SANDBOX_SANDBOX_H_
