#include "darwin/posix_platform.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/isolation_enforcement.h"
#include "darwin/exit_watch.h"
#include "darwin/poll_loop.h"
#include "darwin/spawn.h"
#include "os/event_loop.h"
#include "os/pipe_stdin.h"
#include "os/platform.h"
#include "posix/child_stdio.h"
#include "posix/errno_status.h"
#include "posix/pipes.h"
#include "posix/rlimits.h"
#include "posix/rusage.h"
#include "posix/sigchld.h"
#include "posix/unique_fd.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/stdio.h"

namespace procsandbox::darwin_internal {

using ::procsandbox::os_internal::ChildEvents;
using ::procsandbox::os_internal::ChildExit;
using ::procsandbox::os_internal::HostRead;
using ::procsandbox::os_internal::HostStdin;
using ::procsandbox::os_internal::MonotonicNanos;
using ::procsandbox::os_internal::SpawnRequest;
using ::procsandbox::os_internal::TreeEnd;
using ::procsandbox::posix_internal::UniqueFd;

namespace {

// Output read per stream per loop turn: timers and exits are not queued
// behind a flood.
constexpr std::size_t kReadPerTurn = std::size_t{256} * 1024;
constexpr std::size_t kReadBlock = std::size_t{64} * 1024;

class PosixPlatform;

class PosixChild final : public os_internal::Child,
                         public std::enable_shared_from_this<PosixChild> {
 public:
  struct Output {
    Stdio::Kind kind = Stdio::Kind::kNull;
    std::shared_ptr<UniqueFd> fd;  // the parent's read end, or null
  };

  PosixChild(PollLoop* loop, ExitWatcher* watcher, pid_t pid, bool group,
             int64_t start_ns)
      : loop_(loop),
        watcher_(watcher),
        pid_(pid),
        group_(group),
        start_ns_(start_ns) {}

  // Set before the child is shared.
  void SetOutput(Stream stream, Output output) {
    outputs_[Index(stream)] = std::move(output);
  }
  void SetStdinData(UniqueFd fd, std::string data) {
    stdin_data_fd_ = std::move(fd);
    stdin_data_ = std::move(data);
  }
  void SetHostStdin(UniqueFd fd) {
    host_stdin_ = std::make_shared<os_internal::PipeStdin>(std::move(fd));
  }

  // Watches the exit from now on (before Arm: a child that ends at once is
  // reported then).
  absl::Status WatchExit() {
    std::weak_ptr<PosixChild> weak = weak_from_this();
    PollLoop* loop = loop_;
    return watcher_->Watch(pid_, [loop, weak] {
      loop->Post([weak] {
        if (std::shared_ptr<PosixChild> self = weak.lock()) self->OnExited();
      });
    });
  }

  Pid pid() const override { return static_cast<Pid>(pid_); }
  int64_t start_ns() const override { return start_ns_; }

  void Arm(std::shared_ptr<ChildEvents> events) override {
    events_ = std::move(events);
    armed_ = true;
    std::weak_ptr<PosixChild> weak = weak_from_this();
    for (Stream stream : {Stream::kStdout, Stream::kStderr}) {
      Output& o = outputs_[Index(stream)];
      if (!o.fd || o.kind == Stdio::Kind::kPipe) continue;
      loop_->Watch(o.fd->get(), POLLIN, [weak, stream](PollLoop::PollEvents) {
        if (std::shared_ptr<PosixChild> self = weak.lock()) {
          self->OnReadable(stream);
        }
      });
    }
    if (stdin_data_fd_.valid()) {
      if (stdin_data_.empty()) {
        stdin_data_fd_.reset();
      } else {
        loop_->Watch(stdin_data_fd_.get(), POLLOUT,
                     [weak](PollLoop::PollEvents) {
                       if (std::shared_ptr<PosixChild> self = weak.lock()) {
                         self->OnStdinWritable();
                       }
                     });
      }
    }
    if (exit_pending_) {
      // Reported on a later turn: Arm runs with the process's lock held.
      loop_->Post([weak] {
        if (std::shared_ptr<PosixChild> self = weak.lock()) self->OnExited();
      });
    }
  }

  void SignalTree(int signo) override {
    absl::MutexLock lock(&mu_);
    if (reaped_) return;
    // The leader is not reaped: its pid, and the group's id, are its own.
    if (group_) kill(-pid_, signo);
    kill(pid_, signo);
  }

  bool Exited() const override {
    absl::MutexLock lock(&mu_);
    if (reaped_) return true;
    siginfo_t info = {};
    return waitid(P_PID, static_cast<id_t>(pid_), &info,
                  WEXITED | WNOHANG | WNOWAIT) == 0 &&
           info.si_pid == pid_;
  }

  bool can_freeze() const override { return false; }
  absl::Status Freeze() override {
    return absl::UnimplementedError(
        "freeze: the posix backend has no freezer (SIGSTOP instead)");
  }
  absl::Status Thaw() override {
    return absl::UnimplementedError("thaw: the posix backend has no freezer");
  }

  // The group was killed at the exit, before the reap; what left it cannot
  // be found without a container.
  bool EndTree(bool /*frozen*/) override { return false; }

  // No portable per-process figures while it runs: the final ones come
  // from the leader's rusage.
  void LiveUsage(ResourceUsage& /*usage*/) const override {}
  TreeEnd FinalUsage(Outcome& /*outcome*/) const override { return {}; }

  std::shared_ptr<HostStdin> TakeHostStdin() override {
    return std::move(host_stdin_);
  }

  bool HostPipeOpen(Stream stream) const override {
    absl::MutexLock lock(&mu_);
    return HostFdLocked(stream) != nullptr;
  }

  absl::StatusOr<bool> AwaitHostPipe(Stream stream,
                                     absl::Duration wait) override {
    std::shared_ptr<UniqueFd> fd;
    {
      absl::MutexLock lock(&mu_);
      fd = HostFdLocked(stream);
    }
    if (fd == nullptr) return true;  // at its end: ReadHostPipe says so
    const int64_t ms =
        wait >= absl::Seconds(60)
            ? 60'000
            : std::max<int64_t>(0, absl::ToInt64Milliseconds(absl::Ceil(
                                       wait, absl::Milliseconds(1))));
    return posix_internal::WaitReadable(fd->get(), static_cast<int>(ms));
  }

  HostRead ReadHostPipe(Stream stream, std::string& buffer) override {
    absl::MutexLock lock(&mu_);
    std::shared_ptr<UniqueFd> fd = HostFdLocked(stream);
    if (fd == nullptr) return HostRead::kEnd;
    switch (posix_internal::ReadSome(fd->get(), buffer)) {
      case posix_internal::PipeRead::kData:
        return HostRead::kData;
      case posix_internal::PipeRead::kNothing:
        return HostRead::kNothing;
      case posix_internal::PipeRead::kEnd:
        break;
    }
    return HostRead::kEnd;
  }

  void DrainHostPipe(Stream stream, std::string& buffer) override {
    absl::MutexLock lock(&mu_);
    std::shared_ptr<UniqueFd>& fd = outputs_[Index(stream)].fd;
    if (fd == nullptr || outputs_[Index(stream)].kind != Stdio::Kind::kPipe) {
      return;
    }
    posix_internal::ReadAvailable(fd->get(), buffer);
    fd.reset();
  }

  void Close() override {
    for (Output& o : outputs_) {
      if (o.fd != nullptr && o.kind != Stdio::Kind::kPipe) {
        loop_->Unwatch(o.fd->get());
      }
    }
    if (stdin_data_fd_.valid()) loop_->Unwatch(stdin_data_fd_.get());
    stdin_data_fd_.reset();
    host_stdin_.reset();
    {
      absl::MutexLock lock(&mu_);
      for (Output& o : outputs_) o.fd.reset();
    }
    events_.reset();
  }

  void Discard() override {
    SignalTree(SIGKILL);
    {
      absl::MutexLock lock(&mu_);
      if (!reaped_) {
        int status = 0;
        while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        reaped_ = true;
      }
    }
    watcher_->Forget(pid_);
    stdin_data_fd_.reset();
    host_stdin_.reset();
    absl::MutexLock lock(&mu_);
    for (Output& o : outputs_) o.fd.reset();
  }

 private:
  static std::size_t Index(Stream stream) {
    return stream == Stream::kStderr ? 1 : 0;
  }

  std::shared_ptr<UniqueFd> HostFdLocked(Stream stream) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const Output& o = outputs_[Index(stream)];
    return o.kind == Stdio::Kind::kPipe ? o.fd : nullptr;
  }

  // Loop thread.
  void OnReadable(Stream stream) {
    Output& o = outputs_[Index(stream)];
    if (o.fd == nullptr) return;
    const int fd = o.fd->get();
    char block[kReadBlock];
    for (std::size_t total = 0; total < kReadPerTurn;) {
      const ssize_t n = read(fd, block, sizeof(block));
      if (n > 0) {
        total += static_cast<std::size_t>(n);
        if (events_) {
          events_->OnOutput(
              stream, absl::string_view(block, static_cast<std::size_t>(n)));
        }
        continue;
      }
      if (n < 0 && (errno == EINTR)) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      // End of file, or an error: the same here.
      loop_->Unwatch(fd);
      {
        absl::MutexLock lock(&mu_);
        o.fd.reset();
      }
      if (events_) events_->OnOutputEnd(stream);
      return;
    }
  }

  void OnStdinWritable() {
    // A write to a pipe nobody reads raises SIGPIPE: blocked in this thread
    // for the writes, and consumed.
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    const bool done = posix_internal::WriteAvailable(
        stdin_data_fd_.get(), stdin_data_, stdin_written_);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (done) {
      loop_->Unwatch(stdin_data_fd_.get());
      stdin_data_fd_.reset();  // end of file for the child
      stdin_data_.clear();
    }
  }

  void OnExited() {
    if (!armed_) {
      exit_pending_ = true;
      return;
    }
    if (reported_exit_) return;
    int status = 0;
    struct rusage usage = {};
    bool got = false;
    {
      absl::MutexLock lock(&mu_);
      // The rest of its group goes with it, while the leader is a zombie
      // (its pid, the group's id, cannot have been reused).
      if (group_) kill(-pid_, SIGKILL);
      pid_t r = -1;
      while ((r = wait4(pid_, &status, 0, &usage)) < 0 && errno == EINTR) {
      }
      got = r == pid_;
      reaped_ = true;
    }
    watcher_->Forget(pid_);
    reported_exit_ = true;
    ChildExit exit;
    exit.end_ns = MonotonicNanos();
    if (got && WIFSIGNALED(status)) {
      exit.signaled = true;
      exit.signal = WTERMSIG(status);
    } else if (got) {
      exit.exit_code = WEXITSTATUS(status);
    }
    const posix_internal::RusageFigures figures =
        posix_internal::FiguresOf(usage);
    exit.user_time = figures.user_time;
    exit.system_time = figures.system_time;
    exit.peak_memory_bytes = figures.peak_memory_bytes;
    if (events_) events_->OnExit(exit);
  }

  PollLoop* const loop_;
  ExitWatcher* const watcher_;
  const pid_t pid_;
  const bool group_;
  const int64_t start_ns_;

  mutable absl::Mutex mu_;
  bool reaped_ ABSL_GUARDED_BY(mu_) = false;
  Output outputs_[2];  // fds guarded by mu_ (host threads read pipes)

  // Loop thread (and, before Arm, the spawning thread).
  std::shared_ptr<ChildEvents> events_;
  bool armed_ = false;
  bool exit_pending_ = false;
  bool reported_exit_ = false;
  UniqueFd stdin_data_fd_;
  std::string stdin_data_;
  std::size_t stdin_written_ = 0;
  std::shared_ptr<HostStdin> host_stdin_;
};

class PosixPlatform final : public os_internal::Platform {
 public:
  PosixPlatform(OsManagerOptions options, std::unique_ptr<PollLoop> loop,
                std::unique_ptr<ExitWatcher> watcher)
      : options_(std::move(options)),
        capabilities_(PosixCapabilities(options_)),
        loop_(std::move(loop)),
        watcher_(std::move(watcher)) {}

  os_internal::EventLoop& loop() override { return *loop_; }
  const Capabilities& capabilities() const override { return capabilities_; }

  absl::Status CheckHost(absl::string_view label) const override {
    // The exit watcher waits for a child the kernel would have reaped.
    return posix_internal::CheckSigchldNotIgnored(label);
  }

  absl::StatusOr<std::shared_ptr<os_internal::Child>> Spawn(
      const SpawnRequest& request) override;

  void Started(const os_internal::Child& /*child*/) override {}
  void StopLoop() override { loop_->Stop(); }
  void RemoveContainers() override {}

 private:
  const OsManagerOptions options_;
  const Capabilities capabilities_;
  // Destroyed in reverse: the watcher's threads end before the loop they
  // post to.
  std::unique_ptr<PollLoop> loop_;
  std::unique_ptr<ExitWatcher> watcher_;
};

bool ByRlimit(const Enforcement& enforcement, LimitKind kind) {
  const LimitEnforcement* e = enforcement.Find(kind);
  return e != nullptr && e->mechanism == Mechanism::kRlimit;
}

absl::StatusOr<std::shared_ptr<os_internal::Child>> PosixPlatform::Spawn(
    const SpawnRequest& request) {
  const Command& command = *request.command;
  const Limits& limits = *request.limits;
  SpawnPlan plan;
  if (absl::Status s = posix_internal::PlanFromCommand(command, plan);
      !s.ok()) {
    return s;
  }
  posix_internal::RlimitChoice choice;
  choice.memory = ByRlimit(*request.enforcement, LimitKind::kMemory);
  choice.processes = ByRlimit(*request.enforcement, LimitKind::kProcesses);
  plan.rlimits = posix_internal::RlimitPlan(limits, choice);

  // Standard streams: what the child gets, and the parent's ends.
  posix_internal::ChildStdio stdio;
  if (absl::Status s = posix_internal::OpenChildStdio(
          command, /*pipe_size=*/0,
          limits.wall_time.value_or(options_.fifo_open_timeout), stdio);
      !s.ok()) {
    return s;
  }
  plan.stdio = stdio.stdio;
  const Stdio& in = command.stdin_;
  UniqueFd stdin_write = std::move(stdio.stdin_write);
  PosixChild::Output out{command.stdout_.kind(), nullptr};
  PosixChild::Output err{command.stderr_.kind(), nullptr};
  if (stdio.stdout_read.valid()) {
    out.fd = std::make_shared<UniqueFd>(std::move(stdio.stdout_read));
  }
  if (stdio.stderr_read.valid()) {
    err.fd = std::make_shared<UniqueFd>(std::move(stdio.stderr_read));
  }

  absl::StatusOr<pid_t> pid = darwin_internal::Spawn(plan);
  if (!pid.ok()) return pid.status();
  const bool group = plan.new_session || plan.new_process_group;
  auto child = std::make_shared<PosixChild>(loop_.get(), watcher_.get(), *pid,
                                            group, MonotonicNanos());
  child->SetOutput(Stream::kStdout, std::move(out));
  child->SetOutput(Stream::kStderr, std::move(err));
  if (in.kind() == Stdio::Kind::kData) {
    child->SetStdinData(std::move(stdin_write), in.data());
  } else if (in.kind() == Stdio::Kind::kPipe) {
    child->SetHostStdin(std::move(stdin_write));
  }
  if (absl::Status s = child->WatchExit(); !s.ok()) {
    // Nothing may be left behind.
    if (group) kill(-*pid, SIGKILL);
    kill(*pid, SIGKILL);
    int status = 0;
    while (waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
    }
    return s;
  }
  return std::shared_ptr<os_internal::Child>(std::move(child));
}

}  // namespace

Capabilities PosixCapabilities(const OsManagerOptions& options) {
  Capabilities caps;
  caps.backend = "posix";
  caps.strict = options.strict;
  caps.tree_kill_detail =
      "no cgroups in the posix backend: SIGKILL to the child's process "
      "group; a process that left the group survives";
  caps.tree_freeze_detail =
      "no freezer in the posix backend: SIGSTOP to the child's process group";
  for (LimitKind kind : kAllLimitKinds) {
    LimitEnforcement e{kind, Mechanism::kNone, "unknown"};
    switch (kind) {
      case LimitKind::kWallTime:
        e = {kind, Mechanism::kReactor, "poll loop deadline, TERM then KILL"};
        break;
      case LimitKind::kCpuTime:
        e = {kind, Mechanism::kRlimit,
             "RLIMIT_CPU: the first process only, not its children"};
        break;
      case LimitKind::kMemory:
        e = {kind, Mechanism::kRlimit,
             "RLIMIT_AS: address space of each process, not resident memory "
             "nor the tree; allocations fail, the death is not reported as "
             "memory_exceeded"};
        break;
      case LimitKind::kFileSize:
        e = {kind, Mechanism::kRlimit, "RLIMIT_FSIZE"};
        break;
      case LimitKind::kOpenFiles:
        e = {kind, Mechanism::kRlimit, "RLIMIT_NOFILE"};
        break;
      case LimitKind::kProcesses:
        e = geteuid() == 0
                ? LimitEnforcement{kind, Mechanism::kNone,
                                   "RLIMIT_NPROC does not apply to root; the "
                                   "posix backend has no cgroups"}
                : LimitEnforcement{
                      kind, Mechanism::kRlimit,
                      "RLIMIT_NPROC: counts all processes of the user"};
        break;
      case LimitKind::kOutput:
        e = {kind, Mechanism::kReactor, "captured bytes"};
        break;
      case LimitKind::kCpuWeight:
        e = {kind, Mechanism::kNone,
             "needs cgroups (not in the posix backend)"};
        break;
    }
    caps.limits.push_back(std::move(e));
  }
  const bool spawn_everything = PathFor(SpawnPlan{}) == SpawnPath::kPosixSpawn;
  caps.features.push_back(
      {"posix_spawn", true,
       spawn_everything
           ? "chdir and closing descriptors in posix_spawn; fork for rlimits "
             "and credentials"
           : "fork for every child (this libc's posix_spawn cannot close "
             "descriptors or change directory)"});
  caps.features.push_back({"exit_watch", true, ExitWatchMechanism()});
  caps.features.push_back(
      {"no_new_privs", false,
       "Linux only: Isolation::no_new_privs is not applied by this backend"});
  caps.features.push_back({"die_with_parent", false,
                           "Linux only: Isolation::die_with_parent is not "
                           "applied by this backend"});
  caps.isolation = internal::UniformIsolation(
      false, "Linux only: not applied by the posix backend");
  internal::SetIsolation(caps.isolation, IsolationKind::kCredentials, true,
                         "setgroups, setgid, setuid before exec (needs the "
                         "privilege to switch)");
  return caps;
}

absl::StatusOr<std::unique_ptr<os_internal::Platform>> NewPosixPlatform(
    const OsManagerOptions& options) {
  absl::StatusOr<std::unique_ptr<PollLoop>> loop = PollLoop::Create();
  if (!loop.ok()) return loop.status();
  absl::StatusOr<std::unique_ptr<ExitWatcher>> watcher = ExitWatcher::Create();
  if (!watcher.ok()) return watcher.status();
  return std::unique_ptr<os_internal::Platform>(std::make_unique<PosixPlatform>(
      options, *std::move(loop), *std::move(watcher)));
}

}  // namespace procsandbox::darwin_internal
