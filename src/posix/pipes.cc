#include "posix/pipes.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "posix/errno_status.h"

namespace procsandbox::posix_internal {

absl::Status MakePipe(UniqueFd& read_end, UniqueFd& write_end) {
  int fds[2];
#if defined(__APPLE__)
  // No pipe2 on macOS: a fork elsewhere between these calls may inherit the
  // pipe (its posix_spawn children close what they are not given).
  if (pipe(fds) != 0) return ErrnoStatus(errno, "create a pipe");
  (void)fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  (void)fcntl(fds[1], F_SETFD, FD_CLOEXEC);
#else
  if (pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "create a pipe");
#endif
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  return absl::OkStatus();
}

absl::Status SetNonBlocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return ErrnoStatus(errno, "make a pipe non-blocking");
  }
  return absl::OkStatus();
}

void ConsumePendingSigpipe() {
  // sigpending + sigwait rather than sigtimedwait (not on macOS): sigwait
  // returns at once for a pending signal.
  sigset_t pending;
  if (sigpending(&pending) != 0 || sigismember(&pending, SIGPIPE) != 1) return;
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  int signo = 0;
  (void)sigwait(&pipe_set, &signo);
}

bool WriteAvailable(int fd, absl::string_view data, std::size_t& written) {
  while (written < data.size()) {
    const ssize_t n = write(fd, data.data() + written, data.size() - written);
    if (n > 0) {
      written += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
    if (n < 0 && errno == EPIPE) ConsumePendingSigpipe();
    return true;
  }
  return true;
}

int WriteAllWithoutSigpipe(int fd, absl::string_view data) {
  // A write to a pipe nobody reads raises SIGPIPE: block it in this thread
  // and consume it, so the host never sees it.
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  int err = 0;
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  if (err != 0) ConsumePendingSigpipe();
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return err;
}

absl::StatusOr<bool> WaitReadable(int fd, int wait_ms) {
  struct pollfd pfd = {fd, POLLIN, 0};
  const int r = poll(&pfd, 1, wait_ms);
  if (r < 0 && errno != EINTR) return ErrnoStatus(errno, "poll a pipe");
  return r > 0;
}

PipeRead ReadSome(int fd, std::string& buffer) {
  char block[64 * 1024];
  const ssize_t n = read(fd, block, sizeof(block));
  if (n > 0) {
    buffer.append(block, static_cast<std::size_t>(n));
    return PipeRead::kData;
  }
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return PipeRead::kNothing;
  return PipeRead::kEnd;
}

void ReadAvailable(int fd, std::string& buffer) {
  char block[64 * 1024];
  for (ssize_t n; (n = read(fd, block, sizeof(block))) > 0;) {
    buffer.append(block, static_cast<std::size_t>(n));
  }
}

}  // namespace procsandbox::posix_internal
