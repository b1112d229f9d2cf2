#include "procsandbox/limits.h"

#include <cstdint>
#include <limits>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace procsandbox {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kKiB = int64_t{1} << 10;
constexpr int64_t kMiB = int64_t{1} << 20;
constexpr int64_t kGiB = int64_t{1} << 30;
constexpr int64_t kTiB = int64_t{1} << 40;
constexpr int64_t kPiB = int64_t{1} << 50;

// --- LimitKind and Limits ----------------------------------------------------

TEST(LimitKindNameTest, NamesEachFieldAsWrittenInLimits) {
  EXPECT_EQ(LimitKindName(LimitKind::kWallTime), "wall_time");
  EXPECT_EQ(LimitKindName(LimitKind::kCpuTime), "cpu_time");
  EXPECT_EQ(LimitKindName(LimitKind::kMemory), "memory_bytes");
  EXPECT_EQ(LimitKindName(LimitKind::kFileSize), "file_size_bytes");
  EXPECT_EQ(LimitKindName(LimitKind::kOpenFiles), "open_files");
  EXPECT_EQ(LimitKindName(LimitKind::kProcesses), "processes");
  EXPECT_EQ(LimitKindName(LimitKind::kOutput), "output_bytes");
  EXPECT_EQ(LimitKindName(LimitKind::kCpuWeight), "cpu_weight");
  EXPECT_EQ(fmt::format("{}", LimitKind::kMemory), "memory_bytes");
}

TEST(LimitsTest, DefaultHasNoField) {
  const Limits limits;
  EXPECT_TRUE(limits.empty());
  for (LimitKind kind : kAllLimitKinds) EXPECT_FALSE(limits.has(kind));
}

TEST(LimitsTest, HasReportsEachSetField) {
  Limits limits;
  limits.wall_time = absl::Seconds(1);
  limits.cpu_time = absl::Seconds(1);
  limits.memory_bytes = 1;
  limits.file_size_bytes = 1;
  limits.open_files = 1;
  limits.processes = 1;
  limits.output_bytes = 1;
  limits.cpu_weight = 1;
  EXPECT_FALSE(limits.empty());
  for (LimitKind kind : kAllLimitKinds) EXPECT_TRUE(limits.has(kind));
}

TEST(LimitsTest, OneSetFieldMakesItNonEmpty) {
  Limits limits;
  limits.cpu_weight = 100;
  EXPECT_FALSE(limits.empty());
  EXPECT_TRUE(limits.has(LimitKind::kCpuWeight));
  EXPECT_FALSE(limits.has(LimitKind::kWallTime));
}

TEST(LimitsTest, EqualityComparesEveryField) {
  Limits a;
  a.wall_time = absl::Seconds(10);
  a.memory_bytes = 64 * kMiB;
  Limits b = a;
  EXPECT_EQ(a, b);
  b.processes = 4;
  EXPECT_NE(a, b);
  b = a;
  b.memory_bytes = 64 * kMiB + 1;
  EXPECT_NE(a, b);
  b = a;
  b.wall_time.reset();
  EXPECT_NE(a, b);
}

// --- MergeLimits -------------------------------------------------------------

TEST(MergeLimitsTest, CommandFieldWinsOverDefault) {
  Limits command;
  command.wall_time = absl::Seconds(5);
  Limits defaults;
  defaults.wall_time = absl::Seconds(60);
  EXPECT_EQ(MergeLimits(command, defaults).wall_time, absl::Seconds(5));
}

TEST(MergeLimitsTest, DefaultFillsFieldsTheCommandLeavesUnset) {
  Limits command;
  command.memory_bytes = kGiB;
  Limits defaults;
  defaults.wall_time = absl::Seconds(60);
  defaults.processes = 32;
  defaults.cpu_weight = 50;

  Limits expected;
  expected.wall_time = absl::Seconds(60);
  expected.memory_bytes = kGiB;
  expected.processes = 32;
  expected.cpu_weight = 50;
  EXPECT_EQ(MergeLimits(command, defaults), expected);
}

TEST(MergeLimitsTest, EveryFieldOfTheCommandIsKept) {
  Limits command;
  command.wall_time = absl::Seconds(1);
  command.cpu_time = absl::Seconds(2);
  command.memory_bytes = 3;
  command.file_size_bytes = 4;
  command.open_files = 5;
  command.processes = 6;
  command.output_bytes = 7;
  command.cpu_weight = 8;
  Limits defaults;
  defaults.wall_time = absl::Seconds(10);
  defaults.cpu_time = absl::Seconds(20);
  defaults.memory_bytes = 30;
  defaults.file_size_bytes = 40;
  defaults.open_files = 50;
  defaults.processes = 60;
  defaults.output_bytes = 70;
  defaults.cpu_weight = 80;
  EXPECT_EQ(MergeLimits(command, defaults), command);
  EXPECT_EQ(MergeLimits(Limits(), defaults), defaults);
}

TEST(MergeLimitsTest, NothingSetGivesNoLimits) {
  EXPECT_TRUE(MergeLimits(Limits(), Limits()).empty());
}

// --- ValidateLimits ----------------------------------------------------------

TEST(ValidateLimitsTest, AcceptsNoLimits) {
  EXPECT_TRUE(ValidateLimits(Limits()).ok());
}

TEST(ValidateLimitsTest, AcceptsTypicalLimits) {
  Limits limits;
  limits.wall_time = absl::Seconds(10);
  limits.cpu_time = absl::Milliseconds(1);
  limits.memory_bytes = 256 * kMiB;
  limits.file_size_bytes = 1;
  limits.open_files = 64;
  limits.processes = 32;
  limits.output_bytes = (int64_t{1} << 62) - 1;
  limits.cpu_weight = 100;
  EXPECT_TRUE(ValidateLimits(limits).ok());
}

TEST(ValidateLimitsTest, RejectsNegativeMemoryNamingFieldAndValue) {
  Limits limits;
  limits.memory_bytes = -1;
  const absl::Status s = ValidateLimits(limits);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()), "limit memory_bytes: -1 is not positive");
}

TEST(ValidateLimitsTest, RejectsZeroCount) {
  Limits limits;
  limits.processes = 0;
  const absl::Status s = ValidateLimits(limits);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()), "limit processes: 0 is not positive");
}

TEST(ValidateLimitsTest, RejectsCountOfTwoToThe62) {
  Limits limits;
  limits.file_size_bytes = int64_t{1} << 62;
  const absl::Status s = ValidateLimits(limits);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "limit file_size_bytes: 4611686018427387904 is not below 2^62");
}

TEST(ValidateLimitsTest, RejectsLargestInt64) {
  Limits limits;
  limits.open_files = std::numeric_limits<int64_t>::max();
  const absl::Status s = ValidateLimits(limits);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("open_files: 9223372036854775807"));
}

TEST(ValidateLimitsTest, RejectsNegativeOutputBytes) {
  Limits limits;
  limits.output_bytes = std::numeric_limits<int64_t>::min();
  const absl::Status s = ValidateLimits(limits);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("output_bytes: -9223372036854775808 is not positive"));
}

TEST(ValidateLimitsTest, RejectsZeroWallTime) {
  Limits limits;
  limits.wall_time = absl::ZeroDuration();
  const absl::Status s = ValidateLimits(limits);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()), "limit wall_time: 0s is not positive");
}

TEST(ValidateLimitsTest, RejectsNegativeCpuTime) {
  Limits limits;
  limits.cpu_time = absl::Milliseconds(-1500);
  const absl::Status s = ValidateLimits(limits);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()), "limit cpu_time: -1.5s is not positive");
}

TEST(ValidateLimitsTest, RejectsInfiniteWallTime) {
  Limits limits;
  limits.wall_time = absl::InfiniteDuration();
  const absl::Status s = ValidateLimits(limits);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()), "limit wall_time: inf is not finite");
}

TEST(ValidateLimitsTest, RejectsNegativeInfiniteCpuTime) {
  Limits limits;
  limits.cpu_time = -absl::InfiniteDuration();
  const absl::Status s = ValidateLimits(limits);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()), "limit cpu_time: -inf is not finite");
}

TEST(ValidateLimitsTest, NamesAnOddDurationExactly) {
  Limits limits;
  limits.wall_time = absl::Nanoseconds(-1234567);
  const absl::Status s = ValidateLimits(limits);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("-1.234567ms"));
}

TEST(ValidateLimitsTest, RejectsCpuWeightZero) {
  Limits limits;
  limits.cpu_weight = 0;
  const absl::Status s = ValidateLimits(limits);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()), "limit cpu_weight: 0 is not in 1..10000");
}

TEST(ValidateLimitsTest, RejectsCpuWeightAboveTenThousand) {
  Limits limits;
  limits.cpu_weight = 10001;
  const absl::Status s = ValidateLimits(limits);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "limit cpu_weight: 10001 is not in 1..10000");
}

TEST(ValidateLimitsTest, AcceptsCpuWeightAtBothEnds) {
  Limits limits;
  limits.cpu_weight = 1;
  EXPECT_TRUE(ValidateLimits(limits).ok());
  limits.cpu_weight = 10000;
  EXPECT_TRUE(ValidateLimits(limits).ok());
}

TEST(ValidateLimitsTest, ReportsTheFirstBadFieldInDeclarationOrder) {
  Limits limits;
  limits.cpu_weight = 0;
  limits.memory_bytes = -5;
  limits.cpu_time = absl::Seconds(-1);
  const absl::Status s = ValidateLimits(limits);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("limit cpu_time: -1s"));
}

// --- ParseByteSize -----------------------------------------------------------

TEST(ParseByteSizeTest, AcceptsPlainBytes) {
  EXPECT_EQ(ParseByteSize("4096").value(), 4096);
  EXPECT_EQ(ParseByteSize("4096B").value(), 4096);
  EXPECT_EQ(ParseByteSize("4096b").value(), 4096);
  EXPECT_EQ(ParseByteSize("007").value(), 7);
}

TEST(ParseByteSizeTest, AcceptsZero) {
  EXPECT_EQ(ParseByteSize("0").value(), 0);
  EXPECT_EQ(ParseByteSize("0K").value(), 0);
}

TEST(ParseByteSizeTest, AcceptsBinarySuffixes) {
  EXPECT_EQ(ParseByteSize("1K").value(), kKiB);
  EXPECT_EQ(ParseByteSize("64M").value(), 64 * kMiB);
  EXPECT_EQ(ParseByteSize("2G").value(), 2 * kGiB);
  EXPECT_EQ(ParseByteSize("3T").value(), 3 * kTiB);
  EXPECT_EQ(ParseByteSize("5P").value(), 5 * kPiB);
}

TEST(ParseByteSizeTest, SuffixesAreCaseInsensitive) {
  EXPECT_EQ(ParseByteSize("64m").value(), 64 * kMiB);
  EXPECT_EQ(ParseByteSize("1k").value(), kKiB);
  EXPECT_EQ(ParseByteSize("1gib").value(), kGiB);
  EXPECT_EQ(ParseByteSize("1Gb").value(), kGiB);
}

TEST(ParseByteSizeTest, AcceptsIAndIBAndBAfterTheUnit) {
  EXPECT_EQ(ParseByteSize("64MiB").value(), 64 * kMiB);
  EXPECT_EQ(ParseByteSize("64MB").value(), 64 * kMiB);
  EXPECT_EQ(ParseByteSize("64Mi").value(), 64 * kMiB);
  EXPECT_EQ(ParseByteSize("1KiB").value(), kKiB);
  EXPECT_EQ(ParseByteSize("1KB").value(), kKiB);
}

TEST(ParseByteSizeTest, AcceptsDecimals) {
  EXPECT_EQ(ParseByteSize("1.5G").value(), 1610612736);
  EXPECT_EQ(ParseByteSize("0.5K").value(), 512);
  EXPECT_EQ(ParseByteSize("2.25M").value(), 2 * kMiB + kMiB / 4);
}

TEST(ParseByteSizeTest, RoundsFractionalBytesDown) {
  EXPECT_EQ(ParseByteSize("0.1K").value(), 102);  // 102.4
  EXPECT_EQ(ParseByteSize("1.9").value(), 1);
  EXPECT_EQ(ParseByteSize("0.999B").value(), 0);
  // 0.1 * 2^50 = 112589990684262.4, computed without floating point.
  EXPECT_EQ(ParseByteSize("0.1P").value(), 112589990684262);
}

TEST(ParseByteSizeTest, AcceptsTheLargestInt64) {
  EXPECT_EQ(ParseByteSize("9223372036854775807").value(),
            std::numeric_limits<int64_t>::max());
  EXPECT_EQ(ParseByteSize("8191.99999999999999999P").value(),
            8191 * kPiB + (kPiB - 1));
}

TEST(ParseByteSizeTest, RejectsEmptyText) {
  const absl::StatusOr<int64_t> size = ParseByteSize("");
  EXPECT_EQ(size.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(size.status().message()),
            "parse byte size \"\": empty");
}

TEST(ParseByteSizeTest, RejectsUnknownSuffixNamingTheText) {
  const absl::StatusOr<int64_t> size = ParseByteSize("12Q");
  EXPECT_EQ(size.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(size.status().message()),
            "parse byte size \"12Q\": unknown suffix \"Q\" "
            "(use B, K, M, G, T, P or E)");
}

TEST(ParseByteSizeTest, RejectsDecimalSuffixesItDoesNotKnow) {
  for (const char* text : {"1KK", "1Kib2", "1iB", "1MBi", "1Z", "1Ei2"}) {
    const absl::StatusOr<int64_t> size = ParseByteSize(text);
    EXPECT_EQ(size.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(size.status().message()),
                HasSubstr("unknown suffix"))
        << text;
  }
}

// Found by fuzz_units: FormatByteSize writes "4 EiB" from 2^62 on, which
// did not read back.
TEST(ParseByteSizeTest, AcceptsExbibytesAsFormatByteSizeWritesThem) {
  constexpr int64_t kEiB = int64_t{1} << 60;
  EXPECT_EQ(ParseByteSize("1E").value(), kEiB);
  EXPECT_EQ(ParseByteSize("1EiB").value(), kEiB);
  EXPECT_EQ(ParseByteSize("4eb").value(), 4 * kEiB);
  EXPECT_EQ(ParseByteSize("7.5E").value(), 7 * kEiB + kEiB / 2);
  EXPECT_EQ(FormatByteSize(4 * kEiB), "4 EiB");
  const absl::StatusOr<int64_t> too_large = ParseByteSize("8E");
  EXPECT_EQ(too_large.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(too_large.status().message()),
              HasSubstr("larger than 9223372036854775807 bytes"));
}

TEST(ParseByteSizeTest, RejectsANegativeNumber) {
  const absl::StatusOr<int64_t> size = ParseByteSize("-1");
  EXPECT_EQ(size.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(size.status().message()),
            "parse byte size \"-1\": a sign is not allowed");
}

TEST(ParseByteSizeTest, RejectsAPlusSign) {
  const absl::StatusOr<int64_t> size = ParseByteSize("+1K");
  EXPECT_EQ(size.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(size.status().message()), HasSubstr("\"+1K\""));
}

TEST(ParseByteSizeTest, RejectsOverflowNamingTheText) {
  const absl::StatusOr<int64_t> size = ParseByteSize("99999999999T");
  EXPECT_EQ(size.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(size.status().message()),
            "parse byte size \"99999999999T\": larger than "
            "9223372036854775807 bytes");
}

TEST(ParseByteSizeTest, RejectsOneMoreThanTheLargestInt64) {
  for (const char* text :
       {"9223372036854775808", "8192P", "99999999999999999999999"}) {
    const absl::StatusOr<int64_t> size = ParseByteSize(text);
    EXPECT_EQ(size.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(size.status().message()), HasSubstr(text));
  }
  EXPECT_THAT(std::string(ParseByteSize("8192P").status().message()),
              HasSubstr("larger than"));
}

TEST(ParseByteSizeTest, RejectsAnExponent) {
  const absl::StatusOr<int64_t> size = ParseByteSize("1e999M");
  EXPECT_EQ(size.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(size.status().message()),
            "parse byte size \"1e999M\": unknown suffix \"e999M\" "
            "(use B, K, M, G, T, P or E)");
}

TEST(ParseByteSizeTest, RejectsSpacesAnywhere) {
  for (const char* text : {" 5", "5 M", "5 ", "5\tM", "5M\n"}) {
    const absl::StatusOr<int64_t> size = ParseByteSize(text);
    EXPECT_EQ(size.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(size.status().message()),
                HasSubstr("spaces are not allowed"))
        << text;
  }
}

TEST(ParseByteSizeTest, RejectsTextWithoutDigits) {
  for (const char* text : {"M", ".5K", "abc", "B"}) {
    const absl::StatusOr<int64_t> size = ParseByteSize(text);
    EXPECT_EQ(size.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(size.status().message()),
                HasSubstr("expected a number"))
        << text;
  }
}

TEST(ParseByteSizeTest, RejectsADotWithoutDigitsAfterIt) {
  const absl::StatusOr<int64_t> size = ParseByteSize("1.K");
  EXPECT_EQ(size.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(size.status().message()),
            "parse byte size \"1.K\": expected digits after '.'");
}

TEST(ParseByteSizeTest, ShowsANulByteEscaped) {
  const absl::StatusOr<int64_t> size =
      ParseByteSize(absl::string_view("5\0M", 3));
  EXPECT_EQ(size.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(size.status().message()), HasSubstr("\"5\\x00M\""));
}

TEST(ParseByteSizeTest, RoundTripsFormatByteSize) {
  for (int64_t bytes :
       {int64_t{0}, int64_t{512}, kKiB, 64 * kMiB, 3 * kGiB / 2, 5 * kPiB}) {
    const std::string text =
        absl::StrReplaceAll(FormatByteSize(bytes), {{" ", ""}});
    EXPECT_EQ(ParseByteSize(text).value(), bytes) << text;
  }
}

// --- FormatByteSize ----------------------------------------------------------

TEST(FormatByteSizeTest, FormatsTheMainExamples) {
  EXPECT_EQ(FormatByteSize(0), "0 B");
  EXPECT_EQ(FormatByteSize(512), "512 B");
  EXPECT_EQ(FormatByteSize(kKiB), "1 KiB");
  EXPECT_EQ(FormatByteSize(64 * kMiB), "64 MiB");
  EXPECT_EQ(FormatByteSize(3 * kGiB / 2), "1.5 GiB");
}

TEST(FormatByteSizeTest, UsesTheLargestUnitNotAboveTheValue) {
  EXPECT_EQ(FormatByteSize(1023), "1023 B");
  EXPECT_EQ(FormatByteSize(1023 * kKiB), "1023 KiB");
  EXPECT_EQ(FormatByteSize(2 * kTiB), "2 TiB");
  EXPECT_EQ(FormatByteSize(kPiB), "1 PiB");
  EXPECT_EQ(FormatByteSize(int64_t{1} << 60), "1 EiB");
}

TEST(FormatByteSizeTest, TruncatesToOneDecimal) {
  EXPECT_EQ(FormatByteSize(1100), "1 KiB");    // 1.07
  EXPECT_EQ(FormatByteSize(2047), "1.9 KiB");  // 1.999
  EXPECT_EQ(FormatByteSize(64 * kMiB + 1), "64 MiB");
  EXPECT_EQ(FormatByteSize(std::numeric_limits<int64_t>::max()), "7.9 EiB");
}

TEST(FormatByteSizeTest, FormatsNegativeCounts) {
  EXPECT_EQ(FormatByteSize(-1), "-1 B");
  EXPECT_EQ(FormatByteSize(-kKiB * 3 / 2), "-1.5 KiB");
  EXPECT_EQ(FormatByteSize(std::numeric_limits<int64_t>::min()), "-8 EiB");
}

// --- FormatDuration ----------------------------------------------------------

TEST(FormatDurationTest, FormatsTheMainExamples) {
  EXPECT_EQ(procsandbox::FormatDuration(absl::ZeroDuration()), "0s");
  EXPECT_EQ(procsandbox::FormatDuration(absl::Milliseconds(12)), "12ms");
  EXPECT_EQ(procsandbox::FormatDuration(absl::Milliseconds(1500)), "1.5s");
  EXPECT_EQ(procsandbox::FormatDuration(absl::Seconds(150)), "2m30s");
  EXPECT_EQ(procsandbox::FormatDuration(absl::Minutes(62)), "1h2m");
  EXPECT_EQ(procsandbox::FormatDuration(absl::Microseconds(250)), "250us");
}

TEST(FormatDurationTest, DropsAZeroSmallerUnit) {
  EXPECT_EQ(procsandbox::FormatDuration(absl::Seconds(10)), "10s");
  EXPECT_EQ(procsandbox::FormatDuration(absl::Minutes(2)), "2m");
  EXPECT_EQ(procsandbox::FormatDuration(absl::Hours(1)), "1h");
  EXPECT_EQ(procsandbox::FormatDuration(absl::Hours(26)), "26h");
}

TEST(FormatDurationTest, KeepsOneDecimalBelowAMinute) {
  EXPECT_EQ(procsandbox::FormatDuration(absl::Milliseconds(1200)), "1.2s");
  EXPECT_EQ(procsandbox::FormatDuration(absl::Microseconds(12500)), "12.5ms");
  EXPECT_EQ(procsandbox::FormatDuration(absl::Nanoseconds(1500)), "1.5us");
  EXPECT_EQ(procsandbox::FormatDuration(absl::Nanoseconds(500)), "500ns");
}

TEST(FormatDurationTest, TruncatesRatherThanRounds) {
  EXPECT_EQ(procsandbox::FormatDuration(absl::Milliseconds(1999)), "1.9s");
  EXPECT_EQ(procsandbox::FormatDuration(absl::Milliseconds(59999)), "59.9s");
  EXPECT_EQ(procsandbox::FormatDuration(absl::Milliseconds(150500)), "2m30s");
  EXPECT_EQ(procsandbox::FormatDuration(absl::Seconds(3719)), "1h1m");
}

TEST(FormatDurationTest, FormatsNegativeAndInfiniteDurations) {
  EXPECT_EQ(procsandbox::FormatDuration(absl::Milliseconds(-1500)), "-1.5s");
  EXPECT_EQ(procsandbox::FormatDuration(absl::InfiniteDuration()), "inf");
  EXPECT_EQ(procsandbox::FormatDuration(-absl::InfiniteDuration()), "-inf");
}

// Found by fuzz_units: the smallest Duration (-2^63 s) has no positive twin,
// and negating it to format its magnitude gave "-inf".
TEST(FormatDurationTest, FormatsTheSmallestFiniteDuration) {
  const absl::Duration smallest =
      absl::Seconds(std::numeric_limits<int64_t>::min());
  ASSERT_NE(smallest, -absl::InfiniteDuration());
  EXPECT_EQ(procsandbox::FormatDuration(smallest), "-2562047788015215h30m");
  Limits limits;
  limits.wall_time = smallest;
  EXPECT_EQ(ToString(limits), "{wall_time=-2562047788015215h30m8s}");
}

// --- ToString(Limits) --------------------------------------------------------

TEST(LimitsToStringTest, PrintsBracesForNoLimits) {
  EXPECT_EQ(ToString(Limits()), "{}");
}

TEST(LimitsToStringTest, PrintsSetFieldsInFieldOrder) {
  Limits limits;
  limits.memory_bytes = 64 * kMiB;
  limits.wall_time = absl::Seconds(10);
  EXPECT_EQ(ToString(limits), "{wall_time=10s, memory_bytes=64 MiB}");
}

TEST(LimitsToStringTest, PrintsEveryField) {
  Limits limits;
  limits.wall_time = absl::Seconds(90);
  limits.cpu_time = absl::Milliseconds(1500);
  limits.memory_bytes = kGiB;
  limits.file_size_bytes = kMiB;
  limits.open_files = 64;
  limits.processes = 32;
  limits.output_bytes = 512;
  limits.cpu_weight = 100;
  EXPECT_EQ(ToString(limits),
            "{wall_time=1m30s, cpu_time=1.5s, memory_bytes=1 GiB, "
            "file_size_bytes=1 MiB, open_files=64, processes=32, "
            "output_bytes=512 B, cpu_weight=100}");
}

TEST(LimitsToStringTest, PrintsValuesTheShortFormWouldRoundExactly) {
  Limits limits;
  limits.wall_time = absl::Milliseconds(1250);
  limits.memory_bytes = 1100;
  EXPECT_EQ(ToString(limits), "{wall_time=1.25s, memory_bytes=1100 B}");
}

TEST(LimitsToStringTest, FmtAndStreamsPrintTheSame) {
  Limits limits;
  limits.processes = 4;
  std::ostringstream os;
  os << limits;
  EXPECT_EQ(os.str(), "{processes=4}");
  EXPECT_EQ(fmt::format("limits {}", limits), "limits {processes=4}");
}

}  // namespace
}  // namespace procsandbox
