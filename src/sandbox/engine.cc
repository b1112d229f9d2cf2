// Engine: a sandboxed run from its request to its result (see engine.h).
#include "sandbox/engine.h"

#include <algorithm>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/limits.h"
#include "procsandbox/outcome.h"
#include "sandbox/environment_policy.h"
#include "sandbox/program_policy.h"
#include "sandbox/quota.h"
#include "sandbox/run_audit.h"
#include "sandbox/security_violation.h"

namespace procsandbox::sandbox_internal {
namespace {

constexpr char kDefaultSearchPath[] = "/usr/local/bin:/usr/bin:/bin";

// Directories made ahead of time, in the background mode only (the
// synchronous mode keeps all file system work on the run's path).
std::size_t SpareCount(const SandboxPolicy& policy) {
  const WorkdirPolicy& wp = policy.workdir;
  if (wp.root.empty() || !wp.remove_in_background || wp.provider != nullptr) {
    return 0;
  }
  return std::clamp<std::size_t>(policy.queue.max_concurrent, 2, 4);
}

// Caps `field` at `ceiling` when the ceiling is set; says what it did.
template <typename T, typename Show>
void Cap(std::optional<T>& field, const std::optional<T>& ceiling,
         LimitKind kind, Show show, std::vector<std::string>& notes) {
  if (!ceiling.has_value() || (field.has_value() && *field <= *ceiling)) {
    return;
  }
  notes.push_back(
      fmt::format("{} capped at {} ({})", LimitKindName(kind), show(*ceiling),
                  field.has_value() ? absl::StrCat("asked ", show(*field))
                                    : std::string("none asked")));
  field = ceiling;
}

Limits CapLimits(Limits limits, const Limits& max,
                 std::vector<std::string>& notes) {
  auto dur = [](absl::Duration d) { return procsandbox::FormatDuration(d); };
  auto bytes = [](int64_t b) { return FormatByteSize(b); };
  auto num = [](auto n) { return absl::StrCat(n); };
  Cap(limits.wall_time, max.wall_time, LimitKind::kWallTime, dur, notes);
  Cap(limits.cpu_time, max.cpu_time, LimitKind::kCpuTime, dur, notes);
  Cap(limits.memory_bytes, max.memory_bytes, LimitKind::kMemory, bytes, notes);
  Cap(limits.file_size_bytes, max.file_size_bytes, LimitKind::kFileSize, bytes,
      notes);
  Cap(limits.open_files, max.open_files, LimitKind::kOpenFiles, num, notes);
  Cap(limits.processes, max.processes, LimitKind::kProcesses, num, notes);
  Cap(limits.output_bytes, max.output_bytes, LimitKind::kOutput, bytes, notes);
  Cap(limits.cpu_weight, max.cpu_weight, LimitKind::kCpuWeight, num, notes);
  return limits;
}

absl::Status CheckStdin(const RunRequest& request, bool launch) {
  switch (request.stdin_.kind()) {
    case Stdio::Kind::kDefault:
    case Stdio::Kind::kNull:
    case Stdio::Kind::kData:
      return absl::OkStatus();
    case Stdio::Kind::kPipe:
      if (launch) return absl::OkStatus();
      break;
    default:
      break;
  }
  return absl::InvalidArgumentError(fmt::format(
      "run {}: stdin {} is not accepted (Data or Null{})", request.id,
      ToString(request.stdin_), launch ? ", or Pipe" : "; Pipe with Launch()"));
}

// Over the in-memory fake, a policy without a resolver resolves programs
// against the fake's registrations (the host's files mean nothing there).
SandboxPolicy WithDefaults(const MemoryManager* fake, SandboxPolicy policy) {
  if (fake != nullptr && policy.programs.resolver == nullptr) {
    policy.programs.resolver = MemoryProgramResolver(*fake);
  }
  return policy;
}

}  // namespace

Engine::Engine(Manager& manager, SandboxPolicy policy)
    : manager_(manager),
      fake_(dynamic_cast<const MemoryManager*>(&manager)),
      policy_(WithDefaults(fake_, std::move(policy))),
      policy_status_(ValidateSandboxPolicy(policy_)),
      host_env_(policy_.environment.host.has_value() ? *policy_.environment.host
                                                     : Environment::FromHost()),
      // An invalid policy refuses every run: its quotas are never used (and
      // could not be resolved).
      queue_(policy_.queue,
             policy_status_.ok() ? policy_.quota : QuotaPolicy{}, manager_,
             // Without a sink the queue does not even format its events.
             !policy_.on_event
                 ? RunQueue::Emit()
                 : [this](SandboxEvent::Kind kind, const Slot& slot,
                          std::string detail) {
                     Emit(nullptr, kind, slot.id, std::move(detail),
                          slot.shown_key);
                   }),
      cleaner_(policy_.workdir.removal_timeout,
               std::max<std::size_t>(16, 2 * policy_.queue.max_concurrent),
               policy_.workdir.root, SpareCount(policy_),
               policy_.workdir.provider) {}

void Engine::Emit(const RunState* run, SandboxEvent::Kind kind,
                  const std::string& id, std::string detail,
                  const std::string& key) const {
  if (!policy_.on_event) return;
  SandboxEvent event;
  event.kind = kind;
  event.run_id = id;
  if (policy_.quota.enabled) {
    // An invalid key (refused) is not repeated raw: it may hold control
    // characters meant for a log or a terminal.
    const std::string& k = run != nullptr ? run->request.quota_key : key;
    // Redacted as the refusal's payload is: a key made of a token is a
    // secret's value.
    if (IsValidQuotaKey(k)) {
      event.quota_key = run != nullptr ? run->redactor.Redact(k) : k;
    }
  }
  event.time = manager_.Now();
  event.detail =
      run != nullptr ? run->redactor.Redact(detail) : std::move(detail);
  policy_.on_event(event);
}

absl::Status Engine::Audit(const RunState& run,
                           const AuditRecord& record) const {
  if (!policy_.audit) return absl::OkStatus();
  absl::Status status;
  // The sink is the host's code: whatever it does, the run's result stands.
  try {
    status = policy_.audit(record);
  } catch (const std::exception& e) {
    status = absl::UnknownError(
        absl::StrCat("the audit sink threw an exception: ", e.what()));
  } catch (...) {
    status = absl::UnknownError("the audit sink threw an exception");
  }
  if (status.ok()) return status;
  status = run.redactor.Redact(status);
  Emit(&run, SandboxEvent::Kind::kAuditFailed, run.request.id,
       absl::StrCat("audit record not written: ", status.message()));
  return status;
}

absl::Status Engine::Refuse(const RunState& run, const absl::Status& status) {
  absl::Status redacted = run.redactor.Redact(status);
  SandboxEvent::Kind kind = SandboxEvent::Kind::kRejected;
  if (status.code() == absl::StatusCode::kCancelled) {
    kind = SandboxEvent::Kind::kCancelled;
  } else if (GetQuotaExceeded(status).has_value()) {
    kind = SandboxEvent::Kind::kQuotaExceeded;
  }
  Emit(&run, kind, run.request.id, std::string(redacted.message()));
  // Nothing ran: the event is where a failing sink is reported.
  if (policy_.audit) (void)Audit(run, RecordOf(run, redacted, manager_.Now()));
  return redacted;
}

absl::StatusOr<std::unique_ptr<RunState>> Engine::Prepare(RunRequest request,
                                                          bool launch) {
  auto run = std::make_unique<RunState>();
  run->launched = launch;
  run->received_at = manager_.Now();
  run->redactor.AddSecrets(host_env_);
  run->redactor.AddSecrets(policy_.environment.set);
  run->redactor.AddSecrets(request.env);
  // The id is taken first (assigned under the queue's lock when empty), so
  // every event and message of the run names it.
  absl::StatusOr<std::shared_ptr<Slot>> slot = queue_.Enter(request.id);
  if (!slot.ok()) {
    run->request = std::move(request);
    return Refuse(*run, slot.status());
  }
  run->slot = *std::move(slot);
  request.id = run->slot->id;
  run->request = std::move(request);
  const RunRequest& r = run->request;
  // Reported before the slot is left: until then ~Sandbox waits for this
  // call.
  auto refuse = [&](const absl::Status& s) {
    absl::Status refused = Refuse(*run, s);
    queue_.Leave(run->slot, std::nullopt);
    return refused;
  };

  if (!policy_status_.ok()) return refuse(policy_status_);
  // Free text for the audit log, under a quota key's rules.
  if (!r.principal.empty()) {
    if (absl::Status s = CheckQuotaKey("RunRequest::principal", r.principal);
        !s.ok()) {
      return refuse(absl::InvalidArgumentError(
          fmt::format("run {}: {}", r.id, s.message())));
    }
  }
  if (policy_.quota.enabled) {
    if (absl::Status s = CheckQuotaKey("RunRequest::quota_key", r.quota_key);
        !s.ok()) {
      return refuse(absl::InvalidArgumentError(
          fmt::format("run {}: {} (quotas are enabled: every run names the "
                      "key it counts against)",
                      r.id, s.message())));
    }
    run->slot->quota_key = r.quota_key;
    run->slot->shown_key = run->redactor.Redact(r.quota_key);
  }
  if (r.program.empty()) {
    return refuse(absl::InvalidArgumentError(
        fmt::format("run {}: no program given", r.id)));
  }
  if (absl::Status s = CheckStdin(r, launch); !s.ok()) return refuse(s);
  if (!r.working_dir.empty()) {
    if (policy_.workdir.root.empty()) {
      return refuse(absl::InvalidArgumentError(fmt::format(
          "run {}: working_dir \"{}\" needs SandboxPolicy::workdir.root", r.id,
          r.working_dir)));
    }
    if (absl::Status s = CheckRelativePath(r.working_dir); !s.ok()) {
      return refuse(s);
    }
  }
  absl::StatusOr<BuiltEnvironment> env =
      BuildEnvironment(policy_.environment, host_env_, r.env);
  if (!env.ok()) return refuse(env.status());
  run->env = std::move(env->env);
  run->env_built = true;
  run->dropped_env = std::move(env->dropped);
  run->explicit_env = std::move(env->explicit_names);

  const std::optional<std::string> path = run->env.Get("PATH");
  absl::StatusOr<ProgramFile> file = CheckProgram(
      policy_.programs, r.program, r.args, path.value_or(kDefaultSearchPath));
  if (!file.ok()) return refuse(file.status());
  run->program = *std::move(file);

  run->limits = CapLimits(MergeLimits(r.limits, policy_.default_limits),
                          policy_.max_limits, run->limit_notes);
  if (absl::Status s = ValidateLimits(run->limits); !s.ok()) {
    return refuse(absl::InvalidArgumentError(
        fmt::format("run {}: {}", r.id, s.message())));
  }
  return run;
}

absl::Status Engine::MakeWorkdir(RunState& run) {
  const WorkdirPolicy& wp = policy_.workdir;
  if (wp.root.empty()) return absl::OkStatus();
  // With spares, one made ahead of time (re-checked) when there is one.
  absl::StatusOr<std::unique_ptr<WorkdirProvider::Directory>> dir =
      cleaner_.Take();
  if (!dir.ok()) return dir.status();
  run.workdir = *std::move(dir);
  // Variables the policy or the request set themselves win; values
  // inherited from the host are replaced.
  if (wp.set_tmpdir && run.explicit_env.count("TMPDIR") == 0) {
    (void)run.env.Set("TMPDIR", absl::StrCat(run.workdir->path(), "/tmp"));
  }
  if (wp.set_home && run.explicit_env.count("HOME") == 0) {
    (void)run.env.Set("HOME", run.workdir->path());
  }
  return absl::OkStatus();
}

WorkdirCleanup Engine::DisposeWorkdir(RunState& run, absl::Status& status) {
  if (policy_.workdir.remove_in_background) {
    // The redactor is copied: the run's state is gone when this is called.
    auto on_failure = [this, id = run.request.id,
                       key = run.redactor.Redact(run.request.quota_key),
                       redactor = run.redactor](const absl::Status& s) {
      Emit(nullptr, SandboxEvent::Kind::kCleanupFailed, id,
           std::string(redactor.Redact(s).message()), key);
    };
    if (cleaner_.Submit(run.workdir, std::move(on_failure))) {
      return WorkdirCleanup::kPending;
    }
  }
  absl::Status removed = run.workdir->Remove(policy_.workdir.removal_timeout);
  if (removed.ok()) return WorkdirCleanup::kRemoved;
  status = run.redactor.Redact(removed);
  Emit(&run, SandboxEvent::Kind::kCleanupFailed, run.request.id,
       std::string(status.message()));
  return WorkdirCleanup::kFailed;
}

Command Engine::MakeCommand(RunState& run) {
  const RunRequest& r = run.request;
  Command cmd(run.program.path, r.args);
  cmd.env = run.env;
  cmd.stdin_ = r.stdin_.kind() == Stdio::Kind::kDefault && run.launched
                   ? Stdio::Pipe()
                   : r.stdin_;
  if (!run.launched || r.on_line) {
    // The byte cap in force: the policy's, or the request's when lower. The
    // manager cuts raw bytes at it (a line without '\n' never reaches a
    // callback) and, under kStop, stops the program itself; the collector
    // keeps lines within it and reports what the manager dropped.
    const int64_t cap =
        std::min(policy_.output.max_bytes,
                 run.limits.output_bytes.value_or(policy_.output.max_bytes));
    run.limits.output_bytes = cap;
    OutputPolicy output = policy_.output;
    output.max_bytes = cap;
    run.collector = std::make_shared<OutputCollector>(output, r.on_line);
    cmd.stdout_ = run.collector->Sink(Stream::kStdout);
    cmd.stderr_ = run.collector->Sink(Stream::kStderr);
    cmd.on_output_limit = policy_.output.on_limit;
  } else {
    cmd.stdout_ = Stdio::Pipe();
    cmd.stderr_ = Stdio::Pipe();
  }
  cmd.limits = run.limits;
  cmd.kill_grace = r.kill_grace;
  cmd.isolation = policy_.isolation;
  cmd.monitor = r.monitor;
  cmd.name = r.name.empty() ? absl::StrCat(r.id, " ", r.program) : r.name;
  return cmd;
}

absl::Status Engine::Start(RunState& run) {
  const RunRequest& r = run.request;
  std::optional<absl::Duration> ran;  // it started, then was refused
  absl::Status s = queue_.Acquire(
      run.slot, r.queue_timeout.value_or(policy_.queue.queue_timeout));
  if (s.ok()) {
    // After kQueued: the ceilings apply to a run that got its slot.
    for (std::string& note : run.limit_notes) {
      Emit(&run, SandboxEvent::Kind::kLimitApplied, r.id, std::move(note));
    }
    run.limit_notes.clear();
    s = MakeWorkdir(run);
    if (s.ok() && !r.working_dir.empty()) {
      absl::StatusOr<std::string> dir =
          run.workdir->Subdirectory(r.working_dir);
      s = dir.status();
      if (dir.ok()) run.workdir_path = *std::move(dir);
    }
  }
  if (s.ok()) {
    Command cmd = MakeCommand(run);
    if (run.workdir != nullptr) {
      cmd.working_dir =
          run.workdir_path.empty() ? run.workdir->path() : run.workdir_path;
    }
    // Secrets are taken out before the command is formatted: quoting or
    // escaping would otherwise hide a value from a search for it.
    const std::string shown =
        run.redactor.Redact(ToString(run.redactor.Redact(cmd)));
    run.process = manager_.New(std::move(cmd));
    if (run.collector != nullptr) run.collector->SetProcess(run.process);
    s = run.process->Start();
    if (s.ok()) {
      run.started = true;
      run.started_at = manager_.Now();
      Emit(&run, SandboxEvent::Kind::kStarted, r.id, shown);
      if (!queue_.Attach(run.slot, run.process)) {
        (void)run.process->Terminate();  // cancelled while starting
      }
      for (const LimitEnforcement& e : run.process->enforcement().limits) {
        Emit(&run,
             e.enforced() ? SandboxEvent::Kind::kLimitApplied
                          : SandboxEvent::Kind::kLimitDegraded,
             r.id, ToString(e));
      }
      s = VerifyStarted(run);
      if (s.ok()) return absl::OkStatus();
      // Refused after the start: stopped at once, and reaped before its
      // directory goes. It ran: its time counts, its rate token stays taken.
      (void)run.process->Kill();
      absl::StatusOr<Outcome> ended = run.process->Wait();
      if (ended.ok()) ran = ended->wall_time;
    }
  }
  if (run.workdir != nullptr) {
    absl::Status ignored;  // the run's error is what the caller gets
    (void)DisposeWorkdir(run, ignored);
  }
  // Reported before the slot is left: until then ~Sandbox waits for this
  // call.
  absl::Status refused = Refuse(run, s);
  queue_.Leave(run.slot, ran);
  return refused;
}

absl::Status Engine::VerifyStarted(RunState& run) {
  if (policy_.verify == VerifyPolicy::kOff) return absl::OkStatus();
  const std::string& id = run.request.id;
  absl::StatusOr<Verification> read = run.process->Verify();
  if (!read.ok()) {
    run.verify_status = run.redactor.Redact(read.status());
    Emit(&run, SandboxEvent::Kind::kVerifyFailed, id,
         std::string(run.verify_status.message()));
    // A program that ended before it could be read holds nothing any more.
    // After a start, FailedPrecondition says just that (Verify()'s contract;
    // the OS managers may see the exit before state() does).
    const bool ended = absl::IsFailedPrecondition(read.status());
    if (policy_.verify == VerifyPolicy::kReport || ended) {
      return absl::OkStatus();
    }
    return Violation(
        SecurityViolation::Kind::kLimitMismatch, "verification",
        fmt::format("run {}: its limits could not be read back after the "
                    "start, the run was stopped: {}",
                    id, run.verify_status.message()));
  }
  run.verification = *std::move(read);
  const Verification& v = *run.verification;
  // The summary, or every mismatch.
  Emit(&run, SandboxEvent::Kind::kVerified, id, ToString(v));
  const std::vector<VerificationCheck> bad = v.mismatches();
  if (bad.empty() || policy_.verify == VerifyPolicy::kReport) {
    return absl::OkStatus();
  }
  std::vector<std::string> found;
  found.reserve(bad.size());
  for (const VerificationCheck& c : bad) {
    found.push_back(
        fmt::format("{} asked {}, found {}", c.item, c.asked, c.found));
  }
  return Violation(
      SecurityViolation::Kind::kLimitMismatch, bad.front().item,
      fmt::format("run {}: limits weaker than asked after the start, the run "
                  "was stopped: {}",
                  id, absl::StrJoin(found, "; ")));
}

absl::StatusOr<SandboxResult> Engine::Run(RunRequest request) {
  const FakeHostCall busy(fake_);
  absl::StatusOr<std::unique_ptr<RunState>> run =
      Prepare(std::move(request), /*launch=*/false);
  if (!run.ok()) return run.status();
  if (absl::Status s = Start(**run); !s.ok()) return s;
  return Finish(**run);
}

absl::StatusOr<std::unique_ptr<RunState>> Engine::Launch(RunRequest request) {
  const FakeHostCall busy(fake_);
  absl::StatusOr<std::unique_ptr<RunState>> run =
      Prepare(std::move(request), /*launch=*/true);
  if (!run.ok()) return run.status();
  if (absl::Status s = Start(**run); !s.ok()) return s;
  queue_.MarkLaunched((*run)->slot);
  return run;
}

absl::StatusOr<SandboxResult> Engine::Finish(RunState& run) {
  const RunRequest& r = run.request;
  SandboxResult result;
  result.id = r.id;
  result.ticket = run.slot->ticket;
  result.queued_at = run.slot->queued_at;
  result.started_at = run.started_at;
  result.queue_time = run.slot->admitted_at - run.slot->queued_at;
  // Paths are shown as every text is: a secret PATH's entry, or a secret
  // in the workdir root, redacted.
  result.program_path = run.redactor.Redact(run.program.path);
  result.dropped_env = run.dropped_env;
  result.pid = run.process->Id();
  absl::StatusOr<Outcome> outcome = run.process->Wait();
  absl::Status wait_error;
  if (outcome.ok()) {
    result.outcome = *std::move(outcome);
  } else {
    // No outcome: never report the default one (exited 0) as the run's.
    wait_error = run.redactor.Redact(
        absl::Status(outcome.status().code(),
                     fmt::format("run {}: waiting for the program failed: {}",
                                 r.id, outcome.status().message())));
  }
  result.finished_at = manager_.Now();
  result.enforcement = run.process->enforcement();
  result.verification = run.verification;
  result.verify_status = run.verify_status;

  const bool cancelled = run.slot->cancelled;
  if (run.collector != nullptr) {
    CollectedOutput out =
        run.collector->Finish(run.process->Usage().output_bytes);
    if (out.stopped && !cancelled &&
        result.outcome.reason == ExitReason::kCancelled) {
      // The sandbox stopped it at the line cap: for the host that is the
      // output limit, as the manager reports the byte cap.
      result.outcome.reason = ExitReason::kOutputExceeded;
    }
    result.stdout_ = std::move(out.stdout_);
    result.stderr_ = std::move(out.stderr_);
    result.stdout_truncated = out.stdout_truncated;
    result.stderr_truncated = out.stderr_truncated;
    result.truncated_by = out.cap;
    result.stdout_lines = out.stdout_lines;
    result.stderr_lines = out.stderr_lines;
    if (out.cap != OutputCap::kNone) {
      Emit(&run, SandboxEvent::Kind::kOutputTruncated, r.id,
           fmt::format("{} cap reached ({} bytes, {} lines){}",
                       OutputCapName(out.cap), out.max_bytes,
                       policy_.output.max_lines,
                       policy_.output.on_limit == OutputLimitAction::kStop
                           ? ": program stopped"
                           : ": the rest dropped"));
    }
  }
  result.status = StatusOf(result.outcome);
  if (cancelled && result.outcome.reason == ExitReason::kCancelled) {
    result.status = SandboxStatus::kCancelled;
  }
  result.wall_time = result.outcome.wall_time;
  result.cpu_time = result.outcome.user_time + result.outcome.system_time;
  result.peak_memory_bytes = result.outcome.peak_memory_bytes;
  if (!wait_error.ok()) {
    result.status = SandboxStatus::kError;
    Emit(&run, SandboxEvent::Kind::kExited, r.id,
         std::string(wait_error.message()));
  } else {
    Emit(&run,
         cancelled ? SandboxEvent::Kind::kCancelled
                   : SandboxEvent::Kind::kExited,
         r.id, ToString(result.outcome));
  }

  if (run.workdir != nullptr) {
    result.workdir = run.redactor.Redact(run.workdir->path());
    if (policy_.workdir.keep_on_failure && !result.ok()) {
      result.cleanup = WorkdirCleanup::kKept;
    } else {
      result.cleanup = DisposeWorkdir(run, result.cleanup_status);
    }
    result.workdir_kept = result.cleanup == WorkdirCleanup::kKept ||
                          result.cleanup == WorkdirCleanup::kFailed;
  }
  // Before the slot is left: until then ~Sandbox waits for this call.
  if (policy_.audit) {
    result.audit_status =
        wait_error.ok() ? Audit(run, RecordOf(run, result, manager_.Now()))
                        : Audit(run, RecordOf(run, wait_error, manager_.Now()));
  }
  queue_.Leave(run.slot, result.outcome.wall_time);
  if (!wait_error.ok()) return wait_error;
  return result;
}

}  // namespace procsandbox::sandbox_internal
