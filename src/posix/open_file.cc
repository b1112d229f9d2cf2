#include "posix/open_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"
#include "posix/errno_status.h"
#include "procsandbox/limits.h"

namespace procsandbox::posix_internal {

namespace {

// What the calling thread and its watchdog share: the watchdog may outlive
// the call (see below).
struct FifoWatch {
  absl::Notification opened;          // the caller's open(2) returned
  std::atomic<bool> released{false};  // the watchdog ended the wait
};

// The FIFO behind `anchor` (an O_PATH descriptor), reopened: through /proc
// the same inode even if the path was renamed since. Without an anchor
// (no O_PATH), by its path.
std::string Reopenable(const UniqueFd& anchor, const std::string& path) {
  if (!anchor.valid()) return path;
  std::string proc = fmt::format("/proc/self/fd/{}", anchor.get());
  return access(proc.c_str(), F_OK) == 0 ? proc : path;
}

// `fd` without O_NONBLOCK: what the child gets reads and writes as usual.
absl::StatusOr<UniqueFd> Blocking(UniqueFd fd, absl::string_view what) {
  const int status = fcntl(fd.get(), F_GETFL);
  if (status < 0 || fcntl(fd.get(), F_SETFL, status & ~O_NONBLOCK) != 0) {
    return ErrnoStatus(errno, what);
  }
  return fd;
}

absl::Status Expired(absl::string_view what, absl::Duration limit) {
  return absl::DeadlineExceededError(
      fmt::format("{}: a FIFO whose other end nobody opened within {}", what,
                  procsandbox::FormatDuration(limit)));
}

// The write end: a non-blocking open fails with ENXIO until a reader comes,
// so it is tried every 10 ms until `limit`, on the calling thread. A signal
// handler without SA_RESTART ends the wait with EINTR, as it would end a
// blocking open(2).
absl::StatusOr<UniqueFd> OpenFifoWriterWithin(const std::string& target,
                                              int flags, absl::Duration limit,
                                              absl::string_view what) {
  const absl::Time give_up = absl::Now() + limit;
  for (;;) {
    UniqueFd fd(open(target.c_str(), flags | O_NONBLOCK | O_CLOEXEC));
    if (fd.valid()) return Blocking(std::move(fd), what);
    if (errno != ENXIO) return ErrnoStatus(errno, what);
    if (absl::Now() >= give_up) return Expired(what, limit);
    const struct timespec tick = {0, 10L * 1000 * 1000};
    if (nanosleep(&tick, nullptr) != 0 && errno == EINTR) {
      return ErrnoStatus(EINTR, what);
    }
  }
}

// The read end: a non-blocking open succeeds at once, but the child would
// then read an end of file until a writer comes. So the blocking open(2)
// runs on the calling thread, as the host would run it (a signal handler
// without SA_RESTART interrupts it with EINTR — the procsandbox command
// relies on that to honour INT and TERM — one with SA_RESTART does not),
// and a watchdog thread bounds it: at `limit` it opens the write end for a
// moment (a non-blocking open of the write end succeeds while a reader
// waits, and wakes it), and the call fails with DeadlineExceeded. That needs
// the right to open the write end: without it the wait could not be ended,
// and the call fails at once.
absl::StatusOr<UniqueFd> OpenFifoReaderWithin(const std::string& target,
                                              int flags, absl::Duration limit,
                                              absl::string_view what) {
  if (faccessat(AT_FDCWD, target.c_str(), W_OK, AT_EACCESS) != 0) {
    return absl::FailedPreconditionError(fmt::format(
        "{}: a FIFO this process may not open for writing, so a wait for "
        "its writer could not be bounded ({})",
        what, ErrnoStatus(errno, "access").message()));
  }
  auto watch = std::make_shared<FifoWatch>();
  std::thread watchdog;
  try {
    watchdog = std::thread([watch, target, limit] {
      if (watch->opened.WaitForNotificationWithTimeout(limit)) return;
      watch->released = true;
      // Until the caller's open has returned; a partner open that fails for
      // want of a descriptor or memory is tried again, any other failure
      // leaves the caller to a real writer.
      do {
        const int partner =
            open(target.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (partner >= 0) {
          close(partner);
        } else if (errno != EMFILE && errno != ENFILE && errno != ENOMEM &&
                   errno != EINTR) {
          return;
        }
      } while (!watch->opened.WaitForNotificationWithTimeout(
          absl::Milliseconds(10)));
    });
  } catch (const std::system_error& e) {
    return absl::ResourceExhaustedError(fmt::format(
        "{}: start a thread to bound the wait for the FIFO's writer: {}", what,
        e.what()));
  }
  UniqueFd fd(open(target.c_str(), flags | O_CLOEXEC));
  const int error = errno;
  watch->opened.Notify();
  watchdog.join();
  if (watch->released) return Expired(what, limit);
  if (!fd.valid()) return ErrnoStatus(error, what);
  return fd;
}

absl::StatusOr<UniqueFd> OpenFifoWithin(UniqueFd anchor,
                                        const std::string& path, int flags,
                                        absl::Duration limit,
                                        absl::string_view what) {
  const std::string target = Reopenable(anchor, path);
  if ((flags & O_ACCMODE) == O_RDONLY) {
    return OpenFifoReaderWithin(target, flags, limit, what);
  }
  return OpenFifoWriterWithin(target, flags, limit, what);
}

}  // namespace

absl::StatusOr<UniqueFd> OpenWithin(const std::string& path, int flags,
                                    mode_t mode, absl::Duration limit,
                                    absl::string_view what) {
  // Tell a FIFO by a descriptor that opens neither end: a non-blocking open
  // of its read end would already count as a reader (a waiting writer would
  // start writing, then see it go).
  // Without O_PATH, stat(2) tells it (and the FIFO is reopened by path).
  struct stat st;
#ifdef O_PATH
  UniqueFd anchor(open(path.c_str(), O_PATH | O_CLOEXEC));
  const bool fifo =
      anchor.valid() && fstat(anchor.get(), &st) == 0 && S_ISFIFO(st.st_mode);
#else
  UniqueFd anchor;
  const bool fifo = stat(path.c_str(), &st) == 0 && S_ISFIFO(st.st_mode);
#endif
  if (fifo) {
    return OpenFifoWithin(std::move(anchor), path,
                          flags & ~(O_CREAT | O_EXCL | O_TRUNC), limit, what);
  }
  anchor.reset();
  // Anything else opens at once; non-blocking all the same, so that a FIFO
  // put in its place since cannot block (it fails with ENXIO for writing,
  // or reads as it is for reading).
  UniqueFd fd(open(path.c_str(), flags | O_NONBLOCK | O_CLOEXEC, mode));
  if (!fd.valid()) return ErrnoStatus(errno, what);
  return Blocking(std::move(fd), what);
}

}  // namespace procsandbox::posix_internal
