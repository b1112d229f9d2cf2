// Detection of the host's cgroup hierarchies, the naming of manager groups,
// stale-group removal on a fake tree, and the small cgroupfs parsers.
#include "linux/cgroup_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "linux/cgroup.h"
#include "linux/cgroup_detect.h"
#include "procsandbox_testing/matchers.h"

namespace procsandbox::linux_internal {

using ::procsandbox::posix_internal::UniqueFd;

namespace {

using ::procsandbox_testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// This host's layout, as /proc/self/mountinfo and /proc/self/cgroup say.
constexpr char kHybridMountinfo[] =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup "
    "rw,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup "
    "rw,memory\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup "
    "rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
constexpr char kHybridCgroup[] =
    "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n2:cpuacct:/\n"
    "1:cpu:/\n0::/\n";

TEST(CgroupDetectTest, AHybridHostHasBothAndEachControllersOwnGroup) {
  const CgroupHost host = ParseCgroupHost(kHybridMountinfo, kHybridCgroup);
  EXPECT_EQ(host.mode, CgroupHost::Mode::kHybrid);
  EXPECT_EQ(host.v2_mount, "/sys/fs/cgroup/unified");
  EXPECT_EQ(host.v2_group, "/sys/fs/cgroup/unified");
  ASSERT_NE(host.FindV1("memory"), nullptr);
  EXPECT_EQ(host.FindV1("memory")->group,
            "/sys/fs/cgroup/memory/process_api/abc");
  EXPECT_EQ(host.FindV1("pids")->group, "/sys/fs/cgroup/pids");
  EXPECT_EQ(host.FindV1("freezer"), nullptr);
  EXPECT_EQ(host.FindV1("systemd"), nullptr);  // a named hierarchy: unused
  EXPECT_EQ(CgroupModeName(host.mode), "hybrid");
}

TEST(CgroupDetectTest, AUnifiedHostUsesTheGroupUnderTheMountsRoot) {
  // A container: the mount's root is the container's own group.
  const CgroupHost host = ParseCgroupHost(
      "50 40 0:40 /kubepods/pod1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
      "0::/kubepods/pod1/app\n");
  EXPECT_EQ(host.mode, CgroupHost::Mode::kV2);
  EXPECT_EQ(host.v2_group, "/sys/fs/cgroup/app");
  EXPECT_THAT(host.v1, IsEmpty());
}

TEST(CgroupDetectTest, AGroupOutsideTheMountedSubtreeIsNotVisible) {
  const CgroupHost host = ParseCgroupHost(
      "50 40 0:40 /a /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "0::/b\n");
  EXPECT_EQ(host.v2_group, "");
}

TEST(CgroupDetectTest, CoMountedControllersShareOneHierarchy) {
  const CgroupHost host = ParseCgroupHost(
      "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup "
      "rw,cpu,cpuacct\n",
      "2:cpu,cpuacct:/svc\n");
  EXPECT_EQ(host.mode, CgroupHost::Mode::kV1);
  ASSERT_EQ(host.v1.size(), 1u);
  EXPECT_THAT(host.v1[0].controllers, ElementsAre("cpu", "cpuacct"));
  EXPECT_EQ(host.FindV1("cpuacct")->group, "/sys/fs/cgroup/cpu,cpuacct/svc");
}

TEST(CgroupDetectTest, EscapedMountPointsAreDecoded) {
  const CgroupHost host = ParseCgroupHost(
      "50 40 0:40 / /mnt/my\\040cgroups rw - cgroup2 cgroup2 rw\n", "0::/\n");
  EXPECT_EQ(host.v2_mount, "/mnt/my cgroups");
}

TEST(CgroupDetectTest, NoCgroupMountIsModeNone) {
  const CgroupHost host = ParseCgroupHost(
      "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n", "0::/\n");
  EXPECT_EQ(host.mode, CgroupHost::Mode::kNone);
  EXPECT_EQ(ParseCgroupHost("", "").mode, CgroupHost::Mode::kNone);
  // Garbage lines are skipped, not fatal.
  EXPECT_EQ(ParseCgroupHost("nonsense\n- - -\n", "x\n:::\n").mode,
            CgroupHost::Mode::kNone);
}

// Found by fuzz_cgroup_files: a line cut right after the source field has
// no super options, and was read one field past its end (ASan: heap
// overflow).
TEST(CgroupDetectTest, ALineEndingAfterTheSourceIsSkipped) {
  const CgroupHost host = ParseCgroupHost(
      "24 1 0:22 / /sys/fs/cgroup rw - cgroup cgroup\n"
      "25 1 0:23 / /sys/fs/cgroup/unified rw - cgroup2 cg2\n",
      "0::/\n");
  EXPECT_EQ(host.mode, CgroupHost::Mode::kNone);
}

// Found by fuzz_cgroup_files: the group path was joined to the mount as
// written, so "/../../etc" named a directory outside the hierarchy. The
// kernel writes clean absolute paths; anything else is not visible.
TEST(CgroupDetectTest, AGroupPathThatIsNotCleanAndAbsoluteIsNotVisible) {
  constexpr char kMountinfo[] =
      "24 1 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
  for (const char* path : {"/../../etc", "/a/../..", "user.slice", "", "//a/b",
                           "/a//b", "/a/", "/./a"}) {
    const CgroupHost host =
        ParseCgroupHost(kMountinfo, absl::StrCat("0::", path, "\n"));
    EXPECT_EQ(host.mode, CgroupHost::Mode::kV2) << path;
    EXPECT_EQ(host.v2_group, "") << path;
  }
  const std::string with_nul("0::/a\0b\n", 8);
  EXPECT_EQ(ParseCgroupHost(kMountinfo, with_nul).v2_group, "");
  EXPECT_EQ(ParseCgroupHost(kMountinfo, "0::/a/b\n").v2_group,
            "/sys/fs/cgroup/a/b");
}

// Found by fuzz_cgroup_files: cpu.stat's usage_usec * 1000 and cpuacct.stat
// ticks * (10^9 / USER_HZ) overflowed int64_t (undefined behaviour) on a
// huge value, and negative counts were taken as they came.
TEST(CgroupValueTest, CountsAreNeverNegativeAndScalingNeverOverflows) {
  EXPECT_EQ(ParseCgroupInt("123\n"), 123);
  EXPECT_EQ(ParseCgroupInt("-1\n"), std::nullopt);
  EXPECT_EQ(ParseCgroupInt("max\n"), std::nullopt);
  EXPECT_EQ(FlatKeyedValue("usage_usec -5\n", "usage_usec"), std::nullopt);
  EXPECT_EQ(ScaledCounter(7, 1000), 7000);
  EXPECT_EQ(ScaledCounter(std::nullopt, 1000), std::nullopt);
  EXPECT_EQ(ScaledCounter(int64_t{9223372036854775}, 1000),
            int64_t{9223372036854775000});
  EXPECT_EQ(ScaledCounter(int64_t{9223372036854776}, 1000), std::nullopt);
  EXPECT_EQ(ScaledCounter(-1, 1000), std::nullopt);
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(AddCounters(2, 3), 5);
  EXPECT_EQ(AddCounters(kMax, kMax), kMax);
}

TEST(CgroupNamingTest, AManagerGroupNameRoundTrips) {
  const ManagerGroupOwner owner{4026531836, 1234, 987654};
  const std::string name = ManagerGroupName(owner, 3);
  EXPECT_EQ(name, "procsandbox-4026531836-1234-987654-3");
  const std::optional<ManagerGroupOwner> parsed = ParseManagerGroupName(name);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->pid_namespace, 4026531836u);
  EXPECT_EQ(parsed->pid, 1234);
  EXPECT_EQ(parsed->start_ticks, 987654u);
}

TEST(CgroupNamingTest, OtherNamesAreNotOurs) {
  for (const char* name :
       {"procsandbox", "procsandbox-", "procsandbox-1-2-3",
        "procsandbox-a-1-2-3", "procsandbox-1-2-3-4-5", "procsandbox--1-2-3-4",
        "procsandbox-0-1-2-3", "procsandbox-1-0-2-3", "other-1-2-3-4",
        "system.slice", "procsandbox-1-2-3-x",
        // Found by fuzz_group_name: SimpleAtoi took a sign, spaces and
        // leading zeros, so several names parsed as one owner.
        "procsandbox-+1-2-3-4", "procsandbox-1- 2-3-4", "procsandbox-01-2-3-4",
        "procsandbox-1-2-3-04", "procsandbox-1-2-3-4 ", "procsandbox-1-2--3-4",
        "procsandbox-1-9223372036854775808-3-4"}) {
    EXPECT_FALSE(ParseManagerGroupName(name).has_value()) << name;
  }
}

// A pid that is certainly not running: a child that exited and was reaped.
int64_t AFinishedPid() {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, nullptr, 0);
  return pid;
}

TEST(CgroupNamingTest, ThisProcessIsNamedByItsPidNamespacePidAndStartTime) {
  const absl::StatusOr<ManagerGroupOwner> me = ThisProcessOwner();
  ASSERT_TRUE(me.ok()) << me.status();
  struct stat ns;
  ASSERT_EQ(stat("/proc/self/ns/pid", &ns), 0);
  EXPECT_EQ(me->pid_namespace, ns.st_ino);
  EXPECT_EQ(me->pid, getpid());
  const absl::StatusOr<uint64_t> started = ProcessStartTicks(getpid());
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_EQ(me->start_ticks, *started);
}

TEST(CgroupNamingTest, TheStartTimeOfNoProcessIsNotFound) {
  EXPECT_EQ(ProcessStartTicks(AFinishedPid()).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ProcessStartTicks(0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CgroupFsTest, ParsersReadWhatTheKernelWrites) {
  EXPECT_EQ(ParseCgroupInt("123\n"), 123);
  EXPECT_EQ(ParseCgroupInt("max\n"), std::nullopt);
  EXPECT_EQ(ParseCgroupInt(""), std::nullopt);
  const char events[] = "low 0\nhigh 0\nmax 5\noom 1\noom_kill 2\n";
  EXPECT_EQ(FlatKeyedValue(events, "oom_kill"), 2);
  EXPECT_EQ(FlatKeyedValue(events, "max"), 5);
  EXPECT_EQ(FlatKeyedValue(events, "oom"), 1);
  EXPECT_EQ(FlatKeyedValue(events, "missing"), std::nullopt);
  EXPECT_THAT(ParsePids("12\n345\n\n"), ElementsAre(12, 345));
  EXPECT_THAT(ParsePids(""), IsEmpty());
}

// A temporary directory standing in for a cgroup parent.
class FakeParent : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/procsandbox-cgroup-fs-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    root_ = dir;
  }
  void TearDown() override { EXPECT_TRUE(RemoveGroupTree(root_).ok()); }
  void MakeDir(const std::string& relative) {
    ASSERT_EQ(mkdir((root_ + "/" + relative).c_str(), 0755), 0) << relative;
  }
  bool Exists(const std::string& relative) {
    struct stat st;
    return stat((root_ + "/" + relative).c_str(), &st) == 0;
  }
  std::string root_;
};

TEST_F(FakeParent, OnlyGroupsOfManagersThatAreGoneAreRemoved) {
  const absl::StatusOr<ManagerGroupOwner> me = ThisProcessOwner();
  ASSERT_TRUE(me.ok()) << me.status();
  ManagerGroupOwner elsewhere = *me;  // not visible here, its lock held
  elsewhere.pid = AFinishedPid();
  ManagerGroupOwner restarted = *me;  // this pid, another start time
  restarted.start_ticks += 1;
  ManagerGroupOwner gone = elsewhere;
  const std::string locked = ManagerGroupName(elsewhere, 0);
  const std::string running = ManagerGroupName(*me, 1);  // no lock held
  const std::string earlier = ManagerGroupName(restarted, 0);
  const std::string ended = ManagerGroupName(gone, 1);
  // Named by an earlier version: no lock, no pid namespace.
  const std::string old_format =
      absl::StrCat("procsandbox-", gone.pid, "-", gone.start_ticks, "-0");
  absl::StatusOr<UniqueFd> held =
      MakeManagerDirectory(AT_FDCWD, root_ + "/" + locked, locked);
  ASSERT_TRUE(held.ok()) << held.status();
  for (const std::string& d : {running, earlier, ended, old_format}) {
    MakeDir(d);
  }
  MakeDir(ended + "/0");
  MakeDir(ended + "/1");
  MakeDir("procsandbox-not-ours");
  MakeDir("system.slice");
  std::vector<std::string> failed;
  std::vector<std::string> removed = RemoveStaleGroups(root_, &failed);
  std::sort(removed.begin(), removed.end());
  std::vector<std::string> expected = {root_ + "/" + ended,
                                       root_ + "/" + earlier};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(removed, expected);
  EXPECT_THAT(failed, IsEmpty());
  for (const std::string& d :
       {locked, running, old_format, std::string("procsandbox-not-ours"),
        std::string("system.slice")}) {
    EXPECT_TRUE(Exists(d)) << d;
  }
  EXPECT_FALSE(Exists(ended));
}

TEST_F(FakeParent, AManagerDirectoryIsLockedWhileItsDescriptorIsOpen) {
  const std::string name = "procsandbox-1-2-3-4";
  const std::string path = root_ + "/" + name;
  bool created = false;
  absl::StatusOr<UniqueFd> dir =
      MakeManagerDirectory(AT_FDCWD, path, path, &created);
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_TRUE(created);
  // Another descriptor cannot take it, nor can another manager.
  UniqueFd other(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(other.valid());
  EXPECT_NE(flock(other.get(), LOCK_EX | LOCK_NB), 0);
  EXPECT_EQ(errno, EWOULDBLOCK);
  EXPECT_THAT(MakeManagerDirectory(AT_FDCWD, path, path).status(),
              StatusIs(absl::StatusCode::kAborted, HasSubstr(path)));
  dir->reset();
  EXPECT_EQ(flock(other.get(), LOCK_EX | LOCK_NB), 0);
}

TEST_F(FakeParent, AManagerDirectoryThatCannotBeMadeIsNamed) {
  const std::string path = root_ + "/missing/procsandbox-1-2-3-4";
  EXPECT_THAT(MakeManagerDirectory(AT_FDCWD, path, path).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(path)));
  const std::string file = root_ + "/procsandbox-1-2-3-5";
  UniqueFd(open(file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
  EXPECT_THAT(MakeManagerDirectory(AT_FDCWD, file, file).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(file)));
  EXPECT_TRUE(Exists("procsandbox-1-2-3-5")) << "not ours to remove";
  ASSERT_EQ(unlink(file.c_str()), 0);
}

TEST_F(FakeParent, AMissingParentHasNothingStale) {
  EXPECT_THAT(RemoveStaleGroups(root_ + "/missing", nullptr), IsEmpty());
}

TEST_F(FakeParent, WritingAMissingFileNamesItAndTheValue) {
  absl::StatusOr<UniqueFd> dir = OpenDirectory(root_);
  ASSERT_TRUE(dir.ok());
  absl::Status s = WriteCgroupFile(dir->get(), "memory.max", "64", root_);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()),
              ::testing::HasSubstr("\"64\" to " + root_ + "/memory.max"));
  EXPECT_FALSE(OpenDirectory(root_ + "/missing").ok());
}

// --- Kept descriptors (plain files stand in for cgroupfs) -------------------

// FakeParent with plain files in it, removed before the directories.
class KeptFileTest : public FakeParent {
 protected:
  void TearDown() override {
    if (DIR* dir = opendir(root_.c_str())) {
      while (const dirent* entry = readdir(dir)) {
        if (entry->d_type == DT_REG) {
          unlink((root_ + "/" + entry->d_name).c_str());
        }
      }
      closedir(dir);
    }
    FakeParent::TearDown();
  }
};

void WriteFileText(const std::string& path, const std::string& text) {
  const int fd =
      open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(write(fd, text.data(), text.size()),
            static_cast<ssize_t>(text.size()));
  close(fd);
}

std::string FileText(const std::string& path) {
  absl::StatusOr<std::string> text = ReadCgroupFile(AT_FDCWD, path.c_str());
  return text.ok() ? *text : "<" + std::string(text.status().message()) + ">";
}

TEST_F(KeptFileTest, ReadAt0SeesEachNewContentThroughOneDescriptor) {
  const std::string path = root_ + "/pids.current";
  WriteFileText(path, "1\n");
  const UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  EXPECT_EQ(ReadAt0(fd.get(), "pids.current").value_or(""), "1\n");
  EXPECT_EQ(ReadAt0(fd.get(), "pids.current").value_or(""), "1\n");
  WriteFileText(path, "22\n");
  EXPECT_EQ(ReadAt0(fd.get(), "pids.current").value_or(""), "22\n");
  // More than one block: read on while blocks come full.
  const std::string big(10000, '7');
  WriteFileText(path, big);
  EXPECT_EQ(ReadAt0(fd.get(), "pids.current").value_or(""), big);
}

TEST_F(KeptFileTest, ReadAt0OfABadDescriptorNamesTheFile) {
  absl::StatusOr<std::string> text = ReadAt0(-1, "cpu.stat");
  EXPECT_FALSE(text.ok());
  EXPECT_THAT(std::string(text.status().message()),
              HasSubstr("read cpu.stat: "));
}

TEST_F(KeptFileTest, WriteAt0WritesFromTheStartEveryTime) {
  const std::string path = root_ + "/pids.max";
  WriteFileText(path, "");
  const UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  EXPECT_TRUE(WriteAt0(fd.get(), "32", "pids.max", root_).ok());
  EXPECT_EQ(FileText(path), "32");
  // At offset 0 again, not appended (a plain file keeps the old tail).
  EXPECT_TRUE(WriteAt0(fd.get(), "7", "pids.max", root_).ok());
  EXPECT_EQ(FileText(path), "72");
}

TEST_F(KeptFileTest, WriteAt0FailureNamesTheFileAndTheValue) {
  const std::string path = root_ + "/pids.max";
  WriteFileText(path, "");
  const UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  absl::Status s = WriteAt0(fd.get(), "32", "pids.max", root_);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("write \"32\" to " + root_ + "/pids.max: "));
}

TEST_F(KeptFileTest, CgroupFileReadsAndWritesThroughItsDescriptor) {
  WriteFileText(root_ + "/memory.max", "");
  absl::StatusOr<UniqueFd> dir = OpenDirectory(root_);
  ASSERT_TRUE(dir.ok());
  const CgroupFile file(dir->get(), "memory.max", O_RDWR);
  ASSERT_TRUE(file.valid());
  EXPECT_FALSE(file.absent());
  EXPECT_STREQ(file.name(), "memory.max");
  // Renamed away: only the descriptor still reaches it.
  ASSERT_EQ(rename((root_ + "/memory.max").c_str(), (root_ + "/moved").c_str()),
            0);
  EXPECT_TRUE(file.Write("4096", root_).ok());
  EXPECT_EQ(file.Read(root_).value_or(""), "4096");
  EXPECT_EQ(FileText(root_ + "/moved"), "4096");
}

TEST_F(KeptFileTest, CgroupFileThatIsAbsentFailsWithoutOpeningAnything) {
  absl::StatusOr<UniqueFd> dir = OpenDirectory(root_);
  ASSERT_TRUE(dir.ok());
  CgroupFile missing(dir->get(), "memory.peak", O_RDONLY);
  EXPECT_FALSE(missing.valid());
  EXPECT_TRUE(missing.absent());
  EXPECT_EQ(missing.open_errno(), ENOENT);
  // Made later: still absent for this descriptor-less file (no retry).
  WriteFileText(root_ + "/memory.peak", "5\n");
  absl::StatusOr<std::string> text = missing.Read(root_);
  EXPECT_EQ(text.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(text.status().message()), HasSubstr("memory.peak"));
  const CgroupFile declared = CgroupFile::Absent("pids.events");
  EXPECT_TRUE(declared.absent());
  EXPECT_EQ(declared.Read(root_).status().code(), absl::StatusCode::kNotFound);
  // A write reports the file and the value, as WriteCgroupFile would.
  absl::Status s = declared.Write("1", root_);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("write \"1\" to " + root_ + "/pids.events"));
}

TEST_F(KeptFileTest, CgroupFileThatFailedToOpenRetriesByPath) {
  MakeDir("pids.max");  // a directory: opening it for writing fails
  absl::StatusOr<UniqueFd> dir = OpenDirectory(root_);
  ASSERT_TRUE(dir.ok());
  CgroupFile file(dir->get(), "pids.max", O_WRONLY);
  EXPECT_FALSE(file.valid());
  EXPECT_FALSE(file.absent());
  EXPECT_EQ(file.open_errno(), EISDIR);
  absl::Status s = file.Write("32", root_);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("write \"32\" to " + root_ + "/pids.max: "));
  // Once the cause is gone, the retry by path works.
  ASSERT_EQ(rmdir((root_ + "/pids.max").c_str()), 0);
  WriteFileText(root_ + "/pids.max", "");
  EXPECT_TRUE(file.Write("32", root_).ok());
  EXPECT_EQ(FileText(root_ + "/pids.max"), "32");
  EXPECT_EQ(file.Read(root_).value_or(""), "32");
  file.Close();
  EXPECT_TRUE(file.absent());
}

}  // namespace
}  // namespace procsandbox::linux_internal
