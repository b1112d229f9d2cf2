#include "linux/open_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"
#include "linux/errno_status.h"
#include "procsandbox/limits.h"

namespace procsandbox::linux_internal {
namespace {

// What the calling thread and its watchdog share: the watchdog may outlive
// the call (see below).
struct FifoWatch {
  absl::Notification opened;          // the caller's open(2) returned
  std::atomic<bool> released{false};  // the watchdog ended the wait
};

// The FIFO behind `anchor` (an O_PATH descriptor), reopened: through /proc
// the same inode even if the path was renamed since.
std::string Reopenable(int anchor, const std::string& path) {
  std::string proc = fmt::format("/proc/self/fd/{}", anchor);
  return access(proc.c_str(), F_OK) == 0 ? proc : path;
}

// The blocking open(2) runs on the calling thread, as the host would run
// it: a signal whose handler lacks SA_RESTART interrupts it (EINTR, as the
// procsandbox command relies on to honour INT and TERM), one with
// SA_RESTART does not. A watchdog thread bounds it: at `limit` it becomes
// the other end for a moment (a non-blocking open of either end succeeds
// while the other waits, and the waiting one wakes at that open), and the
// call fails with DeadlineExceeded.
absl::StatusOr<UniqueFd> OpenFifoWithin(UniqueFd anchor,
                                        const std::string& path, int flags,
                                        absl::Duration limit,
                                        absl::string_view what) {
  const std::string target = Reopenable(anchor.get(), path);
  auto watch = std::make_shared<FifoWatch>();
  const int other = (flags & O_ACCMODE) == O_RDONLY ? O_WRONLY : O_RDONLY;
  std::thread watchdog([watch, target, other, limit] {
    if (watch->opened.WaitForNotificationWithTimeout(limit)) return;
    watch->released = true;
    // Until the caller's open has returned: a partner open that fails (out
    // of descriptors) is tried again.
    do {
      const int partner = open(target.c_str(), other | O_NONBLOCK | O_CLOEXEC);
      if (partner >= 0) close(partner);
    } while (
        !watch->opened.WaitForNotificationWithTimeout(absl::Milliseconds(10)));
  });
  UniqueFd fd(open(target.c_str(), flags | O_CLOEXEC));
  const int error = errno;
  watch->opened.Notify();
  watchdog.join();
  if (watch->released) {
    return absl::DeadlineExceededError(
        fmt::format("{}: a FIFO whose other end nobody opened within {}", what,
                    procsandbox::FormatDuration(limit)));
  }
  if (!fd.valid()) return ErrnoStatus(error, what);
  return fd;
}

}  // namespace

absl::StatusOr<UniqueFd> OpenWithin(const std::string& path, int flags,
                                    mode_t mode, absl::Duration limit,
                                    absl::string_view what) {
  // Tell a FIFO by a descriptor that opens neither end: a non-blocking open
  // of its read end would already count as a reader (a waiting writer would
  // start writing, then see it go).
  UniqueFd anchor(open(path.c_str(), O_PATH | O_CLOEXEC));
  struct stat st;
  if (anchor.valid() && fstat(anchor.get(), &st) == 0 && S_ISFIFO(st.st_mode)) {
    return OpenFifoWithin(std::move(anchor), path,
                          flags & ~(O_CREAT | O_EXCL | O_TRUNC), limit, what);
  }
  anchor.reset();
  // Anything else opens at once; non-blocking all the same, so that a FIFO
  // put in its place since cannot block (it fails with ENXIO for writing,
  // or reads as it is for reading).
  UniqueFd fd(open(path.c_str(), flags | O_NONBLOCK | O_CLOEXEC, mode));
  if (!fd.valid()) return ErrnoStatus(errno, what);
  const int status = fcntl(fd.get(), F_GETFL);
  if (status < 0 || fcntl(fd.get(), F_SETFL, status & ~O_NONBLOCK) != 0) {
    return ErrnoStatus(errno, what);
  }
  return fd;
}

}  // namespace procsandbox::linux_internal
