// Pipes between a manager and its children: making them, writing without
// SIGPIPE, and the host's bounded reads. POSIX calls only (Linux and the
// darwin backend share them).
#ifndef PROCSANDBOX_SRC_POSIX_PIPES_H_
#define PROCSANDBOX_SRC_POSIX_PIPES_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "posix/unique_fd.h"

namespace procsandbox::posix_internal {

// A pipe whose both ends are close-on-exec; the child gets a dup of one.
absl::Status MakePipe(UniqueFd& read_end, UniqueFd& write_end);

absl::Status SetNonBlocking(int fd);

// Writes all of `data` to `fd` (blocking). SIGPIPE is blocked in this thread
// for the call and a SIGPIPE it raised is consumed: the host never sees it.
// Returns 0, or the errno of the failed write (EPIPE: nobody reads).
int WriteAllWithoutSigpipe(int fd, absl::string_view data);

// Writes what it can of `data` past `written` to the non-blocking `fd`,
// advancing `written`. False: the pipe is full, call again when it is
// writable. True: done, all written or never will be (EPIPE, the reader is
// gone: its SIGPIPE, which the caller blocks in this thread, is consumed).
bool WriteAvailable(int fd, absl::string_view data, std::size_t& written);

// Consumes a SIGPIPE pending for this thread (raised by a write to a pipe
// nobody reads, while the signal is blocked here). Nothing when none is.
void ConsumePendingSigpipe();

// Waits up to `wait_ms` for `fd` to be readable (data or end of file).
// True: readable; false: not in time, or interrupted (EINTR).
absl::StatusOr<bool> WaitReadable(int fd, int wait_ms);

enum class PipeRead {
  kData,     // appended
  kNothing,  // nothing now (EAGAIN, EINTR)
  kEnd,      // end of file, or an error: nothing more will come
};
// One read (up to 64 KiB) of a non-blocking `fd`, appended to `buffer`.
PipeRead ReadSome(int fd, std::string& buffer);
// Reads a non-blocking `fd` until it has nothing more now (or its end),
// appending to `buffer`.
void ReadAvailable(int fd, std::string& buffer);

}  // namespace procsandbox::posix_internal

#endif  // PROCSANDBOX_SRC_POSIX_PIPES_H_
