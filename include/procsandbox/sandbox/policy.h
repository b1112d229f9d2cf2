// procsandbox/sandbox/policy.h: what a Sandbox allows, and how it runs things.
//
// A `SandboxPolicy` is a plain value set field by field: which variables a
// child gets (`EnvironmentPolicy`), which programs may run (`ProgramPolicy`,
// checked on the resolved file through a `ProgramResolver`), where each run's
// private working directory goes (`WorkdirPolicy`), the output caps
// (`OutputPolicy`), the concurrency queue (`QueuePolicy`), per-key quotas
// (quota.h), limits, isolation and an event sink. `ValidateSandboxPolicy()`
// checks it; a Sandbox refuses an invalid one.
//
// Example:
//   procsandbox::SandboxPolicy policy;
//   policy.environment.mode = procsandbox::EnvironmentPolicy::Mode::kAllowlist;
//   policy.environment.allow = {"PATH", "LANG", "MYAPP_*"};
//   policy.programs.allow = {"/usr/bin/python3"};
//   policy.workdir.root = "/var/lib/myapp/runs";   // 0700, owned by us
//   policy.queue.max_concurrent = 4;
//   policy.output.max_lines = 1000;
//   if (absl::Status s = procsandbox::ValidateSandboxPolicy(policy); !s.ok())
//     return s;   // InvalidArgument naming the bad field
//
// Platforms: the program checks (HostProgramResolver) and working directories
// use the POSIX file API (realpath, stat, openat with O_NOFOLLOW).
#ifndef PROCSANDBOX_SANDBOX_POLICY_H_
#define PROCSANDBOX_SANDBOX_POLICY_H_

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
#include "procsandbox/command.h"
#include "procsandbox/environment.h"
#include "procsandbox/export.h"
#include "procsandbox/limits.h"
#include "procsandbox/sandbox/audit.h"
#include "procsandbox/sandbox/quota.h"
#include "procsandbox/sandbox/result.h"
#include "procsandbox/sandbox/workdir.h"

namespace procsandbox {

class MemoryManager;  // procsandbox/memory_manager.h

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

// The in-memory fake's registrations as files (asked live at each Resolve(),
// so programs registered later are found): a program registered by absolute
// path is a regular file, 0755 (Register, RegisterStartError: Start() then
// fails with that error), or 0644, not executable (RegisterNotExecutable).
// A name is looked up on the absolute directories of the search path. A
// program registered by bare name only is not found (NotFound saying so): a
// Sandbox runs the resolved absolute path, so register a path such as
// "/usr/bin/tool". Directories are safe, links do not exist (use a
// FakeProgramResolver to test those). A Sandbox over a MemoryManager uses
// this one when ProgramPolicy::resolver is null, so a test registers each
// program once, with the fake. `fake` must outlive the resolver.
// Thread-safe.
PROCSANDBOX_EXPORT std::shared_ptr<const ProgramResolver> MemoryProgramResolver(
    const MemoryManager& fake);

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
  // Null: HostProgramResolver(), or MemoryProgramResolver(manager) when the
  // Sandbox's manager is a MemoryManager (then Sandbox::policy() shows it).
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
  // removed or given up on. false: Run() and SandboxProcess::Finish()
  // remove it before returning, the outcome in the result. At most
  // max(16, 2 * queue.max_concurrent) directories wait; a run that finds the
  // backlog full (or a SandboxProcess finishing after its Sandbox is gone)
  // removes its own, as with false.
  // The same thread also keeps clamp(queue.max_concurrent, 2, 4) directories
  // made ahead of time (first after the first run), so a run usually takes
  // one instead of making its own; the root is checked each time as above,
  // and a spare that is no longer exactly the directory made is removed and
  // a fresh one made. Unused spares are removed by ~Sandbox(). With false,
  // no spares. (Why and what it saves: docs/ARCHITECTURE.md.)
  bool remove_in_background = true;
  // For debugging: keep the directory of a run that did not complete
  // (SandboxResult::workdir_kept).
  bool keep_on_failure = false;
  // Where the directories come from. Null: the host's file system (as
  // described above). Another provider (a MemoryWorkdirProvider, for unit
  // tests on the in-memory manager) is given `root` and does its own checks;
  // no directories are made ahead of time then.
  std::shared_ptr<WorkdirProvider> provider;
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

// Whether each run's limits are read back from the kernel right after it
// started (Process::Verify()).
enum class VerifyPolicy {
  kOff,
  // Verify; the result (SandboxResult::verification) and a kVerified event
  // say what was found. A mismatch does not stop the run.
  kReport,
  // As kReport, and a mismatch kills the run at once: Run()/Launch() fail
  // with PermissionDenied carrying a SecurityViolation of kind
  // kLimitMismatch naming the limit (subject: the first one; message: each,
  // asked and found), after the kVerified event a kRejected one; its slot
  // and working directory are freed as for any refusal. A run whose limits
  // could not be read because it had already ended is reported
  // (verify_status), not refused; any other failure to read them is refused
  // the same way (subject "verification", after a kVerifyFailed event).
  kRefuse,
};
// "off", "report", "refuse".
PROCSANDBOX_EXPORT absl::string_view VerifyPolicyName(VerifyPolicy policy);

// Everything a Sandbox applies to its runs.
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
  // How each run is set apart from the host: DefaultIsolation() unless set.
  Isolation isolation = DefaultIsolation();
  // Called from the thread of the run it is about (kQueued while the
  // queue's lock is held, so those come in queue order; kCleanupFailed of a
  // background removal from the cleaner's thread), so from several threads
  // at once: it must be thread-safe, must not block for long, and
  // must not call into the Sandbox. Empty: no events.
  std::function<void(const SandboxEvent&)> on_event;
  // Post-start verification of every run.
  VerifyPolicy verify = VerifyPolicy::kReport;
  // One record per run (also a refused one) once its result is known, from
  // the run's thread; the same threading rules as on_event. An error it
  // returns never loses the run's result: it becomes a kAuditFailed event
  // and SandboxResult::audit_status. Empty: no audit. AuditFileSink() (audit.h)
  // appends JSON lines to a file.
  AuditSink audit;

  // Isolation's defaults with every Linux capability dropped (a container
  // runtime's `cap_drop: ALL`): a run that a root host starts as root cannot
  // override file permissions, load modules, trace or kill others'
  // processes, change the network... Keep a few with
  // isolation.keep_capabilities, or set drop_capabilities = false. Not a
  // wall on its own: on cgroup v1 a uid-0 run can still move itself into
  // another cgroup (run it as another uid, or with a read-only /sys; see
  // docs/ARCHITECTURE.md). Where the manager cannot drop capabilities
  // (macOS; a Linux host holding some but not CAP_SETPCAP) the run goes on,
  // reported by enforcement(), unless the manager is strict.
  static Isolation DefaultIsolation();
};

// OK, or InvalidArgument naming the first bad field: an empty or malformed
// pattern, a relative allowlist path, a workdir root not absolute or with a
// "." or ".." component, max_concurrent 0, negative caps or timeouts,
// invalid limits, a quota field zero or negative (max_queued: negative), a
// window not positive or over 366 days, an override for an empty or invalid
// key (see RunRequest::quota_key).
PROCSANDBOX_EXPORT absl::Status ValidateSandboxPolicy(
    const SandboxPolicy& policy);

}  // namespace procsandbox

#endif  // PROCSANDBOX_SANDBOX_POLICY_H_
