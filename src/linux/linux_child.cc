// A Linux process tree: the spawn (stdio, rlimits, clone with a pidfd), the
// reactor's watches (exit, output, stdin data), signals, the host's pipes
// and /proc usage. Its cgroups are in linux_child_cgroup.cc.
#include "linux/linux_child.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "linux/child_seccomp.h"
#include "linux/isolation.h"
#include "linux/seccomp_filter.h"
#include "os/pipe_stdin.h"
#include "posix/child_stdio.h"
#include "posix/pipes.h"
#include "posix/rusage.h"

namespace procsandbox::linux_internal {

using ::procsandbox::os_internal::ChildEvents;
using ::procsandbox::os_internal::ChildExit;
using ::procsandbox::os_internal::HostRead;
using ::procsandbox::os_internal::HostStdin;

namespace {

// What one wake-up reads of one stream: small enough that a batch of full
// pipes leaves the reactor soon for its timers and exits, large enough that
// a single stream still moves at pipe speed.
constexpr std::size_t kReadBlock = std::size_t{256} * 1024;

}  // namespace

// Live figures of a running child from /proc (the final ones come from
// its rusage): CPU time from stat, memory from status. Best effort: a child
// that just ended leaves the fields as they were.
void ReadProcUsage(pid_t pid, ResourceUsage& usage) {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/stat", static_cast<int>(pid));
  if (FILE* f = std::fopen(path, "re")) {
    char buf[1024];
    const std::size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    // Fields after the command name (which may hold spaces) start past ')'.
    if (const char* rest = std::strrchr(buf, ')')) {
      uint64_t utime = 0, stime = 0;
      // state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
      // utime stime
      if (std::sscanf(rest + 2,
                      "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %" SCNu64
                      " %" SCNu64,
                      &utime, &stime) == 2) {
        const int64_t ticks = sysconf(_SC_CLK_TCK);
        usage.user_time = absl::Seconds(static_cast<double>(utime) /
                                        static_cast<double>(ticks));
        usage.system_time = absl::Seconds(static_cast<double>(stime) /
                                          static_cast<double>(ticks));
      }
    }
  }
  std::snprintf(path, sizeof(path), "/proc/%d/status", static_cast<int>(pid));
  if (FILE* f = std::fopen(path, "re")) {
    char line[256];
    while (std::fgets(line, sizeof(line), f) != nullptr) {
      int64_t kib = 0;
      if (std::sscanf(line, "VmRSS: %" SCNd64 " kB", &kib) == 1)
        usage.memory_bytes = kib * 1024;
      if (std::sscanf(line, "VmHWM: %" SCNd64 " kB", &kib) == 1)
        usage.peak_memory_bytes = kib * 1024;
    }
    std::fclose(f);
  }
}

LinuxChild::~LinuxChild() {
  absl::MutexLock lock(&mu_);
  RemoveCgroupsNow();
}

// --- Start
// --------------------------------------------------------------------

absl::Status LinuxChild::Start(const os_internal::SpawnRequest& request) {
  const Command& command = *request.command;
  const Limits& limits = *request.limits;
  label_ = command.label();
  cpu_time_ = limits.cpu_time;
  absl::MutexLock lock(&mu_);
  SpawnPlan plan;
  if (absl::Status s = CreateCgroupsLocked(request, plan); !s.ok()) return s;
  auto by_rlimit = [&request](LimitKind kind) {
    const LimitEnforcement* e = request.enforcement->Find(kind);
    return e != nullptr && e->mechanism == Mechanism::kRlimit;
  };
  if (absl::Status s = posix_internal::PlanFromCommand(command, plan);
      !s.ok()) {
    return s;
  }
  plan.no_new_privs = command.isolation.no_new_privs;
  plan.die_with_parent = command.isolation.die_with_parent;
  posix_internal::RlimitChoice choice;
  choice.memory = by_rlimit(LimitKind::kMemory);
  choice.processes = by_rlimit(LimitKind::kProcesses);
  choice.nofile_default = core_->child_nofile;
  plan.rlimits = posix_internal::RlimitPlan(limits, choice);
  if (absl::Status s = PlanIsolation(request, plan); !s.ok()) return s;

  // Standard streams: what the child gets, and the parent's ends.
  UniqueFd child_in, child_out, child_err;
  if (absl::Status s =
          OpenStdio(command, limits, plan, child_in, child_out, child_err);
      !s.ok()) {
    return s;
  }

  absl::StatusOr<Spawned> spawned = Spawn(plan);
  if (!spawned.ok() && plan.cgroup_fd >= 0 &&
      absl::IsUnimplemented(spawned.status())) {
    // clone3 is gone since the manager found it: a seccomp filter installed
    // later (container runtimes answer clone3 with ENOSYS). This child and
    // the manager's next ones join their group from the child.
    core_->clone_into_cgroup = false;
    if (absl::Status s = JoinFromChildInsteadLocked(plan); !s.ok()) return s;
    spawned = Spawn(plan);
  }
  if (!spawned.ok()) return spawned.status();
  start_ns_ = MonotonicNanos();
  CgroupsPlacedLocked();
  pid_ = spawned->pid;
  pidfd_ = std::move(spawned->pidfd);
  group_ = plan.new_session || plan.new_process_group;
  if (plan.seccomp != nullptr) {
    seccomp_listener_ = ReceiveSeccompListener(*plan.seccomp);
  }
  return absl::OkStatus();
}

absl::Status LinuxChild::OpenStdio(const Command& command, const Limits& limits,
                                   SpawnPlan& plan, UniqueFd& child_in,
                                   UniqueFd& child_out, UniqueFd& child_err) {
  posix_internal::ChildStdio stdio;
  if (absl::Status s = posix_internal::OpenChildStdio(
          command, core_->options.capture_pipe_bytes,
          limits.wall_time.value_or(core_->options.fifo_open_timeout), stdio);
      !s.ok()) {
    return s;
  }
  plan.stdio = stdio.stdio;
  child_in = std::move(stdio.child[0]);
  child_out = std::move(stdio.child[1]);
  child_err = std::move(stdio.child[2]);
  if (command.stdin_.kind() == Stdio::Kind::kData) {
    stdin_data_ = command.stdin_.data();
    stdin_data_fd_ = std::move(stdio.stdin_write);
  } else if (command.stdin_.kind() == Stdio::Kind::kPipe) {
    host_stdin_ =
        std::make_shared<os_internal::PipeStdin>(std::move(stdio.stdin_write));
  }
  out_.fd = std::move(stdio.stdout_read);
  err_.fd = std::move(stdio.stderr_read);
  for (auto [output, given] : {std::pair{&out_, &command.stdout_},
                               std::pair{&err_, &command.stderr_}}) {
    output->kind = given->kind();
    if (output->kind == Stdio::Kind::kPipe) {
      output->host_fd = output->fd.get();
    }
  }
  return absl::OkStatus();
}

// --- Reactor side
// -------------------------------------------------------------

void LinuxChild::Arm(std::shared_ptr<ChildEvents> events) {
  std::shared_ptr<LinuxChild> self = shared_from_this();
  Reactor& reactor = *core_->reactor;
  absl::MutexLock lock(&mu_);
  events_ = events;
  // The watches hold the process: a child nobody waits for still ends.
  (void)reactor.Watch(
      pidfd_.get(), EPOLLIN,
      [self, events](uint32_t) { self->OnExitReadable(events); },
      /*urgent=*/true);
  for (const Stream stream : {Stream::kStdout, Stream::kStderr}) {
    const Output& o = OutputOf(stream);
    if (!o.fd.valid() || o.kind == Stdio::Kind::kPipe) continue;
    (void)reactor.Watch(o.fd.get(), EPOLLIN, [self, events, stream](uint32_t) {
      self->OnOutputReadable(stream, events);
    });
  }
  if (stdin_data_fd_.valid()) {
    (void)reactor.Watch(stdin_data_fd_.get(), EPOLLOUT,
                        [self](uint32_t) { self->OnStdinWritable(); });
  }
  if (seccomp_listener_.valid()) {
    (void)reactor.Watch(
        seccomp_listener_.get(), EPOLLIN,
        [self, events](uint32_t revents) {
          self->OnSeccompReadable(revents, events);
        },
        /*urgent=*/true);
  }
  ArmCpuCheck();
}

void LinuxChild::OnSeccompReadable(uint32_t revents,
                                   const std::shared_ptr<ChildEvents>& events) {
  if (!seccomp_listener_.valid()) return;
  bool violated = false;
  int first = -1;
  SeccompViolation v;
  while (ReadSeccompViolation(seccomp_listener_.get(), v)) {
    // The caller waits in the call until it dies: by pid too, for a
    // process outside the group and the cgroup (or with none).
    if (v.pid > 0) kill(v.pid, SIGKILL);
    if (!violated) first = v.syscall;
    violated = true;
  }
  if (violated) {
    events->OnSeccompViolation(first, SyscallName(first));
  } else if ((revents & (EPOLLHUP | EPOLLERR)) != 0) {
    // No process uses the filter any more (Linux 5.8 says so).
    core_->reactor->Unwatch(seccomp_listener_.get());
    seccomp_listener_.reset();
  }
}

void LinuxChild::OnStdinWritable() {
  if (!stdin_data_fd_.valid()) return;
  // SIGPIPE is blocked on the reactor thread; a child that does not read
  // leaves the rest for the next wake-up.
  if (!posix_internal::WriteAvailable(stdin_data_fd_.get(), stdin_data_,
                                      stdin_written_)) {
    return;
  }
  core_->reactor->Unwatch(stdin_data_fd_.get());
  stdin_data_fd_.reset();
}

void LinuxChild::OnOutputReadable(Stream stream,
                                  const std::shared_ptr<ChildEvents>& events) {
  // One read per wake-up: a program that keeps its pipe full gets one block
  // and then waits its turn behind the timers, the other descriptors and
  // the posted work (epoll is level-triggered and queues a ready descriptor
  // behind the others). The block is reported as a view: what is held is
  // the block, however much the program writes. Once nothing more is kept
  // (the output cap), what comes is spliced to /dev/null, with the same
  // bound per wake-up: neither copied here nor kept.
  static thread_local std::string block(kReadBlock, '\0');
  Output& o = OutputOf(stream);
  if (!o.fd.valid()) return;
  const bool spliced = o.sink.valid();
  ssize_t n;
  do {
    n = spliced ? splice(o.fd.get(), nullptr, o.sink.get(), nullptr, kReadBlock,
                         SPLICE_F_NONBLOCK)
                : read(o.fd.get(), block.data(), block.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN) return;
  if (n < 0 && spliced) {  // cannot splice here: read and drop instead
    o.sink.reset();
    return;  // level-triggered: the next wake-up reads
  }
  if (n <= 0) {  // end of file (or an error: the same for us)
    core_->reactor->Unwatch(o.fd.get());
    o.fd.reset();
    o.sink.reset();
    events->OnOutputEnd(stream);
    return;
  }
  const auto size = static_cast<std::size_t>(n);
  if (spliced) {
    events->OnOutputDiscarded(stream, size);
  } else if (!events->OnOutput(stream, absl::string_view(block.data(), size)) &&
             o.wanted) {
    o.wanted = false;
    o.sink.reset(open("/dev/null", O_WRONLY | O_CLOEXEC));
  }
}

void LinuxChild::OnExitReadable(const std::shared_ptr<ChildEvents>& events) {
  ChildExit exit;
  {
    absl::MutexLock lock(&mu_);
    if (reaped_) return;
    // The rest of its process group goes with it — sent while the leader is
    // a zombie, so its pid (the group id) cannot have been reused.
    if (group_) kill(-pid_, SIGKILL);
    // waitid(2) with the rusage argument glibc's wrapper does not expose.
    siginfo_t status = {};
    struct rusage rusage = {};
    while (syscall(SYS_waitid, P_PIDFD, pidfd_.get(), &status, WEXITED,
                   &rusage) != 0 &&
           errno == EINTR) {
    }
    reaped_ = true;
    exit.end_ns = MonotonicNanos();
    exit.signaled =
        status.si_code == CLD_KILLED || status.si_code == CLD_DUMPED;
    (exit.signaled ? exit.signal : exit.exit_code) = status.si_status;
    const posix_internal::RusageFigures figures =
        posix_internal::FiguresOf(rusage);
    exit.user_time = figures.user_time;
    exit.system_time = figures.system_time;
    exit.peak_memory_bytes = figures.peak_memory_bytes;
    core_->reactor->Unwatch(pidfd_.get());
  }
  events->OnExit(exit);
}

// --- Signals
// ------------------------------------------------------------------

void LinuxChild::SignalTree(int signo) {
  absl::MutexLock lock(&mu_);
  if (reaped_ || pid_ == 0) return;
  // The group, and the leader through its pidfd: a leader that moved itself
  // to another group cannot escape a stop.
  if (group_) kill(-pid_, signo);
  syscall(SYS_pidfd_send_signal, pidfd_.get(), signo, nullptr, 0);
  // The cgroup holds the whole tree, also what left the process group.
  // Not waiting for the exits (the reap follows): this may run on the
  // reactor thread, which serves every process of the manager.
  if (signo == SIGKILL && tracker_ != nullptr) (void)tracker_->SendKill();
}

bool LinuxChild::Exited() const {
  absl::MutexLock lock(&mu_);
  if (reaped_) return true;
  // A zombie not reaped yet: it ended by itself, whatever is sent now.
  siginfo_t info = {};
  return waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.get()),
                &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid != 0;
}

// --- Host pipes
// ---------------------------------------------------------------

std::shared_ptr<HostStdin> LinuxChild::TakeHostStdin() {
  return std::move(host_stdin_);
}

bool LinuxChild::HostPipeOpen(Stream stream) const {
  if (stream == Stream::kStdin) return false;
  const Output& o = OutputOf(stream);
  return o.kind == Stdio::Kind::kPipe && o.fd.valid();
}

absl::StatusOr<bool> LinuxChild::AwaitHostPipe(Stream stream,
                                               absl::Duration wait) {
  // The number may be closed (and even reused by another open) meanwhile:
  // the caller looks again under the lock after each wait.
  const int fd = OutputOf(stream).host_fd.load();
  if (fd < 0) return false;
  return posix_internal::WaitReadable(
      fd, static_cast<int>(absl::ToInt64Milliseconds(wait)));
}

HostRead LinuxChild::ReadHostPipe(Stream stream, std::string& buffer) {
  Output& o = OutputOf(stream);
  switch (posix_internal::ReadSome(o.fd.get(), buffer)) {
    case posix_internal::PipeRead::kData:
      return HostRead::kData;
    case posix_internal::PipeRead::kNothing:
      return HostRead::kNothing;
    case posix_internal::PipeRead::kEnd:
      break;
  }
  return HostRead::kEnd;
}

void LinuxChild::DrainHostPipe(Stream stream, std::string& buffer) {
  Output& o = OutputOf(stream);
  if (!o.fd.valid()) return;
  posix_internal::ReadAvailable(o.fd.get(), buffer);
  o.host_fd = -1;
  o.fd.reset();
}

// --- The end
// ------------------------------------------------------------------

void LinuxChild::Close() {
  for (Output* o : {&out_, &err_}) {
    o->sink.reset();
    if (!o->fd.valid()) continue;
    if (o->kind != Stdio::Kind::kPipe) core_->reactor->Unwatch(o->fd.get());
    o->host_fd = -1;
    o->fd.reset();
  }
  if (stdin_data_fd_.valid()) {
    core_->reactor->Unwatch(stdin_data_fd_.get());
    stdin_data_fd_.reset();
  }
  host_stdin_.reset();
  if (seccomp_listener_.valid()) {
    core_->reactor->Unwatch(seccomp_listener_.get());
    seccomp_listener_.reset();
  }
  absl::MutexLock lock(&mu_);
  StopTreeWatchLocked();  // before the descriptor it watches is closed
  tree_dying_ = false;
  events_.reset();
  pidfd_.reset();
  // Nothing stays open; the groups are removed by path, after this (their
  // final figures are in the outcome).
  for (auto& g : cgroups_) g->CloseDescriptors();
  ScheduleCgroupRemoval();
}

void LinuxChild::Discard() {
  absl::MutexLock lock(&mu_);
  if (!reaped_ && pidfd_.valid()) {
    kill(-pid_, SIGKILL);
    syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
    siginfo_t info;
    while (waitid(static_cast<idtype_t>(P_PIDFD),
                  static_cast<id_t>(pidfd_.get()), &info, WEXITED) != 0 &&
           errno == EINTR) {
    }
    reaped_ = true;
    if (tracker_ != nullptr) (void)tracker_->KillAll();
  }
  pidfd_.reset();
  out_.host_fd = -1;
  err_.host_fd = -1;
  out_.fd.reset();
  err_.fd.reset();
  stdin_data_fd_.reset();
  host_stdin_.reset();
  seccomp_listener_.reset();
  RemoveCgroupsNow();
}

}  // namespace procsandbox::linux_internal
