#include "run.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "audit_log.h"
#include "isolation_options.h"
#include "posix/errno_status.h"
#include "procsandbox/sandbox/workdir.h"
#include "report.h"
#include "result_file.h"
#include "signals.h"
#include "status_line.h"
#include "timeline.h"

namespace procsandbox::cli {
namespace {

// The status line's sampling when nothing else asks for samples: once a
// second, as the elapsed time it shows ticks, and cheap (one read of the
// tree's usage).
constexpr absl::Duration kStatusInterval = absl::Seconds(1);

void Say(bool quiet, const std::string& line) {
  if (!quiet) std::fprintf(stderr, "procsandbox: %s\n", line.c_str());
}

// A destination for forwarded output: the tool's own descriptor or a file.
// The library reads the program's pipe a block at a time and hands each
// block here unchanged (Stdio::Chunks): one write(2) per block, nothing
// held, so forwarding costs about what `cat` does.
struct Sink {
  int fd = -1;
  bool owned = false;
  int error = 0;  // the first write error (errno) but EPIPE, reported after
  // The reader went away (EPIPE): the program is stopped as in a pipeline.
  std::function<void()> on_reader_gone;
  bool reader_gone = false;
  // Asked while the destination takes nothing (a reader that stopped
  // reading): true once the run is ending (its deadline passed, a stop was
  // passed on). The writes run on the library's only thread, which also
  // serves the deadline and the exit: the pending output is then dropped
  // and that thread goes back to them, instead of waiting for the reader.
  std::function<bool()> ending;
  // Called before each block is written: a terminal's status line is
  // erased, so that the output starts on a clean line.
  std::function<void()> before_write;
  bool abandoned = false;
  ~Sink() {
    if (owned) close(fd);
  }
  void Write(absl::string_view data) {
    if (reader_gone) {
      // The program lived through its SIGPIPE and writes on: in a pipeline
      // its writes would fail; here it is stopped.
      if (on_reader_gone) on_reader_gone();
      return;
    }
    if (abandoned) return;
    if (before_write) before_write();
    while (!data.empty()) {
      const ssize_t n = write(fd, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        // A full pipe (the descriptor is non-blocking, see OpenSink): wait
        // for room in short slices, so that an ending run is noticed.
        if (ending && ending()) {
          abandoned = true;
          return;
        }
        struct pollfd room = {fd, POLLOUT, 0};
        (void)poll(&room, 1, 10);
        continue;
      }
      if (n < 0 && errno == EPIPE) {
        // SIGPIPE is blocked in every thread of the tool: it lives on and
        // stops the program instead.
        reader_gone = true;
        if (on_reader_gone) on_reader_gone();
        return;
      }
      if (n <= 0) {  // the rest is dropped; the run ends with 125
        if (error == 0) error = n < 0 ? errno : EIO;
        return;
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }
};

// Makes `sink` write without blocking where a write can block (a pipe, a
// FIFO, a terminal): the tool's own descriptor is reopened through /proc
// (a new open file description: the O_NONBLOCK set here is seen by nobody
// else), a file the tool opened gets O_NONBLOCK itself. Regular files and
// what cannot be reopened (a socket) stay as they are.
void MakeNonBlocking(Sink& sink) {
  struct stat st;
  if (fstat(sink.fd, &st) != 0 || S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
    return;
  }
  if (!sink.owned) {
    const std::string self = absl::StrCat("/proc/self/fd/", sink.fd);
    const int fd =
        open(self.c_str(), O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return;
    sink.fd = fd;
    sink.owned = true;
    return;
  }
  const int flags = fcntl(sink.fd, F_GETFL);
  if (flags >= 0) (void)fcntl(sink.fd, F_SETFL, flags | O_NONBLOCK);
}

bool OpenSink(const std::string& path, int default_fd, Sink& sink) {
  if (path.empty()) {
    sink.fd = default_fd;
    MakeNonBlocking(sink);
    return true;
  }
  sink.fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  sink.owned = sink.fd >= 0;
  if (sink.owned) MakeNonBlocking(sink);
  return sink.fd >= 0;
}

// The first output that could not be passed on, as a message; empty when
// all was written.
std::string ForwardingError(const RunPlan& plan, const Sink& out,
                            const Sink& err) {
  for (const auto& [sink, name, path] :
       {std::tuple{&out, "stdout", &plan.stdout_path},
        std::tuple{&err, "stderr", &plan.stderr_path}}) {
    if (sink->error == 0) continue;
    return std::string(
        posix_internal::ErrnoStatus(
            sink->error,
            absl::StrCat("write the program's ", name, " to ",
                         path->empty() ? absl::StrCat("procsandbox's ", name)
                                       : absl::StrCat("\"", *path, "\"")))
            .message());
  }
  return "";
}

// Appends the run's audit record when --audit asked for one. A failure is
// said on stderr and returned for the JSON result ("" when written or not
// asked); it never changes the exit status.
std::string Audited(const AuditLog& audit, AuditRecord record) {
  absl::Status written = audit.Append(std::move(record));
  if (written.ok()) return "";
  Say(false, std::string(written.message()));
  return std::string(written.message());
}

void SetAuditError(nlohmann::ordered_json& json, const std::string& error) {
  if (!error.empty()) json["audit_error"] = error;
}

// Ends a run that did not start: the reason on stderr and in the result,
// and the exit status. A signal taken meanwhile is the reason (it may be
// what made the step fail, interrupting it): 128+N. A step of the tool's
// own (`tools_own`: the result file, the working directory, the forwarded
// output) that failed is 125 whatever its code; a failed Start() is mapped
// by ExitStatusOfStartFailure().
int NotStarted(const absl::Status& why, const SignalRelay& relay,
               const RunPlan& plan, const Capabilities& capabilities,
               ResultFile& result, TimelineFile& timeline,
               const AuditLog& audit, bool tools_own = false) {
  const Command& command = plan.command;
  if (const int sig = relay.stop_signal(); sig != 0) {
    Say(false, absl::StrCat(SignalName(sig),
                            " before the program started: not started"));
    const std::string audit_error = Audited(
        audit,
        RecordOfStartFailure(
            command, absl::CancelledError(absl::StrCat(
                         SignalName(sig), " before the program started"))));
    nlohmann::ordered_json json =
        CancelledBeforeStartJson(sig, command, capabilities);
    SetAuditError(json, audit_error);
    timeline.Start(command, std::nullopt);
    timeline.End(json);
    absl::Status written = result.Write(json);
    if (!written.ok()) Say(false, std::string(written.message()));
    return 128 + sig;
  }
  Say(false, std::string(why.message()));
  const std::string audit_error =
      Audited(audit, RecordOfStartFailure(command, why));
  nlohmann::ordered_json json = StartFailureJson(why, command, capabilities);
  SetAuditError(json, audit_error);
  timeline.Start(command, std::nullopt);
  timeline.End(json);
  absl::Status written = result.Write(json);
  if (!written.ok()) {
    Say(false, std::string(written.message()));
    return kExitToolFailed;
  }
  return tools_own ? kExitToolFailed : ExitStatusOfStartFailure(why);
}

// --verify: reads the started program's limits back, says what it found
// (unless quiet), and under refuse kills the program when one is weaker
// than asked or they could not be read (but for a program that already
// ended: nothing is left to hold).
VerifyReport VerifyStarted(VerifyPolicy policy, Process& process, bool quiet) {
  VerifyReport report;
  report.policy = policy;
  if (policy == VerifyPolicy::kOff) return report;
  absl::StatusOr<Verification> read = process.Verify();
  if (read.ok()) {
    report.refused = policy == VerifyPolicy::kRefuse && !read->ok();
    Say(quiet && !report.refused, ToString(*read));
    report.verification = *std::move(read);
  } else {
    report.error = std::string(read.status().message());
    // After a start, FailedPrecondition is Verify()'s "it ended".
    const bool ended = absl::IsFailedPrecondition(read.status());
    report.refused = policy == VerifyPolicy::kRefuse && !ended;
    Say(quiet && !report.refused, absl::StrCat("not verified: ", report.error));
  }
  if (report.refused) {
    Say(false, "--verify=refuse: killing the program");
    (void)process.Kill();
  }
  return report;
}

// Removes the run's working directory, if any, however long it takes (as
// `rm -rf` would); 125 when that fails.
int RemovedWorkdir(std::optional<RunDirectory>& workdir, int status) {
  if (!workdir.has_value()) return status;
  if (absl::Status removed = workdir->Remove(absl::InfiniteDuration());
      !removed.ok()) {
    Say(false, absl::StrCat("remove the working directory \"", workdir->path(),
                            "\": ", removed.message()));
    return kExitToolFailed;
  }
  return status;
}

}  // namespace

int RunProgram(RunPlan plan) {
  // Before any thread exists, so every thread inherits the block: only the
  // relay takes these signals.
  SignalRelay relay;
  AuditLog audit;
  audit.path = plan.audit;
  audit.principal = plan.principal.empty() ? RealUserName() : plan.principal;
  audit.run_id = NewRunId();
  audit.received_at = absl::Now();

  absl::StatusOr<std::unique_ptr<Manager>> manager = NewManagerOf(plan.backend);
  if (!manager.ok()) {
    Say(false, std::string(manager.status().message()));
    (void)Audited(audit, RecordOfStartFailure(plan.command, manager.status()));
    return kExitToolFailed;
  }
  // From here a signal before the start ends the setup, even one blocked
  // in an open(2) of a FIFO (--stdin, --stdout, --result).
  relay.AllowInterrupts();
  const Capabilities capabilities = (*manager)->capabilities();
  if (plan.default_capability_drop) {
    // Dropped by default where this manager can; a host that cannot is not
    // refused (nor warned about) for what the user did not ask for.
    const IsolationEnforcement* caps =
        capabilities.Find(IsolationKind::kCapabilities);
    if (caps == nullptr || !caps->enforced) {
      plan.command.isolation.drop_capabilities = false;
    }
  }
  const auto stop = [&relay] { return relay.stop_signal(); };
  ResultFile result;
  TimelineFile timeline;
  if (absl::Status opened = result.Open(plan.result, stop); !opened.ok()) {
    return NotStarted(opened, relay, plan, capabilities, result, timeline,
                      audit,
                      /*tools_own=*/true);
  }
  if (absl::Status opened = timeline.Open(plan.timeline, stop); !opened.ok()) {
    return NotStarted(opened, relay, plan, capabilities, result, timeline,
                      audit, /*tools_own=*/true);
  }
  // The live status line: only on a terminal, and not with --quiet.
  std::optional<StatusLine> status_line;
  if (!plan.quiet && isatty(2) == 1) {
    status_line.emplace(2, plan.command.limits.memory_bytes);
    if (!plan.monitored) {
      plan.command.monitor.enabled = true;
      plan.command.monitor.interval = kStatusInterval;
    }
  }
  if (plan.command.monitor.enabled) {
    plan.command.monitor.on_sample = [&timeline,
                                      &status_line](const UsageSample& s) {
      timeline.Sample(s);
      if (status_line.has_value()) status_line->Show(s);
    };
  }
  std::optional<RunDirectory> workdir;
  if (!plan.workdir_root.empty() && relay.stop_signal() == 0) {
    absl::StatusOr<RunDirectory> made = RunDirectory::Create(plan.workdir_root);
    if (!made.ok()) {
      return NotStarted(made.status(), relay, plan, capabilities, result,
                        timeline, audit, /*tools_own=*/true);
    }
    workdir = *std::move(made);
    plan.command.working_dir = workdir->path();
    BindWorkdir(plan, workdir->path());
  }
  Sink out, err;
  if (plan.forward_output) {
    if (!OpenSink(plan.stdout_path, 1, out) ||
        !OpenSink(plan.stderr_path, 2, err)) {
      const int error = errno;
      const absl::Status failed = posix_internal::ErrnoStatus(
          error, absl::StrCat("open \"",
                              out.fd < 0 ? plan.stdout_path : plan.stderr_path,
                              "\" to pass output on"));
      return RemovedWorkdir(
          workdir, NotStarted(failed, relay, plan, capabilities, result,
                              timeline, audit, /*tools_own=*/true));
    }
    plan.command.stdout_ =
        Stdio::Chunks([&out](absl::string_view bytes) { out.Write(bytes); });
    if (plan.command.stderr_.kind() != Stdio::Kind::kToStdout) {
      plan.command.stderr_ =
          Stdio::Chunks([&err](absl::string_view bytes) { err.Write(bytes); });
    }
  }

  // Forwarded output to the terminal erases the status line first.
  if (status_line.has_value()) {
    for (Sink* sink : {&out, &err}) {
      if (sink->fd >= 0 && isatty(sink->fd) == 1) {
        sink->before_write = [&status_line] { status_line->Interrupt(); };
      }
    }
  }

  std::shared_ptr<Process> process = (*manager)->New(plan.command);
  // A reader of forwarded output that goes away (`... | head -1`): the
  // program gets SIGPIPE, as its own write into a closed pipe would give
  // it; one that ignores it and writes on is terminated.
  std::weak_ptr<Process> weak = process;
  auto stops = std::make_shared<int>(0);  // both sinks run on one thread
  for (Sink* sink : {&out, &err}) {
    sink->on_reader_gone = [weak, stops] {
      std::shared_ptr<Process> p = weak.lock();
      if (!p || *stops == 2) return;
      (void)(++*stops == 1 ? p->Signal(SIGPIPE) : p->Terminate());
    };
  }
  // A reader that stops reading must not hold the deadline or a stop.
  absl::Time deadline = absl::InfiniteFuture();
  for (Sink* sink : {&out, &err}) {
    sink->ending = [&relay, &deadline] {
      return relay.ending() || absl::Now() >= deadline;
    };
  }
  if (const std::optional<absl::Duration> wall =
          process->GetLimits().wall_time) {
    deadline = absl::Now() + *wall;
  }
  int status = kExitToolFailed;
  absl::Status started = relay.stop_signal() == 0
                             ? process->Start()
                             : absl::CancelledError("not started");
  if (!started.ok()) {
    status =
        NotStarted(started, relay, plan, capabilities, result, timeline, audit);
  } else {
    const absl::Time started_at = absl::Now();
    relay.Attach(process);
    timeline.Start(plan.command, process->Id());
    for (const std::string& line :
         EnforcementWarnings(process->enforcement(), capabilities)) {
      Say(plan.quiet, line);
    }
    const VerifyReport verified =
        VerifyStarted(plan.verify, *process, plan.quiet);
    if (status_line.has_value()) status_line->Arm();
    absl::StatusOr<Outcome> outcome = process->Wait();
    relay.Detach();
    if (status_line.has_value()) status_line->Clear();
    if (outcome.ok() && !plan.monitored) {
      outcome->samples.clear();  // the status line's, not asked for
    }
    if (!outcome.ok()) {
      Say(false, std::string(outcome.status().message()));
      (void)Audited(audit,
                    RecordOfStartFailure(plan.command, outcome.status()));
    } else {
      status = verified.refused ? kExitVerifyRefused : ExitStatusOf(*outcome);
      const ResourceUsage usage = process->Usage();
      Say(plan.quiet, Summary(*outcome, usage));
      std::string lost = ForwardingError(plan, out, err);
      nlohmann::ordered_json json = ResultJson(
          *outcome, process->Id(), process->enforcement(), usage, lost);
      json["verification"] = VerificationJson(verified);
      timeline.End(json);
      // Records of the timeline that were lost: its reader's loss, told as
      // lost output is.
      if (lost.empty()) lost = std::string(timeline.status().message());
      if (!lost.empty()) {
        Say(false, lost);
        status = kExitToolFailed;
      }
      AuditRecord record = RecordOfRun(plan.command, *outcome, process->Id(),
                                       process->enforcement(), started_at);
      record.verification = verified.verification;
      record.verify_error = verified.error;
      const std::string audit_error = Audited(audit, record);
      json["error"] = lost.empty() ? nlohmann::ordered_json(nullptr)
                                   : nlohmann::ordered_json(lost);
      SetAuditError(json, audit_error);
      absl::Status written = result.Write(json);
      if (!written.ok()) {
        Say(false, std::string(written.message()));
        // Interrupted on purpose (a full pipe nobody reads): 128+N.
        status = relay.stop_signal() != 0 ? 128 + relay.stop_signal()
                                          : kExitToolFailed;
      }
    }
  }
  process.reset();
  manager->reset();
  return RemovedWorkdir(workdir, status);
}

}  // namespace procsandbox::cli
