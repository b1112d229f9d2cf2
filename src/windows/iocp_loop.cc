#include "windows/iocp_loop.h"

#include <windows.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "os/event_loop.h"
#include "windows/win_error.h"

namespace procsandbox::windows_internal {

using ::procsandbox::os_internal::MonotonicNanos;

absl::StatusOr<std::unique_ptr<IocpLoop>> IocpLoop::Create() {
  UniqueHandle port(
      CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 1));
  if (!port.valid()) {
    const DWORD err = GetLastError();
    return absl::ResourceExhaustedError(
        WinErrorStatus(err, "create the manager's completion port").message());
  }
  std::unique_ptr<IocpLoop> loop(new IocpLoop(std::move(port)));
  try {
    loop->thread_ = std::thread([raw = loop.get()] { raw->Loop(); });
  } catch (const std::system_error& e) {
    return absl::ResourceExhaustedError(
        std::string("create the manager's loop: start its thread: ") +
        e.what());
  }
  loop->thread_id_ = loop->thread_.get_id();
  return loop;
}

IocpLoop::IocpLoop(UniqueHandle port) : port_(std::move(port)) {}

IocpLoop::~IocpLoop() {
  Stop();
  if (thread_.joinable()) thread_.join();
  DropAfterThread();  // (when Stop() ran on the loop thread)
}

void IocpLoop::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  PostQueuedCompletionStatus(port_.get(), 0, kWakeKey, nullptr);
  if (OnLoopThread()) return;
  if (thread_.joinable()) thread_.join();
  DropAfterThread();
}

void IocpLoop::DropAfterThread() {
  // What the thread would have run is dropped here, outside the lock (a
  // destructor may Post, which is dropped too).
  std::vector<std::function<void()>> posted;
  absl::flat_hash_map<uint64_t, std::shared_ptr<JobMessage>> jobs;
  absl::flat_hash_set<Operation*> in_flight;
  {
    absl::MutexLock lock(&mu_);
    posted.swap(posted_);
    jobs.swap(jobs_);
    in_flight.swap(in_flight_);
  }
  posted.clear();
  jobs.clear();
  timers_.Clear();
  // An operation whose handle is closed has its completion in the port
  // already; one whose handle is open (a reaped child whose output was
  // draining) is still the system's: cancelled, it ends and is queued too.
  // CancelIoEx names the OVERLAPPED, so a handle value reused since cancels
  // nothing else.
  for (Operation* op : in_flight) CancelIoEx(op->file, &op->overlapped);
  const int64_t give_up = MonotonicNanos() + kStopWaitMs * 1'000'000;
  while (!in_flight.empty()) {
    const int64_t left_ms = (give_up - MonotonicNanos()) / 1'000'000;
    if (left_ms <= 0) break;
    DWORD bytes = 0;
    ULONG_PTR key = 0;
    OVERLAPPED* overlapped = nullptr;
    if (!GetQueuedCompletionStatus(port_.get(), &bytes, &key, &overlapped,
                                   static_cast<DWORD>(left_ms)) &&
        overlapped == nullptr) {
      break;  // nothing more in time
    }
    if (key != kIoKey || overlapped == nullptr) continue;
    auto* op = reinterpret_cast<Operation*>(overlapped);
    if (in_flight.erase(op) == 1) delete op;  // without `done`
  }
  // What did not end in time stays allocated: freed, the system could
  // still write into memory reused meanwhile.
}

void IocpLoop::Post(std::function<void()> fn) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    posted_.push_back(std::move(fn));
    // One packet per wake-up, not per closure.
    if (wake_pending_) return;
    wake_pending_ = true;
  }
  PostQueuedCompletionStatus(port_.get(), 0, kWakeKey, nullptr);
}

bool IocpLoop::OnLoopThread() const {
  return std::this_thread::get_id() == thread_id_;
}

IocpLoop::TimerId IocpLoop::AddTimer(int64_t at_ns, std::function<void()> fn) {
  return timers_.Add(at_ns, std::move(fn));
}

void IocpLoop::CancelTimer(TimerId id) { timers_.Cancel(id); }

absl::Status IocpLoop::Associate(HANDLE file) {
  if (CreateIoCompletionPort(file, port_.get(), kIoKey, 0) == nullptr) {
    return LastErrorStatus("associate a pipe with the completion port");
  }
  return absl::OkStatus();
}

DWORD IocpLoop::StartIo(HANDLE file,
                        const std::function<BOOL(OVERLAPPED*)>& start,
                        IoDone done, Operation** op) {
  auto* operation = new Operation;
  operation->file = file;
  operation->done = std::move(done);
  {
    absl::MutexLock lock(&mu_);
    in_flight_.insert(operation);
  }
  if (op != nullptr) *op = operation;
  // Without FILE_SKIP_COMPLETION_PORT_ON_SUCCESS a completion is queued
  // whether the operation finished at once or is pending.
  if (start(&operation->overlapped) || GetLastError() == ERROR_IO_PENDING) {
    return 0;
  }
  const DWORD err = GetLastError();
  {
    absl::MutexLock lock(&mu_);
    in_flight_.erase(operation);
  }
  if (op != nullptr) *op = nullptr;
  delete operation;
  return err;
}

uint64_t IocpLoop::AddJobTarget(JobMessage on_message) {
  absl::MutexLock lock(&mu_);
  const uint64_t key = next_job_key_++;
  jobs_.emplace(key, std::make_shared<JobMessage>(std::move(on_message)));
  return key;
}

void IocpLoop::RemoveJobTarget(uint64_t key) {
  std::shared_ptr<JobMessage> target;  // destroyed outside the lock
  absl::MutexLock lock(&mu_);
  auto it = jobs_.find(key);
  if (it == jobs_.end()) return;
  target = std::move(it->second);
  jobs_.erase(it);
}

DWORD IocpLoop::TimeoutMs() const {
  const std::optional<int64_t> next = timers_.Next();
  if (!next) return INFINITE;
  const int64_t wait_ns = *next - MonotonicNanos();
  if (wait_ns <= 0) return 0;
  // Rounded up: a timer never fires early, and the loop never spins.
  const int64_t ms = (wait_ns + 999'999) / 1'000'000;
  return ms > 60'000 ? 60'000 : static_cast<DWORD>(ms);
}

void IocpLoop::RunPosted() {
  std::vector<std::function<void()>> posted;
  {
    absl::MutexLock lock(&mu_);
    posted.swap(posted_);
    wake_pending_ = false;
  }
  for (std::function<void()>& fn : posted) fn();
}

void IocpLoop::Dispatch(ULONG_PTR key, DWORD bytes, OVERLAPPED* overlapped,
                        DWORD error) {
  if (key == kWakeKey) {
    RunPosted();
    return;
  }
  if (key == kIoKey) {
    // The OVERLAPPED is the first member of its Operation.
    auto* op = reinterpret_cast<Operation*>(overlapped);
    {
      absl::MutexLock lock(&mu_);
      in_flight_.erase(op);
    }
    std::unique_ptr<Operation> owned(op);
    owned->done(bytes, error);
    return;
  }
  std::shared_ptr<JobMessage> target;
  {
    absl::MutexLock lock(&mu_);
    auto it = jobs_.find(key);
    if (it == jobs_.end()) return;  // a job closed since
    target = it->second;
  }
  // A job's message carries the process id in place of the OVERLAPPED.
  (*target)(bytes, static_cast<DWORD>(reinterpret_cast<uintptr_t>(overlapped)));
}

bool IocpLoop::StopsAfter(ULONG_PTR key, OVERLAPPED* overlapped) {
  Operation* ended = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) return false;
    if (key == kIoKey && overlapped != nullptr) {
      ended = reinterpret_cast<Operation*>(overlapped);
      in_flight_.erase(ended);
    }
  }
  delete ended;  // outside the lock: `done` may hold a child
  return true;
}

void IocpLoop::Loop() {
  for (;;) {
    DWORD bytes = 0;
    ULONG_PTR key = 0;
    OVERLAPPED* overlapped = nullptr;
    // One completion per wait: the timers due run before each.
    const BOOL ok = GetQueuedCompletionStatus(port_.get(), &bytes, &key,
                                              &overlapped, TimeoutMs());
    const DWORD error = ok ? 0 : GetLastError();
    if (StopsAfter(key, overlapped)) return;
    timers_.RunDue(MonotonicNanos());
    if (!ok && overlapped == nullptr) {
      // A timeout (the timers ran), or the port failed: only our bug can
      // make it fail; wait a little rather than spin.
      if (error != WAIT_TIMEOUT) Sleep(10);
      continue;
    }
    if (StopsAfter(key, overlapped)) return;
    Dispatch(key, bytes, overlapped, error);
  }
}

}  // namespace procsandbox::windows_internal
