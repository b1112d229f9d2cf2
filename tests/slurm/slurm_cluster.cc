#include "slurm/slurm_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "fmt/format.h"
#include "slurm/child_process.h"

namespace procsandbox::slurm_testing {
namespace {

constexpr int kLogLines = 20;
constexpr int kStartAttempts = 3;  // new ports after a failed bind
constexpr char kQueuedStates[] =
    "PENDING,RUNNING,SUSPENDED,COMPLETING,CONFIGURING";

uint64_t RandomBits() {
  static thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine();
}

std::string ShortHostname() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::string name(host);
  return name.substr(0, name.find('.'));
}

// MemTotal in MiB (0 when unreadable).
int64_t MemTotalMib() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  int64_t kib = 0;
  while (meminfo >> key >> kib) {
    if (key == "MemTotal:") return kib / 1024;
    meminfo.ignore(256, '\n');
  }
  return 0;
}

// A port nobody listens on now (another process may take it before the
// daemon binds it: Start retries then).
absl::StatusOr<uint16_t> FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus(errno, "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int error = errno;
    close(fd);
    return ErrnoStatus(error, "bind 127.0.0.1:0");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

absl::Status WriteFile(const std::string& path, const std::string& text,
                       mode_t mode) {
  const int fd =
      open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoStatus(errno, fmt::format("create \"{}\"", path));
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      close(fd);
      return ErrnoStatus(error, fmt::format("write \"{}\"", path));
    }
    done += static_cast<size_t>(n);
  }
  if (fchmod(fd, mode) != 0 || close(fd) != 0) {
    return ErrnoStatus(errno, fmt::format("write \"{}\"", path));
  }
  return absl::OkStatus();
}

absl::Status MakeDir(const std::string& path, mode_t mode) {
  if (mkdir(path.c_str(), mode) != 0 || chmod(path.c_str(), mode) != 0) {
    return ErrnoStatus(errno, fmt::format("mkdir \"{}\"", path));
  }
  return absl::OkStatus();
}

// A v2-only host: /sys/fs/cgroup is the cgroup2 file system itself.
bool CgroupV2Only() {
  return access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
}

absl::Status CheckOptions(const StartOptions& options) {
  const auto bad = [](const std::string& s) {
    return s.empty() || s.find_first_of(" \t\n=#") != std::string::npos;
  };
  if (bad(options.partition)) {
    return absl::InvalidArgumentError(
        fmt::format("partition \"{}\": empty or has a space, '=' or '#'",
                    options.partition));
  }
  if (options.cpus < 1) {
    return absl::InvalidArgumentError(
        fmt::format("cpus {}: must be at least 1", options.cpus));
  }
  if (options.real_memory_mib < 0) {
    return absl::InvalidArgumentError(fmt::format(
        "real_memory_mib {}: must not be negative", options.real_memory_mib));
  }
  for (const auto& [name, lines] :
       {std::pair("extra_config", &options.extra_config),
        std::pair("extra_cgroup_config", &options.extra_cgroup_config)}) {
    for (const std::string& line : *lines) {
      if (line.find('\n') != std::string::npos) {
        return absl::InvalidArgumentError(fmt::format(
            "{} line \"{}\": holds a newline", name, absl::CEscape(line)));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::optional<std::string> SlurmCluster::WhyUnavailable() {
  if (geteuid() != 0) return "needs root to start slurmd";
  for (const char* program : {"munged", "slurmctld", "slurmd", "srun",
                              "scontrol", "squeue", "scancel", "sinfo"}) {
    if (!FindProgram(program)) {
      return fmt::format(
          "Slurm is not installed (scripts/test installs slurmd slurmctld "
          "slurm-client munge): no {}",
          program);
    }
  }
  return std::nullopt;
}

absl::StatusOr<std::unique_ptr<SlurmCluster>> SlurmCluster::Start(
    const StartOptions& options) {
  if (absl::Status s = CheckOptions(options); !s.ok()) return s;
  if (std::optional<std::string> why = WhyUnavailable()) {
    return absl::FailedPreconditionError(
        fmt::format("start a Slurm cluster: {}", *why));
  }
  Confinement mode = options.confinement;
  const char* forced = std::getenv("PROCSANDBOX_SLURM_CONFINEMENT");
  if (mode == Confinement::kAuto && forced != nullptr &&
      absl::string_view(forced) == "none") {
    mode = Confinement::kNone;
  }
  std::string no_cgroup_detail =
      mode == Confinement::kNone ? "Confinement::kNone asked for" : "";
  if (mode == Confinement::kNone && options.confinement == Confinement::kAuto) {
    no_cgroup_detail = "PROCSANDBOX_SLURM_CONFINEMENT=none";
  }
  for (bool cgroup : {true, false}) {
    if (cgroup && mode == Confinement::kNone) continue;
    if (!cgroup && mode == Confinement::kCgroup) break;
    absl::Status last;
    for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
      bool retry_ports = false;
      bool slurmd_failed = false;
      absl::StatusOr<std::unique_ptr<SlurmCluster>> cluster =
          TryStart(options, cgroup, &retry_ports, &slurmd_failed);
      if (cluster.ok()) {
        if (!cgroup) (*cluster)->confinement_detail_ = no_cgroup_detail;
        return cluster;
      }
      last = cluster.status();
      if (retry_ports) continue;
      // Only slurmd (or its job) depends on the cgroup plugins.
      if (cgroup && slurmd_failed && mode == Confinement::kAuto) break;
      return last;
    }
    if (!cgroup) return last;
    no_cgroup_detail =
        fmt::format("task/cgroup failed: {}", std::string(last.message()));
  }
  return absl::InternalError("start a Slurm cluster: no configuration tried");
}

absl::StatusOr<std::unique_ptr<SlurmCluster>> SlurmCluster::TryStart(
    const StartOptions& options, bool cgroup, bool* retry_ports,
    bool* slurmd_failed) {
  std::unique_ptr<SlurmCluster> c(new SlurmCluster());
  const std::string hex = fmt::format("{:08x}", RandomBits() & 0xffffffffu);
  c->node_name_ = "ps" + hex;
  c->cluster_name_ = "pscl" + hex;
  c->partition_ = options.partition;
  absl::Status s = c->MakeDirectory();
  if (s.ok()) s = c->StartMunge();
  if (s.ok()) s = c->WriteConfig(options, cgroup);
  if (s.ok()) s = c->StartSlurm();
  if (s.ok()) s = c->WaitUntilReady(options.ready_timeout);
  if (s.ok()) {
    c->confinement_ = cgroup ? "task/cgroup" : "";
    return c;
  }
  *retry_ports = c->port_in_use_;
  *slurmd_failed = c->failed_daemon_ == "slurmd";
  c->Stop().IgnoreError();
  return s;
}

absl::Status SlurmCluster::MakeDirectory() {
  // Short: the munge socket's path must fit a sockaddr_un.
  const char* tmpdir = std::getenv("TMPDIR");
  std::string base = tmpdir != nullptr && *tmpdir != '\0' &&
                             absl::string_view(tmpdir).size() < 60
                         ? tmpdir
                         : "/tmp";
  std::string templ = base + "/ps-slurm-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) {
    return ErrnoStatus(errno, fmt::format("mkdtemp \"{}\"", templ));
  }
  dir_ = templ;
  conf_path_ = dir_ + "/slurm.conf";
  if (chmod(dir_.c_str(), 0755) != 0) {
    return ErrnoStatus(errno, fmt::format("chmod \"{}\"", dir_));
  }
  for (const char* sub : {"/munge", "/state", "/spool"}) {
    if (absl::Status s = MakeDir(dir_ + sub, 0755); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status SlurmCluster::StartMunge() {
  std::string key(1024, '\0');
  std::ifstream random("/dev/urandom", std::ios::binary);
  if (!random.read(key.data(), static_cast<std::streamsize>(key.size()))) {
    return absl::UnavailableError("read /dev/urandom: short read");
  }
  const std::string m = dir_ + "/munge";
  if (absl::Status s = WriteFile(m + "/key", key, 0600); !s.ok()) return s;
  std::optional<std::string> munged = FindProgram("munged");
  if (!munged) return absl::NotFoundError("start munged: not installed");
  Daemon d{"munged", -1, m + "/log", m + "/output"};
  absl::StatusOr<pid_t> pid =
      SpawnDaemon({*munged, "-F", "--force", "--key-file=" + m + "/key",
                   "--socket=" + m + "/sock", "--pid-file=" + m + "/pid",
                   "--log-file=" + m + "/log", "--seed-file=" + m + "/seed"},
                  slurm_testing::ClientEnvironment(conf_path_), d.output);
  if (!pid.ok()) return pid.status();
  d.pid = *pid;
  daemons_.push_back(d);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (access((m + "/sock").c_str(), F_OK) != 0) {
    if (ChildExited(d.pid)) {
      daemons_.back().pid = -1;
      return DaemonFailed(d, "exited before creating its socket");
    }
    if (absl::Now() > deadline) {
      return DaemonFailed(d, "made no socket in 10 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return absl::OkStatus();
}

absl::Status SlurmCluster::WriteConfig(const StartOptions& options,
                                       bool cgroup) {
  absl::StatusOr<uint16_t> ctld = FreeLoopbackPort();
  if (!ctld.ok()) return ctld.status();
  absl::StatusOr<uint16_t> slurmd = FreeLoopbackPort();
  while (slurmd.ok() && *slurmd == *ctld) slurmd = FreeLoopbackPort();
  if (!slurmd.ok()) return slurmd.status();
  ctld_port_ = *ctld;
  slurmd_port_ = *slurmd;
  const std::string host = ShortHostname();
  // CR_Core_Memory gives a job without --mem DefMemPerCPU per CPU, or with
  // none set the whole node, so that jobs would run one at a time. A CPU's
  // share is this machine's memory instead: no practical limit, and as many
  // jobs as CPUs (config_overrides lets RealMemory exceed the real one).
  const int64_t per_cpu = std::max<int64_t>(MemTotalMib(), 1);
  const int64_t memory = options.real_memory_mib > 0 ? options.real_memory_mib
                                                     : per_cpu * options.cpus;
  const uint64_t first_job_id = 1000000 + RandomBits() % 59000001;
  std::string conf = fmt::format(
      "# Generated by procsandbox's tests (tests/slurm/slurm_cluster.cc).\n"
      "ClusterName={cluster}\n"
      "SlurmctldHost={host}(127.0.0.1)\n"
      "SlurmctldPort={ctld_port}\n"
      "SlurmdPort={slurmd_port}\n"
      "AuthType=auth/munge\n"
      "AuthInfo=socket={dir}/munge/sock\n"
      "CredType=cred/munge\n"
      "SlurmUser=root\n"
      "SlurmdUser=root\n"
      "StateSaveLocation={dir}/state\n"
      "SlurmdSpoolDir={dir}/spool\n"
      "SlurmctldPidFile={dir}/slurmctld.pid\n"
      "SlurmdPidFile={dir}/slurmd.pid\n"
      "SlurmctldLogFile={dir}/slurmctld.log\n"
      "SlurmdLogFile={dir}/slurmd.log\n"
      "AccountingStorageType=accounting_storage/none\n"
      "JobCompType=jobcomp/none\n"
      "MinJobAge=300\n"
      "KillWait=2\n"
      "FirstJobId={first_job_id}\n"
      "SelectType=select/cons_tres\n"
      "SelectTypeParameters=CR_Core_Memory\n"
      "SlurmdParameters=config_overrides\n"
      "ReturnToService=2\n"
      "MpiDefault=none\n"
      "MailProg=/bin/true\n"
      "DefMemPerCPU={per_cpu}\n",
      fmt::arg("cluster", cluster_name_), fmt::arg("host", host),
      fmt::arg("ctld_port", ctld_port_), fmt::arg("slurmd_port", slurmd_port_),
      fmt::arg("dir", dir_), fmt::arg("first_job_id", first_job_id),
      fmt::arg("per_cpu", per_cpu));
  if (cgroup) {
    conf +=
        "ProctrackType=proctrack/cgroup\n"
        "TaskPlugin=task/cgroup\n"
        "JobAcctGatherType=jobacct_gather/cgroup\n";
    std::string cgroup_conf =
        "ConstrainRAMSpace=yes\nConstrainSwapSpace=yes\nAllowedSwapSpace=0\n";
    // Without systemd to ask for a scope, slurmd makes its cgroup/v2
    // hierarchy itself (cgroup.conf(5) of Slurm 22.05).
    if (CgroupV2Only()) cgroup_conf += "IgnoreSystemd=yes\n";
    for (const std::string& line : options.extra_cgroup_config) {
      cgroup_conf += line + "\n";
    }
    absl::Status s = WriteFile(dir_ + "/cgroup.conf", cgroup_conf, 0644);
    if (!s.ok()) return s;
  } else {
    conf +=
        "ProctrackType=proctrack/linuxproc\n"
        "TaskPlugin=task/none\n"
        "JobAcctGatherType=jobacct_gather/linux\n"
        "JobAcctGatherParams=OverMemoryKill\n"
        "JobAcctGatherFrequency=1\n";
  }
  conf += fmt::format(
      "NodeName={node} NodeAddr=127.0.0.1 NodeHostname={host} CPUs={cpus} "
      "RealMemory={memory} State=UNKNOWN\n"
      "PartitionName={partition} Nodes=ALL Default=YES MaxTime=INFINITE "
      "State=UP\n",
      fmt::arg("node", node_name_), fmt::arg("host", host),
      fmt::arg("cpus", options.cpus), fmt::arg("memory", memory),
      fmt::arg("partition", partition_));
  for (const std::string& line : options.extra_config) conf += line + "\n";
  return WriteFile(conf_path_, conf, 0644);
}

absl::Status SlurmCluster::StartSlurm() {
  const std::vector<std::string> env =
      slurm_testing::ClientEnvironment(conf_path_);
  std::optional<std::string> ctld = FindProgram("slurmctld");
  std::optional<std::string> slurmd = FindProgram("slurmd");
  if (!ctld || !slurmd) {
    return absl::NotFoundError("start Slurm: slurmctld or slurmd missing");
  }
  Daemon c{"slurmctld", -1, dir_ + "/slurmctld.log", dir_ + "/slurmctld.out"};
  absl::StatusOr<pid_t> pid =
      SpawnDaemon({*ctld, "-D", "-f", conf_path_}, env, c.output);
  if (!pid.ok()) return pid.status();
  c.pid = *pid;
  daemons_.push_back(c);
  Daemon d{"slurmd", -1, dir_ + "/slurmd.log", dir_ + "/slurmd.out"};
  pid = SpawnDaemon({*slurmd, "-D", "-f", conf_path_, "-N", node_name_}, env,
                    d.output);
  if (!pid.ok()) return pid.status();
  d.pid = *pid;
  daemons_.push_back(d);
  return absl::OkStatus();
}

SlurmCluster::Daemon* SlurmCluster::FindExited() {
  for (Daemon& d : daemons_) {
    if (d.pid > 0 && ChildExited(d.pid)) {
      d.pid = -1;
      return &d;
    }
  }
  return nullptr;
}

absl::Status SlurmCluster::DaemonFailed(const Daemon& daemon,
                                        const std::string& what) {
  // The daemon's own log file; before it opened it (a bad slurm.conf), its
  // stderr. Both hold the same lines after that.
  std::string log = daemon.log;
  std::string tail = TailOfFile(daemon.log, kLogLines);
  if (tail.empty()) {
    log = daemon.output;
    tail = TailOfFile(daemon.output, kLogLines);
  }
  if (absl::StrContains(tail, "Address already in use") ||
      absl::StrContains(tail, "Unable to bind")) {
    port_in_use_ = true;
  }
  failed_daemon_ = daemon.name;
  return absl::UnavailableError(
      fmt::format("start {} of Slurm cluster {}: {}; the end of {}:\n{}",
                  daemon.name, cluster_name_, what, log, tail));
}

absl::Status SlurmCluster::WaitUntilReady(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string state;
  while (true) {
    if (Daemon* exited = FindExited()) {
      return DaemonFailed(*exited, "exited before the node became idle");
    }
    absl::StatusOr<std::string> out =
        Run({"sinfo", "-h", "-n", node_name_, "-o", "%t"}, absl::Seconds(10));
    state = out.ok() ? std::string(absl::StripAsciiWhitespace(*out))
                     : std::string(out.status().message());
    if (state == "idle") break;
    if (absl::Now() > deadline) {
      return DaemonFailed(
          daemons_.back(),
          fmt::format("node {} not idle after {} (sinfo: \"{}\")", node_name_,
                      absl::FormatDuration(timeout), state));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // A job through the whole path: slurmd may come up with plugins its
  // slurmstepd then cannot use.
  absl::StatusOr<std::string> probe =
      Run({"srun", "--quiet", "--quiet", "-N1", "-n1", "-J", "probe", "true"},
          timeout);
  if (!probe.ok()) {
    return DaemonFailed(daemons_.back(),
                        fmt::format("probe job (srun true) failed: {}",
                                    std::string(probe.status().message())));
  }
  return absl::OkStatus();
}

std::vector<std::string> SlurmCluster::ClientEnvironment() const {
  return slurm_testing::ClientEnvironment(conf_path_);
}

absl::StatusOr<std::string> SlurmCluster::Run(std::vector<std::string> argv,
                                              absl::Duration timeout) const {
  if (argv.empty()) {
    return absl::InvalidArgumentError("run a Slurm command: empty argv");
  }
  std::optional<std::string> program = FindProgram(argv[0]);
  if (!program) {
    return absl::NotFoundError(
        fmt::format("run \"{}\": not found in PATH or /usr/sbin", argv[0]));
  }
  const std::string shown = absl::StrJoin(argv, " ");
  argv[0] = *program;
  absl::StatusOr<CommandResult> r =
      RunCommand(argv, ClientEnvironment(), timeout);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    return absl::UnknownError(
        fmt::format("run \"{}\": {} {}; stderr: {}", shown,
                    r->signal != 0 ? "killed by signal" : "exit code",
                    r->signal != 0 ? r->signal : r->exit_code,
                    std::string(absl::StripTrailingAsciiWhitespace(r->err))));
  }
  return std::move(r->out);
}

absl::StatusOr<std::vector<std::string>> SlurmCluster::QueuedJobs(
    absl::Duration completing) const {
  const absl::Time give_up = absl::Now() + completing;
  while (true) {
    absl::StatusOr<std::string> out =
        Run({"squeue", "-h", "-t", kQueuedStates, "-o", "%i %T"});
    if (!out.ok()) return out.status();
    std::vector<std::string> jobs;
    bool completing_left = false;
    for (absl::string_view line :
         absl::StrSplit(*out, '\n', absl::SkipWhitespace())) {
      std::vector<absl::string_view> fields =
          absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (fields.empty()) continue;
      jobs.emplace_back(fields[0]);
      completing_left =
          completing_left || (fields.size() > 1 && fields[1] == "COMPLETING");
    }
    // A job that ended but whose node still cleans up leaves by itself.
    if (!completing_left || absl::Now() >= give_up) return jobs;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

absl::Status SlurmCluster::Stop() {
  if (stopped_) return absl::OkStatus();
  stopped_ = true;
  absl::Status first;
  const auto note = [&first](absl::Status s) {
    if (first.ok()) first = std::move(s);
  };
  const bool ctld_up = daemons_.size() >= 2 && daemons_[1].pid > 0;
  if (ctld_up) {
    absl::StatusOr<std::vector<std::string>> jobs =
        QueuedJobs(absl::ZeroDuration());
    if (jobs.ok() && !jobs->empty()) {
      std::vector<std::string> argv = {"scancel"};
      argv.insert(argv.end(), jobs->begin(), jobs->end());
      absl::StatusOr<std::string> cancelled = Run(argv, absl::Seconds(30));
      if (!cancelled.ok()) note(cancelled.status());
      // KillWait=2: SIGKILL follows SIGTERM after 2 s.
      const absl::Time deadline = absl::Now() + absl::Seconds(30);
      while (jobs.ok() && !jobs->empty() && absl::Now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        jobs = QueuedJobs(absl::ZeroDuration());
      }
      if (jobs.ok() && !jobs->empty()) {
        note(absl::DeadlineExceededError(
            fmt::format("stop Slurm cluster {}: jobs still queued 30 s after "
                        "scancel: {}",
                        cluster_name_, absl::StrJoin(*jobs, " "))));
      }
    }
  }
  // slurmd, slurmctld, munged: the reverse of their start.
  for (auto it = daemons_.rbegin(); it != daemons_.rend(); ++it) {
    if (it->pid > 0) StopChild(it->pid, absl::Seconds(10));
    it->pid = -1;
  }
  if (!conf_path_.empty()) {
    // slurmstepd and jobs left behind (the fallback has no cgroups to find
    // them by), slurmctld's slurmscriptd: all inherit our SLURM_CONF.
    KillProcessesWithEnvironment("SLURM_CONF=" + conf_path_);
  }
  if (!node_name_.empty()) {
    note(RemoveCgroups(
        {"slurm_" + node_name_, node_name_ + "_slurmstepd.scope"}));
  }
  if (!dir_.empty()) {
    std::error_code error;
    std::filesystem::remove_all(dir_, error);
    if (error) {
      note(absl::InternalError(
          fmt::format("remove \"{}\": {}", dir_, error.message())));
    }
  }
  return first;
}

SlurmCluster::~SlurmCluster() { Stop().IgnoreError(); }

}  // namespace procsandbox::slurm_testing
