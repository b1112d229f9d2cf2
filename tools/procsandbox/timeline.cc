#include "timeline.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "posix/errno_status.h"
#include "report.h"

namespace procsandbox::cli {
namespace {

nlohmann::ordered_json SampleRecord(const UsageSample& sample) {
  nlohmann::ordered_json record = {{"type", "sample"}};
  record.update(SampleJson(sample));
  return record;
}

}  // namespace

TimelineFile::~TimelineFile() {
  if (fd_ >= 0) close(fd_);
}

absl::Status TimelineFile::Open(const std::string& path,
                                const ResultFile::StopSignal& stop) {
  if (path.empty()) return absl::OkStatus();
  name_ = absl::StrCat("\"", path, "\"");
  int fd = -1;
  do {
    fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  } while (fd < 0 && errno == EINTR && !(stop && stop() != 0));
  if (fd < 0) {
    const int error = errno;
    if (error == EINTR && stop && stop() != 0) {
      return absl::UnavailableError(absl::StrCat("open the timeline file ",
                                                 name_, ": interrupted by ",
                                                 SignalName(stop())));
    }
    return posix_internal::ErrnoStatus(
        error, absl::StrCat("open the timeline file ", name_));
  }
  struct stat st;
  if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
    const int flags = fcntl(fd, F_GETFL);
    if (flags >= 0) (void)fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  }
  fd_ = fd;
  return absl::OkStatus();
}

void TimelineFile::WriteLocked(const nlohmann::ordered_json& record) {
  if (!error_.ok()) return;
  // One line, one write: below PIPE_BUF a pipe takes it whole or not at
  // all, so a reader never sees half a record.
  const std::string line =
      record.dump(-1, ' ', /*ensure_ascii=*/false,
                  nlohmann::ordered_json::error_handler_t::replace) +
      "\n";
  absl::string_view rest = line;
  while (!rest.empty()) {
    const ssize_t n = write(fd_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN && rest.size() == line.size()) {
      ++dropped_;
      return;
    }
    if (n < 0 && errno == EAGAIN) {
      // The rest of a record above PIPE_BUF: a little patience, never a
      // wait on a reader that stopped.
      struct pollfd room = {fd_, POLLOUT, 0};
      if (poll(&room, 1, 1000) > 0) continue;
      error_ = absl::UnavailableError(absl::StrCat(
          "write the timeline to ", name_, ": the reader stopped reading"));
      return;
    }
    if (n <= 0) {
      error_ = posix_internal::ErrnoStatus(
          n < 0 ? errno : EIO, absl::StrCat("write the timeline to ", name_));
      return;
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

void TimelineFile::Start(const Command& command, std::optional<Pid> pid) {
  if (fd_ < 0) return;
  absl::MutexLock lock(&mu_);
  if (started_) return;
  nlohmann::ordered_json start;
  start["type"] = "start";
  start["version"] = 1;
  start["time"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                   absl::UTCTimeZone());
  start["program"] = command.program;
  start["pid"] = pid.has_value() ? nlohmann::ordered_json(*pid)
                                 : nlohmann::ordered_json(nullptr);
  start["interval_ms"] = absl::ToInt64Milliseconds(command.monitor.interval);
  start["limits"] = LimitsJson(command.limits);
  WriteLocked(start);
  started_ = true;
  for (const UsageSample& sample : early_) WriteLocked(SampleRecord(sample));
  early_.clear();
}

void TimelineFile::Sample(const UsageSample& sample) {
  if (fd_ < 0) return;
  absl::MutexLock lock(&mu_);
  if (ended_) return;
  if (!started_) {
    early_.push_back(sample);
    return;
  }
  WriteLocked(SampleRecord(sample));
}

void TimelineFile::End(const nlohmann::ordered_json& result) {
  if (fd_ < 0) return;
  absl::MutexLock lock(&mu_);
  if (ended_) return;
  ended_ = true;
  nlohmann::ordered_json end = {{"type", "end"}};
  for (const char* field :
       {"status", "exit_code", "signal", "signal_name", "wall_time_s",
        "user_time_s", "system_time_s", "peak_memory_bytes", "error"}) {
    if (result.contains(field)) end[field] = result[field];
  }
  WriteLocked(end);
}

absl::Status TimelineFile::status() const {
  absl::MutexLock lock(&mu_);
  if (!error_.ok() || dropped_ == 0) return error_;
  return absl::UnavailableError(
      absl::StrCat("write the timeline to ", name_, ": ", dropped_,
                   dropped_ == 1 ? " record" : " records",
                   " dropped (the reader did not keep up)"));
}

}  // namespace procsandbox::cli
