// Adversarial review of the sandbox layer (issue 6) where the OS matters:
// each TEST proves one bug on the Linux OS manager and is expected to FAIL
// until the bug is fixed.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox/testing/testing.h"

namespace procsandbox {
namespace {

using ::procsandbox::testing::IsOk;
using ::procsandbox::testing::StatusIs;
namespace fs = std::filesystem;

class SandboxReviewOsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Manager>> m = NewOsManager();
    ASSERT_THAT(m, IsOk());
    manager_ = *std::move(m);
    char templ[] = "/tmp/procsandbox-review-os-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    base_ = templ;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }
  SandboxPolicy Policy() const {
    SandboxPolicy policy;
    policy.environment.set = Environment{{"PATH", "/usr/bin:/bin"}};
    return policy;
  }

  std::unique_ptr<Manager> manager_;
  std::string base_;
};

// BUG: the workdir root may be a symlink after all: with a trailing slash
// ("/x/link/") open(O_NOFOLLOW) resolves the final symlink (the slash makes
// it an intermediate component), so the check passes; the run's directory
// is then handed to the program by *name* through the symlink (cwd, TMPDIR),
// so whoever can re-point the link redirects later runs.
// Where: src/sandbox/workdir.cc Workdir::Create (open(root, O_NOFOLLOW)), and
// src/sandbox/sandbox.cc ValidateSandboxPolicy (root not normalised).
// Fix: strip trailing slashes (and reject "." / ".." components) before the
// O_NOFOLLOW open, or walk the root component by component with
// openat(O_NOFOLLOW) from "/", and report kUnsafeRoot for any symlink.
TEST_F(SandboxReviewOsTest, SymlinkRootWithATrailingSlashIsAccepted) {
  const std::string real = base_ + "/real";
  const std::string link = base_ + "/link";
  ASSERT_EQ(mkdir(real.c_str(), 0700), 0);
  ASSERT_EQ(symlink(real.c_str(), link.c_str()), 0);
  if (!fs::exists("/bin/true") && !fs::exists("/usr/bin/true")) {
    GTEST_SKIP() << "no true(1)";
  }
  SandboxPolicy policy = Policy();
  policy.workdir.root = link + "/";
  Sandbox sandbox(*manager_, policy);
  RunRequest request;
  request.program = "true";
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  ASSERT_THAT(r, StatusIs(absl::StatusCode::kPermissionDenied));
  ASSERT_TRUE(GetSecurityViolation(r.status()).has_value());
  EXPECT_EQ(GetSecurityViolation(r.status())->kind,
            SecurityViolation::Kind::kUnsafeRoot);
}

// BUG (policy gap): a program in a world-writable, non-sticky directory is
// accepted. Anyone can rename another file over it between the check and
// the exec (TOCTOU), so "not writable by others" on the file alone does not
// make it safe; the allowlist check by path is equally defeated.
// Where: src/sandbox/program_resolver.cc HostResolver::Resolve (only the
// file is stat'ed) and src/sandbox/program_policy.cc CheckProgram.
// Fix: also stat every directory of the resolved path and refuse
// (kUnsafeProgramFile) one writable by group/others without the sticky bit
// or not owned by root/this user; better still, exec the checked inode
// (open O_PATH + execveat/fexecve) so the check and the exec see one file.
TEST_F(SandboxReviewOsTest, ProgramInAWorldWritableDirectoryIsAccepted) {
  std::string source = "/bin/true";
  if (!fs::exists(source)) source = "/usr/bin/true";
  if (!fs::exists(source)) GTEST_SKIP() << "no true(1)";
  const std::string dir = base_ + "/shared";
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(chmod(dir.c_str(), 0777), 0);  // no sticky bit
  const std::string tool = dir + "/tool";
  fs::copy_file(source, tool);
  ASSERT_EQ(chmod(tool.c_str(), 0755), 0);
  Sandbox sandbox(*manager_, Policy());
  RunRequest request;
  request.program = tool;
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  ASSERT_THAT(r, StatusIs(absl::StatusCode::kPermissionDenied));
  ASSERT_TRUE(GetSecurityViolation(r.status()).has_value());
  EXPECT_EQ(GetSecurityViolation(r.status())->kind,
            SecurityViolation::Kind::kUnsafeProgramFile);
}

// --- Added with the fixes: the designs chosen.

// A program in a sticky directory others may write (as /tmp), owned by this
// user, is accepted: others cannot rename or remove a file they do not own.
TEST_F(SandboxReviewOsTest, ProgramInAStickyDirectoryIsAccepted) {
  std::string source = "/bin/true";
  if (!fs::exists(source)) source = "/usr/bin/true";
  if (!fs::exists(source)) GTEST_SKIP() << "no true(1)";
  const std::string dir = base_ + "/sticky";
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(chmod(dir.c_str(), 01777), 0);
  const std::string tool = dir + "/tool";
  fs::copy_file(source, tool);
  ASSERT_EQ(chmod(tool.c_str(), 0755), 0);
  Sandbox sandbox(*manager_, Policy());
  RunRequest request;
  request.program = tool;
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, SandboxStatus::kCompleted);
}

// A real root written with a trailing slash works, and its runs' paths are
// shown without a doubled slash.
TEST_F(SandboxReviewOsTest, RealRootWithATrailingSlashIsUsedNormalised) {
  const std::string real = base_ + "/real";
  ASSERT_EQ(mkdir(real.c_str(), 0700), 0);
  if (!fs::exists("/bin/true") && !fs::exists("/usr/bin/true")) {
    GTEST_SKIP() << "no true(1)";
  }
  SandboxPolicy policy = Policy();
  policy.workdir.root = real + "//";
  Sandbox sandbox(*manager_, policy);
  RunRequest request;
  request.program = "true";
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(fs::path(r->workdir).parent_path().string(), real);
}

}  // namespace
}  // namespace procsandbox
