#include "run.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "report.h"
#include "result_file.h"
#include "signals.h"
#include "workdir.h"

namespace procsandbox::cli {
namespace {

void Say(bool quiet, const std::string& line) {
  if (!quiet) std::fprintf(stderr, "procsandbox: %s\n", line.c_str());
}

// A destination for forwarded output: the tool's own descriptor or a file.
struct Sink {
  int fd = -1;
  bool owned = false;
  int error = 0;  // the first write error (errno), reported after the run
  ~Sink() {
    if (owned) close(fd);
  }
  void Write(const std::string& line) {
    std::string data = line + "\n";
    const char* p = data.data();
    std::size_t left = data.size();
    while (left > 0) {
      const ssize_t n = write(fd, p, left);
      if (n <= 0) {  // a closed reader: the rest is dropped
        if (error == 0) error = n < 0 ? errno : EIO;
        return;
      }
      p += n;
      left -= static_cast<std::size_t>(n);
    }
  }
};

bool OpenSink(const std::string& path, int default_fd, Sink& sink) {
  if (path.empty()) {
    sink.fd = default_fd;
    return true;
  }
  sink.fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  sink.owned = sink.fd >= 0;
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
    return absl::StrCat("write the program's ", name, " to ",
                        path->empty() ? absl::StrCat("procsandbox's ", name)
                                      : absl::StrCat("\"", *path, "\""),
                        ": ", std::strerror(sink->error));
  }
  return "";
}

// Ends a run that did not start: the reason on stderr and in the result,
// and the exit status. A signal taken meanwhile is the reason (it may be
// what made the step fail, interrupting it): 128+N.
int NotStarted(const absl::Status& why, const SignalRelay& relay,
               const RunPlan& plan, const Capabilities& capabilities,
               ResultFile& result) {
  const Limits& limits = plan.command.limits;
  if (const int sig = relay.stop_signal(); sig != 0) {
    Say(false, absl::StrCat(SignalName(sig),
                            " before the program started: not started"));
    (void)result.Write(CancelledBeforeStartJson(sig, limits, capabilities));
    return 128 + sig;
  }
  Say(false, std::string(why.message()));
  (void)result.Write(StartFailureJson(why, limits, capabilities));
  return ExitStatusOfStartFailure(why);
}

// Removes the run's working directory, if any; 125 when that fails.
int RemovedWorkdir(const std::string& workdir, int status) {
  if (workdir.empty()) return status;
  if (absl::Status removed = RemoveWorkdir(workdir); !removed.ok()) {
    Say(false, std::string(removed.message()));
    return kExitToolFailed;
  }
  return status;
}

}  // namespace

int RunProgram(RunPlan plan) {
  // Before any thread exists, so every thread inherits the block: only the
  // relay takes these signals.
  SignalRelay relay;

  absl::StatusOr<std::unique_ptr<Manager>> manager = NewOsManager(plan.manager);
  if (!manager.ok()) {
    Say(false, std::string(manager.status().message()));
    return kExitToolFailed;
  }
  // From here a signal before the start ends the setup, even one blocked
  // in an open(2) of a FIFO (--stdin, --stdout, --result).
  relay.AllowInterrupts();
  const Capabilities capabilities = (*manager)->capabilities();
  const auto stop = [&relay] { return relay.stop_signal(); };
  ResultFile result;
  if (absl::Status opened = result.Open(plan.result, stop); !opened.ok()) {
    return NotStarted(opened, relay, plan, capabilities, result);
  }
  std::string workdir;
  if (!plan.workdir_root.empty() && relay.stop_signal() == 0) {
    absl::StatusOr<std::string> made = MakeWorkdir(plan.workdir_root);
    if (!made.ok()) {
      return NotStarted(made.status(), relay, plan, capabilities, result);
    }
    workdir = *made;
    plan.command.working_dir = workdir;
  }
  Sink out, err;
  if (plan.forward_output) {
    if (!OpenSink(plan.stdout_path, 1, out) ||
        !OpenSink(plan.stderr_path, 2, err)) {
      const absl::Status failed = absl::UnavailableError(absl::StrCat(
          "open \"", out.fd < 0 ? plan.stdout_path : plan.stderr_path,
          "\" to pass output on: ", std::strerror(errno)));
      return RemovedWorkdir(
          workdir, NotStarted(failed, relay, plan, capabilities, result));
    }
    plan.command.stdout_ = Stdio::Lines(
        [&out](absl::string_view line) { out.Write(std::string(line)); });
    if (plan.command.stderr_.kind() != Stdio::Kind::kToStdout) {
      plan.command.stderr_ = Stdio::Lines(
          [&err](absl::string_view line) { err.Write(std::string(line)); });
    }
  }

  std::shared_ptr<Process> process = (*manager)->New(plan.command);
  int status = kExitToolFailed;
  absl::Status started = relay.stop_signal() == 0
                             ? process->Start()
                             : absl::CancelledError("not started");
  if (!started.ok()) {
    status = NotStarted(started, relay, plan, capabilities, result);
  } else {
    relay.Attach(process);
    for (const std::string& line :
         EnforcementWarnings(process->enforcement(), capabilities)) {
      Say(plan.quiet, line);
    }
    absl::StatusOr<Outcome> outcome = process->Wait();
    relay.Detach();
    if (!outcome.ok()) {
      Say(false, std::string(outcome.status().message()));
    } else {
      status = ExitStatusOf(*outcome);
      const ResourceUsage usage = process->Usage();
      Say(plan.quiet, Summary(*outcome, usage));
      const std::string lost = ForwardingError(plan, out, err);
      if (!lost.empty()) {
        Say(false, lost);
        status = kExitToolFailed;
      }
      absl::Status written = result.Write(ResultJson(
          *outcome, process->Id(), process->enforcement(), usage, lost));
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
