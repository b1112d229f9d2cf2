// PipeStdin: the host's end of a Stdio::Pipe stdin on a POSIX system, for
// the Linux and the POSIX backends (header only: src/os itself never
// includes it, so a platform without src/posix builds without it).
#ifndef PROCSANDBOX_SRC_OS_PIPE_STDIN_H_
#define PROCSANDBOX_SRC_OS_PIPE_STDIN_H_

#include <cerrno>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "os/platform.h"
#include "posix/errno_status.h"
#include "posix/pipes.h"
#include "posix/unique_fd.h"

namespace procsandbox::os_internal {

class PipeStdin final : public HostStdin {
 public:
  explicit PipeStdin(posix_internal::UniqueFd fd) : fd_(std::move(fd)) {}
  absl::Status Write(absl::string_view data, bool& reader_gone) override {
    const int err = posix_internal::WriteAllWithoutSigpipe(fd_.get(), data);
    reader_gone = err == EPIPE;
    if (err != 0) return posix_internal::ErrnoStatus(err, "write to stdin");
    return absl::OkStatus();
  }

 private:
  const posix_internal::UniqueFd fd_;
};

}  // namespace procsandbox::os_internal

#endif  // PROCSANDBOX_SRC_OS_PIPE_STDIN_H_
