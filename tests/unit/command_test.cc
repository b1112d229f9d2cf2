#include "procsandbox/command.h"

#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/environment.h"
#include "procsandbox/limits.h"
#include "procsandbox/stdio.h"

namespace procsandbox {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "hunter2-s3cr3t";

Command Compile() {
  Command cmd("cc", {"-c", "main.c"});
  cmd.env = Environment{{"PATH", "/usr/bin"}};
  return cmd;
}

// --- Construction and equality -----------------------------------------------

TEST(CommandTest, ConstructorSetsProgramAndArgs) {
  const Command cmd("cc", {"-c", "main.c"});
  EXPECT_EQ(cmd.program, "cc");
  EXPECT_EQ(cmd.args, (std::vector<std::string>{"-c", "main.c"}));
}

TEST(CommandTest, DefaultsSuitUntrustedTools) {
  const Command cmd("true");
  EXPECT_TRUE(cmd.env.empty());
  EXPECT_TRUE(cmd.limits.empty());
  EXPECT_EQ(cmd.kill_grace, kDefaultKillGrace);
  EXPECT_EQ(cmd.on_output_limit, OutputLimitAction::kTruncate);
  EXPECT_TRUE(cmd.isolation.new_process_group);
  EXPECT_FALSE(cmd.isolation.new_session);
  EXPECT_TRUE(cmd.isolation.no_new_privs);
  EXPECT_TRUE(cmd.isolation.die_with_parent);
  EXPECT_EQ(cmd.stdout_.kind(), Stdio::Kind::kDefault);
}

TEST(CommandTest, LabelIsTheNameOrElseTheProgram) {
  Command cmd("cc");
  EXPECT_EQ(cmd.label(), "cc");
  cmd.name = "compile main.c";
  EXPECT_EQ(cmd.label(), "compile main.c");
}

TEST(CommandEqualityTest, EqualCopiesAreEqual) {
  EXPECT_EQ(Compile(), Compile());
}

TEST(CommandEqualityTest, EachFieldMatters) {
  const Command base = Compile();
  Command other = base;
  other.args.push_back("-O2");
  EXPECT_NE(base, other);
  other = base;
  other.working_dir = "/tmp";
  EXPECT_NE(base, other);
  other = base;
  other.env = Environment{{"PATH", "/bin"}};
  EXPECT_NE(base, other);
  other = base;
  other.stdin_ = Stdio::Data("x");
  EXPECT_NE(base, other);
  other = base;
  other.limits.processes = 1;
  EXPECT_NE(base, other);
  other = base;
  other.kill_grace = absl::ZeroDuration();
  EXPECT_NE(base, other);
  other = base;
  other.on_output_limit = OutputLimitAction::kStop;
  EXPECT_NE(base, other);
  other = base;
  other.isolation.uid = 1000;
  EXPECT_NE(base, other);
  other = base;
  other.name = "x";
  EXPECT_NE(base, other);
}

TEST(IsolationEqualityTest, EachFieldMatters) {
  const Isolation base;
  EXPECT_EQ(base, Isolation());
  Isolation other = base;
  other.new_session = true;
  EXPECT_NE(base, other);
  other = base;
  other.gid = 0;
  EXPECT_NE(base, other);
  other = base;
  other.groups = {1};
  EXPECT_NE(base, other);
  other = base;
  other.die_with_parent = false;
  EXPECT_NE(base, other);
}

// --- ValidateCommand ---------------------------------------------------------

TEST(ValidateCommandTest, AcceptsAnOrdinaryCommand) {
  Command cmd = Compile();
  cmd.working_dir = "/tmp/build";
  cmd.limits.wall_time = absl::Seconds(30);
  cmd.stdin_ = Stdio::Data("input");
  cmd.stdout_ = Stdio::Capture();
  cmd.stderr_ = Stdio::ToStdout();
  cmd.kill_grace = absl::ZeroDuration();
  cmd.isolation.uid = 1000;
  cmd.isolation.groups = {1000, 27};
  EXPECT_TRUE(ValidateCommand(cmd).ok());
}

TEST(ValidateCommandTest, RejectsAnEmptyProgram) {
  const absl::Status s = ValidateCommand(Command());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()), "program: is empty");
}

TEST(ValidateCommandTest, RejectsANulByteInTheProgram) {
  const absl::Status s = ValidateCommand(Command(std::string("c\0c", 3)));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "program \"c\\x00\\x63\": contains a NUL byte");
}

TEST(ValidateCommandTest, RejectsANulByteInAnArgumentNamingItsArgvIndex) {
  const Command cmd("cc", {"-c", std::string("ma\0in.c", 7)});
  const absl::Status s = ValidateCommand(cmd);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()), "argument 2: contains a NUL byte");
}

TEST(ValidateCommandTest, RejectsANulByteInTheWorkingDirectory) {
  Command cmd("cc");
  cmd.working_dir = std::string("/tmp\0x", 6);
  const absl::Status s = ValidateCommand(cmd);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "working directory \"/tmp\\x00x\": contains a NUL byte");
}

TEST(ValidateCommandTest, RejectsABadEnvironmentName) {
  Command cmd("cc");
  cmd.env = Environment{{"A=B", "1"}};
  const absl::Status s = ValidateCommand(cmd);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "environment variable \"A=B\": name contains '='");
}

TEST(ValidateCommandTest, RejectsAnEmptyEnvironmentName) {
  Command cmd("cc");
  cmd.env = Environment{{"", "1"}};
  const absl::Status s = ValidateCommand(cmd);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("name is empty"));
}

TEST(ValidateCommandTest, RejectsANulByteInAnEnvironmentValueHidingIt) {
  Command cmd("cc");
  cmd.env = Environment{{"TOKEN", std::string(kSecret) + '\0'}};
  const absl::Status s = ValidateCommand(cmd);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "environment variable \"TOKEN\": value contains a NUL byte");
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("hunter2")));
}

TEST(ValidateCommandTest, RejectsAnInvalidLimit) {
  Command cmd("cc");
  cmd.limits.memory_bytes = -1;
  const absl::Status s = ValidateCommand(cmd);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()), "limit memory_bytes: -1 is not positive");
}

TEST(ValidateCommandTest, RejectsAStreamKindTheStreamDoesNotAccept) {
  Command cmd("cc");
  cmd.stdout_ = Stdio::Data("x");
  const absl::Status s = ValidateCommand(cmd);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()), "stdout: Stdio::Data is only for stdin");
}

TEST(ValidateCommandTest, ChecksStreamsInOrderStdinStdoutStderr) {
  Command cmd("cc");
  cmd.stdin_ = Stdio::Capture();
  cmd.stderr_ = Stdio::Fd(-2);
  const absl::Status s = ValidateCommand(cmd);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("stdin: Stdio::Capture"));
}

TEST(ValidateCommandTest, RejectsANegativeKillGrace) {
  Command cmd("cc");
  cmd.kill_grace = absl::Milliseconds(-500);
  const absl::Status s = ValidateCommand(cmd);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()), "kill_grace: -500ms is negative");
}

TEST(ValidateCommandTest, RejectsAnInfiniteKillGrace) {
  Command cmd("cc");
  cmd.kill_grace = absl::InfiniteDuration();
  const absl::Status s = ValidateCommand(cmd);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()), "kill_grace: inf is not finite");
}

TEST(ValidateCommandTest, RejectsGroupsWithoutUidOrGid) {
  Command cmd("cc");
  cmd.isolation.groups = {27, 100};
  const absl::Status s = ValidateCommand(cmd);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "isolation groups [27, 100]: given without uid or gid");
}

TEST(ValidateCommandTest, AcceptsGroupsWithAGidAlone) {
  Command cmd("cc");
  cmd.isolation.gid = 100;
  cmd.isolation.groups = {27};
  EXPECT_TRUE(ValidateCommand(cmd).ok());
}

TEST(ValidateCommandTest, ReportsTheProgramBeforeAnythingElse) {
  Command cmd;
  cmd.args = {std::string("\0", 1)};
  cmd.limits.processes = -1;
  cmd.kill_grace = absl::Seconds(-1);
  const absl::Status s = ValidateCommand(cmd);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()), "program: is empty");
}

TEST(ValidateCommandTest, ReportsTheEnvironmentBeforeLimits) {
  Command cmd("cc");
  cmd.env = Environment{{"", "1"}};
  cmd.limits.processes = -1;
  const absl::Status s = ValidateCommand(cmd);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("environment variable"));
}

// --- FormatArgv --------------------------------------------------------------

TEST(FormatArgvTest, PrintsPlainWordsBare) {
  EXPECT_EQ(FormatArgv(Command("cc", {"-c", "main.c", "-DX=1", "a/b,c:d@e"})),
            "cc -c main.c -DX=1 a/b,c:d@e");
}

TEST(FormatArgvTest, SingleQuotesWordsWithSpacesOrShellCharacters) {
  EXPECT_EQ(FormatArgv(Command("sh", {"-c", "echo $HOME; ls *"})),
            "sh -c 'echo $HOME; ls *'");
  EXPECT_EQ(FormatArgv(Command("/opt/my tool")), "'/opt/my tool'");
}

TEST(FormatArgvTest, EscapesASingleQuoteInsideQuotes) {
  EXPECT_EQ(FormatArgv(Command("echo", {"it's"})), "echo 'it'\\''s'");
}

TEST(FormatArgvTest, ShowsAnEmptyArgument) {
  EXPECT_EQ(FormatArgv(Command("test", {"-n", ""})), "test -n ''");
}

TEST(FormatArgvTest, UsesAnsiCQuotingForControlBytes) {
  EXPECT_EQ(FormatArgv(Command("printf", {"a\nb"})), "printf $'a\\nb'");
  EXPECT_EQ(FormatArgv(Command("x", {std::string("\0", 1)})), "x $'\\x00'");
}

// --- ToString ----------------------------------------------------------------

TEST(OutputLimitActionNameTest, NamesBothActions) {
  EXPECT_EQ(OutputLimitActionName(OutputLimitAction::kTruncate), "truncate");
  EXPECT_EQ(OutputLimitActionName(OutputLimitAction::kStop), "stop");
}

TEST(CommandToStringTest, PrintsOnlyArgvForADefaultCommand) {
  EXPECT_EQ(ToString(Command("cc", {"-c", "main.c"})), "cc -c main.c");
}

TEST(CommandToStringTest, PrintsTheMainExample) {
  Command cmd("cc", {"-c", "main.c"});
  cmd.working_dir = "/tmp";
  ASSERT_TRUE(cmd.env.Set("PATH", "/usr/bin").ok());
  ASSERT_TRUE(cmd.env.SetSecret("TOKEN", kSecret).ok());
  cmd.limits.wall_time = absl::Seconds(30);
  EXPECT_EQ(ToString(cmd),
            "cc -c main.c (cwd \"/tmp\", env {PATH=/usr/bin, "
            "TOKEN=<redacted>}, limits {wall_time=30s})");
}

TEST(CommandToStringTest, PrintsEveryNonDefaultPart) {
  Command cmd("make");
  cmd.stdin_ = Stdio::Data("abc");
  cmd.stdout_ = Stdio::Capture();
  cmd.stderr_ = Stdio::ToStdout();
  cmd.kill_grace = absl::Milliseconds(500);
  cmd.on_output_limit = OutputLimitAction::kStop;
  cmd.isolation.new_session = true;
  cmd.name = "build";
  EXPECT_EQ(ToString(cmd),
            "make (stdin data (3 bytes), stdout capture, stderr to_stdout, "
            "kill_grace 500ms, on_output_limit stop, isolation "
            "{new_process_group=true, new_session=true, no_new_privs=true, "
            "die_with_parent=true}, name \"build\")");
}

TEST(CommandToStringTest, NeverShowsASecretOrStdinData) {
  Command cmd("curl", {"https://example.com"});
  ASSERT_TRUE(cmd.env.SetSecret("API_TOKEN", kSecret).ok());
  cmd.stdin_ = Stdio::Data(kSecret);
  std::ostringstream os;
  os << cmd;
  for (const std::string& text :
       {ToString(cmd), fmt::format("{}", cmd), os.str()}) {
    EXPECT_THAT(text, Not(HasSubstr("hunter2"))) << text;
    EXPECT_THAT(text, HasSubstr("API_TOKEN=<redacted>")) << text;
  }
}

TEST(CommandToStringTest, NeverShowsASecretsValueElsewhereInTheCommand) {
  Command cmd("/opt/S3cr3t/bin/curl",
              {absl::StrCat("--token=", kSecret), "it's"});
  ASSERT_TRUE(cmd.env.SetSecret("API_TOKEN", kSecret).ok());
  ASSERT_TRUE(cmd.env.SetSecret("QUOTED", "it's").ok());
  ASSERT_TRUE(cmd.env.SetSecret("PATH", "/opt/S3cr3t/bin:/bin").ok());
  cmd.working_dir = absl::StrCat("/runs/", kSecret);
  cmd.name = absl::StrCat("fetch ", kSecret);
  EXPECT_EQ(ToString(cmd),
            "'<redacted>/curl' '--token=<redacted>' '<redacted>' (cwd "
            "\"/runs/<redacted>\", env {API_TOKEN=<redacted>, "
            "QUOTED=<redacted>, PATH=<redacted>}, name \"fetch <redacted>\")");
}

}  // namespace
}  // namespace procsandbox
