#include "linux/open_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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

// The blocking open of a FIFO, on its own thread. Shared with that thread:
// a caller that gives up may leave before it ends.
struct PendingOpen {
  absl::Notification done;
  int fd = -1;
  int error = 0;
  ~PendingOpen() {
    if (fd >= 0) close(fd);
  }
};

// The FIFO behind `anchor` (an O_PATH descriptor), reopened:
// through /proc the same inode even if the path was renamed since.
std::string Reopenable(int anchor, const std::string& path) {
  std::string proc = fmt::format("/proc/self/fd/{}", anchor);
  return access(proc.c_str(), F_OK) == 0 ? proc : path;
}

absl::StatusOr<UniqueFd> OpenFifoWithin(UniqueFd anchor,
                                        const std::string& path, int flags,
                                        absl::Duration limit,
                                        absl::string_view what) {
  const std::string target = Reopenable(anchor.get(), path);
  auto pending = std::make_shared<PendingOpen>();
  std::thread opener([pending, target, flags] {
    int fd;
    do {
      fd = open(target.c_str(), flags | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    pending->error = fd < 0 ? errno : 0;
    pending->fd = fd;
    pending->done.Notify();
  });
  if (!pending->done.WaitForNotificationWithTimeout(limit)) {
    // Release the blocked open by becoming its other end for a moment: a
    // writer waits for a reader and a reader for a writer, and a
    // non-blocking open of either end succeeds while the other waits.
    const int other = (flags & O_ACCMODE) == O_RDONLY ? O_WRONLY : O_RDONLY;
    UniqueFd partner(open(target.c_str(), other | O_NONBLOCK | O_CLOEXEC));
    if (partner.valid()) {
      opener.join();
    } else {
      opener.detach();  // it ends (and closes) when someone comes
    }
    return absl::DeadlineExceededError(
        fmt::format("{}: a FIFO whose other end nobody opened within {}", what,
                    procsandbox::FormatDuration(limit)));
  }
  opener.join();
  if (pending->fd < 0) return ErrnoStatus(pending->error, what);
  return UniqueFd(std::exchange(pending->fd, -1));
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
