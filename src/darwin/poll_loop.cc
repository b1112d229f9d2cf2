#include "darwin/poll_loop.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
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
#include "posix/errno_status.h"
#include "posix/unique_fd.h"

namespace procsandbox::darwin_internal {

using ::procsandbox::os_internal::MonotonicNanos;
using ::procsandbox::posix_internal::ErrnoStatus;
using ::procsandbox::posix_internal::UniqueFd;

namespace {

absl::Status NonBlockingCloexec(int fd) {
  const int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
      fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
    return ErrnoStatus(errno, "create the poll loop: set up its wake pipe");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<PollLoop>> PollLoop::Create() {
  int fds[2];
  if (pipe(fds) != 0) {
    return ErrnoStatus(errno, "create the poll loop: open its wake pipe");
  }
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  for (int fd : fds) {
    if (absl::Status s = NonBlockingCloexec(fd); !s.ok()) return s;
  }
  std::unique_ptr<PollLoop> loop(
      new PollLoop(std::move(read_end), std::move(write_end)));
  try {
    loop->thread_ = std::thread([raw = loop.get()] { raw->Loop(); });
  } catch (const std::system_error& e) {
    return absl::ResourceExhaustedError(
        std::string("create the poll loop: start its thread: ") + e.what());
  }
  loop->thread_id_ = loop->thread_.get_id();
  return loop;
}

PollLoop::PollLoop(UniqueFd wake_read, UniqueFd wake_write)
    : wake_read_(std::move(wake_read)), wake_write_(std::move(wake_write)) {}

PollLoop::~PollLoop() {
  Stop();
  if (thread_.joinable()) thread_.join();
}

void PollLoop::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  const char byte = 1;
  (void)!write(wake_write_.get(), &byte, 1);
  if (OnLoopThread()) return;
  if (thread_.joinable()) thread_.join();
  // The thread is gone: drop what it would have run. Closures and timers
  // may hold their owners (a process, its manager's core): released here,
  // not when the loop itself is destroyed. Outside the lock: a destructor
  // they run may Post (dropped).
  std::vector<std::function<void()>> posted;
  {
    absl::MutexLock lock(&mu_);
    posted.swap(posted_);
  }
  posted.clear();
  timers_.Clear();
  auto watches = std::move(watches_);
  watches_.clear();
}

void PollLoop::Post(std::function<void()> fn) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    posted_.push_back(std::move(fn));
    // One byte per wake-up, not per closure: the pipe never fills.
    if (wake_pending_) return;
    wake_pending_ = true;
  }
  const char byte = 1;
  (void)!write(wake_write_.get(), &byte, 1);
}

bool PollLoop::OnLoopThread() const {
  return std::this_thread::get_id() == thread_id_;
}

void PollLoop::Watch(int fd, PollEvents events, FdCallback callback) {
  watches_[fd] =
      WatchEntry{events, std::make_shared<FdCallback>(std::move(callback))};
}

void PollLoop::Unwatch(int fd) { watches_.erase(fd); }

PollLoop::TimerId PollLoop::AddTimer(int64_t at_ns, std::function<void()> fn) {
  return timers_.Add(at_ns, std::move(fn));
}

void PollLoop::CancelTimer(TimerId id) { timers_.Cancel(id); }

int PollLoop::TimeoutMs() const {
  const std::optional<int64_t> next = timers_.Next();
  if (!next) return -1;
  const int64_t wait_ns = *next - MonotonicNanos();
  if (wait_ns <= 0) return 0;
  // Rounded up: a timer never fires early, and the loop never spins.
  const int64_t ms = (wait_ns + 999'999) / 1'000'000;
  return ms > 60'000 ? 60'000 : static_cast<int>(ms);
}

void PollLoop::Loop() {
  std::vector<pollfd> fds;
  for (;;) {
    fds.clear();
    fds.push_back({wake_read_.get(), POLLIN, 0});
    for (const auto& [fd, entry] : watches_) {
      fds.push_back({fd, entry.events, 0});
    }
    const int n =
        poll(fds.data(), static_cast<nfds_t>(fds.size()), TimeoutMs());
    if (n < 0 && errno != EINTR && errno != EAGAIN) {
      // Only EFAULT/EINVAL (our bug) or ENOMEM: try again shortly rather
      // than spin or lose the children's events.
      poll(nullptr, 0, 10);
      continue;
    }
    std::vector<std::function<void()>> posted;
    if (n > 0 && (fds[0].revents & POLLIN) != 0) {
      char buffer[64];
      while (read(wake_read_.get(), buffer, sizeof(buffer)) > 0) {
      }
    }
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      posted.swap(posted_);
      wake_pending_ = false;
    }
    timers_.RunDue(MonotonicNanos());
    for (std::function<void()>& fn : posted) fn();
    if (n <= 0) continue;
    for (std::size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      // An earlier callback may have removed or replaced this watch.
      auto it = watches_.find(fds[i].fd);
      if (it == watches_.end()) continue;
      std::shared_ptr<FdCallback> callback = it->second.callback;
      (*callback)(fds[i].revents);
    }
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
  }
}

}  // namespace procsandbox::darwin_internal
