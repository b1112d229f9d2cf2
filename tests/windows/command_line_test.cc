#include "windows/command_line.h"

#include <cstddef>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox_testing/matchers.h"
#include "windows/utf16.h"

#ifdef _WIN32
// <windows.h> first: <shellapi.h> needs its types.
// clang-format off
#include <windows.h>
#include <shellapi.h>
// clang-format on
#endif

namespace procsandbox::windows_internal {
namespace {

using ::procsandbox_testing::IsOkAndHolds;
using ::procsandbox_testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

// The Microsoft C runtime's argv parser (the UCRT's, and msvcrt's since
// 2008), a second reader of the lines we write: it differs from
// CommandLineToArgvW in argv[0] (a quote toggles quoting, the name goes
// on after it) and in two quotes inside quotes (one quote, still quoted).
std::vector<std::string> SplitLikeCRuntime(absl::string_view line) {
  std::vector<std::string> argv(1);
  std::size_t i = 0;
  bool quoted = false;
  for (; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '"') {
      quoted = !quoted;
    } else if (!quoted && (c == ' ' || c == '\t')) {
      break;
    } else {
      argv[0].push_back(c);
    }
  }
  while (true) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i == line.size()) return argv;
    std::string arg;
    quoted = false;
    while (i < line.size()) {
      std::size_t backslashes = 0;
      while (i < line.size() && line[i] == '\\') ++i, ++backslashes;
      if (i < line.size() && line[i] == '"') {
        arg.append(backslashes / 2, '\\');
        if (backslashes % 2 == 1) {
          arg.push_back('"');
          ++i;
          continue;
        }
        if (quoted && i + 1 < line.size() && line[i + 1] == '"') {
          arg.push_back('"');  // "" inside quotes: a quote, still quoted
          i += 2;
          continue;
        }
        quoted = !quoted;
        ++i;
        continue;
      }
      arg.append(backslashes, '\\');
      if (i == line.size()) break;
      if (!quoted && (line[i] == ' ' || line[i] == '\t')) break;
      arg.push_back(line[i++]);
    }
    argv.push_back(std::move(arg));
  }
}

// --- QuoteArgument: the hard cases, and the text they must give. ----------

struct QuoteCase {
  const char* arg;
  const char* quoted;
};

TEST(QuoteArgumentTest, WritesTheHardCasesAsExpected) {
  const QuoteCase kCases[] = {
      {"plain", "plain"},
      {"", R"("")"},
      {"two words", R"("two words")"},
      {"tab\there", "\"tab\there\""},
      {"line\nbreak", "\"line\nbreak\""},
      {"v\vtab", "\"v\vtab\""},
      {R"(say "hi")", R"("say \"hi\"")"},
      {R"(")", R"("\"")"},
      {R"("")", R"("\"\"")"},
      // Backslashes are literal unless a quote follows them.
      {R"(C:\dir\file)", R"(C:\dir\file)"},
      {R"(C:\dir\)", R"(C:\dir\)"},
      {R"(\\server\share)", R"(\\server\share)"},
      // ... in quotes, those before the closing quote double.
      {R"(C:\Program Files\)", R"("C:\Program Files\\")"},
      {R"(a b\\)", R"("a b\\\\")"},
      // ... and those before a quote double, plus one for the quote.
      {R"(a\"b)", R"("a\\\"b")"},
      {R"(a\\"b)", R"("a\\\\\"b")"},
      {R"(\")", R"("\\\"")"},
      {R"(a\b c)", R"("a\b c")"},
      {"\xC3\xA9t\xC3\xA9 \xE6\xB0\xB4", "\"\xC3\xA9t\xC3\xA9 \xE6\xB0\xB4\""},
      {"\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80"},
  };
  for (const QuoteCase& c : kCases) {
    EXPECT_EQ(QuoteArgument(c.arg), c.quoted) << "argument: " << c.arg;
    const std::vector<std::string> argv =
        SplitCommandLine(absl::StrCat("p ", c.quoted));
    EXPECT_THAT(argv, ElementsAre("p", c.arg));
    EXPECT_THAT(SplitLikeCRuntime(absl::StrCat("p ", c.quoted)),
                ElementsAre("p", c.arg));
  }
}

// --- BuildCommandLine ------------------------------------------------------

TEST(BuildCommandLineTest, QuotesTheProgramWithoutEscapingItsBackslashes) {
  EXPECT_THAT(BuildCommandLine(R"(C:\Program Files\Git\git.exe)",
                               {"commit", "-m", R"(say "hi")"}),
              IsOkAndHolds(std::string(
                  R"("C:\Program Files\Git\git.exe" commit -m "say \"hi\"")")));
  EXPECT_THAT(BuildCommandLine(R"(C:\tools\)", {}),
              IsOkAndHolds(std::string(R"(C:\tools\)")));
  EXPECT_THAT(BuildCommandLine(R"(C:\my tools\x)", {"x"}),
              IsOkAndHolds(std::string(R"("C:\my tools\x" x)")));
  EXPECT_THAT(BuildCommandLine("", {""}),
              IsOkAndHolds(std::string(R"("" "")")));
}

TEST(BuildCommandLineTest, TheProgramWithBackslashesComesBackUnchanged) {
  for (const char* argv0 :
       {R"(C:\tools\)", R"(a\\ b)", R"(\\srv\s p\x)", R"(C:\a b\\c)"}) {
    absl::StatusOr<std::string> line = BuildCommandLine(argv0, {"a b\\"});
    ASSERT_TRUE(line.ok()) << line.status();
    EXPECT_THAT(SplitCommandLine(*line), ElementsAre(argv0, "a b\\"));
    EXPECT_THAT(SplitLikeCRuntime(*line), ElementsAre(argv0, "a b\\"));
  }
}

TEST(BuildCommandLineTest, RejectsAQuoteInTheProgram) {
  EXPECT_THAT(
      BuildCommandLine(R"(C:\a"b.exe)", {}),
      StatusIs(kInvalid, HasSubstr("program: contains a double quote")));
}

TEST(BuildCommandLineTest, RejectsABackslashEndingAProgramThatNeedsQuotes) {
  // In "C:\my tools\" one C runtime reads \" as an escaped quote (Wine's
  // msvcrt), CommandLineToArgvW as a backslash and the end.
  EXPECT_THAT(BuildCommandLine(R"(C:\my tools\)", {"x"}),
              StatusIs(kInvalid, HasSubstr("program: ends with a backslash")));
  EXPECT_THAT(BuildCommandLine("tab\there\\", {}),
              StatusIs(kInvalid, HasSubstr("program: ends with a backslash")));
}

TEST(BuildCommandLineTest, RejectsNulAndInvalidUtf8NamingTheArgument) {
  EXPECT_THAT(BuildCommandLine(std::string("p\0q", 3), {}),
              StatusIs(kInvalid, "program: contains a NUL byte"));
  EXPECT_THAT(BuildCommandLine("p", {"ok", std::string("a\0b", 3)}),
              StatusIs(kInvalid, "argument 2: contains a NUL byte"));
  EXPECT_THAT(BuildCommandLine("p", {"ok", "ok", "latin1 caf\xE9"}),
              StatusIs(kInvalid,
                       "argument 3: is not valid UTF-8 (byte 0xE9 at offset "
                       "10)"));
  EXPECT_THAT(BuildCommandLine("\xFF", {}),
              StatusIs(kInvalid, HasSubstr("program: is not valid UTF-8")));
}

TEST(BuildCommandLineTest, RejectsALineOverTheLimitCountedInUtf16Units) {
  // "p" + " " + 32764 units = 32766: the longest line Windows takes.
  EXPECT_TRUE(BuildCommandLine("p", {std::string(32764, 'x')}).ok());
  EXPECT_THAT(BuildCommandLine("p", {std::string(32765, 'x')}),
              StatusIs(kInvalid, HasSubstr("32767 UTF-16 units, Windows' limit "
                                           "is 32766")));
  // U+20AC is three bytes but one unit: 32764 of them still fit.
  std::string euros;
  for (int i = 0; i < 32764; ++i) euros += "\xE2\x82\xAC";
  EXPECT_TRUE(BuildCommandLine("p", {euros}).ok());
  // Quoting counts: 32762 units and a space need quotes (two more units).
  EXPECT_THAT(BuildCommandLine("p", {std::string(32762, 'x') + " "}),
              StatusIs(kInvalid, HasSubstr("32767 UTF-16 units")));
}

// --- SplitCommandLine: CommandLineToArgvW's rules. ---------------------------

TEST(SplitCommandLineTest, FollowsCommandLineToArgvWRules) {
  EXPECT_THAT(SplitCommandLine(""), ElementsAre(""));
  EXPECT_THAT(SplitCommandLine("p  a\t\tb  "), ElementsAre("p", "a", "b"));
  // argv[0] ends at its closing quote, backslashes literal.
  EXPECT_THAT(SplitCommandLine(R"("C:\a b\"x y)"),
              ElementsAre(R"(C:\a b\)", "x", "y"));
  EXPECT_THAT(SplitCommandLine(R"("a b"c d)"), ElementsAre("a b", "c", "d"));
  EXPECT_THAT(SplitCommandLine(R"(a\"b c)"), ElementsAre(R"(a\"b)", "c"));
  // Two quotes inside quotes: one quote, and the quoted part ends.
  EXPECT_THAT(SplitCommandLine(R"(p "a""b c")"),
              ElementsAre("p", R"(a"b)", "c"));
  EXPECT_THAT(SplitCommandLine(R"(p """a b""")"),
              ElementsAre("p", R"("a)", R"(b")"));
  EXPECT_THAT(SplitCommandLine(R"(p a\\\"b "c\\" d\)"),
              ElementsAre("p", R"(a\"b)", R"(c\)", R"(d\)"));
  EXPECT_THAT(SplitCommandLine(R"(p "unterminated \)"),
              ElementsAre("p", R"(unterminated \)"));
}

// --- The round trip: any argv, written and read back. ------------------------

// Pieces that make quoting hard, non-ASCII text among them.
const char* const kPieces[] = {" ",
                               "\t",
                               "\"",
                               "\\",
                               "\\\\",
                               "a",
                               "Z",
                               "\n",
                               "\v",
                               "\xC3\xA9",
                               "\xF0\x9F\x98\x80",
                               "=",
                               "^",
                               "%",
                               "'"};

std::string RandomArg(std::mt19937& rng, bool program) {
  std::uniform_int_distribution<std::size_t> length(0, 8);
  std::uniform_int_distribution<std::size_t> piece(0, std::size(kPieces) - 1);
  std::string arg;
  for (std::size_t n = length(rng); n > 0; --n) {
    const char* p = kPieces[piece(rng)];
    if (program && std::string(p) == "\"") continue;
    arg += p;
  }
  // See RejectsABackslashEndingAProgramThatNeedsQuotes.
  if (program && !arg.empty() && arg.back() == '\\') arg += "x";
  return arg;
}

std::vector<std::vector<std::string>> RandomArgvs(int count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> arg_count(0, 5);
  std::vector<std::vector<std::string>> argvs;
  for (int i = 0; i < count; ++i) {
    std::vector<std::string> argv{RandomArg(rng, /*program=*/true)};
    for (int n = arg_count(rng); n > 0; --n) {
      argv.push_back(RandomArg(rng, /*program=*/false));
    }
    argvs.push_back(std::move(argv));
  }
  return argvs;
}

constexpr unsigned kSeed = 16;
constexpr int kRoundTrips = 20000;

TEST(CommandLineRoundTripTest, EveryRandomArgvComesBackUnchanged) {
  for (const std::vector<std::string>& argv : RandomArgvs(kRoundTrips, kSeed)) {
    const std::vector<std::string> args(argv.begin() + 1, argv.end());
    absl::StatusOr<std::string> line = BuildCommandLine(argv[0], args);
    ASSERT_TRUE(line.ok()) << line.status();
    ASSERT_EQ(SplitCommandLine(*line), argv) << "line: " << *line;
    ASSERT_EQ(SplitLikeCRuntime(*line), argv) << "line: " << *line;
  }
}

#ifdef _WIN32
// The real CommandLineToArgvW's argv of `line`, in UTF-8.
std::vector<std::string> SplitWithWindows(const std::string& line) {
  absl::StatusOr<std::wstring> wide = Utf8ToWide(line, "line");
  EXPECT_TRUE(wide.ok()) << wide.status();
  int argc = 0;
  wchar_t** wargv = CommandLineToArgvW(wide->c_str(), &argc);
  std::vector<std::string> argv;
  if (wargv == nullptr) return argv;
  for (int i = 0; i < argc; ++i) argv.push_back(WideToUtf8(wargv[i]));
  LocalFree(wargv);
  return argv;
}

TEST(CommandLineRoundTripTest, WindowsReadsEveryRandomArgvBackUnchanged) {
  for (const std::vector<std::string>& argv : RandomArgvs(kRoundTrips, kSeed)) {
    const std::vector<std::string> args(argv.begin() + 1, argv.end());
    absl::StatusOr<std::string> line = BuildCommandLine(argv[0], args);
    ASSERT_TRUE(line.ok()) << line.status();
    ASSERT_EQ(SplitWithWindows(*line), argv) << "line: " << *line;
  }
}

TEST(CommandLineRoundTripTest, SplitCommandLineReadsRandomLinesAsWindowsDoes) {
  // Raw lines, not ones we wrote: the model of CommandLineToArgvW that the
  // other tests trust must agree with it on anything.
  std::mt19937 rng(kSeed);
  for (int i = 0; i < kRoundTrips; ++i) {
    const std::string line = "p" + RandomArg(rng, false) + " " +
                             RandomArg(rng, false) + RandomArg(rng, false);
    ASSERT_EQ(SplitCommandLine(line), SplitWithWindows(line))
        << "line: " << line;
  }
}
// The argv the C runtime of procsandbox_windows_argv_echo (beside this
// test) makes of `line`, started with CreateProcessW.
std::vector<std::string> SplitWithCRuntime(const std::string& line) {
  std::wstring exe(MAX_PATH, L'\0');
  const DWORD size =
      GetModuleFileNameW(nullptr, exe.data(), static_cast<DWORD>(exe.size()));
  exe.resize(size);
  exe = exe.substr(0, exe.find_last_of(L"\\/") + 1) +
        L"procsandbox_windows_argv_echo.exe";
  SECURITY_ATTRIBUTES inherit{sizeof(inherit), nullptr, TRUE};
  HANDLE read_end = nullptr;
  HANDLE write_end = nullptr;
  EXPECT_TRUE(CreatePipe(&read_end, &write_end, &inherit, 0));
  SetHandleInformation(read_end, HANDLE_FLAG_INHERIT, 0);
  STARTUPINFOW startup{};
  startup.cb = sizeof(startup);
  startup.dwFlags = STARTF_USESTDHANDLES;
  startup.hStdOutput = write_end;
  startup.hStdError = write_end;
  PROCESS_INFORMATION info{};
  absl::StatusOr<std::wstring> wide = Utf8ToWide(line, "line");
  EXPECT_TRUE(wide.ok()) << wide.status();
  const BOOL started =
      CreateProcessW(exe.c_str(), wide->data(), nullptr, nullptr, TRUE, 0,
                     nullptr, nullptr, &startup, &info);
  EXPECT_TRUE(started) << "CreateProcessW error " << GetLastError();
  CloseHandle(write_end);
  std::string out;
  char buffer[4096];
  DWORD got = 0;
  while (ReadFile(read_end, buffer, sizeof(buffer), &got, nullptr) && got > 0) {
    out.append(buffer, got);
  }
  CloseHandle(read_end);
  if (started) {
    WaitForSingleObject(info.hProcess, INFINITE);
    CloseHandle(info.hProcess);
    CloseHandle(info.hThread);
  }
  std::vector<std::string> argv;
  for (absl::string_view hex : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    argv.push_back(absl::HexStringToBytes(absl::StripAsciiWhitespace(hex)));
  }
  return argv;
}

// Each process start costs milliseconds under Wine: a sample of the
// random argvs, and the hard cases.
constexpr int kCRuntimeRoundTrips = 100;

TEST(CommandLineRoundTripTest, TheCRuntimeReadsTheArgvsBackUnchanged) {
  std::vector<std::vector<std::string>> argvs =
      RandomArgvs(kCRuntimeRoundTrips, kSeed);
  argvs.push_back({R"(C:\my tools\x)", R"(a b\)", "", R"(\")", R"(a\\"b)",
                   "tab\there", "\xC3\xA9t\xC3\xA9 \xF0\x9F\x98\x80"});
  for (const std::vector<std::string>& argv : argvs) {
    const std::vector<std::string> args(argv.begin() + 1, argv.end());
    absl::StatusOr<std::string> line = BuildCommandLine(argv[0], args);
    ASSERT_TRUE(line.ok()) << line.status();
    ASSERT_EQ(SplitWithCRuntime(*line), argv) << "line: " << *line;
  }
}
#endif  // _WIN32

}  // namespace
}  // namespace procsandbox::windows_internal
