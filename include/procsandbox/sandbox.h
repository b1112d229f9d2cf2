// procsandbox/sandbox.h: run tools for requests, safely, over any Manager.
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
// Naming: the result type is `SandboxResult` (not `RunResult`, which is what
// the plain `procsandbox::Run()` of run.h returns).
//
// Thread-safety: a Sandbox may be used from any number of threads at once;
// Run() blocks the calling thread while queued and while the program runs.
// The Sandbox must outlive every call into it; its Manager must outlive it.
//
// Platforms: the program checks and working directories use the POSIX file
// API (realpath, stat, openat with O_NOFOLLOW); everything else is
// platform-neutral.
#ifndef PROCSANDBOX_SANDBOX_H_
#define PROCSANDBOX_SANDBOX_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/command.h"
#include "procsandbox/environment.h"
#include "procsandbox/export.h"
#include "procsandbox/format.h"
#include "procsandbox/limits.h"
#include "procsandbox/manager.h"
#include "procsandbox/outcome.h"
#include "procsandbox/process.h"
#include "procsandbox/stdio.h"

namespace procsandbox {

// --- Security violations
// ------------------------------------------------------

// A request the policy refused, as structured data. Returned inside the error
// Status of Run()/Launch() as a payload (`GetSecurityViolation`): the Status
// code is InvalidArgument for kInvalidEnvironmentName and kPathTraversal
// (bad input), PermissionDenied for the others.
struct PROCSANDBOX_EXPORT SecurityViolation {
  enum class Kind {
    kProgramNotAllowed,         // not on the allowlist, or a relative path
    kPrivilegeTool,             // sudo, su, doas, pkexec, chroot, setpriv...
    kSetuidProgram,             // setuid/setgid bit, not allowed by the policy
    kShellRefused,              // a shell or an exec wrapper (env, nice,
                                // timeout, xargs...), not allowed by name
    kUnsafeProgramFile,         // not a regular executable, world-writable,
                                // or in a directory others can change
    kPathTraversal,             // a working directory escaping the run's one
    kUnsafeRoot,                // the workdir root: a symlink, not ours, g/o+w
    kForbiddenEnvironmentName,  // denied, or looks like a credential
    kInvalidEnvironmentName,    // not [A-Za-z_][A-Za-z0-9_]*
  };
  enum class Severity { kLow, kMedium, kHigh, kCritical };

  Kind kind = Kind::kProgramNotAllowed;
  Severity severity = Severity::kMedium;
  // What was refused: the program, path or variable name (never a value).
  // From Run()/Launch(), the subject and message have every secret's value
  // redacted, as the Status message has.
  std::string subject;
  // One sentence a service may show its user.
  std::string message;

  friend bool operator==(const SecurityViolation& a,
                         const SecurityViolation& b) {
    return a.kind == b.kind && a.severity == b.severity &&
           a.subject == b.subject && a.message == b.message;
  }
  friend bool operator!=(const SecurityViolation& a,
                         const SecurityViolation& b) {
    return !(a == b);
  }
};

// "program_not_allowed", "privilege_tool", "setuid_program", "shell_refused",
// "unsafe_program_file", "path_traversal", "unsafe_root",
// "forbidden_environment_name", "invalid_environment_name".
PROCSANDBOX_EXPORT absl::string_view SecurityViolationKindName(
    SecurityViolation::Kind kind);
// "low", "medium", "high", "critical".
PROCSANDBOX_EXPORT absl::string_view SeverityName(
    SecurityViolation::Severity severity);
// The type URL of the payload.
inline constexpr char kSecurityViolationUrl[] =
    "type.googleapis.com/procsandbox.SecurityViolation";
// The Status for `violation` (code as above, message = its message), with
// the violation attached as a payload.
PROCSANDBOX_EXPORT absl::Status ToStatus(const SecurityViolation& violation);
// The violation attached to `status`, or nullopt.
PROCSANDBOX_EXPORT std::optional<SecurityViolation> GetSecurityViolation(
    const absl::Status& status);

// --- The policy
// ---------------------------------------------------------------

// Which variables a child gets. Names are checked (`[A-Za-z_][A-Za-z0-9_]*`).
// Patterns: "NAME" (exact), "PREFIX*", "*SUFFIX", "*PART*".
struct PROCSANDBOX_EXPORT EnvironmentPolicy {
  enum class Mode {
    kEmpty,                // nothing from the host
    kAllowlist,            // the host's variables matching `allow`
    kInheritExceptDenied,  // all the host's variables except `deny` matches
  };
  Mode mode = Mode::kEmpty;
  // kAllowlist: names and patterns taken from the host.
  std::vector<std::string> allow;
  // Never passed, whatever their source (host, policy, request); a request
  // that sets one is refused (kForbiddenEnvironmentName).
  std::vector<std::string> deny = DefaultDenied();
  // Names that look like credentials (matched ignoring case): dropped from
  // the host's variables; set explicitly they are refused unless set as a
  // secret (Environment::SetSecret).
  std::vector<std::string> credential_patterns = DefaultCredentialPatterns();
  // Set for every run, after the host's (the request's own come last).
  Environment set;
  // The host environment to take values from (its secrets stay secret);
  // nullopt: the host process's own, read when the Sandbox is constructed.
  std::optional<Environment> host;

  // LD_*, DYLD_*, BASH_ENV, ENV, SSH_AUTH_SOCK, ...
  static std::vector<std::string> DefaultDenied();
  // *SECRET*, *TOKEN*, *PASSWORD*, *PASSWD*, *CREDENTIAL*, *_KEY, ...
  static std::vector<std::string> DefaultCredentialPatterns();
};

// What a program found on disk is (see ProgramResolver).
struct PROCSANDBOX_EXPORT ProgramFile {
  // The absolute path with every symlink resolved.
  std::string path;
  bool regular_file = false;
  bool executable = false;  // some execute bit set
  // Permission bits with setuid (04000) and setgid (02000).
  uint32_t mode = 0;
  // Why someone else could swap or change the file between the check and
  // the exec, or "" when nobody can: a directory of `path` (from "/") owned
  // by another user than root and this one, or writable by group or others
  // without the sticky bit; or the file owned by another user than root and
  // this one. (A sticky directory such as /tmp is fine: others cannot
  // rename or remove a file they do not own.)
  std::string unsafe_location;

  friend bool operator==(const ProgramFile& a, const ProgramFile& b) {
    return a.path == b.path && a.regular_file == b.regular_file &&
           a.executable == b.executable && a.mode == b.mode &&
           a.unsafe_location == b.unsafe_location;
  }
  friend bool operator!=(const ProgramFile& a, const ProgramFile& b) {
    return !(a == b);
  }
};

// Finds a program the way the managers do (a name on the search path, or an
// absolute path) and says what file it is. The seam between the program
// policy and the file system: `HostProgramResolver()` reads the real one,
// `FakeProgramResolver` is a table for tests on the in-memory manager.
class PROCSANDBOX_EXPORT ProgramResolver {
 public:
  virtual ~ProgramResolver();
  // NotFound naming the program and `search_path` when there is no such
  // program; InvalidArgument for a relative path.
  virtual absl::StatusOr<ProgramFile> Resolve(
      absl::string_view program, absl::string_view search_path) const = 0;
};

// The host's file system: realpath(3), and stat(2) of the file and of each
// directory on its path. Thread-safe.
PROCSANDBOX_EXPORT std::shared_ptr<const ProgramResolver> HostProgramResolver();

// A table of programs and symlinks, for tests. Not thread-safe while being
// filled; Resolve() may be called from any thread afterwards.
class PROCSANDBOX_EXPORT FakeProgramResolver : public ProgramResolver {
 public:
  // A file at absolute `path` (0755: a regular executable by default).
  void AddProgram(std::string path, uint32_t mode = 0755,
                  bool regular_file = true);
  // `link` resolves to `target` (absolute paths).
  void AddSymlink(std::string link, std::string target);
  // The mode of directory `path` (absolute; 01000 is the sticky bit). A
  // program below one writable by group or others without the sticky bit
  // gets ProgramFile::unsafe_location. Directories not added are safe.
  void AddDirectory(std::string path, uint32_t mode);
  absl::StatusOr<ProgramFile> Resolve(
      absl::string_view program, absl::string_view search_path) const override;

 private:
  std::map<std::string, ProgramFile, std::less<>> files_;
  std::map<std::string, std::string, std::less<>> links_;
  std::map<std::string, uint32_t, std::less<>> directories_;
};

// Which programs may run. Checked on the resolved file, in this order:
// shell or exec wrapper, privilege tool, allowlist, file safety (including
// where it lives: ProgramFile::unsafe_location), setuid/setgid.
struct PROCSANDBOX_EXPORT ProgramPolicy {
  // Absolute paths (resolved through `resolver`, so allowing a symlink
  // allows its target). Empty: any program that passes the other checks.
  std::vector<std::string> allow;
  // Base names refused whatever the allowlist says (the name asked for and
  // the resolved file's are both checked).
  std::vector<std::string> deny = DefaultPrivilegeTools();
  // Shells (sh, bash, zsh, ... by base name) are refused unless their name
  // is here. The sandbox itself never runs a shell.
  std::vector<std::string> allowed_shells;
  // Exec wrappers (ExecWrappers(): env, nice, timeout, xargs, ... by base
  // name) start whatever program their arguments name, so the shell and
  // privilege-tool rules would not see it (`env sh -c ...`): they are
  // refused like shells (kShellRefused) unless their name is here. Allowing
  // one lets it start anything. Exception: env, nice, ionice and prlimit
  // given no argument at all only print (the environment, the niceness...),
  // and are accepted. (Other programs able to start programs, such as
  // interpreters, find -exec or awk, are not covered: use `allow`.)
  std::vector<std::string> allowed_exec_wrappers;
  // Weakens the policy: run setuid/setgid programs. (Isolation::no_new_privs,
  // on by default, keeps them from gaining privileges anyway.)
  bool allow_setuid = false;
  // Null: HostProgramResolver().
  std::shared_ptr<const ProgramResolver> resolver;

  // sudo, sudoedit, su, doas, pkexec, chroot, setpriv, runuser, nsenter,
  // unshare, capsh, setcap, newgrp, sg, ...
  static std::vector<std::string> DefaultPrivilegeTools();
  // sh, bash, dash, zsh, ksh, mksh, csh, tcsh, fish, ash, busybox, ...
  static std::vector<std::string> Shells();
  // env, nice, nohup, timeout, stdbuf, xargs, time, ionice, chrt, taskset,
  // setsid, flock, script, watch, parallel, prlimit, setarch, strace,
  // toybox, ...
  static std::vector<std::string> ExecWrappers();
};

// Fresh private working directories.
struct PROCSANDBOX_EXPORT WorkdirPolicy {
  // Where each run gets `run-XXXXXXXX` (0700, with tmp/ and log/). An
  // absolute path without "." or ".." components (ValidateSandboxPolicy);
  // trailing slashes are ignored. Must be a directory owned by this user,
  // not writable by group or others, and itself not a symlink (kUnsafeRoot
  // otherwise). Empty: no directory is made, and a request's working_dir is
  // refused.
  std::string root;
  // Point TMPDIR at <run>/tmp and/or HOME at <run>, replacing the host's
  // values (a value the policy's `set` or the request gives wins).
  bool set_tmpdir = true;
  bool set_home = false;
  // Removal after the run gives up (and reports) after this long.
  absl::Duration removal_timeout = absl::Seconds(10);
  // Remove the run's directory after the result is returned, on one
  // background thread the Sandbox owns (started by its first such run), in
  // order, each within removal_timeout from when its removal starts. The
  // result then says WorkdirCleanup::kPending; a failure comes only as a
  // kCleanupFailed event (from that thread; secrets redacted), and the
  // directory stays. ~Sandbox() waits until every directory handed over is
  // removed or given up on. Removal is the slow part of a run's file
  // system work (several ms on some ext4 disks, longer than the run), so
  // the default keeps it off the caller's path; false: Run() and
  // SandboxProcess::Finish() remove it before returning, the outcome in
  // the result. At most max(16, 2 * queue.max_concurrent) directories wait;
  // a run that finds the backlog full (or a SandboxProcess finishing after
  // its Sandbox is gone) removes its own, as with false.
  // The same thread also keeps a few directories made ahead of time
  // (clamp(queue.max_concurrent, 2, 4); first after the first run), so a run
  // usually takes one instead of making its own: the root is checked each
  // time as above, and the spare is used only if, reached through the
  // root's descriptor without following symlinks, it is still the very
  // directory made, owned by this user, mode 0700, holding only empty tmp/
  // and log/ (0700); otherwise it is removed and a fresh one made. Unused
  // spares are removed by ~Sandbox(). With false, no spares.
  bool remove_in_background = true;
  // For debugging: keep the directory of a run that did not complete
  // (SandboxResult::workdir_kept).
  bool keep_on_failure = false;
};

// Capture of stdout and stderr. Both caps count both streams together; a
// line costs its bytes plus its '\n' (a last line without one costs its
// bytes). A request's Limits::output_bytes lowers max_bytes for that run.
struct PROCSANDBOX_EXPORT OutputPolicy {
  int64_t max_bytes = int64_t{1} << 20;
  int64_t max_lines = 10'000;
  // kTruncate: keep what fits, read and drop the rest (the program runs on).
  // kStop: stop the program (Terminate semantics): kOutputExceeded.
  OutputLimitAction on_limit = OutputLimitAction::kTruncate;
};

// The concurrency queue.
struct PROCSANDBOX_EXPORT QueuePolicy {
  // Runs (and launched processes) at once.
  std::size_t max_concurrent = 4;
  // Runs waiting for a slot; one more is refused at once (ResourceExhausted).
  // A run that finds a free slot and nobody waiting starts at once, whatever
  // this is (0: run now or be refused).
  std::size_t max_queued = 64;
  // How long a run may wait for a slot (the manager's clock): then
  // DeadlineExceeded, also when a slot frees after the deadline passed. A run
  // that can start at once does (even with a zero timeout). A request may
  // give its own.
  absl::Duration queue_timeout = absl::InfiniteDuration();
};

// Something the sandbox did, for the host's logs and metrics. Texts never
// contain a secret's value.
struct PROCSANDBOX_EXPORT SandboxEvent {
  enum class Kind {
    kQueued,           // entered the queue (detail: ticket, and position
                       // or "starts at once")
    kStarted,          // the program started (detail: the command)
    kLimitApplied,     // a limit in force (detail: "memory_bytes: cgroup-v2
                       // ..."); a ceiling's cap comes after kQueued
    kLimitDegraded,    // a limit asked for and not enforced here (why)
    kOutputTruncated,  // a cap was reached (detail: which)
    kExited,           // the program ended (detail: the outcome)
    kRejected,         // refused before running (detail: why)
    kCancelled,        // cancelled while queued or running
    kCleanupFailed,    // the working directory could not be removed (why)
    kQuotaExceeded,    // refused by its key's quota (detail: which, and
                       // when to retry for a rate)
  };
  Kind kind = Kind::kQueued;
  std::string run_id;
  // The run's RunRequest::quota_key ("" without quotas).
  std::string quota_key;
  absl::Time time;  // the manager's clock
  std::string detail;

  friend bool operator==(const SandboxEvent& a, const SandboxEvent& b) {
    return a.kind == b.kind && a.run_id == b.run_id &&
           a.quota_key == b.quota_key && a.time == b.time &&
           a.detail == b.detail;
  }
  friend bool operator!=(const SandboxEvent& a, const SandboxEvent& b) {
    return !(a == b);
  }
};
// "queued", "started", "limit_applied", "limit_degraded", "output_truncated",
// "exited", "rejected", "cancelled", "cleanup_failed", "quota_exceeded".
PROCSANDBOX_EXPORT absl::string_view SandboxEventKindName(
    SandboxEvent::Kind kind);

// --- Per-key quotas
// ------------------------------------------------------------

// What one key (a client, a tenant: RunRequest::quota_key) may use. An unset
// field puts no cap of its kind on the key; a set one must be positive
// (max_queued: zero or more).
struct PROCSANDBOX_EXPORT Quota {
  // Runs of the key at once (running, or launched and not finished). More
  // wait in the queue (see max_queued) without holding up other keys' runs
  // behind them: the next free slot goes to the earliest waiting run whose
  // key is under its own cap.
  std::optional<int64_t> max_concurrent;
  // Runs of the key waiting at once, for its max_concurrent or for a free
  // slot; one more is refused at once (ResourceExhausted, a QuotaExceeded of
  // kind kConcurrency). 0: a run that cannot start now is refused instead
  // of waiting. Unset: only QueuePolicy::max_queued bounds them.
  std::optional<int64_t> max_queued;
  // Rate: `max_runs` runs per `window`, as a token bucket of max_runs runs
  // refilled evenly over the window (one run back every window / max_runs;
  // all of them after a window without runs). A run over it is refused at
  // once (ResourceExhausted, kind kRate) with the time the next run will be
  // allowed. A run takes its token when it enters the queue (a run that
  // waits is already counted) and gives back what of it has not refilled yet
  // if it leaves without starting (cancelled, queue timeout, shutdown, a
  // failed start).
  //
  // Why a token bucket (GCRA) rather than a sliding window: 8 bytes of rate
  // state per key whatever max_runs is (a sliding log keeps the time of each
  // of the last max_runs runs), an exact retry-after, refills spread over
  // the window instead of a herd of retries at each window's end, and a
  // key's state can be dropped once a window passes without a run (it is
  // then exactly a full bucket). The cost: a key that bursts max_runs runs,
  // then keeps using each refill, gets up to 2 * max_runs - 1 runs within
  // one window's length; over longer spans it never averages more than
  // max_runs per window.
  std::optional<int64_t> max_runs;
  // Positive and at most 366 days. Used only with max_runs.
  absl::Duration window = absl::Hours(1);

  friend bool operator==(const Quota& a, const Quota& b) {
    return a.max_concurrent == b.max_concurrent &&
           a.max_queued == b.max_queued && a.max_runs == b.max_runs &&
           a.window == b.window;
  }
  friend bool operator!=(const Quota& a, const Quota& b) { return !(a == b); }
};

// Per-key quotas, on top of the global QueuePolicy. With `enabled`, every
// request must name its key (RunRequest::quota_key). Time is the manager's
// clock, so the in-memory manager's virtual time fills and refills quotas.
// Memory: a key is tracked while it has runs, and while its bucket is not
// full again (at most a window after its last run; then its state is exactly
// that of a new key). A key without a rate is dropped when its last run
// leaves; others are swept when a new key arrives and the table has doubled
// or the shortest window has passed since the last sweep (a scan under the
// queue's lock: about 12 ms to drop 100,000 keys). 108 bytes per tracked key
// with keys of up to 15 bytes, 172 with 40-byte keys (bench/sandbox_bench.cpp,
// "[quota]").
struct PROCSANDBOX_EXPORT QuotaPolicy {
  bool enabled = false;
  // For keys not in `overrides`.
  Quota default_quota;
  // Keys with their own quota (whole: unset fields are not taken from the
  // default).
  std::map<std::string, Quota, std::less<>> overrides;
};

// Why a run was refused by its key's quota: the payload of the
// ResourceExhausted Status Run()/Launch() return (`GetQuotaExceeded`).
struct PROCSANDBOX_EXPORT QuotaExceeded {
  enum class Kind {
    kRate,         // max_runs per window used up
    kConcurrency,  // max_concurrent running and max_queued waiting
  };
  Kind kind = Kind::kRate;
  // From Run()/Launch(), a secret's value in it redacted.
  std::string key;
  // The key's quota (the default's, or its override).
  Quota quota;
  // kRate: how long until the key's next run is allowed (exact, on the
  // manager's clock; round up for an HTTP Retry-After), and when. kConcurrency:
  // unset (when one of the key's runs ends).
  std::optional<absl::Duration> retry_after;
  std::optional<absl::Time> retry_at;

  friend bool operator==(const QuotaExceeded& a, const QuotaExceeded& b) {
    return a.kind == b.kind && a.key == b.key && a.quota == b.quota &&
           a.retry_after == b.retry_after && a.retry_at == b.retry_at;
  }
  friend bool operator!=(const QuotaExceeded& a, const QuotaExceeded& b) {
    return !(a == b);
  }
};
// "rate", "concurrency".
PROCSANDBOX_EXPORT absl::string_view QuotaExceededKindName(
    QuotaExceeded::Kind kind);
// The type URL of the payload.
inline constexpr char kQuotaExceededUrl[] =
    "type.googleapis.com/procsandbox.QuotaExceeded";
// The quota refusal attached to `status`, or nullopt.
PROCSANDBOX_EXPORT std::optional<QuotaExceeded> GetQuotaExceeded(
    const absl::Status& status);

// One key's use of its quota, at the time of the call.
struct PROCSANDBOX_EXPORT QuotaKeyStats {
  std::string key;
  Quota quota;
  std::size_t running = 0;
  std::size_t queued = 0;
  // With max_runs: runs counted in the bucket now (they come back one every
  // window / max_runs) and runs allowed now; both 0 without a rate.
  int64_t used = 0;
  int64_t remaining = 0;
  // Until the next run is allowed (0 while remaining > 0), and until used
  // is back to 0.
  absl::Duration retry_after = absl::ZeroDuration();
  absl::Duration reset_after = absl::ZeroDuration();
  // Quota refusals since the key was last untracked.
  uint64_t rejected = 0;

  friend bool operator==(const QuotaKeyStats& a, const QuotaKeyStats& b) {
    return a.key == b.key && a.quota == b.quota && a.running == b.running &&
           a.queued == b.queued && a.used == b.used &&
           a.remaining == b.remaining && a.retry_after == b.retry_after &&
           a.reset_after == b.reset_after && a.rejected == b.rejected;
  }
  friend bool operator!=(const QuotaKeyStats& a, const QuotaKeyStats& b) {
    return !(a == b);
  }
};

struct PROCSANDBOX_EXPORT SandboxPolicy {
  EnvironmentPolicy environment;
  ProgramPolicy programs;
  WorkdirPolicy workdir;
  OutputPolicy output;
  QueuePolicy queue;
  QuotaPolicy quota;
  // Merged under each request's limits.
  Limits default_limits;
  // Ceilings: a request asking more (or nothing) gets this, reported as a
  // kLimitApplied event.
  Limits max_limits;
  Isolation isolation;
  // Called from the thread of the run it is about (kQueued while the
  // queue's lock is held, so those come in queue order; kCleanupFailed of a
  // background removal from the cleaner's thread), so from several threads
  // at once: it must be thread-safe, must not block for long, and
  // must not call into the Sandbox. Empty: no events.
  std::function<void(const SandboxEvent&)> on_event;
};

// OK, or InvalidArgument naming the first bad field: an empty or malformed
// pattern, a relative allowlist path, a workdir root not absolute or with a
// "." or ".." component, max_concurrent 0, negative caps or timeouts,
// invalid limits, a quota field zero or negative (max_queued: negative), a
// window not positive or over 366 days, an override for an empty or invalid
// key (see RunRequest::quota_key).
PROCSANDBOX_EXPORT absl::Status ValidateSandboxPolicy(
    const SandboxPolicy& policy);
// The quota part of ValidateSandboxPolicy.
PROCSANDBOX_EXPORT absl::Status ValidateQuotaPolicy(const QuotaPolicy& policy);

// --- Requests and results
// ------------------------------------------------------

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
};

// What a service can map a run to directly.
enum class SandboxStatus {
  kCompleted,      // exited 0
  kFailed,         // exited non-zero, or killed by a signal nobody sent
  kTimedOut,       // wall_time passed
  kLimitExceeded,  // cpu time, memory, file size or output (kStop)
  kCancelled,      // Cancel(), or the host stopped it
  kRejected,       // refused before running: policy, queue full, queue timeout
  kError,          // the library could not run it (start failed, workdir)
};
// "completed", "failed", "timed_out", "limit_exceeded", "cancelled",
// "rejected", "error".
PROCSANDBOX_EXPORT absl::string_view SandboxStatusName(SandboxStatus status);
// The status of an outcome (the program ran).
PROCSANDBOX_EXPORT SandboxStatus StatusOf(const Outcome& outcome);

// Which cap cut the output.
enum class OutputCap { kNone, kBytes, kLines };
// "none", "bytes", "lines".
PROCSANDBOX_EXPORT absl::string_view OutputCapName(OutputCap cap);

// What became of a run's working directory when the result was made.
enum class WorkdirCleanup {
  kNone,     // no directory (no WorkdirPolicy::root)
  kRemoved,  // removed before the result was returned
  kPending,  // handed to the background cleaner (remove_in_background); a
             // failure comes later as a kCleanupFailed event, not here
  kKept,     // kept on purpose (keep_on_failure)
  kFailed,   // removal failed or timed out: kept, cleanup_status says why
};
// "none", "removed", "pending", "kept", "failed".
PROCSANDBOX_EXPORT absl::string_view WorkdirCleanupName(WorkdirCleanup c);

struct PROCSANDBOX_EXPORT SandboxResult {
  std::string id;
  SandboxStatus status = SandboxStatus::kCompleted;
  Outcome outcome;  // a sandbox stop for output is kOutputExceeded
  Pid pid = 0;
  // Kept output; every kept line ends with '\n' (a last line without one
  // gets one), a line cut at the byte cap does not.
  std::string stdout_;
  std::string stderr_;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  OutputCap truncated_by = OutputCap::kNone;
  int64_t stdout_lines = 0;
  int64_t stderr_lines = 0;
  // From the outcome: wall time, user+system CPU, peak memory.
  absl::Duration wall_time = absl::ZeroDuration();
  absl::Duration cpu_time = absl::ZeroDuration();
  int64_t peak_memory_bytes = 0;
  Enforcement enforcement;
  // The resolved program, and host variables dropped by the policy (names).
  // A secret's value in the path (a secret PATH's directory) is redacted.
  std::string program_path;
  std::vector<std::string> dropped_env;
  // The run's directory ("" without a root); kept only when
  // WorkdirPolicy::keep_on_failure applied, or its removal failed. Redacted
  // as program_path.
  std::string workdir;
  // kKept or kFailed (not known yet for kPending).
  bool workdir_kept = false;
  WorkdirCleanup cleanup = WorkdirCleanup::kNone;
  // Why the directory could not be removed (kFailed; also a kCleanupFailed
  // event). OK otherwise, kPending included: that outcome is not known yet.
  absl::Status cleanup_status;
  // The manager's clock.
  absl::Time queued_at;
  absl::Time started_at;
  absl::Time finished_at;
  absl::Duration queue_time = absl::ZeroDuration();
  // Arrival order in the queue (1, 2, ...).
  uint64_t ticket = 0;

  bool ok() const { return status == SandboxStatus::kCompleted; }
};

// The status of what Run() returned: the result's, or for an error
// kRejected (PermissionDenied, InvalidArgument, ResourceExhausted,
// DeadlineExceeded), kCancelled (Cancelled) or kError (anything else).
PROCSANDBOX_EXPORT SandboxStatus
StatusOf(const absl::StatusOr<SandboxResult>& result);

struct PROCSANDBOX_EXPORT QueueStats {
  std::size_t running = 0;
  std::size_t pending = 0;
  std::size_t max_concurrent = 0;
  std::size_t max_queued = 0;
  uint64_t completed = 0;       // runs that ran and ended
  uint64_t rejected = 0;        // queue full, queue timeout, or a quota
  uint64_t quota_rejected = 0;  // of which by a quota
  uint64_t cancelled = 0;       // cancelled while queued
  // Mean run time (the manager's clock) over the last 100 runs.
  absl::Duration average_run_time = absl::ZeroDuration();
  // For a run queued now: pending / max_concurrent rounds of the average.
  absl::Duration estimated_wait = absl::ZeroDuration();
  // With quotas: keys whose state is kept (including idle keys not yet
  // swept), and each key with runs or with runs counted in its bucket, by
  // key. Listing every key costs O(keys); Sandbox::KeyStats() reads one.
  std::size_t tracked_keys = 0;
  std::map<std::string, QuotaKeyStats, std::less<>> keys;

  friend bool operator==(const QueueStats& a, const QueueStats& b) {
    return a.running == b.running && a.pending == b.pending &&
           a.max_concurrent == b.max_concurrent &&
           a.max_queued == b.max_queued && a.completed == b.completed &&
           a.rejected == b.rejected && a.quota_rejected == b.quota_rejected &&
           a.cancelled == b.cancelled &&
           a.average_run_time == b.average_run_time &&
           a.estimated_wait == b.estimated_wait &&
           a.tracked_keys == b.tracked_keys && a.keys == b.keys;
  }
  friend bool operator!=(const QueueStats& a, const QueueStats& b) {
    return !(a == b);
  }
};

// --- The sandbox
// --------------------------------------------------------------

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
  // error. No message or payload contains a secret's value.
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

  const SandboxPolicy& policy() const;
  Manager& manager() const;

 private:
  std::shared_ptr<sandbox_internal::Engine> engine_;
};

PROCSANDBOX_EXPORT std::string ToString(const SecurityViolation& violation);
PROCSANDBOX_EXPORT std::string ToString(const SandboxEvent& event);
PROCSANDBOX_EXPORT std::string ToString(const SandboxResult& result);
PROCSANDBOX_EXPORT std::string ToString(const QueueStats& stats);
PROCSANDBOX_EXPORT std::string ToString(const Quota& quota);
PROCSANDBOX_EXPORT std::string ToString(const QuotaExceeded& exceeded);
PROCSANDBOX_EXPORT std::string ToString(const QuotaKeyStats& stats);
inline std::string ToString(SandboxStatus status) {
  return std::string(SandboxStatusName(status));
}

}  // namespace procsandbox

PROCSANDBOX_FORMATTER(procsandbox::SecurityViolation)
PROCSANDBOX_FORMATTER(procsandbox::SandboxEvent)
PROCSANDBOX_FORMATTER(procsandbox::SandboxResult)
PROCSANDBOX_FORMATTER(procsandbox::QueueStats)
PROCSANDBOX_FORMATTER(procsandbox::Quota)
PROCSANDBOX_FORMATTER(procsandbox::QuotaExceeded)
PROCSANDBOX_FORMATTER(procsandbox::QuotaKeyStats)
PROCSANDBOX_FORMATTER(procsandbox::SandboxStatus)

#endif  // PROCSANDBOX_SANDBOX_H_
