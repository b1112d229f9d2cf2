#include "windows/windows_child.h"

#include <windows.h>
// After windows.h, which it needs.
#include <psapi.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/process_errors.h"
#include "common/signals.h"
#include "os/event_loop.h"
#include "windows/exception_codes.h"
#include "windows/job.h"
#include "windows/pipes.h"

namespace procsandbox::windows_internal {

using ::procsandbox::os_internal::ChildEvents;
using ::procsandbox::os_internal::ChildExit;
using ::procsandbox::os_internal::HostRead;
using ::procsandbox::os_internal::HostStdin;
using ::procsandbox::os_internal::MonotonicNanos;
using ::procsandbox::os_internal::SpawnRequest;
using ::procsandbox::os_internal::TreeEnd;

namespace {

// A host pipe stops being read while this much waits for the host.
constexpr std::size_t kHostBufferCap = std::size_t{64} * 1024;
// Stdin data goes out in writes this large.
constexpr std::size_t kWriteBlock = std::size_t{1} << 20;
// After EndTree() killed the rest of the tree: how often its process count
// is checked (besides the job's ACTIVE_PROCESS_ZERO), and for how long.
constexpr int64_t kTreeCheckNs = 10'000'000;
constexpr int64_t kTreeGiveUpNs = 5'000'000'000;
// How long a leader that is ending may take to be signalled.
constexpr DWORD kSignalWaitMs = 10'000;
// The shortest wait between two looks at the job's CPU time.
constexpr int64_t kCpuCheckMinNs = 1'000'000;
// SIGBREAK, which Windows' C runtime defines and POSIX does not.
constexpr int kSigBreak = 21;
// STATUS_NO_MEMORY: a process that could not commit memory.
constexpr DWORD kStatusNoMemory = 0xC0000017;

void ReadTimes(HANDLE process, absl::Duration& user, absl::Duration& kernel) {
  FILETIME created, exited, k, u;
  if (!GetProcessTimes(process, &created, &exited, &k, &u)) return;
  auto ticks = [](const FILETIME& t) {
    return static_cast<int64_t>(
        (static_cast<uint64_t>(t.dwHighDateTime) << 32) | t.dwLowDateTime);
  };
  user = FromHundredNanos(ticks(u));
  kernel = FromHundredNanos(ticks(k));
}

// What the thread pool's wait for the leader posts to the port.
struct ExitWait {
  HANDLE port;
  uint64_t key;
  DWORD pid;
};

// A thread-pool thread, once the leader's handle is signalled: the same
// notification the job posts (Wine posts none for a TerminateJobObject).
void CALLBACK PostLeaderExit(void* context, BOOLEAN /*timed_out*/) {
  const auto* wait = static_cast<const ExitWait*>(context);
  PostQueuedCompletionStatus(
      wait->port, JOB_OBJECT_MSG_EXIT_PROCESS,
      static_cast<ULONG_PTR>(wait->key),
      reinterpret_cast<OVERLAPPED*>(static_cast<uintptr_t>(wait->pid)));
}

PROCESS_MEMORY_COUNTERS MemoryOf(HANDLE process) {
  PROCESS_MEMORY_COUNTERS counters = {};
  counters.cb = sizeof(counters);
  if (!K32GetProcessMemoryInfo(process, &counters, sizeof(counters))) {
    counters = {};
  }
  return counters;
}

}  // namespace

WindowsChild::~WindowsChild() {
  StopExitWait();
  if (job_key_ != 0) loop_->RemoveJobTarget(job_key_);
}

void WindowsChild::StopExitWait() {
  if (exit_wait_ == nullptr) return;
  // Waits for a callback under way: the context is freed after it.
  UnregisterWaitEx(exit_wait_, INVALID_HANDLE_VALUE);
  exit_wait_ = nullptr;
  delete static_cast<ExitWait*>(exit_wait_context_);
  exit_wait_context_ = nullptr;
}

// --- Start
// --------------------------------------------------------------------

absl::Status WindowsChild::Start(const SpawnRequest& request,
                                 const SpawnPlan& plan) {
  const Command& command = *request.command;
  const Limits& limits = *request.limits;
  memory_limited_ = limits.memory_bytes.has_value();
  if (limits.cpu_time) {
    cpu_budget_ns_ =
        std::max<int64_t>(1, absl::ToInt64Nanoseconds(*limits.cpu_time));
  }
  std::weak_ptr<WindowsChild> weak = weak_from_this();
  job_key_ = loop_->AddJobTarget([weak](DWORD message, DWORD pid) {
    if (std::shared_ptr<WindowsChild> self = weak.lock()) {
      self->OnJobMessage(message, pid);
    }
  });
  std::vector<LimitNotKept> not_kept;
  absl::StatusOr<UniqueHandle> job =
      CreateJob(limits, loop_->port(), job_key_, not_kept);
  if (!job.ok()) return job.status();
  for (const LimitNotKept& lost : not_kept) {
    if (options_->strict) {
      return internal::LimitNotEnforceableError(command, lost.kind,
                                                lost.detail);
    }
    for (LimitEnforcement& e : request.enforcement->limits) {
      if (e.limit == lost.kind) e = {lost.kind, Mechanism::kNone, lost.detail};
    }
  }

  ChildStdio stdio;
  const DWORD pipe_size = static_cast<DWORD>(std::min<std::size_t>(
      options_->capture_pipe_bytes, std::size_t{1} << 20));
  if (absl::Status s = OpenChildStdio(command, pipe_size, stdio); !s.ok()) {
    return s;
  }
  for (Output* o : {&out_, &err_}) {
    const Stdio& given = o == &out_ ? command.stdout_ : command.stderr_;
    o->kind = given.kind();
  }
  if (stdio.stdout_read.valid()) {
    if (absl::Status s = loop_->Associate(stdio.stdout_read.get()); !s.ok())
      return s;
  }
  if (stdio.stderr_read.valid()) {
    if (absl::Status s = loop_->Associate(stdio.stderr_read.get()); !s.ok())
      return s;
  }
  if (command.stdin_.kind() == Stdio::Kind::kData) {
    if (absl::Status s = loop_->Associate(stdio.stdin_write.get()); !s.ok())
      return s;
  }

  absl::StatusOr<Spawned> spawned = SpawnInJob(
      command, plan,
      {stdio.child[0].get(), stdio.child[1].get(), stdio.child[2].get()},
      job->get());
  if (!spawned.ok()) return spawned.status();
  start_ns_ = MonotonicNanos();
  pid_ = spawned->pid;
  // The job reports the leader's exit; a thread-pool wait on its handle
  // reports it too, for the systems that do not (the first one counts).
  auto* context = new ExitWait{loop_->port(), job_key_, pid_.load()};
  if (!RegisterWaitForSingleObject(&exit_wait_, spawned->process.get(),
                                   PostLeaderExit, context, INFINITE,
                                   WT_EXECUTEONLYONCE)) {
    absl::Status s = LastErrorStatus("watch the child's exit");
    delete context;
    TerminateJobObject(job->get(), kKillExitCode);
    WaitForSingleObject(spawned->process.get(), kSignalWaitMs);
    return s;
  }
  exit_wait_context_ = context;
  {
    absl::MutexLock lock(&mu_);
    job_ = *std::move(job);
    process_ = std::move(spawned->process);
  }
  // The child's ends close here: the pipes end when the tree closes its own.
  out_.handle = std::move(stdio.stdout_read);
  err_.handle = std::move(stdio.stderr_read);
  for (Output* o : {&out_, &err_}) {
    if (o->kind == Stdio::Kind::kPipe && o->handle.valid()) {
      absl::MutexLock lock(&o->host_mu);
      o->host_open = true;
    }
  }
  if (command.stdin_.kind() == Stdio::Kind::kData) {
    stdin_data_ = std::move(stdio.stdin_write);
    stdin_bytes_ = command.stdin_.data();
  } else if (command.stdin_.kind() == Stdio::Kind::kPipe) {
    host_stdin_ = NewHostStdin(std::move(stdio.stdin_write));
  }
  return absl::OkStatus();
}

// --- Loop side
// ----------------------------------------------------------------

void WindowsChild::Arm(std::shared_ptr<ChildEvents> events) {
  events_ = std::move(events);
  armed_ = true;
  // Reads and reports start on a later turn: Arm runs with the process's
  // lock held, and an event would take it again.
  loop_->Post([self = shared_from_this()] { self->StartIo(); });
}

void WindowsChild::StartIo() {
  if (!events_) return;  // closed meanwhile
  for (Stream stream : {Stream::kStdout, Stream::kStderr}) {
    if (OutputOf(stream).handle.valid()) IssueRead(stream);
  }
  if (stdin_data_.valid()) WriteStdinData();
  if (cpu_budget_ns_ > 0) CheckCpu();
  if (cpu_spent_pending_) {
    cpu_spent_pending_ = false;
    if (std::shared_ptr<ChildEvents> events = events_) {
      events->OnCpuBudgetSpent();
    }
  }
  if (exit_pending_) OnLeaderExit();
}

void WindowsChild::IssueRead(Stream stream) {
  Output& o = OutputOf(stream);
  if (o.closed || !o.handle.valid() || o.op != nullptr) return;
  if (o.block.size() != kReadBlock) o.block.resize(kReadBlock);
  HANDLE h = o.handle.get();
  char* data = o.block.data();
  const DWORD err = loop_->StartIo(
      h,
      [h, data](OVERLAPPED* ov) {
        return ReadFile(h, data, static_cast<DWORD>(kReadBlock), nullptr, ov);
      },
      [self = shared_from_this(), stream](DWORD bytes, DWORD error) {
        self->OnRead(stream, bytes, error);
      },
      &o.op);
  // At its end already (the writers closed it): no completion will come.
  if (err != 0) EndOutput(stream);
}

void WindowsChild::OnRead(Stream stream, DWORD bytes, DWORD error) {
  Output& o = OutputOf(stream);
  o.op = nullptr;
  if (o.closed) return;  // closed or drained meanwhile
  if (error != 0) {      // ERROR_BROKEN_PIPE: every writer closed it
    EndOutput(stream);
    return;
  }
  if (bytes > 0 && o.kind == Stdio::Kind::kPipe) {
    absl::MutexLock lock(&o.host_mu);
    o.host.append(o.block.data(), bytes);
    o.host_cv.SignalAll();
    if (o.host.size() >= kHostBufferCap) {
      o.paused = true;  // ReadHostPipe resumes it
      return;
    }
  } else if (bytes > 0) {
    // A copy: the call may end the process, and Close() drop events_.
    if (std::shared_ptr<ChildEvents> events = events_) {
      events->OnOutput(stream, absl::string_view(o.block.data(), bytes));
    }
  }
  IssueRead(stream);
}

void WindowsChild::EndOutput(Stream stream) {
  Output& o = OutputOf(stream);
  if (o.closed) return;
  CloseOutput(o);
  if (o.kind == Stdio::Kind::kPipe) {
    absl::MutexLock lock(&o.host_mu);
    o.host_end = true;
    o.host_cv.SignalAll();
    return;
  }
  if (std::shared_ptr<ChildEvents> events = events_) {
    events->OnOutputEnd(stream);
  }
}

void WindowsChild::CloseOutput(Output& o) {
  o.closed = true;
  // A read in flight ends with ERROR_OPERATION_ABORTED; its completion
  // still comes, and finds the output closed.
  if (o.op != nullptr) CancelIoEx(o.handle.get(), &o.op->overlapped);
  o.handle.reset();
}

void WindowsChild::WriteStdinData() {
  if (!stdin_data_.valid() || stdin_op_ != nullptr) return;
  if (stdin_written_ >= stdin_bytes_.size()) {
    stdin_data_.reset();  // end of file for the child
    return;
  }
  HANDLE h = stdin_data_.get();
  const char* data = stdin_bytes_.data() + stdin_written_;
  const DWORD size = static_cast<DWORD>(
      std::min(stdin_bytes_.size() - stdin_written_, kWriteBlock));
  const DWORD err = loop_->StartIo(
      h,
      [h, data, size](OVERLAPPED* ov) {
        return WriteFile(h, data, size, nullptr, ov);
      },
      [self = shared_from_this()](DWORD bytes, DWORD error) {
        self->stdin_op_ = nullptr;
        if (!self->stdin_data_.valid()) return;
        if (error != 0) {  // the child closed its end, or exited
          self->stdin_data_.reset();
          return;
        }
        self->stdin_written_ += bytes;
        self->WriteStdinData();
      },
      &stdin_op_);
  if (err != 0) stdin_data_.reset();
}

void WindowsChild::OnJobMessage(DWORD message, DWORD pid) {
  switch (message) {
    case JOB_OBJECT_MSG_EXIT_PROCESS:
    case JOB_OBJECT_MSG_ABNORMAL_EXIT_PROCESS:
      if (pid == pid_.load()) OnLeaderExit();
      break;
    case JOB_OBJECT_MSG_ACTIVE_PROCESS_ZERO:
      tree_empty_ = true;
      if (awaiting_tree_) {
        awaiting_tree_ = false;
        if (std::shared_ptr<ChildEvents> events = events_) {
          events->OnTreeGone();
        }
      }
      break;
    case JOB_OBJECT_MSG_END_OF_JOB_TIME:
      if (!armed_) {
        cpu_spent_pending_ = true;
      } else if (std::shared_ptr<ChildEvents> events = events_) {
        events->OnCpuBudgetSpent();
      }
      break;
    case JOB_OBJECT_MSG_PROCESS_MEMORY_LIMIT:
    case JOB_OBJECT_MSG_JOB_MEMORY_LIMIT: {
      absl::MutexLock lock(&mu_);
      memory_hit_ = true;
      break;
    }
    case JOB_OBJECT_MSG_ACTIVE_PROCESS_LIMIT: {
      absl::MutexLock lock(&mu_);
      ++forks_refused_;
      break;
    }
    default:
      break;
  }
}

void WindowsChild::OnLeaderExit() {
  if (!armed_ || !events_) {
    exit_pending_ = true;
    return;
  }
  ChildExit exit;
  {
    absl::MutexLock lock(&mu_);
    if (reaped_ || !process_.valid()) return;
    // The notification may come just before the handle is signalled.
    WaitForSingleObject(process_.get(), kSignalWaitMs);
    reaped_ = true;
    exit.end_ns = MonotonicNanos();
    DWORD code = 0;
    GetExitCodeProcess(process_.get(), &code);
    exit_code_ = code;
    SetExitFromCode(code, &exit);
    if (killed_ && code == kKillExitCode) {
      // TerminateJobObject's code: a kill, as SIGKILL is on POSIX.
      exit.signaled = true;
      exit.exit_code = -1;
      exit.signal = internal::kSigKill;
    }
    ReadTimes(process_.get(), exit.user_time, exit.system_time);
    exit.peak_memory_bytes =
        static_cast<int64_t>(MemoryOf(process_.get()).PeakWorkingSetSize);
  }
  exit_pending_ = false;
  std::shared_ptr<ChildEvents> events = events_;
  events->OnExit(exit);
}

void WindowsChild::CheckTreeGone(int64_t give_up_ns) {
  if (!awaiting_tree_) return;
  int64_t active = -1;
  {
    absl::MutexLock lock(&mu_);
    if (job_.valid()) {
      const JobUsage usage = ReadJobUsage(job_.get());
      if (usage.have_active) active = usage.active_processes;
    }
  }
  if (active != 0 && MonotonicNanos() < give_up_ns) {
    std::weak_ptr<WindowsChild> weak = weak_from_this();
    loop_->AddTimer(MonotonicNanos() + kTreeCheckNs, [weak, give_up_ns] {
      if (std::shared_ptr<WindowsChild> self = weak.lock()) {
        self->CheckTreeGone(give_up_ns);
      }
    });
    return;
  }
  awaiting_tree_ = false;
  if (std::shared_ptr<ChildEvents> events = events_) events->OnTreeGone();
}

void WindowsChild::CheckCpu() {
  cpu_timer_ = 0;
  JobUsage usage;
  {
    absl::MutexLock lock(&mu_);
    if (reaped_ || !job_.valid()) return;
    usage = ReadJobUsage(job_.get());
  }
  // Unreadable: only the job's own user-time limit holds.
  if (!usage.have_times) return;
  const int64_t used =
      absl::ToInt64Nanoseconds(usage.user_time + usage.kernel_time);
  if (used >= cpu_budget_ns_) {
    // Over budget: the neutral side stops the tree.
    if (std::shared_ptr<ChildEvents> events = events_) {
      events->OnCpuBudgetSpent();
    }
    return;
  }
  // The tree cannot use more than one CPU second per second and CPU: the
  // budget cannot run out before `left / cpus` from now.
  static const int64_t kCpus = std::max<int64_t>(
      1, static_cast<int64_t>(GetActiveProcessorCount(ALL_PROCESSOR_GROUPS)));
  const int64_t wait =
      std::max<int64_t>((cpu_budget_ns_ - used) / kCpus, kCpuCheckMinNs);
  std::weak_ptr<WindowsChild> weak = weak_from_this();
  cpu_timer_ = loop_->AddTimer(MonotonicNanos() + wait, [weak] {
    if (std::shared_ptr<WindowsChild> self = weak.lock()) self->CheckCpu();
  });
}

// --- Signals and freezing
// -----------------------------------------------------

void WindowsChild::SignalTree(int signo) {
  absl::MutexLock lock(&mu_);
  if (reaped_ || !job_.valid()) return;
  if (signo == internal::kSigKill) {
    killed_ = true;
    TerminateJobObject(job_.get(), kKillExitCode);
  } else if (signo == internal::kSigTerm || signo == internal::kSigInt ||
             signo == kSigBreak) {
    // Only a console program that shares the host's console gets it. When
    // the event cannot be sent at all (a host without a console), a grace
    // would only wait for nothing: the job is killed now, as Python's
    // terminate() does on Windows.
    if (!GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, pid_.load())) {
      killed_ = true;
      TerminateJobObject(job_.get(), kKillExitCode);
    }
  } else if (signo == internal::kSigStop) {
    if (suspended_.empty()) (void)SuspendJob(job_.get(), suspended_);
  } else if (signo == internal::kSigCont) {
    ResumeThreads(suspended_);
  }
  // Other signals have no Windows meaning: nothing is sent.
}

absl::Status WindowsChild::CheckSignal(int signo) const {
  if (signo == internal::kSigKill || signo == internal::kSigTerm ||
      signo == internal::kSigInt || signo == kSigBreak ||
      signo == internal::kSigStop || signo == internal::kSigCont) {
    return absl::OkStatus();
  }
  return absl::UnimplementedError(
      absl::StrCat(SignalName(signo),
                   " has no Windows equivalent (KILL, TERM, INT, BREAK, STOP "
                   "and CONT have)"));
}

bool WindowsChild::Exited() const {
  absl::MutexLock lock(&mu_);
  if (reaped_) return true;
  return process_.valid() &&
         WaitForSingleObject(process_.get(), 0) == WAIT_OBJECT_0;
}

absl::Status WindowsChild::Freeze() {
  absl::MutexLock lock(&mu_);
  if (!suspended_.empty() || !job_.valid()) return absl::OkStatus();
  if (absl::Status s = SuspendJob(job_.get(), suspended_); !s.ok()) {
    ResumeThreads(suspended_);
    return s;
  }
  return absl::OkStatus();
}

absl::Status WindowsChild::Thaw() {
  absl::MutexLock lock(&mu_);
  ResumeThreads(suspended_);
  return absl::OkStatus();
}

bool WindowsChild::EndTree(bool /*frozen*/) {
  if (cpu_timer_ != 0) loop_->CancelTimer(cpu_timer_);
  cpu_timer_ = 0;
  absl::MutexLock lock(&mu_);
  // Suspended threads die with the job all the same; their handles go.
  ResumeThreads(suspended_);
  if (tree_empty_ || !job_.valid()) return false;
  const JobUsage usage = ReadJobUsage(job_.get());
  if (usage.have_active && usage.active_processes == 0) return false;
  killed_ = true;
  TerminateJobObject(job_.get(), kKillExitCode);
  awaiting_tree_ = true;
  const int64_t give_up = MonotonicNanos() + kTreeGiveUpNs;
  std::weak_ptr<WindowsChild> weak = weak_from_this();
  loop_->AddTimer(MonotonicNanos() + kTreeCheckNs, [weak, give_up] {
    if (std::shared_ptr<WindowsChild> self = weak.lock()) {
      self->CheckTreeGone(give_up);
    }
  });
  return true;
}

// --- Usage
// --------------------------------------------------------------------

void WindowsChild::LiveUsage(ResourceUsage& usage) const {
  absl::MutexLock lock(&mu_);
  if (!job_.valid()) return;
  const JobUsage job = ReadJobUsage(job_.get());
  if (job.have_times) {
    usage.user_time = job.user_time;
    usage.system_time = job.kernel_time;
  } else if (process_.valid()) {
    ReadTimes(process_.get(), usage.user_time, usage.system_time);
  }
  if (job.have_active) usage.processes = job.active_processes;
  if (process_.valid()) {
    const PROCESS_MEMORY_COUNTERS m = MemoryOf(process_.get());
    usage.memory_bytes = static_cast<int64_t>(m.WorkingSetSize);
    usage.peak_memory_bytes = static_cast<int64_t>(m.PeakWorkingSetSize);
  }
  if (job.have_peak) {
    usage.peak_memory_bytes =
        std::max(usage.peak_memory_bytes, job.peak_memory_bytes);
  }
}

TreeEnd WindowsChild::FinalUsage(Outcome& outcome) const {
  absl::MutexLock lock(&mu_);
  TreeEnd end;
  end.forks_refused = forks_refused_;
  // STATUS_NO_MEMORY reads as SIGKILL (exception_codes): an OOM end.
  end.oom_killed = memory_limited_ && exit_code_ == kStatusNoMemory;
  end.memory_refused = memory_hit_;
  if (!job_.valid()) return end;
  const JobUsage job = ReadJobUsage(job_.get());
  if (job.have_times) {
    outcome.user_time = std::max(outcome.user_time, job.user_time);
    outcome.system_time = std::max(outcome.system_time, job.kernel_time);
  }
  if (job.have_peak) {
    outcome.peak_memory_bytes =
        std::max(outcome.peak_memory_bytes, job.peak_memory_bytes);
  }
  return end;
}

// --- The end
// ------------------------------------------------------------------

void WindowsChild::Close() {
  for (Output* o : {&out_, &err_}) {
    if (!o->closed) CloseOutput(*o);
    absl::MutexLock lock(&o->host_mu);
    o->host_open = false;
    o->host_cv.SignalAll();
  }
  if (stdin_op_ != nullptr)
    CancelIoEx(stdin_data_.get(), &stdin_op_->overlapped);
  stdin_data_.reset();
  host_stdin_.reset();
  awaiting_tree_ = false;
  if (cpu_timer_ != 0) loop_->CancelTimer(cpu_timer_);
  cpu_timer_ = 0;
  StopExitWait();
  if (job_key_ != 0) loop_->RemoveJobTarget(job_key_);
  job_key_ = 0;
  {
    absl::MutexLock lock(&mu_);
    ResumeThreads(suspended_);
    // KILL_ON_JOB_CLOSE: whatever might be left of the tree ends with it.
    job_.reset();
    process_.reset();
  }
  events_.reset();
}

void WindowsChild::Discard() {
  {
    absl::MutexLock lock(&mu_);
    if (job_.valid()) TerminateJobObject(job_.get(), kKillExitCode);
    if (process_.valid()) WaitForSingleObject(process_.get(), kSignalWaitMs);
    reaped_ = true;
    ResumeThreads(suspended_);
    job_.reset();
  }
  StopExitWait();
  {
    absl::MutexLock lock(&mu_);
    process_.reset();
  }
  if (job_key_ != 0) loop_->RemoveJobTarget(job_key_);
  job_key_ = 0;
  // Never armed: no operation is in flight.
  out_.handle.reset();
  err_.handle.reset();
  out_.closed = err_.closed = true;
  for (Output* o : {&out_, &err_}) {
    absl::MutexLock lock(&o->host_mu);
    o->host_open = false;
    o->host_cv.SignalAll();
  }
  stdin_data_.reset();
  host_stdin_.reset();
}

}  // namespace procsandbox::windows_internal
