// OpenWithin: open(2) of a file given as a child's stdio, never blocking past
// a bound.
//
// open(2) of a FIFO blocks until its other end is opened too — forever when
// nobody comes, with the caller's process mutex held and the host deaf. Here
// a FIFO (told by an O_PATH descriptor, which opens neither end) waits for
// its other end at most `limit`, then the call fails with DeadlineExceeded:
// the write end by non-blocking tries, the read end by a blocking open(2)
// that a watchdog thread releases at `limit` (by opening the write end for a
// moment). Both waits run on the calling thread, so a signal interrupts them
// as it would interrupt open(2). Every other file is opened non-blocking.
// What the child gets is an ordinary blocking descriptor. Where O_PATH is
// missing (macOS), a FIFO is told by stat(2) and reopened by its path.
// Shared by the Linux and the POSIX backends (OsManagerOptions::
// fifo_open_timeout, or the wall-time limit, is `limit`).
#ifndef PROCSANDBOX_SRC_POSIX_OPEN_FILE_H_
#define PROCSANDBOX_SRC_POSIX_OPEN_FILE_H_

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "posix/unique_fd.h"

namespace procsandbox::posix_internal {

// `flags` is O_RDONLY or O_WRONLY with creation flags (O_CLOEXEC is added).
// Errors begin with `what` (`open stdin file "in.fifo"`): the errno's Status,
// or DeadlineExceeded when `path` is a FIFO whose other end nobody opened
// within `limit`.
absl::StatusOr<UniqueFd> OpenWithin(const std::string& path, int flags,
                                    mode_t mode, absl::Duration limit,
                                    absl::string_view what);

}  // namespace procsandbox::posix_internal

#endif  // PROCSANDBOX_SRC_POSIX_OPEN_FILE_H_
