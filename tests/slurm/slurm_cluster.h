// slurm_cluster.h: a real one-node Slurm cluster for tests (munged +
// slurmctld + slurmd of the installed Slurm, on loopback, as root, from a
// generated configuration in a temporary directory).
//
// Use it from a test executable linked with procsandbox_slurm_cluster
// (tests/CMakeLists.txt); start ONE cluster per executable (a static in
// SetUpTestSuite, or a gtest Environment) and let every case use it:
// starting one takes about a second.
//
//   std::unique_ptr<SlurmCluster> cluster;  // e.g. a suite static
//   if (auto why = SlurmCluster::WhyUnavailable()) GTEST_SKIP() << *why;
//   absl::StatusOr<std::unique_ptr<SlurmCluster>> started =
//       SlurmCluster::Start({});
//   ASSERT_TRUE(started.ok()) << started.status();
//   cluster = *std::move(started);
//   // Clients find the cluster through SLURM_CONF=cluster->conf_path():
//   absl::StatusOr<std::string> out = cluster->Run({"srun", "hostname"});
//   ...
//   EXPECT_THAT(cluster->QueuedJobs(), IsOkAndHolds(IsEmpty()));
//   cluster.reset();  // Stop(): cancels jobs, stops the daemons, removes all
//
// Jobs run in the caller's working directory: give sbatch --output (its
// default, slurm-<id>.out, would land there).
//
// Several clusters can run at once on one machine (ctest -j): each has its own
// temporary directory, munge socket, ports, NodeName (its cgroups are
// slurm_<NodeName>) and a random FirstJobId. Memory is confined by
// task/cgroup where slurmd accepts it; otherwise (or with
// Confinement::kNone) the cluster falls back to jobacct_gather/linux with
// OverMemoryKill: memory_confinement() says which one a test got.
//
// Linux only; needs root (WhyUnavailable()) and the Debian packages slurmd,
// slurmctld, slurm-client and munge (scripts/test installs them).
#ifndef PROCSANDBOX_TESTS_SLURM_SLURM_CLUSTER_H_
#define PROCSANDBOX_TESTS_SLURM_SLURM_CLUSTER_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace procsandbox::slurm_testing {

// How jobs' memory is confined.
enum class Confinement {
  // task/cgroup + proctrack/cgroup; when slurmd does not come up with them,
  // the kNone configuration (memory_confinement_detail() says why). The
  // environment variable PROCSANDBOX_SLURM_CONFINEMENT=none turns kAuto into
  // kNone (to run a whole suite on the fallback).
  kAuto,
  // task/cgroup + proctrack/cgroup or an error.
  kCgroup,
  // proctrack/linuxproc, task/none, jobacct_gather/linux with OverMemoryKill
  // sampled every second: no cgroups at all.
  kNone,
};

struct StartOptions {
  std::string partition = "debug";
  int cpus = 32;
  // RealMemory of the node in MiB; 0: `cpus` times this machine's MemTotal.
  // A job without --mem gets DefMemPerCPU = MemTotal per CPU, so jobs without
  // a memory limit run side by side (up to `cpus` of them).
  int64_t real_memory_mib = 0;
  // Lines appended to slurm.conf (e.g. "OverTimeLimit=1"); later lines win.
  std::vector<std::string> extra_config;
  Confinement confinement = Confinement::kAuto;
  // Lines appended to cgroup.conf (with task/cgroup only).
  std::vector<std::string> extra_cgroup_config;
  // Bound on each daemon reaching readiness (the node idle).
  absl::Duration ready_timeout = absl::Seconds(60);
};

// One running cluster. Thread-safe, except Stop() (and the destructor), which
// must not run concurrently with other calls.
class SlurmCluster {
 public:
  // Why no cluster can start here ("needs root to start slurmd", "Slurm is
  // not installed (...): no slurmctld"), or nullopt when Start() may work.
  static std::optional<std::string> WhyUnavailable();

  // Starts a cluster and waits until its node is idle and a probe job ran.
  // InvalidArgument for bad options; FailedPrecondition when
  // WhyUnavailable(); otherwise the error names the step that failed and
  // quotes the end of its log. On failure everything started is stopped and
  // removed.
  static absl::StatusOr<std::unique_ptr<SlurmCluster>> Start(
      const StartOptions& options);

  ~SlurmCluster();  // Stop(), ignoring its status.
  SlurmCluster(const SlurmCluster&) = delete;
  SlurmCluster& operator=(const SlurmCluster&) = delete;

  // Cancels every job, waits (bounded) for the queue to empty, stops
  // slurmd, slurmctld and munged (SIGTERM, then SIGKILL), kills what is left
  // of this cluster (processes whose SLURM_CONF is ours, its cgroups), removes
  // its cgroups and its directory. Idempotent; returns the first failure.
  absl::Status Stop();

  // The generated slurm.conf: clients need SLURM_CONF=conf_path().
  const std::string& conf_path() const { return conf_path_; }
  // The cluster's temporary directory (logs: slurmctld.log, slurmd.log,
  // munge/log; each daemon's stderr: slurmctld.out, slurmd.out,
  // munge/output).
  const std::string& dir() const { return dir_; }
  const std::string& node_name() const { return node_name_; }
  const std::string& partition() const { return partition_; }
  const std::string& cluster_name() const { return cluster_name_; }
  // "task/cgroup" when jobs' memory is confined by cgroups, else "".
  const std::string& memory_confinement() const { return confinement_; }
  // Why memory_confinement() is empty ("" when it is not).
  const std::string& memory_confinement_detail() const {
    return confinement_detail_;
  }

  // The daemons' pids (munged, slurmctld, slurmd): children of this process
  // while the cluster runs, which a test counting its children leaves out.
  std::vector<pid_t> daemon_pids() const {
    std::vector<pid_t> pids;
    pids.reserve(daemons_.size());
    for (const Daemon& daemon : daemons_) pids.push_back(daemon.pid);
    return pids;
  }

  // This process's environment for a Slurm client of this cluster: SLURM_*
  // variables dropped, SLURM_CONF set.
  std::vector<std::string> ClientEnvironment() const;

  // The ids of jobs still in the queue (pending, running, suspended,
  // completing, configuring). While one is COMPLETING (it ended, its node
  // cleans up: it leaves by itself) it asks again, at most `completing`.
  absl::StatusOr<std::vector<std::string>> QueuedJobs(
      absl::Duration completing = absl::Seconds(30)) const;

  // Runs a Slurm client command (argv[0] a name searched in PATH and
  // /usr/sbin, or a path) with ClientEnvironment(); returns its stdout.
  // InvalidArgument for an empty argv, NotFound for a missing program,
  // Unknown (quoting stderr) on a non-zero exit, DeadlineExceeded after
  // `timeout`.
  absl::StatusOr<std::string> Run(
      std::vector<std::string> argv,
      absl::Duration timeout = absl::Seconds(60)) const;

 private:
  struct Daemon {
    std::string name;
    pid_t pid = -1;
    std::string log;     // its LogFile
    std::string output;  // its stdout + stderr
  };

  SlurmCluster() = default;
  static absl::StatusOr<std::unique_ptr<SlurmCluster>> TryStart(
      const StartOptions& options, bool cgroup, bool* retry_ports,
      bool* slurmd_failed);
  absl::Status MakeDirectory();
  absl::Status StartMunge();
  absl::Status WriteConfig(const StartOptions& options, bool cgroup);
  absl::Status StartSlurm();
  absl::Status WaitUntilReady(absl::Duration timeout);
  absl::Status DaemonFailed(const Daemon& daemon, const std::string& what);
  Daemon* FindExited();

  std::string dir_;
  std::string conf_path_;
  std::string node_name_;
  std::string partition_;
  std::string cluster_name_;
  std::string confinement_;
  std::string confinement_detail_;
  uint16_t ctld_port_ = 0;
  uint16_t slurmd_port_ = 0;
  std::vector<Daemon> daemons_;  // munged, slurmctld, slurmd: our children
  bool port_in_use_ = false;     // a daemon failed to bind its port
  std::string failed_daemon_;    // the one DaemonFailed() named
  bool stopped_ = false;
};

}  // namespace procsandbox::slurm_testing

#endif  // PROCSANDBOX_TESTS_SLURM_SLURM_CLUSTER_H_
