#include "windows/program_search.h"

#include <set>
#include <string>
#include <vector>

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
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::StatusCode kNotFound = absl::StatusCode::kNotFound;

// A disk of the files given, recording each path asked for.
class FakeDisk {
 public:
  explicit FakeDisk(std::set<std::string> files) : files_(std::move(files)) {}

  std::function<bool(const std::string&)> exists() {
    return [this](const std::string& path) {
      asked_.push_back(path);
      return files_.count(path) != 0;
    };
  }
  const std::vector<std::string>& asked() const { return asked_; }

 private:
  std::set<std::string> files_;
  std::vector<std::string> asked_;
};

Environment Env(std::initializer_list<std::pair<std::string, std::string>> v) {
  return Environment(v);
}

TEST(FindProgramTest, TriesEachPathEntryWithEachPathExtInOrder) {
  FakeDisk disk({R"(C:\b\git.CMD)", R"(C:\b\git.EXE)"});
  EXPECT_THAT(
      FindProgram("git",
                  Env({{"PATH", R"(C:\a;C:\b\)"}, {"PATHEXT", ".EXE;.CMD"}}),
                  "", disk.exists()),
      IsOkAndHolds(std::string(R"(C:\b\git.EXE)")));
  EXPECT_THAT(disk.asked(), ElementsAre(R"(C:\a\git.EXE)", R"(C:\a\git.CMD)",
                                        R"(C:\b\git.EXE)"));
}

TEST(FindProgramTest, UsesTheDefaultPathExtWhenThereIsNone) {
  FakeDisk disk({R"(C:\b\run.BAT)"});
  EXPECT_THAT(FindProgram("run", Env({{"PATH", R"(C:\b)"}}), "", disk.exists()),
              IsOkAndHolds(std::string(R"(C:\b\run.BAT)")));
  EXPECT_THAT(disk.asked(), ElementsAre(R"(C:\b\run.COM)", R"(C:\b\run.EXE)",
                                        R"(C:\b\run.BAT)"));
}

TEST(FindProgramTest, TriesANameWithAnExtensionAsGivenFirst) {
  FakeDisk disk({R"(C:\py\python3.11.EXE)", R"(C:\b\tool.exe)"});
  const Environment env({{"PATH", R"(C:\py;C:\b)"}, {"PATHEXT", ".EXE"}});
  EXPECT_THAT(FindProgram("tool.exe", env, "", disk.exists()),
              IsOkAndHolds(std::string(R"(C:\b\tool.exe)")));
  EXPECT_THAT(FindProgram("python3.11", env, "", disk.exists()),
              IsOkAndHolds(std::string(R"(C:\py\python3.11.EXE)")));
}

TEST(FindProgramTest, FindsPathAndPathExtWhateverTheirCase) {
  FakeDisk disk({R"(D:\x\go.exe)"});
  EXPECT_THAT(FindProgram("go", Env({{"Path", R"(D:\x)"}, {"PathExt", ".exe"}}),
                          "", disk.exists()),
              IsOkAndHolds(std::string(R"(D:\x\go.exe)")));
}

TEST(FindProgramTest, StripsQuotesAndSkipsEmptyEntries) {
  FakeDisk disk({R"(C:\Program Files\Git\cmd\git.EXE)"});
  EXPECT_THAT(
      FindProgram("git", Env({{"PATH", R"(;"C:\Program Files\Git\cmd";;)"}}),
                  "", disk.exists()),
      IsOkAndHolds(std::string(R"(C:\Program Files\Git\cmd\git.EXE)")));
}

TEST(FindProgramTest, NeverLooksInTheWorkingDirectoryForABareName) {
  FakeDisk disk({R"(C:\work\evil.EXE)", R"(evil.EXE)", R"(.\evil.EXE)"});
  EXPECT_THAT(FindProgram("evil", Env({{"PATH", R"(C:\bin)"}}), R"(C:\work)",
                          disk.exists()),
              StatusIs(kNotFound));
  for (const std::string& path : disk.asked()) {
    EXPECT_THAT(path, HasSubstr(R"(C:\bin\)"));
  }
}

TEST(FindProgramTest, UsesAPathAsGivenRelativeToTheWorkingDirectory) {
  FakeDisk disk({R"(C:\w\tools\x.exe)", R"(C:\abs\y.EXE)", R"(\\srv\s\z.exe)",
                 R"(C:\w\./rel.EXE)"});
  const Environment env({{"PATH", R"(C:\nowhere)"}});
  EXPECT_THAT(FindProgram(R"(tools\x.exe)", env, R"(C:\w)", disk.exists()),
              IsOkAndHolds(std::string(R"(C:\w\tools\x.exe)")));
  EXPECT_THAT(FindProgram(R"(C:\abs\y)", env, R"(C:\w)", disk.exists()),
              IsOkAndHolds(std::string(R"(C:\abs\y.EXE)")));
  EXPECT_THAT(FindProgram(R"(\\srv\s\z.exe)", env, R"(C:\w)", disk.exists()),
              IsOkAndHolds(std::string(R"(\\srv\s\z.exe)")));
  EXPECT_THAT(FindProgram("./rel", env, R"(C:\w)", disk.exists()),
              IsOkAndHolds(std::string(R"(C:\w\./rel.EXE)")));
  EXPECT_THAT(disk.asked(), Not(::testing::Contains(HasSubstr("nowhere"))));
}

TEST(FindProgramTest, JoinsARelativePathEntryToTheWorkingDirectory) {
  FakeDisk disk({R"(C:\w\bin\t.EXE)"});
  EXPECT_THAT(
      FindProgram("t", Env({{"PATH", "bin"}}), R"(C:\w)", disk.exists()),
      IsOkAndHolds(std::string(R"(C:\w\bin\t.EXE)")));
}

// --- The POSIX backends' texts. ----------------------------------------------

TEST(FindProgramTest, NotFoundNamesTheProgramAndThePathSearched) {
  FakeDisk disk({});
  EXPECT_THAT(
      FindProgram("go", Env({{"Path", R"(C:\bin;D:\x)"}}), "", disk.exists()),
      StatusIs(kNotFound, R"(exec "go": not found in PATH "C:\bin;D:\x" )"
                          "(ENOENT)"));
  EXPECT_THAT(
      FindProgram("go", Environment(), "", disk.exists()),
      StatusIs(kNotFound, R"(exec "go": not found in PATH "" (ENOENT))"));
}

TEST(FindProgramTest, NotFoundForAPathSaysNoSuchFile) {
  FakeDisk disk({});
  EXPECT_THAT(
      FindProgram(R"(C:\no\such.exe)", Environment(), "", disk.exists()),
      StatusIs(kNotFound, R"(exec "C:\no\such.exe": no such file )"
                          "(ENOENT)"));
  EXPECT_THAT(FindProgram("D:tool", Environment(), "", disk.exists()),
              StatusIs(kNotFound, HasSubstr("no such file")));
}

TEST(FindProgramTest, NeverShowsASecretPath) {
  FakeDisk disk({});
  Environment env;
  ASSERT_THAT(env.SetSecret("Path", R"(C:\secret-dir-42)"), IsOk());
  const absl::StatusOr<std::string> found =
      FindProgram("go", env, "", disk.exists());
  EXPECT_THAT(found,
              StatusIs(kNotFound, R"(exec "go": not found in PATH <redacted> )"
                                  "(ENOENT)"));
  EXPECT_THAT(found, StatusIs(kNotFound, Not(HasSubstr("secret-dir"))));
  // A later error about the file found there shows no path either.
  EXPECT_THAT(internal::ProgramNotExecutableError(
                  "go", R"(C:\secret-dir-42\go.exe)", SearchOf("go", env)),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       R"(exec "go" in PATH <redacted>: permission denied )"
                       "(EACCES)"));
}

TEST(CheckNotBatchFileTest, RefusesBatchFilesWhateverTheirSpelling) {
  for (const char* found :
       {"C:\\tools\\npm.cmd", "C:\\tools\\build.BAT", "run.Cmd",
        "C:\\x\\y.bat.", "C:\\x\\y.bat . .", "C:\\x\\y.cmd::$DATA",
        "C:\\x\\y.bat::$data", "D:y.cmd", "\\\\server\\share\\z.bat"}) {
    EXPECT_THAT(CheckNotBatchFile("tool", found),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("start \"tool\": a batch file"),
                               HasSubstr("cmd.exe /d /c"))))
        << found;
  }
}

TEST(CheckNotBatchFileTest, LetsProgramsAndLookalikesThrough) {
  for (const char* found :
       {"C:\\tools\\npm.exe", "C:\\x.bat\\run.exe", "C:\\x\\batch",
        "C:\\x\\y.bats", "C:\\x\\cmd", "C:\\x\\y.com", "C:\\x\\.cmdrc.exe"}) {
    EXPECT_THAT(CheckNotBatchFile("tool", found), IsOk()) << found;
  }
}

}  // namespace
}  // namespace procsandbox::windows_internal
