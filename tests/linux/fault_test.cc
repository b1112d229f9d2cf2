// Fault injection into the host process: too few descriptors, no process
// left under RLIMIT_NPROC, little address space, and working directories on
// a file system with no inodes or no space. Each case runs in a forked child
// (fault_case.h) and ends with a clear Status or outcome and nothing left
// behind: no manager directory, no descriptor, no run directory.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cgroup_inspection.h"
#include "fault_case.h"
#include "gtest/gtest.h"
#include "procsandbox/procsandbox.h"

namespace procsandbox {
namespace {

namespace fs = std::filesystem;

constexpr char kHelper[] = PROCSANDBOX_TEST_HELPER;
constexpr uint32_t kNobody = 65534;

int OpenDescriptors() {
  return static_cast<int>(std::distance(fs::directory_iterator("/proc/self/fd"),
                                        fs::directory_iterator()));
}

std::string Show(const absl::Status& s) { return s.ToString(); }

// A memory-limited run printing "hi", as the command.
Command PrintHi() {
  Command cmd(kHelper, {"print", "hi"});
  cmd.limits.memory_bytes = 64 << 20;
  cmd.limits.output_bytes = 1024;
  cmd.limits.wall_time = absl::Seconds(30);
  cmd.stdout_ = Stdio::Capture();
  return cmd;
}

// How this host enforces a memory limit with descriptors to spare.
Mechanism MemoryMechanismHere() {
  absl::StatusOr<std::unique_ptr<Manager>> manager = NewOsManager();
  if (!manager.ok()) return Mechanism::kNone;
  for (const LimitEnforcement& e : (*manager)->capabilities().limits) {
    if (e.limit == LimitKind::kMemory) return e.mechanism;
  }
  return Mechanism::kNone;
}

bool NamesEmfile(const absl::Status& s) {
  return absl::StrContains(s.message(), "EMFILE") ||
         absl::StrContains(s.message(), "ENFILE");
}

// --- Descriptors ------------------------------------------------------------

class OutOfDescriptorsTest : public ::testing::TestWithParam<int> {};

TEST_P(OutOfDescriptorsTest, AManagerOrARunFailsNamingEmfileOrEnforcesInFull) {
  const rlim_t n = static_cast<rlim_t>(GetParam());
  const Mechanism expected = MemoryMechanismHere();
  PROCSANDBOX_FAULT_CASE([n, expected](FaultVerdict& v) {
    KeepOnlyVerdictDescriptor();
    const struct rlimit limit = {n, n};
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
      v.Check(false, absl::StrCat("setrlimit: ", std::strerror(errno)));
      return;
    }
    const int fds_before = OpenDescriptors();
    {
      absl::StatusOr<std::unique_ptr<Manager>> manager = NewOsManager();
      if (!manager.ok()) {
        v.Check(absl::IsResourceExhausted(manager.status()) &&
                    NamesEmfile(manager.status()),
                "NewOsManager: " + Show(manager.status()));
      } else {
        std::shared_ptr<Process> p = (*manager)->New(PrintHi());
        absl::Status started = p->Start();
        if (!started.ok()) {
          v.Check(absl::IsResourceExhausted(started) && NamesEmfile(started),
                  "Start: " + Show(started));
        } else {
          const Enforcement enforcement = p->enforcement();
          absl::StatusOr<Outcome> outcome = p->Wait();
          v.Check(outcome.ok() && outcome->ok(),
                  "Wait: " + (outcome.ok() ? ToString(*outcome)
                                           : Show(outcome.status())));
          v.Check(p->Captured().stdout_ == "hi\n",
                  "stdout: " + p->Captured().stdout_);
          const LimitEnforcement* memory = enforcement.Find(LimitKind::kMemory);
          v.Check(memory != nullptr && memory->mechanism == expected,
                  "memory not enforced as with descriptors to spare: " +
                      (memory ? ToString(*memory) : std::string("none")));
        }
      }
    }
    v.Check(
        OpenDescriptors() == fds_before,
        absl::StrCat(OpenDescriptors() - fds_before, " descriptors left open"));
    v.Check(OurGroupDirectories().empty(), "a manager directory was left");
  });
}

INSTANTIATE_TEST_SUITE_P(Nofile, OutOfDescriptorsTest,
                         ::testing::Values(8, 16, 24, 32));

// --- Processes --------------------------------------------------------------

// In the child: RLIMIT_NPROC 0 and the uid of nobody (root is not held to
// RLIMIT_NPROC). False, with the reason as a skip, when that cannot be.
bool BecomeNobodyWithoutProcesses(FaultVerdict& v) {
  if (geteuid() != 0) {
    v.Skip("switching to nobody needs root");
    return false;
  }
  const struct rlimit none = {0, 0};
  if (setrlimit(RLIMIT_NPROC, &none) != 0 ||
      setresgid(kNobody, kNobody, kNobody) != 0 ||
      setresuid(kNobody, kNobody, kNobody) != 0) {
    v.Check(false, absl::StrCat("become nobody: ", std::strerror(errno)));
    return false;
  }
  return true;
}

TEST(FaultTest, NoProcessLeftForTheReactorThreadIsResourceExhausted) {
  PROCSANDBOX_FAULT_CASE([](FaultVerdict& v) {
    if (!BecomeNobodyWithoutProcesses(v)) return;
    OsManagerOptions options;
    options.cgroups = false;  // nobody may not make groups here anyway
    absl::StatusOr<std::unique_ptr<Manager>> manager = NewOsManager(options);
    v.Check(absl::IsResourceExhausted(manager.status()) &&
                absl::StrContains(manager.status().message(),
                                  "start the reactor's thread"),
            "NewOsManager: " + Show(manager.status()));
  });
}

TEST(FaultTest, CloneAtTheHostsProcessLimitIsResourceExhausted) {
  PROCSANDBOX_FAULT_CASE([](FaultVerdict& v) {
    OsManagerOptions options;
    options.cgroups = false;
    absl::StatusOr<std::unique_ptr<Manager>> manager = NewOsManager(options);
    if (!v.Check(manager.ok(), "NewOsManager: " + Show(manager.status()))) {
      return;
    }
    // After the manager's thread exists (setresuid changes every thread).
    if (!BecomeNobodyWithoutProcesses(v)) return;
    std::shared_ptr<Process> p = (*manager)->New(PrintHi());
    const absl::Status s = p->Start();
    v.Check(absl::IsResourceExhausted(s) &&
                absl::StrContains(s.message(), "EAGAIN"),
            "Start: " + Show(s));
    v.Check((*manager)->List().empty(), "a process is listed");
  });
}

TEST(FaultTest, LittleAddressSpaceForTheHostIsAStatusNotACrash) {
  // RLIMIT_AS a little above what the host maps now: the reactor's thread
  // stack (8 MiB) or a child's stack does not fit.
  PROCSANDBOX_FAULT_CASE([](FaultVerdict& v) {
    OsManagerOptions options;
    options.cgroups = false;
    // statm's first field: pages mapped now.
    int64_t mapped = 0;
    {
      char text[256] = {};
      const int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
      const ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);
      if (fd >= 0) close(fd);
      if (n > 0)
        (void)absl::SimpleAtoi(absl::string_view(text).substr(
                                   0, absl::string_view(text).find(' ')),
                               &mapped);
    }
    if (!v.Check(mapped > 0, "read /proc/self/statm")) return;
    const rlim_t as =
        static_cast<rlim_t>(mapped) * static_cast<rlim_t>(getpagesize()) +
        (4 << 20);
    const struct rlimit limit = {as, as};
    if (!v.Check(setrlimit(RLIMIT_AS, &limit) == 0, "setrlimit RLIMIT_AS")) {
      return;
    }
    absl::StatusOr<std::unique_ptr<Manager>> manager = NewOsManager(options);
    if (!manager.ok()) {
      v.Check(absl::IsResourceExhausted(manager.status()),
              "NewOsManager: " + Show(manager.status()));
      return;
    }
    std::shared_ptr<Process> p = (*manager)->New(PrintHi());
    const absl::Status s = p->Start();
    if (!s.ok()) {
      v.Check(absl::IsResourceExhausted(s), "Start: " + Show(s));
      return;
    }
    absl::StatusOr<Outcome> outcome = p->Wait();
    v.Check(outcome.ok(), "Wait: " + Show(outcome.status()));
  });
}

// --- Working directories on a full file system ------------------------------

// In the child: a private mount namespace with a tmpfs of `options` on a
// fresh directory, the sandbox's workdir root. False (skip or failure
// recorded) when that cannot be.
bool MountPrivateTmpfs(FaultVerdict& v, const std::string& dir,
                       const std::string& options) {
  if (geteuid() != 0) {
    v.Skip("mounting a tmpfs needs root");
    return false;
  }
  if (unshare(CLONE_NEWNS) != 0) {
    v.Skip(absl::StrCat("unshare(CLONE_NEWNS): ", std::strerror(errno)));
    return false;
  }
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
            options.c_str()) != 0) {
    v.Skip(absl::StrCat("mount tmpfs (", options, "): ", std::strerror(errno)));
    return false;
  }
  return true;
}

SandboxPolicy WorkdirPolicyIn(const std::string& root) {
  SandboxPolicy policy;
  policy.workdir.root = root;
  policy.workdir.remove_in_background = false;  // gone when Run() returns
  policy.environment.set = Environment{{"PATH", "/usr/bin:/bin"}};
  return policy;
}

RunRequest HelperRequest(std::vector<std::string> steps) {
  RunRequest r;
  r.program = kHelper;
  r.args = std::move(steps);
  r.limits.wall_time = absl::Seconds(30);
  return r;
}

bool EmptyDirectory(const std::string& dir) {
  std::error_code ec;
  return fs::is_empty(dir, ec) && !ec;
}

class WorkdirWithoutInodesTest : public ::testing::TestWithParam<int> {};

TEST_P(WorkdirWithoutInodesTest, ARunFailsWithAClearStatusAndLeavesNothing) {
  // nr_inodes counts the root: 1 leaves none for the run's directory, 2
  // none for its tmp/, 3 none for its log/. (0 would mean unlimited.)
  const int inodes = GetParam();
  char templ[] = "/tmp/procsandbox-fault-XXXXXX";
  ASSERT_NE(mkdtemp(templ), nullptr);
  const std::string root = templ;
  PROCSANDBOX_FAULT_CASE([&root, inodes](FaultVerdict& v) {
    if (!MountPrivateTmpfs(v, root,
                           absl::StrCat("nr_inodes=", inodes, ",mode=0700"))) {
      return;
    }
    {
      absl::StatusOr<std::unique_ptr<Manager>> manager = NewOsManager();
      if (!v.Check(manager.ok(), "NewOsManager: " + Show(manager.status()))) {
        return;
      }
      Sandbox sandbox(**manager, WorkdirPolicyIn(root));
      absl::StatusOr<SandboxResult> r =
          sandbox.Run(HelperRequest({"print", "hi"}));
      v.Check(absl::IsResourceExhausted(r.status()) &&
                  (absl::StrContains(r.status().message(), "ENOSPC") ||
                   absl::StrContains(r.status().message(), "No space left")),
              "Run: " + (r.ok() ? std::string(SandboxStatusName(r->status))
                                : Show(r.status())));
    }
    v.Check(EmptyDirectory(root), "the run's directory was left");
    v.Check(OurGroupDirectories().empty(), "a manager directory was left");
  });
  EXPECT_EQ(rmdir(root.c_str()), 0) << std::strerror(errno);
}

INSTANTIATE_TEST_SUITE_P(Inodes, WorkdirWithoutInodesTest,
                         ::testing::Values(1, 2, 3));

TEST(FaultTest, AProgramWritingToAFullWorkdirFailsItsOwnWayAndLeavesNothing) {
  char templ[] = "/tmp/procsandbox-fault-XXXXXX";
  ASSERT_NE(mkdtemp(templ), nullptr);
  const std::string root = templ;
  PROCSANDBOX_FAULT_CASE([&root](FaultVerdict& v) {
    if (!MountPrivateTmpfs(v, root, "size=64k,mode=0700")) return;
    // Full before the run: directories still fit (they take inodes, not
    // pages), the program's file does not.
    {
      const int fill =
          open((root + "/fill").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
      const std::string block(4096, 'x');
      while (write(fill, block.data(), block.size()) > 0) {
      }
      close(fill);
    }
    {
      absl::StatusOr<std::unique_ptr<Manager>> manager = NewOsManager();
      if (!v.Check(manager.ok(), "NewOsManager: " + Show(manager.status()))) {
        return;
      }
      Sandbox sandbox(**manager, WorkdirPolicyIn(root));
      absl::StatusOr<SandboxResult> r =
          sandbox.Run(HelperRequest({"write-file", "out.bin", "65536"}));
      if (v.Check(r.ok(), "Run: " + Show(r.status()))) {
        // The helper reports the failed write: exit 1, ENOSPC on stderr.
        v.Check(r->status == SandboxStatus::kFailed &&
                    r->outcome.reason == ExitReason::kExited &&
                    r->outcome.exit_code == 1 &&
                    absl::StrContains(r->stderr_, "No space left"),
                absl::StrCat(SandboxStatusName(r->status), " ",
                             ToString(r->outcome), ": ", r->stderr_));
        v.Check(r->cleanup == WorkdirCleanup::kRemoved,
                "the run's directory was not removed");
      }
    }
    unlink((root + "/fill").c_str());
    v.Check(EmptyDirectory(root), "the run's directory was left");
  });
  EXPECT_EQ(rmdir(root.c_str()), 0) << std::strerror(errno);
}

}  // namespace
}  // namespace procsandbox
