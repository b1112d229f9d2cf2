// OpenChildStdio: the descriptors a child gets for its standard streams from
// a Command's Stdio (/dev/null, the host's, a descriptor, a file, pipes), and
// the parent's ends of the pipes. Shared by the Linux and the POSIX backends;
// files go through OpenWithin (a FIFO waits at most `open_limit`).
#ifndef PROCSANDBOX_SRC_POSIX_CHILD_STDIO_H_
#define PROCSANDBOX_SRC_POSIX_CHILD_STDIO_H_

#include <array>
#include <cstddef>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "posix/exec_plan.h"
#include "posix/unique_fd.h"
#include "procsandbox/command.h"

namespace procsandbox::posix_internal {

struct ChildStdio {
  // What to install as 0, 1, 2 (ExecPlan::stdio): a descriptor of `child`,
  // the host's own (kKeepFd), or one the host named (Stdio::Fd).
  std::array<int, 3> stdio = {kKeepFd, kKeepFd, kKeepFd};
  // The child's ends the parent opened; closed by the parent after the spawn.
  std::array<UniqueFd, 3> child;
  // The write end of a Data (non-blocking) or Pipe (blocking) stdin.
  UniqueFd stdin_write;
  // The non-blocking read ends of captured or piped stdout and stderr.
  UniqueFd stdout_read;
  UniqueFd stderr_read;
};

// `pipe_size` > 0 asks for output pipes that large where the system can set
// it (F_SETPIPE_SZ); failure only costs speed. A stdin file that does not
// exist is internal::StdinFileNotFoundError.
absl::Status OpenChildStdio(const Command& command, std::size_t pipe_size,
                            absl::Duration open_limit, ChildStdio& out);

}  // namespace procsandbox::posix_internal

#endif  // PROCSANDBOX_SRC_POSIX_CHILD_STDIO_H_
