#include "result_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "posix/errno_status.h"
#include "procsandbox/procsandbox.h"
#include "report.h"

namespace procsandbox::cli {

namespace {

// The Status of a failed call `what`: its errno, or the signal that
// interrupted it on purpose.
absl::Status Failure(int err, const ResultFile::StopSignal& stop,
                     absl::string_view what) {
  const int sig = err == EINTR && stop ? stop() : 0;
  if (sig != 0) {
    return absl::UnavailableError(
        absl::StrCat(what, ": interrupted by ", SignalName(sig)));
  }
  return posix_internal::ErrnoStatus(err, what);
}

bool Retry(int err, const ResultFile::StopSignal& stop) {
  return err == EINTR && !(stop && stop() != 0);
}

}  // namespace

ResultFile::~ResultFile() {
  if (owned_) close(fd_);
}

absl::Status ResultFile::Open(const std::string& path, StopSignal stop) {
  stop_ = std::move(stop);
  if (path.empty()) return absl::OkStatus();
  if (path == "-") {
    fd_ = 1;
    name_ = "stdout";
    return absl::OkStatus();
  }
  name_ = absl::StrCat("\"", path, "\"");
  int fd = -1;
  do {
    fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  } while (fd < 0 && Retry(errno, stop_));
  if (fd < 0) {
    return Failure(errno, stop_, absl::StrCat("open the result file ", name_));
  }
  fd_ = fd;
  owned_ = true;
  return absl::OkStatus();
}

absl::Status ResultFile::Write(const nlohmann::ordered_json& json) {
  if (fd_ < 0) return absl::OkStatus();
  if (owned_) {
    // From the start of the file, over whatever the program wrote in it
    // meanwhile (a FIFO or a device has no offset: nothing to do).
    struct stat st;
    if (fstat(fd_, &st) == 0 && S_ISREG(st.st_mode)) {
      (void)ftruncate(fd_, 0);
      (void)lseek(fd_, 0, SEEK_SET);
    }
  }
  return WriteAll(fd_, JsonText(json), absl::StrCat("the result to ", name_),
                  stop_);
}

absl::Status WriteAll(int fd, absl::string_view text, absl::string_view what,
                      const ResultFile::StopSignal& stop) {
  while (!text.empty()) {
    const ssize_t n = write(fd, text.data(), text.size());
    if (n < 0 && Retry(errno, stop)) continue;
    if (n < 0) return Failure(errno, stop, absl::StrCat("write ", what));
    if (n == 0) {
      return absl::UnavailableError(
          absl::StrCat("write ", what, ": wrote 0 bytes"));
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace procsandbox::cli
