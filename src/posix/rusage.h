// A reaped child's rusage as the figures of an Outcome.
#ifndef PROCSANDBOX_SRC_POSIX_RUSAGE_H_
#define PROCSANDBOX_SRC_POSIX_RUSAGE_H_

#include <sys/resource.h>
#include <sys/time.h>

#include <cstdint>

#include "absl/time/time.h"

namespace procsandbox::posix_internal {

inline absl::Duration TimevalToDuration(const struct timeval& tv) {
  return absl::Seconds(tv.tv_sec) + absl::Microseconds(tv.tv_usec);
}

struct RusageFigures {
  absl::Duration user_time;
  absl::Duration system_time;
  int64_t peak_memory_bytes = 0;
};

inline RusageFigures FiguresOf(const struct rusage& ru) {
  RusageFigures f;
  f.user_time = TimevalToDuration(ru.ru_utime);
  f.system_time = TimevalToDuration(ru.ru_stime);
#if defined(__APPLE__)
  f.peak_memory_bytes = int64_t{ru.ru_maxrss};  // bytes on macOS
#else
  f.peak_memory_bytes = int64_t{ru.ru_maxrss} * 1024;  // KiB (Linux, BSDs)
#endif
  return f;
}

}  // namespace procsandbox::posix_internal

#endif  // PROCSANDBOX_SRC_POSIX_RUSAGE_H_
