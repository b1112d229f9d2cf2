// The sandbox soak: random requests through two Sandboxes (output caps
// truncating, and stopping) over one OS manager, running the test helper.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "procsandbox/os_manager.h"
#include "procsandbox/sandbox.h"
#include "soak.h"

namespace procsandbox::soak {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;

// The signals a `signal` step raises, with the number the outcome reports.
struct NamedSignal {
  const char* name;
  int number;
};
const std::vector<NamedSignal>& DeadlySignals() {
  static const auto* kSignals = new std::vector<NamedSignal>{
      {"TERM", SIGTERM}, {"KILL", SIGKILL}, {"SEGV", SIGSEGV},
      {"ABRT", SIGABRT}, {"USR1", SIGUSR1}, {"HUP", SIGHUP},
      {"BUS", SIGBUS},   {"PIPE", SIGPIPE},
  };
  return *kSignals;
}

std::string Describe(const absl::StatusOr<SandboxResult>& r) {
  if (!r.ok()) return r.status().ToString();
  return absl::StrCat(SandboxStatusName(r->status), ": ", ToString(r->outcome),
                      " stdout ", r->stdout_.size(), " bytes",
                      r->stdout_truncated ? " (truncated)" : "");
}

class SandboxSoak : public SoakMode {
 public:
  SandboxSoak(SoakOptions options, std::string scratch)
      : options_(std::move(options)), scratch_(std::move(scratch)) {}

  absl::Status Init();
  RunReport RunOne(int64_t index) override;
  void TearDown() override;
  void CheckLeftovers(Leftovers& out) override;
  std::string Counters() const override;
  void RemoveScratch() override { RemoveTree(scratch_).IgnoreError(); }

 private:
  // Each returns "" when the run did what its scenario expects, else why not.
  std::string Exit(RunRandom& rng, RunRequest& request);
  std::string Signal(RunRandom& rng, RunRequest& request);
  std::string Timeout(RunRandom& rng, RunRequest& request);
  std::string MemoryBomb(RunRandom& rng, RunRequest& request);
  std::string ForkBomb(RunRandom& rng, RunRequest& request);
  std::string FailedStart(RunRandom& rng, RunRequest& request);
  std::string OutputCap(RunRandom& rng, RunRequest& request);
  std::string Cancel(RunRandom& rng, RunRequest& request);
  std::string SuspendResume(RunRandom& rng, RunRequest& request);

  // Either sandbox (both over the same manager) for runs the cap mode does
  // not matter to.
  Sandbox& AnySandbox(RunRandom& rng) {
    return rng.Chance(0.5) ? *truncating_ : *stopping_;
  }
  // The result's counters (cleanup failures), then the result.
  absl::StatusOr<SandboxResult> Note(absl::StatusOr<SandboxResult> r);
  bool Enforced(LimitKind kind, Mechanism a, Mechanism b) const {
    const LimitEnforcement* e = caps_.Find(kind);
    return e != nullptr && (e->mechanism == a || e->mechanism == b);
  }
  void OnSandboxEvent(const SandboxEvent& event);

  const SoakOptions options_;
  const std::string scratch_;
  std::string runs_root_;
  std::string bad_interpreter_;
  std::unique_ptr<Manager> manager_;
  Capabilities caps_;
  std::unique_ptr<Sandbox> truncating_;
  std::unique_ptr<Sandbox> stopping_;

  std::atomic<int64_t> cleanup_failed_results_{0};
  std::atomic<int64_t> cleanup_failed_events_{0};
  std::atomic<int64_t> cgroup_cleanup_events_{0};
  std::atomic<int64_t> cgroup_degraded_events_{0};
  mutable absl::Mutex mu_;
  std::vector<std::string> event_examples_ ABSL_GUARDED_BY(mu_);
};

absl::Status SandboxSoak::Init() {
  runs_root_ = scratch_ + "/runs";
  if (mkdir(runs_root_.c_str(), 0700) != 0) {
    return absl::InternalError(absl::StrCat("mkdir \"", runs_root_, "\""));
  }
  // An executable the policy accepts whose exec fails: its interpreter is
  // missing (execve: ENOENT), a start failure after every check passed.
  bad_interpreter_ = scratch_ + "/bad-interpreter";
  {
    std::ofstream script(bad_interpreter_);
    script << "#!/nonexistent/procsandbox-soak-interpreter\n";
  }
  if (chmod(bad_interpreter_.c_str(), 0755) != 0) {
    return absl::InternalError("chmod " + bad_interpreter_);
  }

  OsManagerOptions manager_options;
  manager_options.cgroups = options_.cgroups;
  manager_options.on_event = [this](const OsManagerEvent& event) {
    if (event.kind == OsManagerEvent::Kind::kCgroupCleanupFailed) {
      ++cgroup_cleanup_events_;
    } else if (event.kind == OsManagerEvent::Kind::kCgroupDegraded) {
      ++cgroup_degraded_events_;
    } else {
      return;
    }
    absl::MutexLock lock(&mu_);
    if (event_examples_.size() < 5) event_examples_.push_back(ToString(event));
  };
  absl::StatusOr<std::unique_ptr<Manager>> manager =
      NewOsManager(std::move(manager_options));
  if (!manager.ok()) return manager.status();
  manager_ = *std::move(manager);
  caps_ = manager_->capabilities();

  SandboxPolicy policy;
  policy.programs.allow = {options_.helper, bad_interpreter_};
  policy.workdir.root = runs_root_;
  policy.queue.max_concurrent =
      static_cast<std::size_t>(std::max(1, options_.threads / 2));
  policy.queue.max_queued = static_cast<std::size_t>(options_.threads) * 2;
  policy.output.max_bytes = 256 * 1024;
  policy.output.max_lines = 2'000;
  // A guard against hangs only: every scenario ends well before it.
  policy.default_limits.wall_time = absl::Seconds(120);
  policy.on_event = [this](const SandboxEvent& e) { OnSandboxEvent(e); };
  absl::StatusOr<std::unique_ptr<Sandbox>> truncating =
      Sandbox::Create(*manager_, policy);
  if (!truncating.ok()) return truncating.status();
  truncating_ = *std::move(truncating);
  policy.output.on_limit = OutputLimitAction::kStop;
  absl::StatusOr<std::unique_ptr<Sandbox>> stopping =
      Sandbox::Create(*manager_, policy);
  if (!stopping.ok()) return stopping.status();
  stopping_ = *std::move(stopping);
  return absl::OkStatus();
}

void SandboxSoak::OnSandboxEvent(const SandboxEvent& event) {
  if (event.kind != SandboxEvent::Kind::kCleanupFailed) return;
  ++cleanup_failed_events_;
  absl::MutexLock lock(&mu_);
  if (event_examples_.size() < 5) event_examples_.push_back(ToString(event));
}

absl::StatusOr<SandboxResult> SandboxSoak::Note(
    absl::StatusOr<SandboxResult> r) {
  if (r.ok() && r->cleanup == WorkdirCleanup::kFailed) {
    ++cleanup_failed_results_;
    absl::MutexLock lock(&mu_);
    if (event_examples_.size() < 5) {
      event_examples_.push_back(absl::StrCat(
          "cleanup failed: ", r->workdir, ": ", r->cleanup_status.ToString()));
    }
  }
  return r;
}

RunReport SandboxSoak::RunOne(int64_t index) {
  RunRandom rng(options_.seed, index);
  RunRequest request;
  request.id = absl::StrCat("soak-", index);
  request.program = options_.helper;
  request.env = {{kMarkerName, MarkerValue()}};
  // Limits no scenario reaches, so that every controller is exercised.
  if (rng.Chance(0.3)) request.limits.cpu_time = absl::Seconds(60);
  if (rng.Chance(0.3)) request.limits.memory_bytes = 512 * kMiB;
  if (rng.Chance(0.3)) request.limits.open_files = rng.Between(64, 1024);
  if (rng.Chance(0.3)) request.limits.file_size_bytes = 64 * kMiB;
  if (rng.Chance(0.3)) {
    request.limits.cpu_weight = static_cast<uint32_t>(rng.Between(1, 10000));
  }
  if (rng.Chance(0.3)) request.limits.processes = 256;
  request.kill_grace = absl::Milliseconds(rng.Between(0, 200));
  if (rng.Chance(0.3)) request.working_dir = "sub/dir";

  using Scenario = std::string (SandboxSoak::*)(RunRandom&, RunRequest&);
  struct Entry {
    const char* name;
    Scenario run;
  };
  static const auto* kScenarios = new std::vector<Entry>{
      {"exit", &SandboxSoak::Exit},
      {"signal", &SandboxSoak::Signal},
      {"timeout", &SandboxSoak::Timeout},
      {"memory_bomb", &SandboxSoak::MemoryBomb},
      {"fork_bomb", &SandboxSoak::ForkBomb},
      {"failed_start", &SandboxSoak::FailedStart},
      {"output_cap", &SandboxSoak::OutputCap},
      {"cancel", &SandboxSoak::Cancel},
      {"suspend_resume", &SandboxSoak::SuspendResume},
  };
  const Entry& scenario = rng.Pick(*kScenarios);
  RunReport report;
  report.scenario = scenario.name;
  report.unexpected = (this->*scenario.run)(rng, request);
  return report;
}

std::string SandboxSoak::Exit(RunRandom& rng, RunRequest& request) {
  const int code = rng.Chance(0.5) ? 0 : static_cast<int>(rng.Between(1, 255));
  const int64_t err = rng.Between(0, 4096);
  request.args = {"print",           "hello", "write-stderr",
                  absl::StrCat(err), "exit",  absl::StrCat(code)};
  if (rng.Chance(0.2)) request.stdin_ = Stdio::Data("ignored\n");
  auto r = Note(AnySandbox(rng).Run(std::move(request)));
  const SandboxStatus want =
      code == 0 ? SandboxStatus::kCompleted : SandboxStatus::kFailed;
  // The pattern has no '\n': one line, given its '\n' when kept.
  const std::size_t want_stderr =
      err == 0 ? 0 : static_cast<std::size_t>(err) + 1;
  if (!r.ok() || r->status != want || r->outcome.exit_code != code ||
      r->stdout_ != "hello\n" || r->stderr_.size() != want_stderr) {
    return absl::StrCat("exit ", code, ": ", Describe(r), ", stderr ",
                        r.ok() ? r->stderr_.size() : 0, " bytes (want ",
                        want_stderr, ")");
  }
  return "";
}

std::string SandboxSoak::Signal(RunRandom& rng, RunRequest& request) {
  const NamedSignal& sig = rng.Pick(DeadlySignals());
  request.args = {"print", "before", "signal", sig.name};
  auto r = Note(AnySandbox(rng).Run(std::move(request)));
  if (!r.ok() || r->status != SandboxStatus::kFailed ||
      r->outcome.reason != ExitReason::kSignaled ||
      r->outcome.signal != sig.number) {
    return absl::StrCat("signal ", sig.name, ": ", Describe(r));
  }
  return "";
}

std::string SandboxSoak::Timeout(RunRandom& rng, RunRequest& request) {
  const std::vector<std::vector<std::string>> programs = {
      {"print", "ready", "sleep-forever"},
      {"catch-term-exit", "3", "10", "print", "ready", "sleep-forever"},
      {"ignore", "TERM", "sleep-forever"},
      {"burn-forever"},
      {"fork", "2", "sleep-forever"},
  };
  request.args = rng.Pick(programs);
  request.limits.wall_time = absl::Milliseconds(rng.Between(10, 200));
  auto r = Note(AnySandbox(rng).Run(std::move(request)));
  if (!r.ok() || r->status != SandboxStatus::kTimedOut ||
      r->outcome.reason != ExitReason::kTimedOut) {
    return absl::StrCat("timeout: ", Describe(r));
  }
  return "";
}

std::string SandboxSoak::MemoryBomb(RunRandom& rng, RunRequest& request) {
  request.args = {"alloc-forever"};
  request.limits.memory_bytes = rng.Between(16, 48) * kMiB;
  auto r = Note(AnySandbox(rng).Run(std::move(request)));
  if (!r.ok()) return "memory bomb: " + Describe(r);
  if (Enforced(LimitKind::kMemory, Mechanism::kCgroupV2,
               Mechanism::kCgroupV1)) {
    if (r->status == SandboxStatus::kLimitExceeded &&
        r->outcome.reason == ExitReason::kMemoryExceeded) {
      return "";
    }
  } else if (r->status == SandboxStatus::kFailed &&
             r->outcome.exit_code == 12) {
    return "";  // RLIMIT_AS: malloc failed, the helper's exit 12
  }
  return "memory bomb: " + Describe(r);
}

std::string SandboxSoak::ForkBomb(RunRandom& rng, RunRequest& request) {
  if (!Enforced(LimitKind::kProcesses, Mechanism::kCgroupV2,
                Mechanism::kCgroupV1)) {
    // RLIMIT_NPROC stops nothing as root: a few children, then the
    // deadline stops the group.
    request.args = {"fork", absl::StrCat(rng.Between(1, 8)), "sleep-forever"};
    request.limits.processes = 256;
    request.limits.wall_time = absl::Milliseconds(rng.Between(20, 200));
    auto r = Note(AnySandbox(rng).Run(std::move(request)));
    if (!r.ok() || r->status != SandboxStatus::kTimedOut) {
      return "forks: " + Describe(r);
    }
    return "";
  }
  const int64_t max = rng.Between(4, 32);
  request.limits.processes = max;
  request.args = {"fork-bomb", "exit", "0"};
  if (rng.Chance(0.5)) {
    // Still running when the deadline comes.
    request.args = {"fork-bomb", "sleep-forever"};
    request.limits.wall_time = absl::Milliseconds(rng.Between(20, 200));
  }
  const bool waits = request.args.back() == "sleep-forever";
  auto r = Note(AnySandbox(rng).Run(std::move(request)));
  // The count of children made, once the bomb hit the limit. A deadline
  // may come first on a loaded host: then there is no count.
  int64_t made = -1;
  if (r.ok() &&
      !absl::SimpleAtoi(absl::StripAsciiWhitespace(r->stdout_), &made)) {
    made = -1;
  }
  const SandboxStatus want =
      waits ? SandboxStatus::kTimedOut : SandboxStatus::kCompleted;
  if (!r.ok() || r->status != want || made >= max ||
      (made < 0 && !(waits && r->stdout_.empty()))) {
    return absl::StrCat("fork bomb under ", max, ": ", Describe(r), " made ",
                        made);
  }
  return "";
}

std::string SandboxSoak::FailedStart(RunRandom& rng, RunRequest& request) {
  const int64_t variant = rng.Between(0, 3);
  absl::StatusCode want = absl::StatusCode::kNotFound;
  if (variant == 0) {
    request.program = "/nonexistent/procsandbox-soak-program";
  } else if (variant == 1) {
    request.program = bad_interpreter_;  // execve fails in the child
  } else if (variant == 2) {
    request.program = "/bin/sh";
    request.args = {"-c", "true"};
    want = absl::StatusCode::kPermissionDenied;  // kShellRefused
  } else {
    request.args = {"exit", "0"};
    request.working_dir = "../escape";
    want = absl::StatusCode::kInvalidArgument;  // kPathTraversal
  }
  auto r = Note(AnySandbox(rng).Run(std::move(request)));
  if (r.ok() || r.status().code() != want) {
    return absl::StrCat("failed start ", variant, ": ", Describe(r));
  }
  return "";
}

std::string SandboxSoak::OutputCap(RunRandom& rng, RunRequest& request) {
  const int64_t cap = rng.Between(1, 64) * 1024;
  request.limits.output_bytes = cap;
  const bool both = rng.Chance(0.3);
  request.args = {both ? "write-both" : "write-stdout",
                  absl::StrCat(cap * rng.Between(2, 4))};
  const bool stop = rng.Chance(0.5);
  auto r = Note((stop ? *stopping_ : *truncating_).Run(std::move(request)));
  if (!r.ok() || r->truncated_by != OutputCap::kBytes ||
      static_cast<int64_t>(r->stdout_.size() + r->stderr_.size()) > cap) {
    return absl::StrCat("output cap ", cap, ": ", Describe(r));
  }
  if (stop ? (r->status != SandboxStatus::kLimitExceeded ||
              r->outcome.reason != ExitReason::kOutputExceeded)
           : r->status != SandboxStatus::kCompleted) {
    return absl::StrCat("output cap ", cap, stop ? " (stop)" : "", ": ",
                        Describe(r));
  }
  return "";
}

std::string SandboxSoak::Cancel(RunRandom& rng, RunRequest& request) {
  request.args = {"print", "ready", "sleep-forever"};
  const std::string id = request.id;
  Sandbox& sandbox = AnySandbox(rng);
  absl::StatusOr<std::unique_ptr<SandboxProcess>> p =
      sandbox.Launch(std::move(request));
  if (!p.ok()) return "cancel: launch: " + p.status().ToString();
  // At once, or once the program is surely running.
  if (rng.Chance(0.7)) {
    absl::StatusOr<std::string> line =
        (*p)->process().ReadLine(Stream::kStdout, absl::Seconds(60));
    if (!line.ok() || *line != "ready") {
      return "cancel: ready: " + line.status().ToString();
    }
  }
  if (absl::Status s = sandbox.Cancel(id); !s.ok()) {
    return "cancel: " + s.ToString();
  }
  auto r = Note((*p)->Finish(absl::Seconds(5)));
  if (!r.ok() || r->status != SandboxStatus::kCancelled) {
    return "cancel: " + Describe(r);
  }
  return "";
}

std::string SandboxSoak::SuspendResume(RunRandom& rng, RunRequest& request) {
  request.args = {"print", "ready", "echo-lines"};
  absl::StatusOr<std::unique_ptr<SandboxProcess>> p =
      AnySandbox(rng).Launch(std::move(request));
  if (!p.ok()) return "suspend: launch: " + p.status().ToString();
  Process& process = (*p)->process();
  absl::StatusOr<std::string> line =
      process.ReadLine(Stream::kStdout, absl::Seconds(60));
  if (!line.ok() || *line != "ready") {
    return "suspend: ready: " + line.status().ToString();
  }
  const int64_t rounds = rng.Between(1, 3);
  for (int64_t i = 0; i < rounds; ++i) {
    if (absl::Status s = process.Suspend(); !s.ok()) {
      return "suspend: " + s.ToString();
    }
    if (process.state() != ProcessState::kSuspended) {
      return absl::StrCat("suspend: state ", ProcessStateName(process.state()));
    }
    const std::string ping = absl::StrCat("ping ", i);
    if (absl::Status s = process.Write(ping + "\n"); !s.ok()) {
      return "suspend: write: " + s.ToString();
    }
    if (absl::Status s = process.Resume(); !s.ok()) {
      return "resume: " + s.ToString();
    }
    line = process.ReadLine(Stream::kStdout, absl::Seconds(60));
    if (!line.ok() || *line != ping) {
      return absl::StrCat("resume: echo: ", line.ok() ? *line : "",
                          line.status().ToString());
    }
  }
  if (absl::Status s = process.CloseStdin(); !s.ok()) {
    return "suspend: close stdin: " + s.ToString();
  }
  auto r = Note((*p)->Finish(absl::Seconds(30)));
  if (!r.ok() || r->status != SandboxStatus::kCompleted) {
    return "suspend: " + Describe(r);
  }
  return "";
}

void SandboxSoak::TearDown() {
  stopping_.reset();
  truncating_.reset();
  manager_.reset();
}

void SandboxSoak::CheckLeftovers(Leftovers& out) {
  const int64_t groups = CountManagerGroups({getpid()}, &out.details);
  out.cgroup_dirs += groups;
  const int64_t entries = CountEntries(runs_root_);
  if (entries != 0) {
    out.temp_dirs += entries < 0 ? 1 : entries;
    out.details.push_back(
        absl::StrCat(runs_root_, ": ", entries, " entries left"));
  }
  std::vector<std::string> pids;
  out.strays += CountProcessesRunning(options_.helper, &pids);
  if (!pids.empty()) {
    out.details.push_back("helpers still running: " + absl::StrJoin(pids, " "));
  }
  if (cleanup_failed_results_ > 0 || cleanup_failed_events_ > 0) {
    out.details.push_back(absl::StrCat(
        "workdir cleanup failures: ", cleanup_failed_results_.load(),
        " results, ", cleanup_failed_events_.load(), " events"));
  }
}

std::string SandboxSoak::Counters() const {
  std::string text = absl::StrCat(
      "workdir cleanup failed: ", cleanup_failed_results_.load(), " results, ",
      cleanup_failed_events_.load(),
      " events; cgroup cleanup failed: ", cgroup_cleanup_events_.load(),
      "; cgroup degraded: ", cgroup_degraded_events_.load(),
      "\nmanager: ", caps_.backend, ", memory by ",
      caps_.Find(LimitKind::kMemory) == nullptr
          ? "?"
          : MechanismName(caps_.Find(LimitKind::kMemory)->mechanism),
      ", processes by ",
      caps_.Find(LimitKind::kProcesses) == nullptr
          ? "?"
          : MechanismName(caps_.Find(LimitKind::kProcesses)->mechanism));
  absl::MutexLock lock(&mu_);
  for (const std::string& e : event_examples_) {
    absl::StrAppend(&text, "\n  ", e);
  }
  return text;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SoakMode>> NewSandboxSoak(
    const SoakOptions& options) {
  absl::StatusOr<std::string> scratch = MakeScratchDir("procsandbox-soak");
  if (!scratch.ok()) return scratch.status();
  auto soak = std::make_unique<SandboxSoak>(options, *scratch);
  if (absl::Status s = soak->Init(); !s.ok()) {
    soak->TearDown();
    soak->RemoveScratch();
    return s;
  }
  return soak;
}

}  // namespace procsandbox::soak
