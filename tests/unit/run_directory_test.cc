// RunDirectory: a run's private working directory without a Sandbox, made
// in a real temporary root (the library's own file system work).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/sandbox/violation.h"
#include "procsandbox/sandbox/workdir.h"
#include "procsandbox_testing/testing.h"

namespace procsandbox {
namespace {

using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;
namespace fs = std::filesystem;

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

class RunDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/procsandbox-rundir-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    root_ = templ;
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string root_;
};

TEST_F(RunDirectoryTest, IsFreshPrivateAndRemovedWithoutFollowingLinks) {
  absl::StatusOr<RunDirectory> dir = RunDirectory::Create(root_ + "/");
  ASSERT_THAT(dir.status(), IsOk());
  const std::string path = dir->path();
  EXPECT_THAT(path, StartsWith(root_ + "/run-"));
  EXPECT_EQ(ModeOf(path), 0700);
  std::vector<std::string> names;
  for (const fs::directory_entry& e : fs::directory_iterator(path)) {
    names.push_back(e.path().filename());
  }
  EXPECT_THAT(names, UnorderedElementsAre("tmp", "log"));
  // What a program may leave: a link out, a directory it locked.
  const std::string outside = root_ + "-outside";
  std::ofstream(outside) << "keep";
  ASSERT_EQ(symlink(outside.c_str(), (path + "/out").c_str()), 0);
  ASSERT_EQ(mkdir((path + "/locked").c_str(), 0700), 0);
  std::ofstream(path + "/locked/f") << "x";
  ASSERT_EQ(chmod((path + "/locked").c_str(), 0), 0);

  EXPECT_THAT(dir->Remove(absl::Minutes(1)), IsOk());
  EXPECT_TRUE(fs::is_empty(root_));
  EXPECT_TRUE(fs::exists(outside));
  fs::remove(outside);
  EXPECT_THAT(dir->Remove(absl::Minutes(1)), IsOk()) << "a second time";
}

TEST_F(RunDirectoryTest, EachRunGetsItsOwnDirectory) {
  absl::StatusOr<RunDirectory> a = RunDirectory::Create(root_);
  absl::StatusOr<RunDirectory> b = RunDirectory::Create(root_);
  ASSERT_THAT(a.status(), IsOk());
  ASSERT_THAT(b.status(), IsOk());
  EXPECT_NE(a->path(), b->path());
  RunDirectory moved = *std::move(a);
  EXPECT_EQ(a->path(), "");  // NOLINT(bugprone-use-after-move): documented
  EXPECT_THAT(moved.Remove(absl::Minutes(1)), IsOk());
  EXPECT_THAT(b->Remove(absl::Minutes(1)), IsOk());
  EXPECT_TRUE(fs::is_empty(root_));
}

TEST_F(RunDirectoryTest, RefusesARootOthersCanWrite) {
  ASSERT_EQ(chmod(root_.c_str(), 0777), 0);
  absl::StatusOr<RunDirectory> dir = RunDirectory::Create(root_);
  EXPECT_THAT(dir.status(), StatusIs(absl::StatusCode::kPermissionDenied,
                                     HasSubstr("writable by group or others")));
  std::optional<SecurityViolation> v = GetSecurityViolation(dir.status());
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->kind, SecurityViolation::Kind::kUnsafeRoot);
  EXPECT_TRUE(fs::is_empty(root_));
}

TEST_F(RunDirectoryTest, RefusesASymlinkedRoot) {
  const std::string link = root_ + "-link";
  ASSERT_EQ(symlink(root_.c_str(), link.c_str()), 0);
  absl::StatusOr<RunDirectory> dir = RunDirectory::Create(link + "/");
  EXPECT_THAT(dir.status(), StatusIs(absl::StatusCode::kPermissionDenied,
                                     HasSubstr("it is a symlink")));
  unlink(link.c_str());
  EXPECT_TRUE(fs::is_empty(root_));
}

TEST_F(RunDirectoryTest, AMissingRootNamesItsErrno) {
  absl::StatusOr<RunDirectory> dir = RunDirectory::Create(root_ + "/no/such");
  EXPECT_THAT(dir.status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("(ENOENT)")));
}

}  // namespace
}  // namespace procsandbox
