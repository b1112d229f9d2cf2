// Limits: ToString() of valid limits reads back as the same Limits (the
// exact forms), ValidateLimits never fails on what MergeLimits builds from
// valid limits, and nothing crashes on invalid ones.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "fuzz_support.h"
#include "procsandbox/limits.h"

namespace {

using procsandbox::LimitKind;
using procsandbox::Limits;
using procsandbox::fuzz::Input;

std::optional<absl::Duration> MaybeDuration(Input& in) {
  if (!in.Bool()) return std::nullopt;
  switch (in.Byte() % 4) {
    case 0:
      return absl::Seconds(in.I64());
    case 1:
      return absl::Nanoseconds(in.I64());
    case 2:
      return absl::Seconds(in.I64()) + absl::Nanoseconds(in.I64() % 1000000000);
    default:
      return absl::Milliseconds(in.Byte());
  }
}

std::optional<int64_t> MaybeCount(Input& in) {
  if (!in.Bool()) return std::nullopt;
  switch (in.Byte() % 3) {
    case 0:
      return in.I64();
    case 1:
      return int64_t{in.Byte()} << (in.Byte() % 55);  // up to ~2^62
    default:
      return in.Byte();
  }
}

Limits FromInput(Input& in) {
  Limits l;
  l.wall_time = MaybeDuration(in);
  l.cpu_time = MaybeDuration(in);
  l.memory_bytes = MaybeCount(in);
  l.file_size_bytes = MaybeCount(in);
  l.open_files = MaybeCount(in);
  l.processes = MaybeCount(in);
  l.output_bytes = MaybeCount(in);
  if (in.Bool()) l.cpu_weight = static_cast<uint32_t>(in.U64());
  return l;
}

// Reads "{wall_time=10s, memory_bytes=64 MiB}" back.
std::optional<Limits> Parse(absl::string_view text) {
  if (!absl::ConsumePrefix(&text, "{") || !absl::ConsumeSuffix(&text, "}")) {
    return std::nullopt;
  }
  Limits l;
  if (text.empty()) return l;
  for (absl::string_view part : absl::StrSplit(text, ", ")) {
    const std::vector<absl::string_view> kv =
        absl::StrSplit(part, absl::MaxSplits('=', 1));
    if (kv.size() != 2) return std::nullopt;
    const absl::string_view name = kv[0], value = kv[1];
    auto duration = [&](std::optional<absl::Duration>& out) {
      absl::Duration d;
      if (!absl::ParseDuration(value, &d)) return false;
      out = d;
      return true;
    };
    auto bytes = [&](std::optional<int64_t>& out) {
      absl::StatusOr<int64_t> b =
          procsandbox::ParseByteSize(absl::StrReplaceAll(value, {{" ", ""}}));
      if (!b.ok()) return false;
      out = *b;
      return true;
    };
    auto count = [&](auto& out) {
      typename std::remove_reference_t<decltype(out)>::value_type v{};
      if (!absl::SimpleAtoi(value, &v)) return false;
      out = v;
      return true;
    };
    bool ok = false;
    if (name == "wall_time") ok = duration(l.wall_time);
    if (name == "cpu_time") ok = duration(l.cpu_time);
    if (name == "memory_bytes") ok = bytes(l.memory_bytes);
    if (name == "file_size_bytes") ok = bytes(l.file_size_bytes);
    if (name == "open_files") ok = count(l.open_files);
    if (name == "processes") ok = count(l.processes);
    if (name == "output_bytes") ok = bytes(l.output_bytes);
    if (name == "cpu_weight") ok = count(l.cpu_weight);
    if (!ok) return std::nullopt;
  }
  return l;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  Input in(data, size);
  const Limits a = FromInput(in);
  const Limits b = FromInput(in);
  const std::string text = procsandbox::ToString(a);
  FUZZ_CHECK(absl::StartsWith(text, "{") && absl::EndsWith(text, "}"));
  FUZZ_CHECK(a.empty() == (text == "{}"));
  const bool a_valid = procsandbox::ValidateLimits(a).ok();
  if (a_valid) {
    const std::optional<Limits> back = Parse(text);
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(*back == a);
  }
  const Limits merged = procsandbox::MergeLimits(a, b);
  for (LimitKind kind : procsandbox::kAllLimitKinds) {
    FUZZ_CHECK(merged.has(kind) == (a.has(kind) || b.has(kind)));
  }
  if (a_valid && procsandbox::ValidateLimits(b).ok()) {
    FUZZ_CHECK(procsandbox::ValidateLimits(merged).ok());
  }
  FUZZ_CHECK(procsandbox::MergeLimits(a, Limits{}) == a);
  return 0;
}
