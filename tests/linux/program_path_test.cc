// ResolveProgram: execvpe's search, done before the spawn.
#include "posix/program_path.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/environment.h"
#include "procsandbox_testing/matchers.h"

namespace procsandbox::linux_internal {

using ::procsandbox::posix_internal::ResolveProgram;

namespace {

using ::procsandbox_testing::IsOkAndHolds;
using ::procsandbox_testing::StatusIs;
using ::testing::HasSubstr;

// An environment with only PATH.
Environment Path(const std::string& path) {
  return Environment{{"PATH", path}};
}

// A temporary tree: <root>/bin/tool (executable), <root>/data/tool (not).
class ProgramPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "program_path.XXXXXX";
    root_ = mkdtemp(pattern.data());
    ASSERT_EQ(mkdir((root_ + "/bin").c_str(), 0755), 0);
    ASSERT_EQ(mkdir((root_ + "/data").c_str(), 0755), 0);
    ASSERT_EQ(mkdir((root_ + "/dir.d").c_str(), 0755), 0);
    Touch(root_ + "/bin/tool", 0755);
    Touch(root_ + "/data/tool", 0644);
    ASSERT_EQ(mkdir((root_ + "/dir.d/tool").c_str(), 0755), 0);
  }
  void TearDown() override {
    unlink((root_ + "/bin/tool").c_str());
    unlink((root_ + "/data/tool").c_str());
    rmdir((root_ + "/dir.d/tool").c_str());
    for (const char* d : {"/bin", "/data", "/dir.d", ""}) {
      rmdir((root_ + d).c_str());
    }
  }
  static void Touch(const std::string& path, mode_t mode) {
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, mode);
    ASSERT_GE(fd, 0);
    close(fd);
    chmod(path.c_str(), mode);
  }

  std::string root_;
};

TEST_F(ProgramPathTest, APathIsUsedAsGiven) {
  EXPECT_THAT(ResolveProgram("./x/y", Path("/bin"), ""), IsOkAndHolds("./x/y"));
}

TEST_F(ProgramPathTest, TheFirstExecutableOnThePathWins) {
  const std::string path = root_ + "/dir.d:" + root_ + "/bin:/usr/bin";
  EXPECT_THAT(ResolveProgram("tool", Path(path), ""),
              IsOkAndHolds(root_ + "/bin/tool"));
}

TEST_F(ProgramPathTest, RelativeEntriesAreRelativeToTheWorkingDirectory) {
  EXPECT_THAT(ResolveProgram("tool", Path("bin"), root_),
              IsOkAndHolds("bin/tool"));
  EXPECT_THAT(ResolveProgram("tool", Path(":/usr/bin"), root_ + "/bin"),
              IsOkAndHolds("./tool"));
}

TEST_F(ProgramPathTest, OnlyANonExecutableCandidateIsPermissionDenied) {
  const std::string path = root_ + "/data";
  EXPECT_THAT(ResolveProgram("tool", Path(path), ""),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr(root_ + "/data/tool")));
}

TEST_F(ProgramPathTest, NoCandidateIsNotFoundNamingTheProgramAndThePath) {
  EXPECT_THAT(ResolveProgram("no-such-tool", Path("/opt/none:/usr/none"), ""),
              StatusIs(absl::StatusCode::kNotFound,
                       "exec \"no-such-tool\": not found in PATH "
                       "\"/opt/none:/usr/none\" (ENOENT)"));
}

}  // namespace
}  // namespace procsandbox::linux_internal
