// Small helpers shared by the OS process's files.
#ifndef PROCSANDBOX_SRC_LINUX_OS_PROCESS_UTIL_H_
#define PROCSANDBOX_SRC_LINUX_OS_PROCESS_UTIL_H_

#include <sys/resource.h>
#include <sys/time.h>

#include <cstdint>

#include "absl/time/time.h"
#include "procsandbox/outcome.h"

namespace procsandbox::linux_internal {

inline absl::Duration NanosToDuration(int64_t ns) {
  return absl::Nanoseconds(ns);
}

inline absl::Duration TimevalToDuration(const struct timeval& tv) {
  return absl::Seconds(tv.tv_sec) + absl::Microseconds(tv.tv_usec);
}

// CPU times and peak memory of a reaped child's rusage.
inline void ApplyRusage(const struct rusage& ru, absl::Duration& user,
                        absl::Duration& system, int64_t& peak_memory_bytes) {
  user = TimevalToDuration(ru.ru_utime);
  system = TimevalToDuration(ru.ru_stime);
  peak_memory_bytes = int64_t{ru.ru_maxrss} * 1024;  // ru_maxrss is in KiB
}

// Live figures of a running child from /proc (CPU time from stat, memory
// from status); best effort.
void ReadProcUsage(pid_t pid, ResourceUsage& usage);

}  // namespace procsandbox::linux_internal

#endif  // PROCSANDBOX_SRC_LINUX_OS_PROCESS_UTIL_H_
