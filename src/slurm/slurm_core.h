// The Slurm manager's insides: the state its processes share (Core), its
// timers, and SlurmProcess, one job run by a local srun.
//
// Lifetimes: the manager owns the Core; each process holds it weakly, so a
// process that outlives its manager answers from what it kept and fails
// other calls with FailedPrecondition. The manager's destructor cancels and
// waits for every job still running and stops the timers before it lets
// the Core go.
#ifndef PROCSANDBOX_SRC_SLURM_SLURM_CORE_H_
#define PROCSANDBOX_SRC_SLURM_SLURM_CORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/command.h"
#include "procsandbox/limits.h"
#include "procsandbox/manager.h"
#include "procsandbox/process.h"
#include "procsandbox/slurm_manager.h"
#include "slurm/slurm_client.h"
#include "slurm/slurm_parse.h"

namespace procsandbox::slurm_internal {

// Callbacks at given times, on one thread of their own.
class Timers {
 public:
  Timers();
  ~Timers();  // Stop()
  Timers(const Timers&) = delete;
  Timers& operator=(const Timers&) = delete;

  // Runs `callback` at `when` (at once when past); an id for Cancel().
  uint64_t Add(absl::Time when, std::function<void()> callback);
  // The callback will not run (unless it already is).
  void Cancel(uint64_t id);
  // No callback runs after it returns; joins the thread.
  void Stop();

 private:
  void Loop();

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::multimap<absl::Time, std::pair<uint64_t, std::function<void()>>> due_
      ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

class SlurmProcess;

// An srun option the manager sets itself ("--mem=1G", "-p", "--export"):
// SlurmOptions::srun_args may not hold it.
bool IsReservedSrunOption(absl::string_view arg);

struct Core {
  SlurmOptions options;
  // Runs each job's srun on this host.
  std::unique_ptr<Manager> local;
  // Runs the client commands (scancel, squeue, ...): not on srun's thread,
  // where the host's callbacks run (one that stops its job must not wait
  // for the thread it runs on).
  std::unique_ptr<Manager> tools;
  std::unique_ptr<SlurmClient> client;
  ClusterConfig config;
  Capabilities capabilities;
  // "<job_name>-<random>": every job of this manager is "<prefix>-<n>".
  std::string job_prefix;
  Timers timers;

  absl::Mutex mu;
  Limits defaults ABSL_GUARDED_BY(mu);
  uint64_t next_job ABSL_GUARDED_BY(mu) = 1;
  bool closed ABSL_GUARDED_BY(mu) = false;
  // Started, not yet ended processes, by start order.
  std::map<uint64_t, std::shared_ptr<SlurmProcess>> live ABSL_GUARDED_BY(mu);
};

class SlurmProcess final : public Process,
                           public std::enable_shared_from_this<SlurmProcess> {
 public:
  SlurmProcess(std::weak_ptr<Core> core, Command command);
  ~SlurmProcess() override;

  absl::Status SetStdin(Stdio stdio) override;
  absl::Status SetStdout(Stdio stdio) override;
  absl::Status SetStderr(Stdio stdio) override;
  absl::Status SetLimits(const Limits& limits) override;
  Limits GetLimits() const override;
  Command command() const override;

  absl::Status Start() override;
  absl::StatusOr<Outcome> Wait() override;
  absl::StatusOr<Outcome> WaitFor(absl::Duration timeout) override;

  absl::Status Signal(int signo) override;
  absl::Status Terminate() override;
  absl::Status Kill() override;
  absl::Status Suspend() override;
  absl::Status Resume() override;

  absl::Status Write(absl::string_view data) override;
  absl::Status CloseStdin() override;
  absl::StatusOr<std::string> ReadLine(Stream stream,
                                       absl::Duration timeout) override;
  absl::StatusOr<std::string> Read(Stream stream, std::size_t max_bytes,
                                   absl::Duration timeout) override;

  Pid Id() const override;
  ProcessState state() const override;
  bool Running() const override;
  std::optional<int> ExitCode() const override;
  ResourceUsage Usage() const override;
  Enforcement enforcement() const override;
  CapturedOutput Captured() const override;
  absl::StatusOr<Verification> Verify() override;

  // The manager's destructor: cancel the job and wait for its end.
  void CancelAndWait();

  // One of srun's usage samples as the job's: counted from the job running
  // (nullopt for one taken before), without srun's CPU and memory.
  std::optional<UsageSample> JobSample(UsageSample sample) const;
  // What srun's sample `sample` gives the host's on_sample, in order: the
  // samples held while the job was awaited, then this one, as the job's.
  std::vector<UsageSample> JobSamples(const UsageSample& sample);

 private:
  enum class Phase { kNew, kStarting, kRunning, kEnded };

  absl::Status SetStream(Stream stream, Stdio stdio);
  // The srun command for `command` under `limits`, or why it cannot run.
  absl::StatusOr<Command> SrunCommand(const Core& core, const Command& command,
                                      const Limits& limits,
                                      const std::string& job_name);
  // Waits until the job runs: its id; nullopt when srun ended without a
  // job (the controller refused it); or (cancelled, nothing left) why not.
  // `last_pending`: when squeue last showed it queued.
  absl::StatusOr<std::optional<int64_t>> AwaitJob(
      Core& core, const std::string& job_name,
      const std::shared_ptr<Process>& srun, absl::Time& last_pending);
  static bool TaskStarted(Core& core, const std::string& step);
  // Why Slurm refused the job (srun --test-only with the same options).
  absl::Status RefusalOf(Core& core, const Command& srun) const;

  // srun, whose pipes are the job's; an error once it is gone.
  absl::StatusOr<std::shared_ptr<Process>> Reader(Stream stream) const;
  // scontrol suspend/resume, or STOP/CONT for a user who may not.
  absl::Status SetSuspended(bool suspended);
  // Stops: TERM now and KILL after the grace (deadline, Terminate).
  void Stop(HostAction action);
  void SendKill();
  // The job's id once started and not ended; FailedPrecondition otherwise.
  absl::StatusOr<int64_t> LiveJob(absl::string_view action) const;

  // The Outcome once srun ended with `srun_outcome` (idempotent).
  Outcome Finish(const Outcome& srun_outcome);
  Outcome ComposeOutcome(Core* core, const Outcome& srun_outcome);

  std::weak_ptr<Core> core_;

  mutable absl::Mutex mu_;
  Command command_ ABSL_GUARDED_BY(mu_);
  Phase phase_ ABSL_GUARDED_BY(mu_) = Phase::kNew;
  uint64_t seq_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t job_id_ ABSL_GUARDED_BY(mu_) = 0;
  Limits limits_ ABSL_GUARDED_BY(mu_);
  Enforcement enforcement_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<Process> srun_ ABSL_GUARDED_BY(mu_);
  absl::Time started_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // From srun's start to the last moment the job was seen queued (set once
  // it runs): srun's samples and wall time less this are the job's.
  std::optional<absl::Duration> pending_ ABSL_GUARDED_BY(mu_);
  std::vector<UsageSample> held_samples_ ABSL_GUARDED_BY(mu_);
  HostAction host_action_ ABSL_GUARDED_BY(mu_) = HostAction::kNone;
  std::set<int> host_signals_ ABSL_GUARDED_BY(mu_);
  bool suspended_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<uint64_t> timers_ ABSL_GUARDED_BY(mu_);
  // Signals, Terminate() (0) and Kill() (SIGKILL) asked for while Start()
  // waited for the job (from a callback of the job's output): done once it
  // runs.
  std::vector<int> early_ ABSL_GUARDED_BY(mu_);
  std::optional<Outcome> outcome_ ABSL_GUARDED_BY(mu_);
  CapturedOutput captured_ ABSL_GUARDED_BY(mu_);
  int64_t output_bytes_ ABSL_GUARDED_BY(mu_) = 0;

  // Held while the outcome is put together (one thread does it).
  absl::Mutex finish_mu_;
};

}  // namespace procsandbox::slurm_internal

#endif  // PROCSANDBOX_SRC_SLURM_SLURM_CORE_H_
