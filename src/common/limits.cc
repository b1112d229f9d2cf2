#include "procsandbox/limits.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/quote.h"
#include "common/verify_checks.h"

namespace procsandbox {
namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
// Byte and count limits stay below 2^62 so that sums and doublings of them
// (peak + margin, soft + hard) cannot overflow int64_t.
constexpr int64_t kMaxCount = int64_t{1} << 62;
constexpr uint32_t kMinCpuWeight = 1;
constexpr uint32_t kMaxCpuWeight = 10000;

// --- ParseByteSize ---------------------------------------------------------

absl::Status ByteSizeError(absl::string_view text, absl::string_view cause) {
  return absl::InvalidArgumentError(
      absl::StrCat("parse byte size ", internal::Quote(text), ": ", cause));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The power of two a suffix stands for ("" and "B": 0, "K": 10, ... "E": 60),
// or nullopt for an unknown suffix. Case-insensitive; a unit letter may be
// followed by "i", "iB" or "B".
std::optional<int> SuffixShift(absl::string_view suffix) {
  if (suffix.empty() || absl::EqualsIgnoreCase(suffix, "B")) return 0;
  static constexpr absl::string_view kUnits = "KMGTPE";
  const std::size_t unit =
      kUnits.find(absl::ascii_toupper(static_cast<unsigned char>(suffix[0])));
  if (unit == absl::string_view::npos) return std::nullopt;
  const absl::string_view rest = suffix.substr(1);
  if (!rest.empty() && !absl::EqualsIgnoreCase(rest, "i") &&
      !absl::EqualsIgnoreCase(rest, "B") &&
      !absl::EqualsIgnoreCase(rest, "iB")) {
    return std::nullopt;
  }
  return static_cast<int>(unit + 1) * 10;
}

// floor(0.<digits> * 2^shift), exactly: the decimal fraction is doubled
// `shift` times digit by digit and the carries out of it are collected.
int64_t FractionTimesPowerOfTwo(absl::string_view digits, int shift) {
  std::vector<int> fraction;
  fraction.reserve(digits.size());
  for (char c : digits) fraction.push_back(c - '0');
  int64_t whole = 0;
  for (int i = 0; i < shift; ++i) {
    int carry = 0;
    for (std::size_t j = fraction.size(); j-- > 0;) {
      const int doubled = fraction[j] * 2 + carry;
      fraction[j] = doubled % 10;
      carry = doubled / 10;
    }
    whole = whole * 2 + carry;
  }
  return whole;
}

// --- FormatByteSize / FormatDuration ---------------------------------------

// `bytes` in the largest binary unit not above it, truncated to one decimal;
// `exact` tells whether nothing was cut off.
std::string FormatBytes(int64_t bytes, bool* exact) {
  static constexpr absl::string_view kUnits[] = {"B",   "KiB", "MiB", "GiB",
                                                 "TiB", "PiB", "EiB"};
  const char* sign = bytes < 0 ? "-" : "";
  // Magnitude as unsigned, so that INT64_MIN has one too.
  const uint64_t magnitude = bytes < 0
                                 ? uint64_t{0} - static_cast<uint64_t>(bytes)
                                 : static_cast<uint64_t>(bytes);
  int unit = 0;
  while (unit + 1 < 7 && magnitude >= (uint64_t{1} << (10 * (unit + 1)))) {
    ++unit;
  }
  const uint64_t divisor = uint64_t{1} << (10 * unit);
  const uint64_t whole = magnitude / divisor;
  const uint64_t remainder = magnitude % divisor;
  // remainder < divisor <= 2^60, so remainder * 10 fits.
  const uint64_t tenths = remainder * 10 / divisor;
  *exact = remainder * 10 % divisor == 0;
  if (tenths == 0) return absl::StrCat(sign, whole, " ", kUnits[unit]);
  return absl::StrCat(sign, whole, ".", tenths, " ", kUnits[unit]);
}

// `duration` in `unit`, truncated to one decimal ("1.5s", "12ms").
std::string WithTenths(absl::Duration duration, absl::Duration unit,
                       absl::string_view suffix, bool* exact) {
  absl::Duration remainder;
  const int64_t tenths = absl::IDivDuration(duration * 10, unit, &remainder);
  *exact = remainder == absl::ZeroDuration();
  if (tenths % 10 == 0) return absl::StrCat(tenths / 10, suffix);
  return absl::StrCat(tenths / 10, ".", tenths % 10, suffix);
}

// Two units, the smaller one truncated and dropped when zero ("2m30s", "1h").
std::string WithTwoUnits(absl::Duration duration, absl::Duration big,
                         absl::string_view big_suffix, absl::Duration small,
                         absl::string_view small_suffix, bool* exact) {
  absl::Duration rest;
  const int64_t bigs = absl::IDivDuration(duration, big, &rest);
  absl::Duration left;
  const int64_t smalls = absl::IDivDuration(rest, small, &left);
  *exact = left == absl::ZeroDuration();
  if (smalls == 0) return absl::StrCat(bigs, big_suffix);
  return absl::StrCat(bigs, big_suffix, smalls, small_suffix);
}

std::string FormatDurationImpl(absl::Duration duration, bool* exact) {
  *exact = true;
  if (duration == absl::InfiniteDuration()) return "inf";
  if (duration == -absl::InfiniteDuration()) return "-inf";
  if (duration < absl::ZeroDuration()) {
    if (-duration == absl::InfiniteDuration()) {
      // The smallest Duration, -2^63 s, has no positive twin: -duration
      // overflows to inf. 2^63 s and 2^63 - 1 s read the same in hours and
      // minutes (2562047788015215h30m, then 8 s or 7 s).
      *exact = false;
      bool unused = false;
      return absl::StrCat(
          "-", FormatDurationImpl(-(duration + absl::Seconds(1)), &unused));
    }
    return absl::StrCat("-", FormatDurationImpl(-duration, exact));
  }
  if (duration == absl::ZeroDuration()) return "0s";
  if (duration < absl::Microseconds(1)) {
    // absl keeps quarter nanoseconds; they are below anything we measure.
    *exact = duration == absl::Nanoseconds(absl::ToInt64Nanoseconds(duration));
    return absl::StrCat(absl::ToInt64Nanoseconds(duration), "ns");
  }
  if (duration < absl::Milliseconds(1)) {
    return WithTenths(duration, absl::Microseconds(1), "us", exact);
  }
  if (duration < absl::Seconds(1)) {
    return WithTenths(duration, absl::Milliseconds(1), "ms", exact);
  }
  if (duration < absl::Minutes(1)) {
    return WithTenths(duration, absl::Seconds(1), "s", exact);
  }
  if (duration < absl::Hours(1)) {
    return WithTwoUnits(duration, absl::Minutes(1), "m", absl::Seconds(1), "s",
                        exact);
  }
  return WithTwoUnits(duration, absl::Hours(1), "h", absl::Minutes(1), "m",
                      exact);
}

// In ToString(Limits) a value must read back as itself: the short forms
// where they are exact, else every digit.
std::string ExactBytes(int64_t bytes) {
  bool exact = false;
  std::string text = FormatBytes(bytes, &exact);
  return exact ? text : absl::StrCat(bytes, " B");
}

std::string ExactDuration(absl::Duration duration) {
  // absl::FormatDuration prints "-inf" for it too (see FormatDurationImpl).
  if (duration != -absl::InfiniteDuration() &&
      duration < absl::ZeroDuration() &&
      -duration == absl::InfiniteDuration()) {
    return "-2562047788015215h30m8s";
  }
  bool exact = false;
  std::string text = FormatDurationImpl(duration, &exact);
  return exact ? text : absl::FormatDuration(duration);
}

// --- ValidateLimits ---------------------------------------------------------

absl::Status LimitError(LimitKind kind, absl::string_view value,
                        absl::string_view cause) {
  return absl::InvalidArgumentError(
      absl::StrCat("limit ", LimitKindName(kind), ": ", value, " ", cause));
}

absl::Status ValidateDurationLimit(LimitKind kind,
                                   const std::optional<absl::Duration>& value) {
  if (!value.has_value()) return absl::OkStatus();
  if (*value == absl::InfiniteDuration() ||
      *value == -absl::InfiniteDuration()) {
    return LimitError(kind, ExactDuration(*value), "is not finite");
  }
  if (*value <= absl::ZeroDuration()) {
    return LimitError(kind, ExactDuration(*value), "is not positive");
  }
  return absl::OkStatus();
}

absl::Status ValidateCountLimit(LimitKind kind,
                                const std::optional<int64_t>& value) {
  if (!value.has_value()) return absl::OkStatus();
  if (*value <= 0) {
    return LimitError(kind, absl::StrCat(*value), "is not positive");
  }
  if (*value >= kMaxCount) {
    return LimitError(kind, absl::StrCat(*value), "is not below 2^62");
  }
  return absl::OkStatus();
}

}  // namespace

absl::string_view LimitKindName(LimitKind kind) {
  switch (kind) {
    case LimitKind::kWallTime:
      return "wall_time";
    case LimitKind::kCpuTime:
      return "cpu_time";
    case LimitKind::kMemory:
      return "memory_bytes";
    case LimitKind::kFileSize:
      return "file_size_bytes";
    case LimitKind::kOpenFiles:
      return "open_files";
    case LimitKind::kProcesses:
      return "processes";
    case LimitKind::kOutput:
      return "output_bytes";
    case LimitKind::kCpuWeight:
      return "cpu_weight";
  }
  return "unknown_limit";
}

bool Limits::empty() const {
  for (LimitKind kind : kAllLimitKinds) {
    if (has(kind)) return false;
  }
  return true;
}

bool Limits::has(LimitKind kind) const {
  switch (kind) {
    case LimitKind::kWallTime:
      return wall_time.has_value();
    case LimitKind::kCpuTime:
      return cpu_time.has_value();
    case LimitKind::kMemory:
      return memory_bytes.has_value();
    case LimitKind::kFileSize:
      return file_size_bytes.has_value();
    case LimitKind::kOpenFiles:
      return open_files.has_value();
    case LimitKind::kProcesses:
      return processes.has_value();
    case LimitKind::kOutput:
      return output_bytes.has_value();
    case LimitKind::kCpuWeight:
      return cpu_weight.has_value();
  }
  return false;
}

bool operator==(const Limits& a, const Limits& b) {
  return a.wall_time == b.wall_time && a.cpu_time == b.cpu_time &&
         a.memory_bytes == b.memory_bytes &&
         a.file_size_bytes == b.file_size_bytes &&
         a.open_files == b.open_files && a.processes == b.processes &&
         a.output_bytes == b.output_bytes && a.cpu_weight == b.cpu_weight;
}

Limits MergeLimits(const Limits& command, const Limits& defaults) {
  Limits merged;
  merged.wall_time = command.wall_time ? command.wall_time : defaults.wall_time;
  merged.cpu_time = command.cpu_time ? command.cpu_time : defaults.cpu_time;
  merged.memory_bytes =
      command.memory_bytes ? command.memory_bytes : defaults.memory_bytes;
  merged.file_size_bytes = command.file_size_bytes ? command.file_size_bytes
                                                   : defaults.file_size_bytes;
  merged.open_files =
      command.open_files ? command.open_files : defaults.open_files;
  merged.processes = command.processes ? command.processes : defaults.processes;
  merged.output_bytes =
      command.output_bytes ? command.output_bytes : defaults.output_bytes;
  merged.cpu_weight =
      command.cpu_weight ? command.cpu_weight : defaults.cpu_weight;
  return merged;
}

absl::Status ValidateLimits(const Limits& limits) {
  if (absl::Status s =
          ValidateDurationLimit(LimitKind::kWallTime, limits.wall_time);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          ValidateDurationLimit(LimitKind::kCpuTime, limits.cpu_time);
      !s.ok()) {
    return s;
  }
  const std::pair<LimitKind, const std::optional<int64_t>*> counts[] = {
      {LimitKind::kMemory, &limits.memory_bytes},
      {LimitKind::kFileSize, &limits.file_size_bytes},
      {LimitKind::kOpenFiles, &limits.open_files},
      {LimitKind::kProcesses, &limits.processes},
      {LimitKind::kOutput, &limits.output_bytes},
  };
  for (const auto& [kind, value] : counts) {
    if (absl::Status s = ValidateCountLimit(kind, *value); !s.ok()) return s;
  }
  if (limits.cpu_weight.has_value() && (*limits.cpu_weight < kMinCpuWeight ||
                                        *limits.cpu_weight > kMaxCpuWeight)) {
    return LimitError(
        LimitKind::kCpuWeight, absl::StrCat(*limits.cpu_weight),
        absl::StrCat("is not in ", kMinCpuWeight, "..", kMaxCpuWeight));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ParseByteSize(absl::string_view text) {
  if (text.empty()) return ByteSizeError(text, "empty");
  if (text[0] == '-' || text[0] == '+') {
    return ByteSizeError(text, "a sign is not allowed");
  }
  for (char c : text) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      return ByteSizeError(text, "spaces are not allowed");
    }
  }
  // Integer part, exactly, with an overflow check on every digit.
  std::size_t pos = 0;
  int64_t whole = 0;
  bool too_large = false;
  while (pos < text.size() && IsDigit(text[pos])) {
    const int digit = text[pos] - '0';
    if (whole > (kInt64Max - digit) / 10) too_large = true;
    if (!too_large) whole = whole * 10 + digit;
    ++pos;
  }
  if (pos == 0) return ByteSizeError(text, "expected a number");
  absl::string_view fraction;
  if (pos < text.size() && text[pos] == '.') {
    const std::size_t start = ++pos;
    while (pos < text.size() && IsDigit(text[pos])) ++pos;
    fraction = text.substr(start, pos - start);
    if (fraction.empty()) {
      return ByteSizeError(text, "expected digits after '.'");
    }
  }
  const absl::string_view suffix = text.substr(pos);
  const std::optional<int> shift = SuffixShift(suffix);
  if (!shift.has_value()) {
    return ByteSizeError(
        text, absl::StrCat("unknown suffix ", internal::Quote(suffix),
                           " (use B, K, M, G, T, P or E)"));
  }
  const int64_t fraction_bytes = FractionTimesPowerOfTwo(fraction, *shift);
  // whole * 2^shift + fraction_bytes <= INT64_MAX.
  if (too_large || whole > ((kInt64Max - fraction_bytes) >> *shift)) {
    return ByteSizeError(text,
                         absl::StrCat("larger than ", kInt64Max, " bytes"));
  }
  return whole * (int64_t{1} << *shift) + fraction_bytes;
}

std::string FormatByteSize(int64_t bytes) {
  bool exact = false;
  return FormatBytes(bytes, &exact);
}

std::string FormatDuration(absl::Duration duration) {
  bool exact = false;
  return FormatDurationImpl(duration, &exact);
}

std::string ToString(const Limits& limits) {
  std::vector<std::string> parts;
  auto duration = [&](LimitKind kind, const std::optional<absl::Duration>& v) {
    if (v)
      parts.push_back(
          absl::StrCat(LimitKindName(kind), "=", ExactDuration(*v)));
  };
  auto bytes = [&](LimitKind kind, const std::optional<int64_t>& v) {
    if (v)
      parts.push_back(absl::StrCat(LimitKindName(kind), "=", ExactBytes(*v)));
  };
  auto count = [&](LimitKind kind, const auto& v) {
    if (v) parts.push_back(absl::StrCat(LimitKindName(kind), "=", *v));
  };
  duration(LimitKind::kWallTime, limits.wall_time);
  duration(LimitKind::kCpuTime, limits.cpu_time);
  bytes(LimitKind::kMemory, limits.memory_bytes);
  bytes(LimitKind::kFileSize, limits.file_size_bytes);
  count(LimitKind::kOpenFiles, limits.open_files);
  count(LimitKind::kProcesses, limits.processes);
  bytes(LimitKind::kOutput, limits.output_bytes);
  count(LimitKind::kCpuWeight, limits.cpu_weight);
  return absl::StrCat("{", absl::StrJoin(parts, ", "), "}");
}

}  // namespace procsandbox

namespace procsandbox::internal {

std::string LimitValueText(const Limits& limits, LimitKind kind) {
  if (!limits.has(kind)) return "unlimited";
  switch (kind) {
    case LimitKind::kWallTime:
      return ExactDuration(*limits.wall_time);
    case LimitKind::kCpuTime:
      return ExactDuration(*limits.cpu_time);
    case LimitKind::kMemory:
      return ExactBytes(*limits.memory_bytes);
    case LimitKind::kFileSize:
      return ExactBytes(*limits.file_size_bytes);
    case LimitKind::kOutput:
      return ExactBytes(*limits.output_bytes);
    case LimitKind::kOpenFiles:
      return absl::StrCat(*limits.open_files);
    case LimitKind::kProcesses:
      return absl::StrCat(*limits.processes);
    case LimitKind::kCpuWeight:
      return absl::StrCat(*limits.cpu_weight);
  }
  return "unlimited";
}

}  // namespace procsandbox::internal
