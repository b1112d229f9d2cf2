#include "procsandbox/outcome.h"

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/exception_codes.h"
#include "procsandbox/limits.h"

namespace procsandbox {
namespace {

// How the program ended when the library stopped it: by the signal, or by
// exiting on its own after SIGTERM.
std::string Ending(const Outcome& outcome) {
  if (outcome.exception_code != 0) return ExceptionName(outcome.exception_code);
  if (outcome.signal != 0) return SignalName(outcome.signal);
  return absl::StrCat("exited ", outcome.exit_code);
}

// " 64 MiB" / " 1s" for a set limit, "" for an unset one.
std::string LimitValue(const std::optional<int64_t>& bytes) {
  return bytes.has_value() ? absl::StrCat(" ", FormatByteSize(*bytes)) : "";
}
std::string LimitValue(const std::optional<absl::Duration>& duration) {
  return duration.has_value()
             ? absl::StrCat(" ", procsandbox::FormatDuration(*duration))
             : "";
}

// "killed: memory limit 64 MiB exceeded after 410ms".
std::string LimitExceeded(absl::string_view verb, absl::string_view limit,
                          const std::string& value, const Outcome& outcome) {
  return absl::StrCat(verb, ": ", limit, " limit", value, " exceeded after ",
                      procsandbox::FormatDuration(outcome.wall_time));
}

}  // namespace

absl::string_view ExitReasonName(ExitReason reason) {
  switch (reason) {
    case ExitReason::kExited:
      return "exited";
    case ExitReason::kSignaled:
      return "signaled";
    case ExitReason::kTimedOut:
      return "timed_out";
    case ExitReason::kCpuTimeExceeded:
      return "cpu_time_exceeded";
    case ExitReason::kMemoryExceeded:
      return "memory_exceeded";
    case ExitReason::kFileSizeExceeded:
      return "file_size_exceeded";
    case ExitReason::kOutputExceeded:
      return "output_exceeded";
    case ExitReason::kCancelled:
      return "cancelled";
    case ExitReason::kSeccompViolation:
      return "seccomp_violation";
    case ExitReason::kNodeFailed:
      return "node_failed";
    case ExitReason::kPreempted:
      return "preempted";
  }
  return "unknown";
}

std::string ExceptionName(uint32_t code) {
  const internal::ExceptionExit* exit = internal::FindExceptionExit(code);
  if (exit == nullptr) return absl::StrFormat("exception 0x%08X", code);
  return absl::StrFormat("%s (0x%08X)", exit->name, code);
}

bool operator==(const Outcome& a, const Outcome& b) {
  return a.reason == b.reason && a.exit_code == b.exit_code &&
         a.signal == b.signal && a.exception_code == b.exception_code &&
         a.syscall == b.syscall && a.syscall_name == b.syscall_name &&
         a.wall_time == b.wall_time && a.user_time == b.user_time &&
         a.system_time == b.system_time &&
         a.peak_memory_bytes == b.peak_memory_bytes && a.limits == b.limits &&
         a.samples == b.samples;
}

bool operator==(const ResourceUsage& a, const ResourceUsage& b) {
  return a.wall_time == b.wall_time && a.user_time == b.user_time &&
         a.system_time == b.system_time && a.memory_bytes == b.memory_bytes &&
         a.peak_memory_bytes == b.peak_memory_bytes &&
         a.processes == b.processes && a.output_bytes == b.output_bytes &&
         a.forks_refused == b.forks_refused;
}

std::string ToString(const Outcome& outcome) {
  const std::string wall = procsandbox::FormatDuration(outcome.wall_time);
  const Limits& limits = outcome.limits;
  switch (outcome.reason) {
    case ExitReason::kExited:
      return absl::StrCat("exited ", outcome.exit_code, " in ", wall);
    case ExitReason::kSignaled:
      return absl::StrCat("killed by ", Ending(outcome), " after ", wall);
    case ExitReason::kTimedOut: {
      std::string text = absl::StrCat("timed out after ", wall, " (");
      if (limits.wall_time.has_value()) {
        absl::StrAppend(&text, "limit ",
                        procsandbox::FormatDuration(*limits.wall_time), ", ");
      }
      return absl::StrCat(text, Ending(outcome), ")");
    }
    case ExitReason::kCpuTimeExceeded: {
      std::string text = LimitExceeded("killed", "cpu time",
                                       LimitValue(limits.cpu_time), outcome);
      const absl::Duration cpu = outcome.user_time + outcome.system_time;
      if (cpu > absl::ZeroDuration()) {
        absl::StrAppend(&text, " (cpu ", procsandbox::FormatDuration(cpu), ")");
      }
      return text;
    }
    case ExitReason::kMemoryExceeded: {
      std::string text = LimitExceeded(
          "killed", "memory", LimitValue(limits.memory_bytes), outcome);
      if (outcome.peak_memory_bytes > 0) {
        absl::StrAppend(&text, " (peak ",
                        FormatByteSize(outcome.peak_memory_bytes), ")");
      }
      return text;
    }
    case ExitReason::kFileSizeExceeded:
      return LimitExceeded("killed", "file size",
                           LimitValue(limits.file_size_bytes), outcome);
    case ExitReason::kOutputExceeded:
      return LimitExceeded("stopped", "output", LimitValue(limits.output_bytes),
                           outcome);
    case ExitReason::kCancelled:
      return absl::StrCat("cancelled after ", wall, " (", Ending(outcome), ")");
    case ExitReason::kSeccompViolation: {
      std::string call = outcome.syscall_name.empty()
                             ? std::string("a denied call")
                             : outcome.syscall_name;
      if (outcome.syscall >= 0)
        absl::StrAppend(&call, " (", outcome.syscall, ")");
      return absl::StrCat("killed by seccomp: ", call, " after ", wall);
    }
    case ExitReason::kNodeFailed:
      return absl::StrCat("ended by a node failure after ", wall, " (",
                          Ending(outcome), ")");
    case ExitReason::kPreempted:
      return absl::StrCat("preempted after ", wall, " (", Ending(outcome), ")");
  }
  return absl::StrCat("ended (", ExitReasonName(outcome.reason), ") after ",
                      wall);
}

std::string ToString(const ResourceUsage& usage) {
  return absl::StrCat(
      "{wall_time=", procsandbox::FormatDuration(usage.wall_time),
      ", user_time=", procsandbox::FormatDuration(usage.user_time),
      ", system_time=", procsandbox::FormatDuration(usage.system_time),
      ", memory_bytes=", FormatByteSize(usage.memory_bytes),
      ", peak_memory_bytes=", FormatByteSize(usage.peak_memory_bytes),
      ", processes=", usage.processes,
      ", output_bytes=", FormatByteSize(usage.output_bytes),
      usage.forks_refused == 0
          ? ""
          : absl::StrCat(", forks_refused=", usage.forks_refused),
      "}");
}

}  // namespace procsandbox
