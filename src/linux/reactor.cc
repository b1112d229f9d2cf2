#include "linux/reactor.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <memory>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "posix/errno_status.h"

namespace procsandbox::linux_internal {

using ::procsandbox::posix_internal::ErrnoStatus;
using ::procsandbox::posix_internal::UniqueFd;

absl::StatusOr<std::unique_ptr<Reactor>> Reactor::Create() {
  UniqueFd epoll(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll.valid()) return ErrnoStatus(errno, "create the reactor's epoll");
  UniqueFd wake(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake.valid()) return ErrnoStatus(errno, "create the reactor's eventfd");
  UniqueFd timer(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  if (!timer.valid()) return ErrnoStatus(errno, "create the reactor's timerfd");
  for (int fd : {wake.get(), timer.get()}) {
    struct epoll_event ev = {};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
      return ErrnoStatus(errno, "watch the reactor's own descriptors");
    }
  }
  std::unique_ptr<Reactor> reactor(
      new Reactor(std::move(epoll), std::move(wake), std::move(timer)));
  // The reactor thread starts with every signal blocked: the host's
  // signals go to the host's threads, and a SIGPIPE from writing a child's
  // stdin stays pending here instead of killing the process.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int thread_error = 0;
  try {
    reactor->thread_ = std::thread([r = reactor.get()] { r->Loop(); });
  } catch (const std::system_error& e) {
    // pthread_create's EAGAIN: out of threads or memory for a stack
    // (RLIMIT_NPROC, pids.max, RLIMIT_AS).
    thread_error = e.code().value();
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (thread_error != 0) {
    return absl::ResourceExhaustedError(
        ErrnoStatus(thread_error, "start the reactor's thread").message());
  }
  return reactor;
}

Reactor::Reactor(UniqueFd epoll, UniqueFd wake, UniqueFd timer)
    : epoll_(std::move(epoll)),
      wake_(std::move(wake)),
      timer_(std::move(timer)) {}

Reactor::~Reactor() { Stop(); }

void Reactor::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  const uint64_t one = 1;
  (void)!write(wake_.get(), &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
}

void Reactor::Post(std::function<void()> fn) {
  {
    absl::MutexLock lock(&mu_);
    posted_.push_back(std::move(fn));
  }
  const uint64_t one = 1;
  (void)!write(wake_.get(), &one, sizeof(one));
}

bool Reactor::OnLoopThread() const {
  return std::this_thread::get_id() == thread_.get_id();
}

absl::Status Reactor::Watch(int fd, uint32_t events, FdCallback callback,
                            bool urgent) {
  struct epoll_event ev = {};
  ev.events = events;
  ev.data.fd = fd;
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    return ErrnoStatus(errno, "watch a child's descriptor");
  }
  watches_[fd] = {std::make_shared<FdCallback>(std::move(callback)), urgent};
  return absl::OkStatus();
}

void Reactor::Unwatch(int fd) {
  if (watches_.erase(fd) == 0) return;
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

uint64_t Reactor::AddTimer(int64_t deadline_ns, std::function<void()> fn) {
  const uint64_t id = timers_.Add(deadline_ns, std::move(fn));
  ArmTimerFd();
  return id;
}

void Reactor::CancelTimer(uint64_t id) {
  timers_.Cancel(id);
  ArmTimerFd();
}

void Reactor::ArmTimerFd() {
  const int64_t next = timers_.Next().value_or(0);
  if (next == armed_for_) return;
  armed_for_ = next;
  struct itimerspec spec = {};
  if (next != 0) {
    // An absolute CLOCK_MONOTONIC deadline: ~0.1 ms late whatever its
    // distance (an epoll timeout drifts by 0.1% of it).
    spec.it_value.tv_sec = next / 1'000'000'000;
    spec.it_value.tv_nsec = next % 1'000'000'000;
    if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0)
      spec.it_value.tv_nsec = 1;
  }
  timerfd_settime(timer_.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
}

void Reactor::RunDueTimers() {
  timers_.RunDue(MonotonicNanos());
  armed_for_ = -1;  // force a re-arm
  ArmTimerFd();
}

void Reactor::Loop() {
  constexpr int kMaxEvents = 64;
  struct epoll_event events[kMaxEvents];
  for (;;) {
    const int n = epoll_wait(epoll_.get(), events, kMaxEvents, -1);
    if (n < 0 && errno != EINTR) return;  // cannot happen with a valid epoll
    // Timers and urgent watches first, then the rest in epoll's order
    // (level-triggered: a stream still full is reported again next time,
    // behind the others).
    bool timer_fired = false;
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd == timer_.get()) {
        uint64_t count;
        (void)!read(timer_.get(), &count, sizeof(count));
        timer_fired = true;
      }
    }
    if (timer_fired) RunDueTimers();
    for (const bool urgent : {true, false}) {
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == timer_.get()) continue;
        if (fd == wake_.get()) {
          if (urgent) {
            uint64_t count;
            (void)!read(wake_.get(), &count, sizeof(count));
          }
          continue;
        }
        auto it = watches_.find(fd);
        // The callback may unwatch (and close) its own fd: keep it alive.
        if (it != watches_.end() && it->second.urgent == urgent) {
          std::shared_ptr<FdCallback> callback = it->second.callback;
          (*callback)(events[i].events);
        }
      }
    }
    std::vector<std::function<void()>> posted;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      posted.swap(posted_);
    }
    for (auto& fn : posted) fn();
  }
}

}  // namespace procsandbox::linux_internal
