// The command soak: `procsandbox run` with random options and the test
// helper as the program, started through an OS manager without cgroups (so
// each command's own manager directory sits beside this process's, where
// the check finds it), and judged by exit status and --result JSON.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdint>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "procsandbox/os_manager.h"
#include "procsandbox/run.h"
#include "soak.h"

namespace procsandbox::soak {
namespace {

// One command line and what it must end with.
struct Invocation {
  std::vector<std::string> options;  // before "--"
  std::vector<std::string> program;  // after "--" (empty: options only)
  int want_exit = 0;
  // --result's "status"; "" when no result is asked for.
  std::string want_status;
  // Set by the options: where the program's stdout goes, if a file.
  std::string stdout_file;
  bool posix = false;
  bool strict_ok = true;  // every limit set is enforced (doctor)
};

class CliSoak : public SoakMode {
 public:
  CliSoak(SoakOptions options, std::string scratch)
      : options_(std::move(options)), scratch_(std::move(scratch)) {}

  absl::Status Init();
  RunReport RunOne(int64_t index) override;
  void TearDown() override { manager_.reset(); }
  void CheckLeftovers(Leftovers& out) override;
  std::string Counters() const override;
  void RemoveScratch() override { RemoveTree(scratch_).IgnoreError(); }

 private:
  // Random options that do not change the outcome.
  void AddNeutralOptions(RunRandom& rng, int64_t index, Invocation& inv);
  // A limit option, noting whether this host enforces it.
  void AddLimit(Invocation& inv, const std::string& option,
                const std::string& limit, const std::string& value);
  bool CgroupEnforces(const std::string& limit) const;
  // Runs the command to its end; "" when it ended as `inv` says.
  std::string RunToEnd(int64_t index, Invocation& inv);
  // The interactive scenarios: a signal to the command, and SIGSTOP/SIGCONT.
  std::string Interactive(RunRandom& rng, int64_t index, bool cancel);
  void NotePid(Pid pid) {
    absl::MutexLock lock(&mu_);
    pids_.insert(pid);
  }

  const SoakOptions options_;
  const std::string scratch_;
  std::string workdir_root_;
  std::string not_executable_;
  std::unique_ptr<Manager> manager_;
  // Per limit, the mechanism `doctor` names on this host.
  std::map<std::string, std::string> mechanisms_;

  // Runs whose command said it could not remove its --workdir-root
  // directory (it then exits 125, an unexpected run too).
  std::atomic<int64_t> cleanup_failed_{0};
  void NoteStderr(const std::string& text) {
    if (absl::StrContains(text, "remove the working directory")) {
      ++cleanup_failed_;
    }
  }

  mutable absl::Mutex mu_;
  std::set<int64_t> pids_ ABSL_GUARDED_BY(mu_);
};

absl::Status CliSoak::Init() {
  workdir_root_ = scratch_ + "/runs";
  if (mkdir(workdir_root_.c_str(), 0700) != 0) {
    return absl::InternalError(absl::StrCat("mkdir \"", workdir_root_, "\""));
  }
  not_executable_ = scratch_ + "/not-executable";
  std::ofstream(not_executable_) << "data\n";

  OsManagerOptions manager_options;
  manager_options.cgroups = false;
  absl::StatusOr<std::unique_ptr<Manager>> manager =
      NewOsManager(std::move(manager_options));
  if (!manager.ok()) return manager.status();
  manager_ = *std::move(manager);

  Command doctor(options_.cli, {"doctor", "--json"});
  doctor.stdout_ = Stdio::Capture();
  doctor.limits.wall_time = absl::Seconds(60);
  absl::StatusOr<RunResult> r = RunCommand(*manager_, std::move(doctor));
  if (!r.ok()) return r.status();
  if (!r->ok()) {
    return absl::InternalError("procsandbox doctor: " + ToString(r->outcome));
  }
  NotePid(r->pid);
  const nlohmann::json report =
      nlohmann::json::parse(r->stdout_, nullptr, /*allow_exceptions=*/false);
  if (!report.is_object() || !report.contains("limits")) {
    return absl::InternalError("procsandbox doctor: no limits in its JSON");
  }
  for (const auto& [name, limit] : report["limits"].items()) {
    mechanisms_[name] = limit.value("mechanism", "none");
  }
  return absl::OkStatus();
}

bool CliSoak::CgroupEnforces(const std::string& limit) const {
  auto it = mechanisms_.find(limit);
  return it != mechanisms_.end() && absl::StartsWith(it->second, "cgroup");
}

void CliSoak::AddLimit(Invocation& inv, const std::string& option,
                       const std::string& limit, const std::string& value) {
  inv.options.push_back(option);
  inv.options.push_back(value);
  auto it = mechanisms_.find(limit);
  if (inv.posix ? limit == "cpu_weight"
                : it == mechanisms_.end() || it->second == "none") {
    inv.strict_ok = false;
  }
}

void CliSoak::AddNeutralOptions(RunRandom& rng, int64_t index,
                                Invocation& inv) {
  if (rng.Chance(0.5)) inv.options.push_back("--quiet");
  if (rng.Chance(0.3)) {
    inv.options.insert(inv.options.end(),
                       {"--env", absl::StrCat("SOAK_RUN=", index)});
  }
  if (rng.Chance(0.2))
    inv.options.insert(inv.options.end(), {"--pass-env", "PATH"});
  if (rng.Chance(0.1)) inv.options.push_back("--inherit-env");
  // --cwd and --workdir-root exclude each other.
  const int64_t dir = rng.Between(0, 4);
  if (dir == 0) inv.options.insert(inv.options.end(), {"--cwd", scratch_});
  if (dir == 1 || dir == 2) {
    inv.options.insert(inv.options.end(), {"--workdir-root", workdir_root_});
  }
  const int64_t in = rng.Between(0, 4);
  if (in == 0) inv.options.insert(inv.options.end(), {"--stdin", "-"});
  if (in == 1) inv.options.insert(inv.options.end(), {"--stdin", "/dev/null"});
  if (rng.Chance(0.2)) {
    inv.options.insert(inv.options.end(),
                       {"--stderr", absl::StrCat(scratch_, "/err-", index)});
  }
  if (rng.Chance(0.3)) AddLimit(inv, "--cpu-time", "cpu_time", "60s");
  if (rng.Chance(0.3)) {
    AddLimit(inv, "--open-files", "open_files",
             absl::StrCat(rng.Between(64, 1024)));
  }
  if (rng.Chance(0.3)) AddLimit(inv, "--file-size", "file_size_bytes", "64M");
  if (rng.Chance(0.2)) {
    AddLimit(inv, "--cpu-weight", "cpu_weight",
             absl::StrCat(rng.Between(1, 10000)));
  }
  if (rng.Chance(0.2)) {
    inv.options.insert(inv.options.end(),
                       {"--grace", absl::StrCat(rng.Between(0, 200), "ms")});
  }
}

RunReport CliSoak::RunOne(int64_t index) {
  RunRandom rng(options_.seed, index);
  RunReport report;
  Invocation inv;
  const std::string backend =
      rng.Pick<std::string>({"", "auto", "linux", "posix"});
  if (!backend.empty()) inv.options = {"--backend", backend};
  inv.posix = backend == "posix";
  const std::string& helper = options_.helper;

  const int64_t scenario = rng.Between(0, 10);
  switch (scenario) {
    case 0: {
      report.scenario = "exit";
      const int code =
          rng.Chance(0.5) ? 0 : static_cast<int>(rng.Between(1, 120));
      inv.program = {helper, "print", "hello", "exit", absl::StrCat(code)};
      inv.want_exit = code;
      inv.want_status = "exited";
      if (rng.Chance(0.3)) {
        inv.stdout_file = absl::StrCat(scratch_, "/out-", index);
        inv.options.insert(inv.options.end(), {"--stdout", inv.stdout_file});
      }
      break;
    }
    case 1: {
      report.scenario = "signal";
      const std::vector<std::pair<const char*, int>> signals = {
          {"TERM", 15}, {"KILL", 9}, {"SEGV", 11}, {"ABRT", 6}, {"USR1", 10}};
      const auto& sig = rng.Pick(signals);
      inv.program = {helper, "signal", sig.first};
      inv.want_exit = 128 + sig.second;
      inv.want_status = "signaled";
      break;
    }
    case 2: {
      report.scenario = "timeout";
      inv.options.insert(
          inv.options.end(),
          {"--timeout", absl::StrCat(rng.Between(10, 200), "ms")});
      inv.program = rng.Chance(0.5)
                        ? std::vector<std::string>{helper, "sleep-forever"}
                        : std::vector<std::string>{helper, "ignore", "TERM",
                                                   "burn-forever"};
      inv.want_exit = 124;
      inv.want_status = "timed_out";
      break;
    }
    case 3: {
      report.scenario = "memory_bomb";
      AddLimit(inv, "--memory", "memory_bytes",
               absl::StrCat(rng.Between(16, 48), "M"));
      inv.program = {helper, "alloc-forever"};
      if (!inv.posix && CgroupEnforces("memory_bytes")) {
        inv.want_exit = 137;
        inv.want_status = "memory_exceeded";
      } else {
        inv.want_exit = 12;  // RLIMIT_AS: malloc fails
        inv.want_status = "exited";
      }
      break;
    }
    case 4: {
      report.scenario = "fork_bomb";
      if (!inv.posix && CgroupEnforces("processes")) {
        AddLimit(inv, "--processes", "processes",
                 absl::StrCat(rng.Between(4, 32)));
        inv.program = {helper, "fork-bomb", "exit", "0"};
        inv.want_exit = 0;
        inv.want_status = "exited";
      } else {
        inv.options.insert(inv.options.end(), {"--timeout", "50ms"});
        inv.program = {helper, "fork", "3", "sleep-forever"};
        inv.want_exit = 124;
        inv.want_status = "timed_out";
      }
      break;
    }
    case 5: {
      report.scenario = "failed_start";
      const int64_t variant = rng.Between(0, 1);
      inv.program = {variant == 0 ? "/nonexistent/procsandbox-soak-program"
                                  : not_executable_};
      inv.want_exit = variant == 0 ? 127 : 126;
      inv.want_status = "start_failed";
      break;
    }
    case 6: {
      report.scenario = "bad_option";
      const std::vector<std::vector<std::string>> bad = {
          {"--memory", "lots"},  {"--cpu-weight", "0"}, {"--timeout", "-1s"},
          {"--timeout", ""},     {"--processes", "x"},  {"--env", "1BAD=x"},
          {"--backend", "other"}};
      for (const std::string& o : rng.Pick(bad)) inv.options.push_back(o);
      inv.program = {helper, "exit", "0"};
      inv.want_exit = 125;
      break;
    }
    case 7: {
      report.scenario = "output_cap";
      const int64_t cap = rng.Between(1, 64) * 1024;
      inv.options.insert(inv.options.end(),
                         {"--output-limit", absl::StrCat(cap)});
      inv.program = {helper, "write-stdout", absl::StrCat(cap * 4)};
      inv.want_exit = 143;
      inv.want_status = "output_exceeded";
      break;
    }
    case 8:
      report.scenario = "cancel";
      report.unexpected = Interactive(rng, index, /*cancel=*/true);
      return report;
    case 9:
      report.scenario = "suspend_resume";
      report.unexpected = Interactive(rng, index, /*cancel=*/false);
      return report;
    default:
      report.scenario = "version";
      inv.options = {};
      break;
  }
  if (!inv.program.empty() && scenario != 6) AddNeutralOptions(rng, index, inv);
  if (!inv.program.empty() && !inv.posix && inv.strict_ok && rng.Chance(0.2)) {
    inv.options.push_back("--strict");
  }
  if (!inv.want_status.empty() && rng.Chance(0.5)) {
    inv.options.insert(inv.options.end(),
                       {"--result", absl::StrCat(scratch_, "/result-", index)});
  } else {
    inv.want_status.clear();
  }
  report.unexpected = RunToEnd(index, inv);
  return report;
}

std::string CliSoak::RunToEnd(int64_t index, Invocation& inv) {
  Command cmd(options_.cli);
  if (inv.program.empty()) {
    cmd.args = {"version"};
  } else {
    cmd.args = {"run", "--pass-env", kMarkerName};
    cmd.args.insert(cmd.args.end(), inv.options.begin(), inv.options.end());
    cmd.args.push_back("--");
    cmd.args.insert(cmd.args.end(), inv.program.begin(), inv.program.end());
  }
  cmd.env = {{"PATH", "/usr/bin:/bin"}, {kMarkerName, MarkerValue()}};
  cmd.stdin_ = Stdio::Data("stdin of the run\n");
  cmd.stdout_ = Stdio::Capture();
  cmd.stderr_ = Stdio::Capture();
  cmd.limits.output_bytes = 1 << 20;
  cmd.limits.wall_time = absl::Seconds(120);  // a guard against hangs only
  absl::StatusOr<RunResult> r = RunCommand(*manager_, std::move(cmd));
  const std::string result_file = absl::StrCat(scratch_, "/result-", index);
  const std::string result_text = ReadFile(result_file);
  unlink(result_file.c_str());
  std::string out = r.ok() ? r->stdout_ : "";
  if (!inv.stdout_file.empty()) {
    out = ReadFile(inv.stdout_file);
    unlink(inv.stdout_file.c_str());
  }
  unlink(absl::StrCat(scratch_, "/err-", index).c_str());
  const std::string line = absl::StrJoin(inv.options, " ");
  if (!r.ok()) return absl::StrCat("run ", line, ": ", r.status().ToString());
  NotePid(r->pid);
  NoteStderr(r->stderr_);
  if (r->outcome.reason != ExitReason::kExited ||
      r->outcome.exit_code != inv.want_exit) {
    return absl::StrCat("run ", line, " -- ", absl::StrJoin(inv.program, " "),
                        ": ", ToString(r->outcome), " (want exit ",
                        inv.want_exit, "); stderr: ", r->stderr_);
  }
  if (inv.program.size() > 1 && inv.program[1] == "print" && out != "hello\n") {
    return absl::StrCat("run ", line, ": stdout \"", out, "\"");
  }
  if (!inv.want_status.empty()) {
    const nlohmann::json result =
        nlohmann::json::parse(result_text, nullptr, false);
    if (!result.is_object() ||
        result.value("status", std::string()) != inv.want_status) {
      return absl::StrCat("run ", line, ": result ", result_text, " (want ",
                          inv.want_status, ")");
    }
  }
  return "";
}

std::string CliSoak::Interactive(RunRandom& rng, int64_t index, bool cancel) {
  Command cmd(options_.cli, {"run", "--pass-env", kMarkerName});
  if (rng.Chance(0.5)) cmd.args.push_back("--quiet");
  if (rng.Chance(0.3)) {
    cmd.args.insert(cmd.args.end(), {"--output-limit", "1M"});
  }
  if (rng.Chance(0.3)) {
    cmd.args.insert(cmd.args.end(), {"--workdir-root", workdir_root_});
  }
  cmd.args.insert(cmd.args.end(), {"--", options_.helper, "print", "ready"});
  cmd.args.push_back(cancel ? "sleep-forever" : "echo-lines");
  cmd.env = {{"PATH", "/usr/bin:/bin"}, {kMarkerName, MarkerValue()}};
  cmd.stdin_ = Stdio::Pipe();
  cmd.stdout_ = Stdio::Pipe();
  cmd.stderr_ = Stdio::Capture();
  cmd.limits.wall_time = absl::Seconds(120);
  std::shared_ptr<Process> p = manager_->New(std::move(cmd));
  if (absl::Status s = p->Start(); !s.ok()) return "start: " + s.ToString();
  NotePid(p->Id());
  absl::StatusOr<std::string> line =
      p->ReadLine(Stream::kStdout, absl::Seconds(60));
  if (!line.ok() || *line != "ready") {
    p->Kill().IgnoreError();
    p->Wait().IgnoreError();
    return absl::StrCat("ready: ",
                        line.ok() ? *line : line.status().ToString());
  }
  int want = 0;
  if (cancel) {
    const std::vector<std::pair<int, int>> signals = {
        {SIGTERM, 143}, {SIGINT, 130}, {SIGHUP, 129}};
    const auto& sig = rng.Pick(signals);
    want = sig.second;
    if (absl::Status s = p->Signal(sig.first); !s.ok()) {
      return "signal: " + s.ToString();
    }
  } else {
    for (int64_t i = 0, n = rng.Between(1, 3); i < n; ++i) {
      const std::string ping = absl::StrCat("ping ", index, " ", i);
      if (absl::Status s = p->Suspend(); !s.ok())
        return "suspend: " + s.ToString();
      if (absl::Status s = p->Write(ping + "\n"); !s.ok()) {
        return "write: " + s.ToString();
      }
      if (absl::Status s = p->Resume(); !s.ok())
        return "resume: " + s.ToString();
      line = p->ReadLine(Stream::kStdout, absl::Seconds(60));
      if (!line.ok() || *line != ping) {
        return absl::StrCat("echo: ",
                            line.ok() ? *line : line.status().ToString());
      }
    }
  }
  p->CloseStdin().IgnoreError();
  // Read stdout to its end, so the pipe never fills.
  for (;;) {
    absl::StatusOr<std::string> rest =
        p->ReadLine(Stream::kStdout, absl::Seconds(60));
    if (!rest.ok()) break;
  }
  absl::StatusOr<Outcome> outcome = p->Wait();
  if (!outcome.ok()) return "wait: " + outcome.status().ToString();
  NoteStderr(p->Captured().stderr_);
  if (outcome->exit_code != want) {
    return absl::StrCat(cancel ? "cancel" : "suspend", ": ", ToString(*outcome),
                        " (want exit ", want,
                        "); stderr: ", p->Captured().stderr_);
  }
  return "";
}

void CliSoak::CheckLeftovers(Leftovers& out) {
  std::vector<int64_t> pids;
  {
    absl::MutexLock lock(&mu_);
    pids.assign(pids_.begin(), pids_.end());
  }
  out.cgroup_dirs += CountManagerGroups(pids, &out.details);
  // This process's own manager made no group (cgroups off) and must not
  // have a directory either.
  out.cgroup_dirs += CountManagerGroups({getpid()}, &out.details);
  const int64_t entries = CountEntries(workdir_root_);
  if (entries != 0) {
    out.temp_dirs += entries < 0 ? 1 : entries;
    out.details.push_back(
        absl::StrCat(workdir_root_, ": ", entries, " entries left"));
  }
  // The scratch root holds runs/ and not-executable; result and stream
  // files are removed after each run.
  const int64_t scratch_entries = CountEntries(scratch_);
  if (scratch_entries != 2) {
    out.temp_dirs += 1;
    out.details.push_back(
        absl::StrCat(scratch_, ": ", scratch_entries, " entries (want 2)"));
  }
  std::vector<std::string> strays;
  out.strays += CountProcessesRunning(options_.helper, &strays);
  out.strays += CountProcessesRunning(options_.cli, &strays);
  if (!strays.empty()) {
    out.details.push_back("still running: " + absl::StrJoin(strays, " "));
  }
}

std::string CliSoak::Counters() const {
  absl::MutexLock lock(&mu_);
  return absl::StrCat(
      "workdir cleanup failed: ", cleanup_failed_.load(),
      "\ncommands started: ", pids_.size(), " distinct pids; memory by ",
      mechanisms_.count("memory_bytes") ? mechanisms_.at("memory_bytes") : "?",
      ", processes by ",
      mechanisms_.count("processes") ? mechanisms_.at("processes") : "?");
}

}  // namespace

absl::StatusOr<std::unique_ptr<SoakMode>> NewCliSoak(
    const SoakOptions& options) {
  absl::StatusOr<std::string> scratch = MakeScratchDir("procsandbox-soak-cli");
  if (!scratch.ok()) return scratch.status();
  auto soak = std::make_unique<CliSoak>(options, *scratch);
  if (absl::Status s = soak->Init(); !s.ok()) {
    soak->TearDown();
    soak->RemoveScratch();
    return s;
  }
  return soak;
}

}  // namespace procsandbox::soak
