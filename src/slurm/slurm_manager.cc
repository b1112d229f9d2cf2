// NewSlurmManager() (procsandbox/slurm_manager.h): the manager, its timers,
// and what it reports the cluster can enforce.
#include "procsandbox/slurm_manager.h"

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/isolation_enforcement.h"
#include "common/process_errors.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/manager.h"
#include "procsandbox/os_manager.h"
#include "slurm/slurm_client.h"
#include "slurm/slurm_core.h"
#include "slurm/slurm_parse.h"

namespace procsandbox {
namespace slurm_internal {

// --- Timers ------------------------------------------------------------------

Timers::Timers() : thread_([this] { Loop(); }) {}

Timers::~Timers() { Stop(); }

uint64_t Timers::Add(absl::Time when, std::function<void()> callback) {
  absl::MutexLock lock(&mu_);
  const uint64_t id = next_id_++;
  due_.emplace(when, std::make_pair(id, std::move(callback)));
  return id;
}

void Timers::Cancel(uint64_t id) {
  absl::MutexLock lock(&mu_);
  for (auto it = due_.begin(); it != due_.end(); ++it) {
    if (it->second.first == id) {
      due_.erase(it);
      return;
    }
  }
}

void Timers::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void Timers::Loop() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    const absl::Time next =
        due_.empty() ? absl::InfiniteFuture() : due_.begin()->first;
    const absl::Time now = absl::Now();
    if (next > now) {
      auto changed = [this, next]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || (!due_.empty() && due_.begin()->first < next);
      };
      mu_.AwaitWithDeadline(absl::Condition(&changed), next);
      continue;
    }
    std::function<void()> callback = std::move(due_.begin()->second.second);
    due_.erase(due_.begin());
    mu_.Unlock();
    callback();
    mu_.Lock();
  }
}

namespace {

// A name part no other manager picks: 12 random hex digits.
std::string RandomToken() {
  std::random_device device;
  std::mt19937_64 bits((static_cast<uint64_t>(device()) << 32) ^ device() ^
                       static_cast<uint64_t>(getpid()));
  return absl::StrFormat("%012x", bits() & 0xffffffffffffULL);
}

absl::Status ValidateOptions(const SlurmOptions& options) {
  if (options.cpus_per_task < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("SlurmOptions::cpus_per_task is ", options.cpus_per_task,
                     "; it must be at least 1"));
  }
  if (options.job_name.empty() || options.job_name.size() > 64) {
    return absl::InvalidArgumentError(
        "SlurmOptions::job_name must have 1 to 64 characters");
  }
  for (char c : options.job_name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' &&
        c != '_' && c != '.') {
      return absl::InvalidArgumentError(
          absl::StrCat("SlurmOptions::job_name \"", options.job_name,
                       "\" may hold letters, digits, '-', '_' and '.' only"));
    }
  }
  for (const auto& [name, value] : {std::pair<const char*, const std::string*>{
                                        "partition", &options.partition},
                                    {"account", &options.account},
                                    {"qos", &options.qos}}) {
    if (value->find_first_of(" \t\n,=") != std::string::npos ||
        (!value->empty() && (*value)[0] == '-')) {
      return absl::InvalidArgumentError(absl::StrCat(
          "SlurmOptions::", name, " \"", *value, "\" is not a Slurm name"));
    }
  }
  for (const std::string& arg : options.srun_args) {
    if (IsReservedSrunOption(arg)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "SlurmOptions::srun_args: ", arg,
          " is an option the Slurm manager sets itself (use SlurmOptions' "
          "fields, or the command's limits)"));
    }
    if (arg.empty() || arg[0] != '-') {
      return absl::InvalidArgumentError(absl::StrCat(
          "SlurmOptions::srun_args: \"", arg,
          "\" is not an option (write \"--opt=value\" as one argument)"));
    }
  }
  if (options.start_timeout <= absl::ZeroDuration() ||
      options.final_state_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "SlurmOptions::start_timeout must be positive and "
        "final_state_timeout not negative");
  }
  return internal::ValidateDefaultLimits(options.default_limits,
                                         "default limits");
}

Capabilities CapabilitiesOf(const SlurmOptions& options,
                            const ClusterConfig& config, bool has_sacct) {
  Capabilities caps;
  caps.backend = "slurm";
  caps.strict = options.strict;
  const Confinement tree = TreeTrackingOf(config);
  caps.tree_kill = tree.enforced;
  caps.tree_kill_detail =
      absl::StrCat("scancel signals the job's step: ", tree.detail);
  // scontrol suspend stops every process Slurm tracks for the job; with
  // proctrack/cgroup, through the cgroup freezer.
  caps.tree_freeze = tree.enforced;
  caps.tree_freeze_detail = absl::StrCat("scontrol suspend: ", tree.detail);
  const Confinement memory = MemoryConfinementOf(config);
  for (LimitKind kind : kAllLimitKinds) {
    LimitEnforcement e{kind, Mechanism::kNone, ""};
    switch (kind) {
      case LimitKind::kWallTime:
        e.mechanism = Mechanism::kReactor;
        e.detail =
            "this host's deadline, then scancel; srun --time as the "
            "cluster's backstop";
        break;
      case LimitKind::kCpuTime:
        e.mechanism = Mechanism::kRlimit;
        e.detail = "RLIMIT_CPU on the node (srun --propagate=CPU)";
        break;
      case LimitKind::kMemory:
        e.mechanism = memory.enforced ? Mechanism::kSlurm : Mechanism::kNone;
        e.detail = absl::StrCat("srun --mem: ", memory.detail);
        break;
      case LimitKind::kFileSize:
        e.mechanism = Mechanism::kRlimit;
        e.detail = "RLIMIT_FSIZE on the node (srun --propagate=FSIZE)";
        break;
      case LimitKind::kOpenFiles:
        e.mechanism = Mechanism::kRlimit;
        e.detail = "RLIMIT_NOFILE on the node (srun --propagate=NOFILE)";
        break;
      case LimitKind::kProcesses:
        e.detail =
            "Slurm has no limit on a job's processes (RLIMIT_NPROC counts "
            "all of the user's on the node)";
        break;
      case LimitKind::kOutput:
        e.mechanism = Mechanism::kReactor;
        e.detail = "this host reads the job's output from srun";
        break;
      case LimitKind::kCpuWeight:
        e.detail =
            "Slurm has no CPU weight per job (--nice orders the queue, "
            "not the CPU)";
        break;
    }
    caps.limits.push_back(std::move(e));
  }
  caps.isolation = internal::UniformIsolation(
      false,
      "not applied by the Slurm manager: the job runs on a node under the "
      "cluster's own confinement");
  caps.features.push_back(
      {"cluster", true,
       absl::StrCat(config.cluster_name, ", Slurm ", config.version,
                    options.partition.empty()
                        ? ", the default partition"
                        : absl::StrCat(", partition ", options.partition))});
  const bool accounting = HasAccounting(config) && has_sacct;
  caps.features.push_back(
      {"accounting", accounting,
       accounting ? absl::StrCat(config.accounting_storage_type,
                                 ": usage and final states from sacct")
                  : absl::StrCat(config.accounting_storage_type.empty()
                                     ? std::string("no accounting storage")
                                     : config.accounting_storage_type,
                                 has_sacct ? "" : "; no sacct here",
                                 ": no CPU time or peak memory per job")});
  const bool root = geteuid() == 0;
  caps.features.push_back(
      {"suspend", root,
       root ? "scontrol suspend (as root)"
            : "scontrol suspend needs an operator; tried, then STOP/CONT to "
              "the job's step"});
  return caps;
}

class SlurmManager final : public Manager {
 public:
  explicit SlurmManager(std::shared_ptr<Core> core) : core_(std::move(core)) {}

  ~SlurmManager() override {
    {
      absl::MutexLock lock(&core_->mu);
      core_->closed = true;
    }
    for (const std::shared_ptr<SlurmProcess>& process : Live()) {
      process->CancelAndWait();
    }
    core_->timers.Stop();
  }

  std::shared_ptr<Process> New(Command command) override {
    return std::make_shared<SlurmProcess>(core_, std::move(command));
  }

  absl::StatusOr<std::shared_ptr<Process>> Get(Pid pid) const override {
    for (const std::shared_ptr<SlurmProcess>& process : Live()) {
      if (process->Id() == pid && process->Running()) return process;
    }
    return internal::NoSuchProcessError(pid);
  }

  std::vector<std::shared_ptr<Process>> List() const override {
    std::vector<std::shared_ptr<Process>> list;
    for (std::shared_ptr<SlurmProcess>& process : Live()) {
      if (process->Running()) list.push_back(std::move(process));
    }
    return list;
  }

  absl::Status SetDefaultLimits(const Limits& limits) override {
    if (absl::Status s =
            internal::ValidateDefaultLimits(limits, "set default limits");
        !s.ok()) {
      return s;
    }
    absl::MutexLock lock(&core_->mu);
    core_->defaults = limits;
    return absl::OkStatus();
  }

  Limits GetDefaultLimits() const override {
    absl::MutexLock lock(&core_->mu);
    return core_->defaults;
  }

  Capabilities capabilities() const override { return core_->capabilities; }

  absl::Time Now() const override { return absl::Now(); }

 private:
  // The started, not yet finished processes, in start order (copied: a
  // process's lock is never taken under the core's).
  std::vector<std::shared_ptr<SlurmProcess>> Live() const {
    std::vector<std::shared_ptr<SlurmProcess>> live;
    absl::MutexLock lock(&core_->mu);
    live.reserve(core_->live.size());
    for (const auto& [seq, process] : core_->live) live.push_back(process);
    return live;
  }

  std::shared_ptr<Core> core_;
};

}  // namespace
}  // namespace slurm_internal

absl::StatusOr<std::unique_ptr<Manager>> NewSlurmManager(SlurmOptions options) {
  using slurm_internal::Core;
  if (absl::Status s = slurm_internal::ValidateOptions(options); !s.ok()) {
    return s;
  }
  const char* path = std::getenv("PATH");
  absl::StatusOr<slurm_internal::SlurmTools> tools =
      slurm_internal::FindSlurmTools(options.slurm_bin_dir,
                                     path != nullptr ? path : "");
  if (!tools.ok()) return tools.status();

  OsManagerOptions local = options.local;
  local.strict = false;
  local.default_limits = Limits();
  local.cgroups = false;
  local.cgroup_root.clear();
  // Two local managers, two threads: the host's callbacks for a job (its
  // output, its samples) run on srun's manager's thread and may signal or
  // stop the job, which runs scancel: on the same thread it would wait for
  // itself.
  absl::StatusOr<std::unique_ptr<Manager>> local_manager = NewOsManager(local);
  if (!local_manager.ok()) return local_manager.status();
  absl::StatusOr<std::unique_ptr<Manager>> tools_manager =
      NewOsManager(std::move(local));
  if (!tools_manager.ok()) return tools_manager.status();

  auto core = std::make_shared<Core>();
  core->local = *std::move(local_manager);
  core->tools = *std::move(tools_manager);
  std::string conf = options.slurm_conf;
  if (conf.empty()) {
    if (const char* env = std::getenv("SLURM_CONF")) conf = env;
  } else if (access(conf.c_str(), R_OK) != 0) {
    // scontrol would look for a configuration elsewhere (DNS SRV records)
    // before it gives up: say what is wrong at once.
    return absl::FailedPreconditionError(
        absl::StrCat("create the Slurm manager: SlurmOptions::slurm_conf \"",
                     conf, "\" cannot be read: ", std::strerror(errno)));
  }
  core->client = std::make_unique<slurm_internal::SlurmClient>(
      *core->tools, *std::move(tools), conf);
  absl::StatusOr<std::string> shown =
      core->client->Run(core->client->tools().scontrol, {"show", "config"});
  if (!shown.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("create the Slurm manager: no controller answered: ",
                     shown.status().message()));
  }
  absl::StatusOr<slurm_internal::ClusterConfig> config =
      slurm_internal::ParseClusterConfig(*shown);
  if (!config.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("create the Slurm manager: scontrol show config: ",
                     config.status().message()));
  }
  core->config = *std::move(config);
  core->capabilities = slurm_internal::CapabilitiesOf(
      options, core->config, !core->client->tools().sacct.empty());
  core->job_prefix =
      absl::StrCat(options.job_name, "-", slurm_internal::RandomToken());
  {
    absl::MutexLock lock(&core->mu);
    core->defaults = options.default_limits;
  }
  core->options = std::move(options);
  return std::unique_ptr<Manager>(
      std::make_unique<slurm_internal::SlurmManager>(std::move(core)));
}

}  // namespace procsandbox
