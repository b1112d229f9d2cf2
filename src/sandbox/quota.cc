// Quota policies checked, the QuotaExceeded payload, and the texts of the
// quota types.
#include "sandbox/quota.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"
#include "procsandbox/limits.h"

namespace procsandbox {
namespace {

constexpr std::size_t kMaxKeyBytes = 256;
constexpr absl::Duration kMaxWindow = absl::Hours(24 * 366);

absl::Status QuotaError(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(
      fmt::format("sandbox policy {}: {}", field, why));
}

absl::Status CheckQuota(absl::string_view field, const Quota& q) {
  auto positive = [&](absl::string_view name,
                      const std::optional<int64_t>& v) -> absl::Status {
    if (v.has_value() && *v <= 0) {
      return QuotaError(fmt::format("{}.{}", field, name),
                        fmt::format("{} (must be at least 1, or unset)", *v));
    }
    return absl::OkStatus();
  };
  if (absl::Status s = positive("max_concurrent", q.max_concurrent); !s.ok()) {
    return s;
  }
  if (absl::Status s = positive("max_runs", q.max_runs); !s.ok()) return s;
  if (q.max_queued.has_value() && *q.max_queued < 0) {
    return QuotaError(
        fmt::format("{}.max_queued", field),
        fmt::format("{} (must be 0 or more, or unset)", *q.max_queued));
  }
  if (q.window <= absl::ZeroDuration() || q.window > kMaxWindow) {
    return QuotaError(
        fmt::format("{}.window", field),
        fmt::format("{} (must be more than 0 and at most 366 days)",
                    procsandbox::FormatDuration(q.window)));
  }
  return absl::OkStatus();
}

std::string Optional(const std::optional<int64_t>& v) {
  return v.has_value() ? fmt::to_string(*v) : std::string("-");
}

// Payload: "<kind>\n<max_concurrent>\n<max_queued>\n<max_runs>\n<window>\n
// <retry_after>\n<retry_at - Unix epoch>\n<key>": durations in
// absl::FormatDuration's exact form, "-" for unset (the key comes last and
// has no control character).
std::string Encode(const QuotaExceeded& q) {
  auto duration = [](const std::optional<absl::Duration>& d) {
    return d.has_value() ? absl::FormatDuration(*d) : std::string("-");
  };
  return fmt::format(
      "{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}", QuotaExceededKindName(q.kind),
      Optional(q.quota.max_concurrent), Optional(q.quota.max_queued),
      Optional(q.quota.max_runs), absl::FormatDuration(q.quota.window),
      duration(q.retry_after),
      duration(q.retry_at.has_value() ? std::optional<absl::Duration>(
                                            *q.retry_at - absl::UnixEpoch())
                                      : std::nullopt),
      q.key);
}

bool ParseDuration(absl::string_view in, std::optional<absl::Duration>& out) {
  if (in == "-") {
    out.reset();
    return true;
  }
  absl::Duration d;
  if (!absl::ParseDuration(in, &d)) return false;
  out = d;
  return true;
}

bool ParseOptional(absl::string_view in, std::optional<int64_t>& out) {
  if (in == "-") {
    out.reset();
    return true;
  }
  int64_t v = 0;
  if (!absl::SimpleAtoi(in, &v)) return false;
  out = v;
  return true;
}

std::optional<QuotaExceeded> Decode(absl::string_view in) {
  std::vector<absl::string_view> parts =
      absl::StrSplit(in, absl::MaxSplits('\n', 7));
  if (parts.size() != 8) return std::nullopt;
  QuotaExceeded q;
  if (parts[0] == "rate") {
    q.kind = QuotaExceeded::Kind::kRate;
  } else if (parts[0] == "concurrency") {
    q.kind = QuotaExceeded::Kind::kConcurrency;
  } else {
    return std::nullopt;
  }
  std::optional<absl::Duration> window, retry_at;
  if (!ParseOptional(parts[1], q.quota.max_concurrent) ||
      !ParseOptional(parts[2], q.quota.max_queued) ||
      !ParseOptional(parts[3], q.quota.max_runs) ||
      !ParseDuration(parts[4], window) || !window.has_value() ||
      !ParseDuration(parts[5], q.retry_after) ||
      !ParseDuration(parts[6], retry_at)) {
    return std::nullopt;
  }
  q.quota.window = *window;
  if (retry_at.has_value()) q.retry_at = absl::UnixEpoch() + *retry_at;
  q.key = std::string(parts[7]);
  return q;
}

}  // namespace

absl::Status ValidateQuotaPolicy(const QuotaPolicy& policy) {
  if (absl::Status s = CheckQuota("quota.default_quota", policy.default_quota);
      !s.ok()) {
    return s;
  }
  for (const auto& [key, quota] : policy.overrides) {
    if (absl::Status s =
            sandbox_internal::CheckQuotaKey("quota.overrides key", key);
        !s.ok()) {
      return s;
    }
    if (absl::Status s =
            CheckQuota(fmt::format("quota.overrides[\"{}\"]", key), quota);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::string_view QuotaExceededKindName(QuotaExceeded::Kind kind) {
  switch (kind) {
    case QuotaExceeded::Kind::kRate:
      return "rate";
    case QuotaExceeded::Kind::kConcurrency:
      return "concurrency";
  }
  return "unknown";
}

std::optional<QuotaExceeded> GetQuotaExceeded(const absl::Status& status) {
  auto payload = status.GetPayload(kQuotaExceededUrl);
  if (!payload.has_value()) return std::nullopt;
  return Decode(std::string(*payload));
}

std::string ToString(const Quota& quota) {
  std::vector<std::string> parts;
  if (quota.max_concurrent.has_value()) {
    parts.push_back(fmt::format("{} at once", *quota.max_concurrent));
  }
  if (quota.max_queued.has_value()) {
    parts.push_back(fmt::format("{} waiting", *quota.max_queued));
  }
  if (quota.max_runs.has_value()) {
    parts.push_back(fmt::format("{} per {}", *quota.max_runs,
                                procsandbox::FormatDuration(quota.window)));
  }
  if (parts.empty()) return "{no caps}";
  return fmt::format("{{{}}}", fmt::join(parts, ", "));
}

std::string ToString(const QuotaExceeded& exceeded) {
  if (exceeded.kind == QuotaExceeded::Kind::kConcurrency) {
    return fmt::format("quota of key {:?}: too many runs at once {}",
                       exceeded.key, exceeded.quota);
  }
  std::string text =
      fmt::format("quota of key {:?} used up {}", exceeded.key, exceeded.quota);
  if (exceeded.retry_after.has_value()) {
    text +=
        fmt::format("; retry after {}",
                    sandbox_internal::FormatRetryAfter(*exceeded.retry_after));
  }
  return text;
}

std::string ToString(const QuotaKeyStats& stats) {
  std::string text =
      fmt::format("key {:?} {}: {} running, {} queued", stats.key, stats.quota,
                  stats.running, stats.queued);
  if (stats.quota.max_runs.has_value()) {
    text += fmt::format(", {} used, {} remaining", stats.used, stats.remaining);
    if (stats.remaining == 0) {
      text +=
          fmt::format(", retry after {}",
                      sandbox_internal::FormatRetryAfter(stats.retry_after));
    }
  }
  if (stats.rejected > 0) text += fmt::format(", {} rejected", stats.rejected);
  return text;
}

namespace sandbox_internal {

bool IsValidQuotaKey(absl::string_view key) {
  if (key.empty() || key.size() > kMaxKeyBytes) return false;
  for (char c : key) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

absl::Status CheckQuotaKey(absl::string_view field, absl::string_view key) {
  if (IsValidQuotaKey(key)) return absl::OkStatus();
  // An invalid key is shown escaped (it may hold control characters meant
  // for a terminal or a log), and cut.
  if (key.empty()) {
    return absl::InvalidArgumentError(fmt::format("{} is empty", field));
  }
  if (key.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(
        fmt::format("{} {:?}... is {} bytes (at most {})", field,
                    std::string(key.substr(0, 32)), key.size(), kMaxKeyBytes));
  }
  for (char c : key) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return absl::InvalidArgumentError(
          fmt::format("{} {:?} has a control character (byte {:#04x})", field,
                      std::string(key), u));
    }
  }
  return absl::OkStatus();
}

std::string FormatRetryAfter(absl::Duration d) {
  // Rounded up to what is shown (seconds; minutes from an hour on, as the
  // text then has no seconds): a caller retrying after it is allowed.
  const absl::Duration unit = d >= absl::Hours(1)     ? absl::Minutes(1)
                              : d >= absl::Seconds(1) ? absl::Seconds(1)
                                                      : absl::Milliseconds(1);
  return procsandbox::FormatDuration(absl::Ceil(d, unit));
}

void SetQuotaExceeded(absl::Status& status, const QuotaExceeded& refusal) {
  status.SetPayload(kQuotaExceededUrl, absl::Cord(Encode(refusal)));
}

}  // namespace sandbox_internal
}  // namespace procsandbox
