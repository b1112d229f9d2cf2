// procsandbox/limits.h: resource limits for one process (and its descendants).
//
// A `Limits` is a plain value: every field is optional, and an unset field
// means "no limit". A command's limits are merged over its manager's defaults
// field by field (`MergeLimits`), so a manager can cap everything it runs and
// a command can tighten or relax one limit.
//
// Example:
//   procsandbox::Limits limits;
//   limits.wall_time = absl::Seconds(10);
//   limits.memory_bytes = procsandbox::ParseByteSize("256M").value();
//   limits.processes = 32;
//   if (absl::Status s = procsandbox::ValidateLimits(limits); !s.ok()) { ... }
//
// Which mechanism enforces each limit depends on the manager and the host;
// `Manager::capabilities()` and `Process::enforcement()` report it.
#ifndef PROCSANDBOX_LIMITS_H_
#define PROCSANDBOX_LIMITS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "procsandbox/export.h"
#include "procsandbox/format.h"

namespace procsandbox {

// Names one field of `Limits`, for enforcement reports and error messages.
enum class LimitKind {
  kWallTime,
  kCpuTime,
  kMemory,
  kFileSize,
  kOpenFiles,
  kProcesses,
  kOutput,
  kCpuWeight,
};

// Every LimitKind, in declaration order.
inline constexpr LimitKind kAllLimitKinds[] = {
    LimitKind::kWallTime, LimitKind::kCpuTime,   LimitKind::kMemory,
    LimitKind::kFileSize, LimitKind::kOpenFiles, LimitKind::kProcesses,
    LimitKind::kOutput,   LimitKind::kCpuWeight,
};

// The field's name as written in `Limits`: "wall_time", "memory_bytes", ...
PROCSANDBOX_EXPORT absl::string_view LimitKindName(LimitKind kind);

struct PROCSANDBOX_EXPORT Limits {
  // Wall-clock time from Start(). On expiry the process (group) gets SIGTERM,
  // then SIGKILL after `Command::kill_grace`; the outcome is kTimedOut.
  std::optional<absl::Duration> wall_time;
  // User + system CPU time. Exceeding it ends the process with
  // kCpuTimeExceeded.
  std::optional<absl::Duration> cpu_time;
  // Memory in bytes (cgroup memory.max / Job memory; RLIMIT_AS as a
  // fallback). An out-of-memory kill of any process of the tree is
  // kMemoryExceeded, also when the leader then exits by itself.
  std::optional<int64_t> memory_bytes;
  // Largest file the process may write (RLIMIT_FSIZE): kFileSizeExceeded.
  std::optional<int64_t> file_size_bytes;
  // Open descriptors per process (RLIMIT_NOFILE). Opening more fails with
  // EMFILE inside the program; it is not a cause of death.
  std::optional<int64_t> open_files;
  // Processes in the tree (cgroup pids.max / Job active processes). A fork
  // over it fails with EAGAIN inside the program.
  std::optional<int64_t> processes;
  // Bytes of stdout + stderr the library captures (Stdio::Capture and
  // Stdio::Lines). What happens at the cap is `Command::on_output_limit`.
  std::optional<int64_t> output_bytes;
  // Relative CPU share, 1..10000 (cgroup v2 cpu.weight scale; 100 = normal).
  std::optional<uint32_t> cpu_weight;

  // True when no field is set.
  bool empty() const;
  // True when the field for `kind` is set.
  bool has(LimitKind kind) const;

  friend PROCSANDBOX_EXPORT bool operator==(const Limits& a, const Limits& b);
  friend bool operator!=(const Limits& a, const Limits& b) { return !(a == b); }
};

// The limits a process runs under: each field of `command` where it is set,
// else the field of `defaults`.
PROCSANDBOX_EXPORT Limits MergeLimits(const Limits& command,
                                      const Limits& defaults);

// OK, or InvalidArgument naming the first field whose value is out of range:
// durations must be positive and finite, byte and count limits positive and
// below 2^62, cpu_weight in 1..10000.
PROCSANDBOX_EXPORT absl::Status ValidateLimits(const Limits& limits);

// Parses a byte size: a non-negative decimal number with an optional binary
// suffix K, M, G, T, P, E (powers of 1024; "KiB", "KB" and "k" also
// accepted) or B: what FormatByteSize writes reads back, without its space.
// "4096" -> 4096, "64M" -> 67108864, "1.5G" -> 1610612736. A fraction is exact
// and rounded down to whole bytes ("0.1K" -> 102). No spaces anywhere
// (" 5", "5 M" are errors), no exponent; "0" is 0.
// InvalidArgument naming the text for empty input, a sign, a space, an
// unknown suffix, or a value that does not fit in int64_t.
PROCSANDBOX_EXPORT absl::StatusOr<int64_t> ParseByteSize(
    absl::string_view text);

// Formats a byte count for people: "512 B", "64 MiB", "1.5 GiB": the largest
// binary unit not above it, truncated to at most one decimal.
PROCSANDBOX_EXPORT std::string FormatByteSize(int64_t bytes);

// Formats a duration for people: "0s", "250us", "12ms", "1.5s", "2m30s",
// "1h2m", "inf": one decimal below a minute, two units above, truncated.
// (Call it qualified inside namespace procsandbox: argument-dependent lookup
// also finds absl::FormatDuration.)
PROCSANDBOX_EXPORT std::string FormatDuration(absl::Duration duration);

// "{wall_time=10s, memory_bytes=64 MiB}", or "{}" for no limits. Values the
// short forms above would round are printed exactly ("1100 B", "1.25s").
PROCSANDBOX_EXPORT std::string ToString(const Limits& limits);
inline std::string ToString(LimitKind kind) {
  return std::string(LimitKindName(kind));
}

}  // namespace procsandbox

PROCSANDBOX_FORMATTER(procsandbox::Limits)
PROCSANDBOX_FORMATTER(procsandbox::LimitKind)

#endif  // PROCSANDBOX_LIMITS_H_
