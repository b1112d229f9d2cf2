// AuditFileSink(): audit records appended to a file, whole, by any number of
// threads and processes at once.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "posix/errno_status.h"
#include "procsandbox/sandbox/audit.h"

namespace procsandbox {
namespace {

absl::Status AppendLine(const std::string& path, const std::string& line) {
  const std::string what =
      absl::StrCat("append the audit record to \"", path, "\"");
  // Opened for each record: a log rotated (renamed) meanwhile is followed,
  // and the sink holds no descriptor however long it lives.
  // O_NONBLOCK for the open only: a FIFO nobody reads fails at once
  // (ENXIO) instead of holding the run's thread forever; the writes block.
  int fd;
  do {
    fd = open(path.c_str(),
              O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
              0600);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return posix_internal::ErrnoStatus(errno, what);
  absl::Status status;
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    status = posix_internal::ErrnoStatus(errno, what);
  }
  // O_APPEND makes each write(2) land at the end, but a short write would
  // let another writer's record in between: the lock (whole file, among
  // all who use this sink, across processes) keeps a record whole.
  if (status.ok()) {
    int locked;
    do {
      locked = flock(fd, LOCK_EX);
    } while (locked != 0 && errno == EINTR);
    if (locked != 0) {
      status = posix_internal::ErrnoStatus(errno, absl::StrCat("lock ", what));
    }
  }
  std::size_t done = 0;
  while (status.ok() && done < line.size()) {
    const ssize_t n = write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      status = posix_internal::ErrnoStatus(n < 0 ? errno : EIO, what);
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  // The lock goes with the descriptor.
  if (close(fd) != 0 && status.ok() && errno != EINTR) {
    status = posix_internal::ErrnoStatus(errno, what);
  }
  return status;
}

}  // namespace

AuditSink AuditFileSink(std::string path) {
  return [path = std::move(path)](const AuditRecord& record) {
    if (path.empty()) {
      return absl::InvalidArgumentError(
          "append the audit record: no file given");
    }
    return AppendLine(path, AuditRecordJson(record) + "\n");
  };
}

}  // namespace procsandbox
