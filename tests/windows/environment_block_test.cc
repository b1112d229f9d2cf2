#include "windows/environment_block.h"

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/environment.h"
#include "procsandbox_testing/matchers.h"

namespace procsandbox::windows_internal {
namespace {

using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::IsOkAndHolds;
using ::procsandbox_testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

// A literal L"..." with its embedded NULs (without the one C++ adds).
template <std::size_t N>
std::wstring Block(const wchar_t (&text)[N]) {
  return std::wstring(text, N - 1);
}

TEST(EnvironmentBlockTest, AnEmptyEnvironmentIsTwoNuls) {
  EXPECT_THAT(BuildEnvironmentBlock(Environment()),
              IsOkAndHolds(Block(L"\0\0")));
}

TEST(EnvironmentBlockTest, EndsEachEntryWithNulAndTheBlockWithOneMore) {
  Environment env;
  ASSERT_THAT(env.Set("A", "1"), IsOk());
  ASSERT_THAT(env.Set("B", ""), IsOk());
  EXPECT_THAT(BuildEnvironmentBlock(env), IsOkAndHolds(Block(L"A=1\0B=\0\0")));
}

TEST(EnvironmentBlockTest, SortsNamesIgnoringCaseByTheirUpperCase) {
  Environment env;
  for (const char* name : {"windir", "Path", "_X", "a", "PATHEXT", "Z", "b"}) {
    ASSERT_THAT(env.Set(name, "v"), IsOk());
  }
  // Upper case: '_' (0x5F) sorts after the letters, "PATH" before
  // "PATHEXT"; lower-case 'a' sorts as 'A'.
  EXPECT_THAT(BuildEnvironmentBlock(env),
              IsOkAndHolds(Block(L"a=v\0b=v\0Path=v\0PATHEXT=v\0windir=v\0"
                                 L"Z=v\0_X=v\0\0")));
}

TEST(EnvironmentBlockTest, ConvertsValuesToUtf16) {
  Environment env;
  ASSERT_THAT(env.Set("GREETING", "\xC3\xA9t\xC3\xA9 \xF0\x9F\x98\x80"),
              IsOk());
  const std::wstring expected{L'G',
                              L'R',
                              L'E',
                              L'E',
                              L'T',
                              L'I',
                              L'N',
                              L'G',
                              L'=',
                              wchar_t{0xE9},
                              L't',
                              wchar_t{0xE9},
                              L' ',
                              wchar_t{0xD83D},
                              wchar_t{0xDE00},
                              L'\0',
                              L'\0'};
  EXPECT_THAT(BuildEnvironmentBlock(env), IsOkAndHolds(expected));
}

TEST(EnvironmentBlockTest, RejectsNamesEqualIgnoringCaseNamingBoth) {
  Environment env;
  ASSERT_THAT(env.Set("Path", "C:\\a"), IsOk());
  ASSERT_THAT(env.Set("X", "1"), IsOk());
  ASSERT_THAT(env.Set("PATH", "C:\\b"), IsOk());
  EXPECT_THAT(BuildEnvironmentBlock(env),
              StatusIs(kInvalid, HasSubstr("environment variables \"Path\" "
                                           "and \"PATH\": one variable")));
}

TEST(EnvironmentBlockTest, IgnoresCaseOfNonAsciiLettersToo) {
  Environment env;
  ASSERT_THAT(env.Set("\xC3\xA9T\xC3\xA9", "1"), IsOk());  // "été"
  ASSERT_THAT(env.Set("\xC3\x89T\xC3\x89", "2"), IsOk());  // "ÉTÉ"
  EXPECT_THAT(BuildEnvironmentBlock(env),
              StatusIs(kInvalid, HasSubstr("one variable on Windows")));
  Environment cyrillic;
  ASSERT_THAT(cyrillic.Set("\xD0\xB4", "1"), IsOk());  // "д"
  ASSERT_THAT(cyrillic.Set("\xD0\x94", "2"), IsOk());  // "Д"
  EXPECT_THAT(BuildEnvironmentBlock(cyrillic),
              StatusIs(kInvalid, HasSubstr("one variable on Windows")));
}

TEST(EnvironmentBlockTest, RejectsBadNamesAsEnvironmentValidateDoes) {
  // The constructor does not check names; the block does.
  EXPECT_THAT(BuildEnvironmentBlock(Environment{{"A=B", "1"}}),
              StatusIs(kInvalid, HasSubstr("\"A=B\"")));
  EXPECT_THAT(BuildEnvironmentBlock(Environment{{"", "1"}}),
              StatusIs(kInvalid, HasSubstr("environment variable")));
  EXPECT_THAT(BuildEnvironmentBlock(Environment{{"A", std::string("x\0y", 3)}}),
              StatusIs(kInvalid, HasSubstr("NUL")));
}

TEST(EnvironmentBlockTest, RejectsInvalidUtf8NeverShowingASecretValue) {
  Environment env;
  ASSERT_THAT(env.SetSecret("TOKEN", "hunter2\xFF"), IsOk());
  const absl::StatusOr<std::wstring> block = BuildEnvironmentBlock(env);
  EXPECT_THAT(block, StatusIs(kInvalid,
                              "environment variable \"TOKEN\" value: "
                              "is not valid UTF-8 (byte 0xFF at "
                              "offset 7)"));
  EXPECT_THAT(block, StatusIs(kInvalid, Not(HasSubstr("hunter2"))));
  EXPECT_THAT(BuildEnvironmentBlock(Environment{{"caf\xE9", "1"}}),
              StatusIs(kInvalid, HasSubstr("is not valid UTF-8")));
}

TEST(FindVariableTest, FindsANameIgnoringCase) {
  Environment env;
  ASSERT_THAT(env.Set("Path", "C:\\bin"), IsOk());
  const Environment::Entry* path = FindVariable(env, "PATH");
  ASSERT_NE(path, nullptr);
  EXPECT_EQ(path->value, "C:\\bin");
  EXPECT_EQ(FindVariable(env, "PATHEXT"), nullptr);
  EXPECT_TRUE(SameVariableName("windir", "WINDIR"));
  EXPECT_FALSE(SameVariableName("PATH", "PATH_"));
}

}  // namespace
}  // namespace procsandbox::windows_internal
