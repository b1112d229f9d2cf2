// Byte sizes and durations: ParseByteSize on any text, and the short forms
// of FormatByteSize / FormatDuration read back within their truncation.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "fuzz_support.h"
#include "procsandbox/limits.h"

namespace {

using procsandbox::fuzz::Input;

// FormatByteSize("1.5 GiB") reads back (without its space) as at most the
// value, short of it by less than a tenth of its unit.
void CheckBytesShortForm(int64_t bytes) {
  const std::string text = procsandbox::FormatByteSize(bytes);
  if (bytes < 0) {
    FUZZ_CHECK(text[0] == '-');
    return;
  }
  absl::StatusOr<int64_t> back =
      procsandbox::ParseByteSize(absl::StrReplaceAll(text, {{" ", ""}}));
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(*back <= bytes);
  FUZZ_CHECK(bytes - *back <= bytes / 10 + 1);
}

// FormatDuration reads back with absl::ParseDuration, between the value and
// zero, short of it by at most a tenth.
void CheckDurationShortForm(absl::Duration d) {
  const std::string text = procsandbox::FormatDuration(d);
  if (d == absl::InfiniteDuration() || d == -absl::InfiniteDuration()) {
    FUZZ_CHECK(text == (d > absl::ZeroDuration() ? "inf" : "-inf"));
    return;
  }
  FUZZ_CHECK(text.find("inf") == std::string::npos);
  absl::Duration back;
  FUZZ_CHECK(absl::ParseDuration(text, &back));
  const absl::Duration cut = d >= absl::ZeroDuration() ? d - back : back - d;
  FUZZ_CHECK(cut >= absl::ZeroDuration());
  FUZZ_CHECK(cut <= absl::AbsDuration(d / 10) + absl::Nanoseconds(1));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // Any text as a byte size: a value is non-negative and reads back from
  // its decimal and short forms.
  if (absl::StatusOr<int64_t> bytes = procsandbox::ParseByteSize(text);
      bytes.ok()) {
    FUZZ_CHECK(*bytes >= 0);
    FUZZ_CHECK(procsandbox::ParseByteSize(absl::StrCat(*bytes)).value() ==
               *bytes);
    CheckBytesShortForm(*bytes);
  } else {
    FUZZ_CHECK(bytes.status().code() == absl::StatusCode::kInvalidArgument);
  }
  // Any text as a duration (the command's and the quota payload's reader).
  if (absl::Duration d; absl::ParseDuration(text, &d))
    CheckDurationShortForm(d);
  // The bytes as numbers.
  Input in(data, size);
  CheckBytesShortForm(in.I64());
  const int64_t seconds = in.I64();
  const int64_t nanos = in.I64();
  CheckDurationShortForm(absl::Seconds(seconds));
  CheckDurationShortForm(absl::Nanoseconds(nanos));
  CheckDurationShortForm(absl::Seconds(seconds) +
                         absl::Nanoseconds(nanos % 1000000000));
  return 0;
}
