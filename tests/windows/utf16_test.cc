#include "windows/utf16.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox_testing/matchers.h"

namespace procsandbox::windows_internal {
namespace {

using ::procsandbox_testing::IsOkAndHolds;
using ::procsandbox_testing::StatusIs;
using ::testing::HasSubstr;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

TEST(Utf8ToWideTest, ConvertsAsciiUnitByUnit) {
  EXPECT_THAT(Utf8ToWide("cl.exe /c", "program"),
              IsOkAndHolds(std::wstring(L"cl.exe /c")));
  EXPECT_THAT(Utf8ToWide("", "program"), IsOkAndHolds(std::wstring()));
}

TEST(Utf8ToWideTest, ConvertsTwoAndThreeByteSequencesToOneUnit) {
  // "é" U+00E9, "€" U+20AC, "水" U+6C34.
  EXPECT_THAT(Utf8ToWide("\xC3\xA9\xE2\x82\xAC\xE6\xB0\xB4", "a"),
              IsOkAndHolds(std::wstring{wchar_t{0xE9}, wchar_t{0x20AC},
                                        wchar_t{0x6C34}}));
}

TEST(Utf8ToWideTest, ConvertsAstralCharactersToSurrogatePairs) {
  // U+1F600 is D83D DE00 in UTF-16; U+10FFFF is DBFF DFFF.
  EXPECT_THAT(Utf8ToWide("\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF", "a"),
              IsOkAndHolds(std::wstring{wchar_t{0xD83D}, wchar_t{0xDE00},
                                        wchar_t{0xDBFF}, wchar_t{0xDFFF}}));
}

TEST(Utf8ToWideTest, RejectsANulByteNamingWhat) {
  EXPECT_THAT(Utf8ToWide(std::string("a\0b", 3), "argument 2"),
              StatusIs(kInvalid, "argument 2: contains a NUL byte"));
}

TEST(Utf8ToWideTest, RejectsABadByteNamingWhatAndOffsetNotTheText) {
  EXPECT_THAT(Utf8ToWide("token=s3cr3t\xFF", "environment variable \"T\""),
              StatusIs(kInvalid,
                       "environment variable \"T\": is not valid "
                       "UTF-8 (byte 0xFF at offset 12)"));
}

TEST(Utf8ToWideTest, RejectsEachKindOfInvalidUtf8) {
  const char* const kCases[] = {
      "\x80",                  // a continuation byte alone
      "a\xC3",                 // cut short at the end
      "\xC3(",                 // a lead byte not continued
      "\xC0\xAF",              // overlong '/'
      "\xE0\x80\xAF",          // overlong '/', three bytes
      "\xF0\x80\x80\xAF",      // overlong '/', four bytes
      "\xED\xA0\x80",          // U+D800, a surrogate
      "\xED\xBF\xBF",          // U+DFFF
      "\xF4\x90\x80\x80",      // U+110000, past the last code point
      "\xF8\x88\x80\x80\x80",  // a five-byte form
      "\xFE",
  };
  for (const char* text : kCases) {
    EXPECT_THAT(Utf8ToWide(text, "argument 1"),
                StatusIs(kInvalid, HasSubstr("argument 1: is not valid UTF-8")))
        << ::testing::PrintToString(std::string(text));
  }
}

TEST(Utf8ToWideTest, NamesTheFirstByteOfTheBadSequence) {
  // A lead byte cut short by the end, or by a byte that does not continue
  // it: the lead byte is named.
  EXPECT_THAT(Utf8ToWide("caf\xE9", "a"),
              StatusIs(kInvalid, HasSubstr("(byte 0xE9 at offset 3)")));
  EXPECT_THAT(Utf8ToWide("ab\xE2\x82(", "a"),
              StatusIs(kInvalid, HasSubstr("(byte 0xE2 at offset 2)")));
}

TEST(Utf16LengthTest, CountsUnitsNotBytes) {
  EXPECT_THAT(Utf16Length("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", "a"),
              IsOkAndHolds(5u));
  EXPECT_THAT(Utf16Length("\xFF", "program"),
              StatusIs(kInvalid, HasSubstr("program: is not valid UTF-8")));
}

TEST(WideToUtf8Test, IsTheInverseOfUtf8ToWide) {
  const std::string text =
      "plain \xC3\xA9\xE2\x82\xAC\xE6\xB0\xB4 \xF0\x9F\x98\x80\xF4\x8F\xBF\xBF";
  absl::StatusOr<std::wstring> wide = Utf8ToWide(text, "a");
  ASSERT_TRUE(wide.ok()) << wide.status();
  EXPECT_EQ(WideToUtf8(*wide), text);
}

TEST(WideToUtf8Test, ReplacesLoneSurrogatesWithTheReplacementCharacter) {
  // A high surrogate at the end, a low one alone, a high one before a
  // letter: each is U+FFFD (EF BF BD); the letter is kept.
  const std::wstring wide{wchar_t{'a'}, wchar_t{0xDC00}, wchar_t{0xD800},
                          wchar_t{'b'}, wchar_t{0xD83D}};
  EXPECT_EQ(WideToUtf8(wide),
            "a\xEF\xBF\xBD\xEF\xBF\xBD"
            "b\xEF\xBF\xBD");
}

}  // namespace
}  // namespace procsandbox::windows_internal
