#include "status_line.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace procsandbox::cli {
namespace {

constexpr char kEraseLine[] = "\r\033[K";

}  // namespace

std::string StatusText(const UsageSample& sample,
                       std::optional<int64_t> memory_limit, int columns) {
  std::string text =
      absl::StrFormat("procsandbox: %s  cpu %.0f%%  mem %s",
                      procsandbox::FormatDuration(sample.elapsed),
                      sample.cpu_percent, FormatByteSize(sample.memory_bytes));
  if (memory_limit.has_value()) {
    absl::StrAppend(&text, " / ", FormatByteSize(*memory_limit));
  }
  absl::StrAppend(&text, "  ", sample.processes,
                  sample.processes == 1 ? " process" : " processes");
  if (columns > 1 && text.size() >= static_cast<std::size_t>(columns)) {
    text.resize(static_cast<std::size_t>(columns) - 1);
  }
  return text;
}

StatusLine::StatusLine(int fd, std::optional<int64_t> memory_limit)
    : fd_(fd), memory_limit_(memory_limit) {
  // Its own open file description, so that O_NONBLOCK touches nobody else
  // sharing the terminal (the program writes to it too).
  const std::string self = absl::StrCat("/proc/self/fd/", fd);
  const int own =
      open(self.c_str(), O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (own >= 0) {
    fd_ = own;
    owned_ = true;
  }
}

StatusLine::~StatusLine() {
  Clear();
  if (owned_) close(fd_);
}

void StatusLine::Arm() {
  absl::MutexLock lock(&mu_);
  armed_ = true;
}

void StatusLine::Show(const UsageSample& sample) {
  struct winsize size = {};
  const int columns =
      ioctl(fd_, TIOCGWINSZ, &size) == 0 ? static_cast<int>(size.ws_col) : 0;
  const std::string line =
      absl::StrCat(kEraseLine, StatusText(sample, memory_limit_, columns));
  absl::MutexLock lock(&mu_);
  if (!armed_ || closed_) return;
  WriteLocked(line);
  shown_ = true;
}

void StatusLine::Interrupt() {
  absl::MutexLock lock(&mu_);
  if (!shown_ || closed_) return;
  WriteLocked(kEraseLine);
  shown_ = false;
}

void StatusLine::Clear() {
  absl::MutexLock lock(&mu_);
  if (closed_) return;
  closed_ = true;
  if (shown_) WriteLocked(kEraseLine);
}

void StatusLine::WriteLocked(const std::string& bytes) {
  absl::string_view rest = bytes;
  int waits = 0;
  while (!rest.empty()) {
    const ssize_t n = write(fd_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN && waits++ < 10) {
      // A terminal that takes nothing (^S) gets a moment, not the run.
      struct pollfd room = {fd_, POLLOUT, 0};
      (void)poll(&room, 1, 10);
      continue;
    }
    if (n <= 0) return;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace procsandbox::cli
