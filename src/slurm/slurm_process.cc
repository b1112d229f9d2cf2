// SlurmProcess: one job, run by a local srun (slurm_core.h).
//
// Start() resolves the program here, builds srun's options from the limits,
// starts srun through the local OS manager with the command's stdio, and
// waits until squeue shows the job running (its name is unique to this
// manager). Stops and signals go to the job's step with scancel; the
// outcome is read from `scontrol show job` once srun has ended.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/exec_errors.h"
#include "common/isolation_enforcement.h"
#include "common/process_errors.h"
#include "posix/program_path.h"
#include "posix/spawn_errors.h"
#include "procsandbox/format.h"
#include "slurm/slurm_core.h"

namespace procsandbox::slurm_internal {
namespace {

constexpr absl::string_view kManagerName = "Slurm manager";
// After a KILL to the job's step, how long srun may take to end before the
// job itself is cancelled.
constexpr absl::Duration kKillCheck = absl::Seconds(5);
// In SlurmProcess::early_: Terminate() (signals are themselves).
constexpr int kEarlyTerminate = 0;
// The largest signal number Signal() accepts.
constexpr int kMaxSignal = 64;

// srun options the manager sets itself: SlurmOptions::srun_args may not.
constexpr absl::string_view kOwnOptions[] = {
    "--export",
    "--mem",
    "--mem-per-cpu",
    "--mem-per-gpu",
    "--time",
    "-t",
    "--chdir",
    "-D",
    "--job-name",
    "-J",
    "--propagate",
    "--partition",
    "-p",
    "--account",
    "-A",
    "--qos",
    "-q",
    "--cpus-per-task",
    "-c",
    "--ntasks",
    "-n",
    "--nodes",
    "-N",
    "--jobid",
    "--quiet",
    "-Q",
    "--unbuffered",
    "-u",
    "--pty",
    "--input",
    "-i",
    "--output",
    "-o",
    "--error",
    "-e",
    "--label",
    "-l",
    "--test-only",
    "--immediate",
    "-I",
};

}  // namespace

// "--mem=64M" and "--mem" name the option "--mem"; "-p" and "-pdebug" too.
bool IsReservedSrunOption(absl::string_view arg) {
  for (absl::string_view own : kOwnOptions) {
    if (arg == own) return true;
    if (absl::StartsWith(own, "--")) {
      if (absl::StartsWith(arg, absl::StrCat(own, "="))) return true;
    } else if (absl::StartsWith(arg, own) && !absl::StartsWith(arg, "--")) {
      return true;
    }
  }
  return false;
}

namespace {

// Variables srun reads as its own options (SLURM_MEM_PER_NODE, SRUN_...):
// a command may not set them, or its environment would reconfigure srun.
bool IsSrunInputVariable(absl::string_view name) {
  return absl::StartsWith(name, "SLURM_") || absl::StartsWith(name, "SRUN_") ||
         absl::StartsWith(name, "SALLOC_") || absl::StartsWith(name, "SBATCH_");
}

// The limits srun hands the node as rlimits of the program (srun applies its
// own soft limits there: --propagate).
struct Propagated {
  LimitKind kind;
  const char* name;
};
constexpr Propagated kPropagated[] = {
    {LimitKind::kCpuTime, "CPU"},
    {LimitKind::kFileSize, "FSIZE"},
    {LimitKind::kOpenFiles, "NOFILE"},
};

}  // namespace

SlurmProcess::SlurmProcess(std::weak_ptr<Core> core, Command command)
    : core_(std::move(core)), command_(std::move(command)) {}

SlurmProcess::~SlurmProcess() = default;

std::vector<UsageSample> SlurmProcess::JobSamples(const UsageSample& sample) {
  std::vector<UsageSample> held;
  {
    absl::MutexLock lock(&mu_);
    if (!pending_) {
      // Taken while Start() waits for the job: held until it is known how
      // long the job was queued.
      held_samples_.push_back(sample);
      return {};
    }
    held.swap(held_samples_);
  }
  held.push_back(sample);
  std::vector<UsageSample> job;
  for (const UsageSample& s : held) {
    if (std::optional<UsageSample> j = JobSample(s)) job.push_back(*j);
  }
  return job;
}

std::optional<UsageSample> SlurmProcess::JobSample(UsageSample sample) const {
  absl::MutexLock lock(&mu_);
  // Before the job ran (srun waiting for it): not the job's.
  if (!pending_) return std::nullopt;
  if (sample.state != ProcessState::kEnded && sample.elapsed <= *pending_) {
    return std::nullopt;
  }
  sample.elapsed = std::max(absl::ZeroDuration(), sample.elapsed - *pending_);
  // srun's sampling started before the job ran: the first sample of the
  // job comes a whole interval into it, as on a local run (the end's is
  // always kept).
  if (sample.state != ProcessState::kEnded &&
      sample.elapsed < command_.monitor.interval) {
    return std::nullopt;
  }
  sample.user_time = absl::ZeroDuration();
  sample.system_time = absl::ZeroDuration();
  sample.cpu_percent = 0;
  sample.memory_bytes = 0;
  sample.peak_memory_bytes = 0;
  sample.processes = sample.state == ProcessState::kEnded ? 0 : 1;
  return sample;
}

// --- Before Start() ----------------------------------------------------------

absl::Status SlurmProcess::SetStream(Stream stream, Stdio stdio) {
  absl::MutexLock lock(&mu_);
  const char* action = stream == Stream::kStdin    ? "set stdin of"
                       : stream == Stream::kStdout ? "set stdout of"
                                                   : "set stderr of";
  if (phase_ != Phase::kNew) {
    return internal::AlreadyStartedError(action, command_, job_id_);
  }
  if (absl::Status s = ValidateStdio(stream, stdio); !s.ok()) return s;
  switch (stream) {
    case Stream::kStdin:
      command_.stdin_ = std::move(stdio);
      break;
    case Stream::kStdout:
      command_.stdout_ = std::move(stdio);
      break;
    case Stream::kStderr:
      command_.stderr_ = std::move(stdio);
      break;
  }
  return absl::OkStatus();
}

absl::Status SlurmProcess::SetStdin(Stdio stdio) {
  return SetStream(Stream::kStdin, std::move(stdio));
}
absl::Status SlurmProcess::SetStdout(Stdio stdio) {
  return SetStream(Stream::kStdout, std::move(stdio));
}
absl::Status SlurmProcess::SetStderr(Stdio stdio) {
  return SetStream(Stream::kStderr, std::move(stdio));
}

absl::Status SlurmProcess::SetLimits(const Limits& limits) {
  absl::MutexLock lock(&mu_);
  if (phase_ != Phase::kNew) {
    return internal::AlreadyStartedError("set limits of", command_, job_id_);
  }
  if (absl::Status s = ValidateLimits(limits); !s.ok()) return s;
  command_.limits = limits;
  return absl::OkStatus();
}

Limits SlurmProcess::GetLimits() const {
  absl::MutexLock lock(&mu_);
  if (phase_ == Phase::kRunning || phase_ == Phase::kEnded) return limits_;
  std::shared_ptr<Core> core = core_.lock();
  if (core == nullptr) return command_.limits;
  absl::MutexLock core_lock(&core->mu);
  return MergeLimits(command_.limits, core->defaults);
}

Command SlurmProcess::command() const {
  absl::MutexLock lock(&mu_);
  return command_;
}

// --- Start() -----------------------------------------------------------------

absl::StatusOr<Command> SlurmProcess::SrunCommand(const Core& core,
                                                  const Command& command,
                                                  const Limits& limits,
                                                  const std::string& job_name) {
  const SlurmOptions& options = core.options;
  // The program and the working directory, checked here: the nodes are
  // expected to see the same files (a shared file system), and an error
  // here names them as a local start does.
  if (!command.working_dir.empty()) {
    struct stat st;
    if (stat(command.working_dir.c_str(), &st) != 0) {
      return posix_internal::WorkingDirError(errno, command.working_dir);
    }
    if (!S_ISDIR(st.st_mode)) {
      return posix_internal::WorkingDirError(ENOTDIR, command.working_dir);
    }
  }
  absl::StatusOr<std::string> program = posix_internal::ResolveProgram(
      command.program, command.env, command.working_dir);
  if (!program.ok()) return program.status();
  std::string path = *std::move(program);
  // What execve on the node would say of a path given as such (a name found
  // on the PATH is a regular file we may execute already).
  if (access(path.c_str(), X_OK) != 0) {
    return posix_internal::ExecError(
        errno, internal::ShownProgram(command.program, path, command.env));
  }
  if (!absl::StartsWith(path, "/")) {
    // Relative to the working directory (ResolveProgram's rule): absolute
    // for srun, which resolves on the node.
    std::string base = command.working_dir;
    if (base.empty()) {
      char cwd[4096];
      if (getcwd(cwd, sizeof(cwd)) == nullptr) {
        return absl::FailedPreconditionError(
            absl::StrCat("start \"", command.label(),
                         "\": this process's directory "
                         "cannot be named for a relative program path"));
      }
      base = cwd;
    }
    path = absl::StrCat(base, "/", path);
  }

  // The environment: names on srun's command line, values in srun's own
  // environment (never shown by ps or scontrol).
  std::vector<std::string> names;
  names.reserve(command.env.size());
  for (const Environment::Entry& entry : command.env.entries()) {
    if (IsSrunInputVariable(entry.name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "start \"", command.label(), "\": environment variable ", entry.name,
          " would configure srun itself (the Slurm manager sets srun's "
          "options; SlurmOptions::slurm_conf names the configuration)"));
    }
    if (absl::StrContains(entry.name, ',')) {
      return absl::InvalidArgumentError(absl::StrCat(
          "start \"", command.label(), "\": environment variable name \"",
          entry.name, "\" holds a ',' (srun --export separates names by it)"));
    }
    names.push_back(entry.name);
  }

  std::vector<std::string> args = {
      "--quiet",
      "--quiet",  // srun's own messages would mix with stderr
      absl::StrCat("--job-name=", job_name),
      "--ntasks=1",
      "--nodes=1",
      absl::StrCat("--cpus-per-task=", options.cpus_per_task),
      names.empty() ? std::string("--export=NONE")
                    : absl::StrCat("--export=", absl::StrJoin(names, ",")),
  };
  if (!options.partition.empty()) {
    args.push_back(absl::StrCat("--partition=", options.partition));
  }
  if (!options.account.empty()) {
    args.push_back(absl::StrCat("--account=", options.account));
  }
  if (!options.qos.empty()) {
    args.push_back(absl::StrCat("--qos=", options.qos));
  }
  if (limits.memory_bytes) {
    args.push_back(absl::StrCat("--mem=", FormatMemory(*limits.memory_bytes)));
  }
  if (limits.wall_time) {
    // The cluster's backstop, should this host be gone: the exact deadline
    // is this host's (Slurm counts whole minutes and checks them lazily).
    args.push_back(absl::StrCat(
        "--time=", FormatTimeLimit(*limits.wall_time + command.kill_grace)));
  }
  // This host's core-dump size always, as a local child inherits it (a
  // node's own may be unlimited: cores in the working directory).
  std::vector<std::string> propagated = {"CORE"};
  for (const Propagated& p : kPropagated) {
    if (limits.has(p.kind)) propagated.emplace_back(p.name);
  }
  args.push_back(absl::StrCat("--propagate=", absl::StrJoin(propagated, ",")));
  if (!command.working_dir.empty()) {
    args.push_back(absl::StrCat("--chdir=", command.working_dir));
  }
  for (const std::string& extra : options.srun_args) args.push_back(extra);
  args.push_back(std::move(path));
  for (const std::string& arg : command.args) args.push_back(arg);

  Command srun(core.client->tools().srun, std::move(args));
  srun.name = command.label();
  srun.env = command.env;
  if (const std::optional<std::string> conf =
          core.client->environment().Get("SLURM_CONF")) {
    if (absl::Status s = srun.env.Set("SLURM_CONF", *conf); !s.ok()) return s;
  }
  srun.stdin_ = command.stdin_;
  srun.stdout_ = command.stdout_;
  srun.stderr_ = command.stderr_;
  srun.on_output_limit = command.on_output_limit;
  srun.kill_grace = command.kill_grace;
  // What srun itself carries: the rlimits it propagates (it uses far less
  // than any of them), and the output limit its reader counts.
  srun.limits.cpu_time = limits.cpu_time;
  srun.limits.file_size_bytes = limits.file_size_bytes;
  srun.limits.open_files = limits.open_files;
  srun.limits.output_bytes = limits.output_bytes;
  // Samples: srun's own, as the job's (JobSample): time, state and the
  // bytes of each stream are right; CPU and memory are the node's, which
  // this host cannot read at each interval.
  if (command.monitor.enabled) {
    srun.monitor = command.monitor;
    std::weak_ptr<SlurmProcess> weak = shared_from_this();
    srun.monitor.on_sample =
        [weak, deliver = command.monitor.on_sample](const UsageSample& s) {
          std::shared_ptr<SlurmProcess> self = weak.lock();
          if (self == nullptr || !deliver) return;
          for (const UsageSample& job : self->JobSamples(s)) deliver(job);
        };
  }
  // srun is this host's trusted client: no isolation of its own. Nor a
  // death with the thread that started it (PR_SET_PDEATHSIG follows the
  // thread): Start() runs on the host's threads, which may end long before
  // the job, and a dead srun would not end the job anyway (the cluster's
  // InactiveLimit or the job's --time does; the manager's destructor
  // cancels what it still runs).
  srun.isolation = Isolation();
  srun.isolation.no_new_privs = false;
  srun.isolation.die_with_parent = false;
  return srun;
}

absl::Status SlurmProcess::RefusalOf(Core& core, const Command& srun) const {
  std::vector<std::string> args = srun.args;
  args.insert(args.begin(), "--test-only");
  absl::StatusOr<std::string> out =
      core.client->Run(srun.program, std::move(args));
  const std::string why = out.ok() ? std::string(
                                         "srun ended before its job was "
                                         "queued")
                                   : std::string(out.status().message());
  return absl::FailedPreconditionError(
      absl::StrCat("start \"", srun.name, "\": Slurm refused the job: ", why));
}

// The step's task has a process on its node: a signal sent now reaches it
// (one sent to a step whose task is not yet forked is lost). sstat asks
// the node; on a cluster without job accounting gathering it cannot, and
// the step's existence is all there is to go by.
bool SlurmProcess::TaskStarted(Core& core, const std::string& step) {
  if (core.client->tools().sstat.empty() ||
      core.config.jobacct_gather_type.empty() ||
      absl::EndsWith(core.config.jobacct_gather_type, "/none")) {
    return true;
  }
  absl::StatusOr<std::string> pids = core.client->Run(
      core.client->tools().sstat, {"-n", "-P", "-j", step, "-o", "Pids"});
  // An error (sstat refused here): nothing more to learn by asking again.
  return !pids.ok() || !absl::StripAsciiWhitespace(*pids).empty();
}

absl::StatusOr<std::optional<int64_t>> SlurmProcess::AwaitJob(
    Core& core, const std::string& job_name,
    const std::shared_ptr<Process>& srun, absl::Time& last_pending) {
  const absl::Time give_up = absl::Now() + core.options.start_timeout;
  absl::Duration pause = absl::Milliseconds(2);
  int64_t job_id = 0;
  std::string reason;
  while (true) {
    absl::StatusOr<std::string> out = core.client->Run(
        core.client->tools().squeue,
        {"-h", "-t", "all", "-n", job_name, "-o", "%i|%T|%r|%j"});
    if (!out.ok()) return out.status();
    absl::StatusOr<std::vector<QueueEntry>> entries = ParseSqueue(*out);
    if (!entries.ok()) return entries.status();
    bool runs = false;
    const absl::Time asked = absl::Now();
    for (const QueueEntry& entry : *entries) {
      if (entry.name != job_name) continue;
      job_id = entry.job_id;
      runs = !IsPending(entry.state);
      reason = entry.reason;
      if (!runs) last_pending = asked;
    }
    if (runs) {
      // The job has its node; the program runs once its step does (a
      // signal to a step not yet there would be lost).
      const std::string step = absl::StrCat(job_id, ".0");
      absl::StatusOr<std::string> steps = core.client->Run(
          core.client->tools().squeue,
          {"-h", "-s", "-j", absl::StrCat(job_id), "-o", "%i"});
      if (!steps.ok()) return steps.status();
      bool listed = false;
      for (absl::string_view line : absl::StrSplit(*steps, '\n')) {
        listed = listed || absl::StripAsciiWhitespace(line) == step;
      }
      if (listed && TaskStarted(core, step)) return job_id;
      // Already over (srun gone): its end is read by Wait().
      if (!srun->Running()) return job_id;
    }
    if (job_id == 0 && !srun->Running()) {
      // srun ended, and no job of this name: the controller refused it.
      return std::nullopt;
    }
    if (absl::Now() >= give_up) break;
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(100));
  }
  if (job_id != 0) core.client->Signal(job_id, 0).IgnoreError();
  return absl::DeadlineExceededError(absl::StrCat(
      job_id != 0 ? absl::StrCat("job ", job_id, " still pending after ")
                  : std::string("no job queued within "),
      procsandbox::FormatDuration(core.options.start_timeout),
      reason.empty() ? "" : absl::StrCat(" (reason: ", reason, ")"),
      "; cancelled"));
}

absl::Status SlurmProcess::Start() {
  std::shared_ptr<Core> core = core_.lock();
  Command command;
  Limits limits;
  uint64_t seq = 0;
  {
    absl::MutexLock lock(&mu_);
    if (phase_ != Phase::kNew) {
      return internal::AlreadyStartedError("start", command_, job_id_);
    }
    if (core == nullptr) {
      return internal::ManagerGoneError("start", command_, kManagerName);
    }
    if (absl::Status s = ValidateCommand(command_); !s.ok()) return s;
    {
      absl::MutexLock core_lock(&core->mu);
      if (core->closed) {
        return internal::ManagerGoneError("start", command_, kManagerName);
      }
      limits = MergeLimits(command_.limits, core->defaults);
      seq = core->next_job++;
    }
    command = command_;
    Enforcement enforcement;
    for (LimitKind kind : kAllLimitKinds) {
      if (!limits.has(kind)) continue;
      const LimitEnforcement* e = core->capabilities.Find(kind);
      LimitEnforcement entry =
          e != nullptr ? *e
                       : LimitEnforcement{kind, Mechanism::kNone, "unknown"};
      if (!entry.enforced() && core->options.strict) {
        return internal::LimitNotEnforceableError(command_, kind, entry.detail);
      }
      enforcement.limits.push_back(std::move(entry));
    }
    if (absl::Status s = internal::PlanIsolationEnforcement(
            command_, core->capabilities.isolation, core->options.strict,
            enforcement.isolation);
        !s.ok()) {
      return s;
    }
    enforcement_ = std::move(enforcement);
    limits_ = limits;
    phase_ = Phase::kStarting;
  }
  // Undone on every error below: nothing is left started.
  auto fail = [&](absl::Status status) {
    absl::MutexLock lock(&mu_);
    phase_ = Phase::kNew;
    enforcement_ = Enforcement();
    early_.clear();
    return status;
  };

  const std::string job_name = absl::StrCat(core->job_prefix, "-", seq);
  absl::StatusOr<Command> srun_command =
      SrunCommand(*core, command, limits, job_name);
  if (!srun_command.ok()) return fail(srun_command.status());
  std::shared_ptr<Process> srun = core->local->New(*srun_command);
  const absl::Time srun_started = absl::Now();
  if (absl::Status s = srun->Start(); !s.ok()) return fail(s);

  // The last moment the job was seen queued: that wait is not the job's
  // wall time (a job never seen queued started at once).
  absl::Time last_pending = srun_started;
  absl::StatusOr<std::optional<int64_t>> job_id =
      AwaitJob(*core, job_name, srun, last_pending);
  if (!job_id.ok() || !job_id->has_value()) {
    srun->Kill().IgnoreError();
    srun->Wait().IgnoreError();
    // Whatever is queued under this name (unique to this process) goes too:
    // an error reading the queue must not leave a job behind.
    core->client->Run(core->client->tools().scancel, {"--name", job_name})
        .IgnoreError();
    if (job_id.ok()) return fail(RefusalOf(*core, *srun_command));
    return fail(absl::Status(job_id.status().code(),
                             absl::StrCat("start \"", command.label(),
                                          "\": ", job_id.status().message())));
  }

  std::shared_ptr<SlurmProcess> self = shared_from_this();
  {
    absl::MutexLock lock(&mu_);
    srun_ = srun;
    job_id_ = **job_id;
    seq_ = seq;
    started_ = absl::Now();
    pending_ = last_pending - srun_started;
    phase_ = Phase::kRunning;
    if (limits.wall_time) {
      std::weak_ptr<SlurmProcess> weak = self;
      timers_.push_back(core->timers.Add(started_ + *limits.wall_time, [weak] {
        if (std::shared_ptr<SlurmProcess> p = weak.lock()) {
          p->Stop(HostAction::kDeadline);
        }
      }));
    }
  }
  {
    absl::MutexLock core_lock(&core->mu);
    core->live.emplace(seq, self);
  }
  // What was asked while it started, now that there is a job to ask.
  std::vector<int> early;
  {
    absl::MutexLock lock(&mu_);
    early.swap(early_);
  }
  for (int what : early) {
    if (what == kEarlyTerminate) {
      Terminate().IgnoreError();
    } else if (what == SIGKILL) {
      Kill().IgnoreError();
    } else {
      Signal(what).IgnoreError();
    }
  }
  return absl::OkStatus();
}

// --- Stopping ----------------------------------------------------------------

absl::StatusOr<int64_t> SlurmProcess::LiveJob(absl::string_view action) const {
  absl::MutexLock lock(&mu_);
  if (phase_ == Phase::kNew || phase_ == Phase::kStarting) {
    return internal::NotStartedError(action, command_);
  }
  if (phase_ == Phase::kEnded || !srun_->Running()) {
    return internal::EndedError(action, command_, job_id_);
  }
  return job_id_;
}

void SlurmProcess::Stop(HostAction action) {
  std::shared_ptr<Core> core = core_.lock();
  if (core == nullptr) return;
  int64_t job_id = 0;
  bool resume = false;
  absl::Duration grace;
  {
    absl::MutexLock lock(&mu_);
    // Ended already (its outcome not yet read): nothing to stop.
    if (phase_ != Phase::kRunning || !srun_->Running()) return;
    if (host_action_ == HostAction::kNone) host_action_ = action;
    job_id = job_id_;
    resume = suspended_;
    suspended_ = false;
    grace = command_.kill_grace;
  }
  // A suspended job acts on TERM only once it runs again.
  if (resume) core->client->Resume(job_id).IgnoreError();
  if (grace <= absl::ZeroDuration()) {
    SendKill();
    return;
  }
  core->client->Signal(job_id, SIGTERM).IgnoreError();
  std::weak_ptr<SlurmProcess> weak = shared_from_this();
  const uint64_t timer = core->timers.Add(absl::Now() + grace, [weak] {
    if (std::shared_ptr<SlurmProcess> p = weak.lock()) p->SendKill();
  });
  absl::MutexLock lock(&mu_);
  timers_.push_back(timer);
}

void SlurmProcess::SendKill() {
  std::shared_ptr<Core> core = core_.lock();
  if (core == nullptr) return;
  int64_t job_id = 0;
  bool resume = false;
  {
    absl::MutexLock lock(&mu_);
    if (phase_ != Phase::kRunning || !srun_->Running()) return;
    job_id = job_id_;
    resume = suspended_;
    suspended_ = false;
  }
  if (resume) core->client->Resume(job_id).IgnoreError();
  // The step's processes, at once; then the job itself, should the step be
  // gone or the signal not reach it (srun ends when its step does).
  if (!core->client->Signal(job_id, SIGKILL).ok()) {
    core->client->Signal(job_id, 0).IgnoreError();
    return;
  }
  // Should srun still run a while later (the step's end not reaching it),
  // the job itself is cancelled: nothing outlives a kill.
  std::weak_ptr<SlurmProcess> weak = shared_from_this();
  const uint64_t timer =
      core->timers.Add(absl::Now() + kKillCheck, [weak, job_id] {
        std::shared_ptr<SlurmProcess> p = weak.lock();
        if (p == nullptr || !p->Running()) return;
        if (std::shared_ptr<Core> c = p->core_.lock()) {
          c->client->Signal(job_id, 0).IgnoreError();
        }
      });
  absl::MutexLock lock(&mu_);
  timers_.push_back(timer);
}

absl::Status SlurmProcess::Signal(int signo) {
  if (signo < 1 || signo > kMaxSignal) {
    absl::MutexLock lock(&mu_);
    return internal::NotASignalError("signal", command_, signo);
  }
  {
    absl::MutexLock lock(&mu_);
    if (phase_ == Phase::kStarting) {
      // From a callback of its own output while Start() waits for the job
      // (`yes | head -1`): sent once the job runs.
      early_.push_back(signo);
      return absl::OkStatus();
    }
  }
  absl::StatusOr<int64_t> job_id = LiveJob("signal");
  if (!job_id.ok()) return job_id.status();
  std::shared_ptr<Core> core = core_.lock();
  if (core == nullptr) {
    absl::MutexLock lock(&mu_);
    return internal::ManagerGoneError("signal", command_, kManagerName);
  }
  {
    absl::MutexLock lock(&mu_);
    if (signo != SIGSTOP && signo != SIGCONT) host_signals_.insert(signo);
  }
  return core->client->Signal(*job_id, signo);
}

absl::Status SlurmProcess::Terminate() {
  {
    absl::MutexLock lock(&mu_);
    if (phase_ == Phase::kStarting) {
      early_.push_back(kEarlyTerminate);
      return absl::OkStatus();
    }
    if (phase_ == Phase::kNew) {
      return internal::NotStartedError("terminate", command_);
    }
  }
  Stop(HostAction::kCancel);
  return absl::OkStatus();
}

absl::Status SlurmProcess::Kill() {
  {
    absl::MutexLock lock(&mu_);
    if (phase_ == Phase::kStarting) {
      early_.push_back(SIGKILL);
      return absl::OkStatus();
    }
    if (phase_ == Phase::kNew) {
      return internal::NotStartedError("kill", command_);
    }
    if (phase_ == Phase::kRunning && srun_->Running() &&
        host_action_ == HostAction::kNone) {
      host_action_ = HostAction::kCancel;
    }
  }
  SendKill();
  return absl::OkStatus();
}

absl::Status SlurmProcess::Suspend() { return SetSuspended(true); }

absl::Status SlurmProcess::Resume() { return SetSuspended(false); }

absl::Status SlurmProcess::SetSuspended(bool suspended) {
  const char* action = suspended ? "suspend" : "resume";
  absl::StatusOr<int64_t> job_id = LiveJob(action);
  if (!job_id.ok()) return job_id.status();
  std::shared_ptr<Core> core = core_.lock();
  if (core == nullptr) {
    absl::MutexLock lock(&mu_);
    return internal::ManagerGoneError(action, command_, kManagerName);
  }
  absl::Status s = suspended ? core->client->Suspend(*job_id)
                             : core->client->Resume(*job_id);
  if (absl::IsFailedPrecondition(s)) {
    // Not a Slurm operator: STOP or CONT to the step's processes instead.
    s = core->client->Signal(*job_id, suspended ? SIGSTOP : SIGCONT);
  }
  if (!s.ok()) return s;
  absl::MutexLock lock(&mu_);
  suspended_ = suspended;
  return absl::OkStatus();
}

void SlurmProcess::CancelAndWait() {
  Kill().IgnoreError();
  Wait().IgnoreError();
}

// --- Waiting and the outcome -------------------------------------------------

absl::StatusOr<Outcome> SlurmProcess::Wait() {
  std::shared_ptr<Process> srun;
  {
    absl::MutexLock lock(&mu_);
    if (outcome_) return *outcome_;
    if (phase_ == Phase::kNew || phase_ == Phase::kStarting) {
      return internal::NotStartedError("wait for", command_);
    }
    srun = srun_;
  }
  absl::StatusOr<Outcome> ended = srun->Wait();
  if (!ended.ok()) return ended.status();
  return Finish(*ended);
}

absl::StatusOr<Outcome> SlurmProcess::WaitFor(absl::Duration timeout) {
  std::shared_ptr<Process> srun;
  int64_t job_id = 0;
  {
    absl::MutexLock lock(&mu_);
    if (outcome_) return *outcome_;
    if (phase_ == Phase::kNew || phase_ == Phase::kStarting) {
      return internal::NotStartedError("wait for", command_);
    }
    srun = srun_;
    job_id = job_id_;
  }
  absl::StatusOr<Outcome> ended = srun->WaitFor(timeout);
  if (absl::IsDeadlineExceeded(ended.status())) {
    absl::MutexLock lock(&mu_);
    return internal::StillRunningError(command_, job_id, timeout);
  }
  if (!ended.ok()) return ended.status();
  return Finish(*ended);
}

Outcome SlurmProcess::Finish(const Outcome& srun_outcome) {
  absl::MutexLock finishing(&finish_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (outcome_) return *outcome_;
  }
  std::shared_ptr<Core> core = core_.lock();
  Outcome outcome = ComposeOutcome(core.get(), srun_outcome);
  std::shared_ptr<Process> srun;
  std::vector<uint64_t> timers;
  uint64_t seq = 0;
  {
    absl::MutexLock lock(&mu_);
    captured_ = srun_->Captured();
    output_bytes_ = srun_->Usage().output_bytes;
    outcome_ = outcome;
    phase_ = Phase::kEnded;
    timers.swap(timers_);
    seq = seq_;
    srun = std::move(srun_);
  }
  if (core != nullptr) {
    for (uint64_t id : timers) core->timers.Cancel(id);
    absl::MutexLock core_lock(&core->mu);
    core->live.erase(seq);
  }
  return outcome;
}

Outcome SlurmProcess::ComposeOutcome(Core* core, const Outcome& srun_outcome) {
  Outcome outcome;
  int64_t job_id = 0;
  HostAction action = HostAction::kNone;
  std::set<int> host_signals;
  {
    absl::MutexLock lock(&mu_);
    job_id = job_id_;
    action = host_action_;
    host_signals = host_signals_;
    outcome.limits = limits_;
  }
  // From the job running to srun's end, as the samples count it.
  absl::Duration pending = absl::ZeroDuration();
  {
    absl::MutexLock lock(&mu_);
    pending = pending_.value_or(absl::ZeroDuration());
  }
  outcome.wall_time =
      std::max(absl::ZeroDuration(), srun_outcome.wall_time - pending);
  for (const UsageSample& s : srun_outcome.samples) {
    if (std::optional<UsageSample> job = JobSample(s)) {
      outcome.samples.push_back(*job);
    }
  }

  // The job's final state, while the controller still has it (COMPLETING
  // while the node cleans up: asked again, briefly).
  std::optional<JobRecord> record;
  std::optional<AccountingRecord> accounting;
  if (core != nullptr) {
    const absl::Time give_up = absl::Now() + core->options.final_state_timeout;
    absl::Duration pause = absl::Milliseconds(5);
    while (true) {
      absl::StatusOr<std::string> out =
          core->client->Run(core->client->tools().scontrol,
                            {"show", "job", "-o", absl::StrCat(job_id)});
      if (out.ok()) {
        absl::StatusOr<JobRecord> parsed = ParseScontrolJob(*out);
        if (parsed.ok() && IsFinal(parsed->state)) {
          record = *std::move(parsed);
          break;
        }
      } else if (absl::IsNotFound(out.status())) {
        break;  // gone from the controller: accounting may have it
      }
      if (absl::Now() >= give_up) break;
      absl::SleepFor(pause);
      pause = std::min(pause * 2, absl::Milliseconds(200));
    }
    if (HasAccounting(core->config) && !core->client->tools().sacct.empty()) {
      absl::StatusOr<std::string> out = core->client->Run(
          core->client->tools().sacct,
          {"-P", "-n", "-j", absl::StrCat(job_id),
           "--format=JobID,State,ExitCode,UserCPU,SystemCPU,Elapsed,MaxRSS"});
      if (out.ok()) {
        absl::StatusOr<AccountingRecord> parsed = ParseSacct(*out, job_id);
        if (parsed.ok()) accounting = *std::move(parsed);
      }
    }
    // Whatever happened, nothing of this run stays queued.
    if (!record) core->client->Signal(job_id, 0).IgnoreError();
  }

  FinalState final_state;
  if (record) {
    final_state = MapFinalState(record->state, record->exit_code,
                                record->signal, action, outcome.limits);
  } else if (accounting && IsFinal(accounting->state)) {
    final_state = MapFinalState(accounting->state, accounting->exit_code,
                                accounting->signal, action, outcome.limits);
  } else {
    // Neither the controller nor accounting knows the job any more: what
    // srun's exit status says (128 + n when signal n ended the program).
    JobState state = JobState::kCompleted;
    int code = srun_outcome.exit_code;
    int signo = srun_outcome.signal;
    if (signo == 0 && code > 128 && code <= 128 + kMaxSignal) {
      signo = code - 128;
      code = 0;
    }
    if (signo != 0 || code != 0) state = JobState::kFailed;
    final_state = MapFinalState(state, code, signo, action, outcome.limits);
  }
  outcome.reason = final_state.reason;
  outcome.exit_code = final_state.exit_code;
  outcome.signal = final_state.signal;
  if (outcome.reason == ExitReason::kSignaled &&
      host_signals.count(outcome.signal) != 0) {
    outcome.reason = ExitReason::kCancelled;
  }
  // srun's reader stopped the run at the output limit: that is the cause,
  // unless the cluster saw an earlier one.
  if (srun_outcome.reason == ExitReason::kOutputExceeded &&
      action == HostAction::kNone &&
      (outcome.reason == ExitReason::kExited ||
       outcome.reason == ExitReason::kSignaled ||
       outcome.reason == ExitReason::kCancelled)) {
    outcome.reason = ExitReason::kOutputExceeded;
  }
  if (accounting) {
    outcome.user_time = accounting->user_time;
    outcome.system_time = accounting->system_time;
    outcome.peak_memory_bytes = accounting->peak_memory_bytes;
  }
  return outcome;
}

// --- Streams -----------------------------------------------------------------

absl::Status SlurmProcess::Write(absl::string_view data) {
  std::shared_ptr<Process> srun;
  {
    absl::MutexLock lock(&mu_);
    if (srun_ == nullptr) {
      if (phase_ == Phase::kEnded) {
        return internal::StdinEndedError(command_, job_id_);
      }
      return internal::NotStartedError("write to stdin of", command_);
    }
    srun = srun_;
  }
  return srun->Write(data);
}

absl::Status SlurmProcess::CloseStdin() {
  std::shared_ptr<Process> srun;
  {
    absl::MutexLock lock(&mu_);
    if (srun_ == nullptr) {
      if (phase_ == Phase::kEnded) return absl::OkStatus();
      return internal::NotStartedError("close stdin of", command_);
    }
    srun = srun_;
  }
  return srun->CloseStdin();
}

absl::StatusOr<std::shared_ptr<Process>> SlurmProcess::Reader(
    Stream stream) const {
  absl::MutexLock lock(&mu_);
  if (srun_ != nullptr) return srun_;
  if (phase_ != Phase::kEnded) {
    return internal::NotStartedError(
        stream == Stream::kStdout ? "read stdout of" : "read stderr of",
        command_);
  }
  return absl::OutOfRangeError(absl::StrCat("read from \"", command_.label(),
                                            "\": it has ended (end of file)"));
}

absl::StatusOr<std::string> SlurmProcess::ReadLine(Stream stream,
                                                   absl::Duration timeout) {
  absl::StatusOr<std::shared_ptr<Process>> srun = Reader(stream);
  if (!srun.ok()) return srun.status();
  return (*srun)->ReadLine(stream, timeout);
}

absl::StatusOr<std::string> SlurmProcess::Read(Stream stream,
                                               std::size_t max_bytes,
                                               absl::Duration timeout) {
  absl::StatusOr<std::shared_ptr<Process>> srun = Reader(stream);
  if (!srun.ok()) return srun.status();
  return (*srun)->Read(stream, max_bytes, timeout);
}

// --- State -------------------------------------------------------------------

Pid SlurmProcess::Id() const {
  absl::MutexLock lock(&mu_);
  return job_id_;
}

ProcessState SlurmProcess::state() const {
  absl::MutexLock lock(&mu_);
  switch (phase_) {
    case Phase::kNew:
    case Phase::kStarting:
      return ProcessState::kNew;
    case Phase::kEnded:
      return ProcessState::kEnded;
    case Phase::kRunning:
      if (!srun_->Running()) return ProcessState::kEnded;
      return suspended_ ? ProcessState::kSuspended : ProcessState::kRunning;
  }
  return ProcessState::kNew;
}

bool SlurmProcess::Running() const {
  const ProcessState s = state();
  return s == ProcessState::kRunning || s == ProcessState::kSuspended;
}

std::optional<int> SlurmProcess::ExitCode() const {
  std::shared_ptr<Process> srun;
  {
    absl::MutexLock lock(&mu_);
    if (outcome_) {
      if (outcome_->signal != 0) return std::nullopt;
      return outcome_->exit_code;
    }
    if (phase_ != Phase::kRunning || srun_->Running()) return std::nullopt;
  }
  // srun has ended: the outcome is one Wait() away.
  absl::StatusOr<Outcome> outcome = const_cast<SlurmProcess*>(this)->Wait();
  if (!outcome.ok() || outcome->signal != 0) return std::nullopt;
  return outcome->exit_code;
}

ResourceUsage SlurmProcess::Usage() const {
  absl::MutexLock lock(&mu_);
  ResourceUsage usage;
  if (outcome_) {
    usage.wall_time = outcome_->wall_time;
    usage.user_time = outcome_->user_time;
    usage.system_time = outcome_->system_time;
    usage.peak_memory_bytes = outcome_->peak_memory_bytes;
    usage.output_bytes = output_bytes_;
    return usage;
  }
  if (phase_ != Phase::kRunning) return usage;
  usage.wall_time = absl::Now() - started_;
  usage.output_bytes = srun_->Usage().output_bytes;
  usage.processes = srun_->Running() ? 1 : 0;
  return usage;
}

Enforcement SlurmProcess::enforcement() const {
  absl::MutexLock lock(&mu_);
  return enforcement_;
}

CapturedOutput SlurmProcess::Captured() const {
  absl::MutexLock lock(&mu_);
  if (srun_ != nullptr) return srun_->Captured();
  return captured_;
}

// --- Verify() ----------------------------------------------------------------

absl::StatusOr<Verification> SlurmProcess::Verify() {
  absl::StatusOr<int64_t> job_id = LiveJob("verify");
  if (!job_id.ok()) {
    absl::MutexLock lock(&mu_);
    if (phase_ == Phase::kNew || phase_ == Phase::kStarting) {
      return job_id.status();
    }
    return internal::EndedBeforeVerifiedError(command_, job_id_);
  }
  std::shared_ptr<Core> core = core_.lock();
  if (core == nullptr) {
    absl::MutexLock lock(&mu_);
    return internal::ManagerGoneError("verify", command_, kManagerName);
  }
  const std::string source = absl::StrCat("scontrol show job ", *job_id);
  absl::StatusOr<std::string> out =
      core->client->Run(core->client->tools().scontrol,
                        {"show", "job", "-o", absl::StrCat(*job_id)});
  absl::StatusOr<JobRecord> record =
      out.ok() ? ParseScontrolJob(*out)
               : absl::StatusOr<JobRecord>(out.status());
  Limits limits;
  Enforcement enforcement;
  {
    absl::MutexLock lock(&mu_);
    limits = limits_;
    enforcement = enforcement_;
  }
  if (!record.ok() || IsFinal(record->state) || !Running()) {
    absl::MutexLock lock(&mu_);
    return internal::EndedBeforeVerifiedError(command_, job_id_);
  }
  Verification v;
  v.time = absl::Now();
  for (const LimitEnforcement& e : enforcement.limits) {
    VerificationCheck c;
    c.item = std::string(LimitKindName(e.limit));
    c.limit = e.limit;
    c.source = source;
    if (!e.enforced()) {
      c.result = CheckResult::kNotEnforced;
      c.detail = e.detail;
    } else if (e.limit == LimitKind::kMemory) {
      c.asked = FormatByteSize(*limits.memory_bytes);
      if (record->memory_bytes) {
        c.found = FormatByteSize(*record->memory_bytes);
        // srun asks for whole MiB, rounded up: less than a MiB more.
        const bool held =
            *record->memory_bytes < *limits.memory_bytes + (int64_t{1} << 20);
        c.result = held ? CheckResult::kMatch : CheckResult::kMismatch;
        c.detail = held ? "rounded up to whole MiB"
                        : "the job may use more than asked";
      } else {
        c.result = CheckResult::kMismatch;
        c.detail = "the job has no memory limit";
      }
    } else if (e.limit == LimitKind::kWallTime) {
      c.asked = procsandbox::FormatDuration(*limits.wall_time);
      c.found = record->time_limit
                    ? procsandbox::FormatDuration(*record->time_limit)
                    : "";
      c.result = CheckResult::kUnverified;
      c.detail =
          "the deadline is kept by this host; the job's TimeLimit is "
          "the cluster's backstop";
    } else {
      c.result = CheckResult::kUnverified;
      c.detail = absl::StrCat("enforced on the node (", e.detail,
                              "); no client command reads it back");
    }
    v.checks.push_back(std::move(c));
  }
  for (const IsolationEnforcement& e : enforcement.isolation) {
    VerificationCheck c;
    c.item = std::string(IsolationKindName(e.kind));
    c.isolation = e.kind;
    c.source = source;
    c.result =
        e.enforced ? CheckResult::kUnverified : CheckResult::kNotEnforced;
    c.detail = e.detail;
    v.checks.push_back(std::move(c));
  }
  return v;
}

}  // namespace procsandbox::slurm_internal
