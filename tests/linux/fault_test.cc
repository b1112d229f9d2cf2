// Fault injection into the host process: too few descriptors, no process
// left under RLIMIT_NPROC, little address space, ENOMEM from clone, and
// working directories on a file system with no inodes or no space. Each case
// runs in a forked child (fault_case.h) and ends with a clear Status or outcome
// and nothing left behind: no manager directory, no descriptor, no run
// directory.
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cgroup_inspection.h"
#include "fault_case.h"
#include "gtest/gtest.h"
#include "process_inspection.h"
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

// A memory-limited run printing "hi", as the issue's command.
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
                  absl::StrContains(r.status().message(), "(ENOSPC)"),
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

// --- ENOMEM from clone -------------------------------------------------------

#if defined(__x86_64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_AARCH64;
#endif

// In the child: a seccomp filter under which clone3 fails with ENOSYS, as
// under container runtimes' default profiles (its flags sit behind a
// pointer a filter cannot read; glibc's pthread_create then falls back to
// clone). With `processes_fail`, making a process fails with ENOMEM too, as
// the kernel's clone does when it cannot allocate the new task, while
// threads are still made: clone without CLONE_THREAD, fork and vfork. False
// (skip or failure recorded) when that cannot be.
bool FilterClone(FaultVerdict& v, bool processes_fail) {
#if defined(__x86_64__) || defined(__aarch64__)
#if defined(__NR_fork)
  constexpr uint32_t kFork = __NR_fork, kVfork = __NR_vfork;
#else
  // aarch64 has no fork or vfork: numbers no call has, never matched.
  constexpr uint32_t kFork = ~0U, kVfork = ~0U;
#endif
  // The low half of clone's flags (little-endian on both arches).
  constexpr uint32_t kCloneFlags = offsetof(seccomp_data, args[0]);
  sock_filter program[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kAuditArch, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 2),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kCloneFlags),
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 3, 2),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kFork, 1, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kVfork, 0, 1),
      BPF_STMT(BPF_RET | BPF_K,
               processes_fail ? SECCOMP_RET_ERRNO | ENOMEM : SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  const sock_fprog fprog = {static_cast<unsigned short>(std::size(program)),
                            program};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    v.Check(false, absl::StrCat("PR_SET_NO_NEW_PRIVS: ", std::strerror(errno)));
    return false;
  }
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0U, &fprog) != 0) {
    v.Skip(absl::StrCat("seccomp: ", std::strerror(errno)));
    return false;
  }
  // The filter works as meant.
  if (!v.Check(
          syscall(SYS_clone3, nullptr, std::size_t{0}) < 0 && errno == ENOSYS,
          "clone3 under the filter")) {
    return false;
  }
  if (!processes_fail) return true;
  const pid_t forked = fork();
  if (forked == 0) _exit(0);
  return v.Check(forked < 0 && errno == ENOMEM,
                 absl::StrCat("fork under the filter: ", forked, " ",
                              std::strerror(errno)));
#else
  v.Skip("the seccomp filter is written for x86_64 and aarch64 only");
  return false;
#endif
}

TEST(FaultTest, EnomemFromCloneIsResourceExhaustedAndLeavesNothing) {
  PROCSANDBOX_FAULT_CASE([](FaultVerdict& v) {
    // A manager before the filter, as a host that ran some: the probe for
    // clone3 (cached for the process) said yes.
    {
      absl::StatusOr<std::unique_ptr<Manager>> before = NewOsManager();
      if (!v.Check(before.ok(), "NewOsManager: " + Show(before.status()))) {
        return;
      }
    }
    if (!FilterClone(v, /*processes_fail=*/true)) return;
    const int fds_before = OpenDescriptors();
    {
      // Its reactor's thread still starts (clone3 ENOSYS, then clone).
      absl::StatusOr<std::unique_ptr<Manager>> manager = NewOsManager();
      if (!v.Check(manager.ok(), "NewOsManager: " + Show(manager.status()))) {
        return;
      }
      for (int i = 0; i < 2; ++i) {  // the second after a failed first
        std::shared_ptr<Process> p = (*manager)->New(PrintHi());
        const absl::Status s = p->Start();
        v.Check(absl::IsResourceExhausted(s) &&
                    absl::StrContains(s.message(), "clone") &&
                    absl::StrContains(s.message(), "ENOMEM"),
                absl::StrCat("Start #", i + 1, ": ", Show(s)));
        v.Check(p->Id() == 0 && p->state() == ProcessState::kNew,
                "the failed process has a pid or a state");
      }
      v.Check((*manager)->List().empty(), "a process is listed");

      // The Sandbox layer refuses the run with the same Status.
      Sandbox sandbox(**manager, SandboxPolicy{});
      absl::StatusOr<SandboxResult> r =
          sandbox.Run(HelperRequest({"print", "hi"}));
      v.Check(
          absl::IsResourceExhausted(r.status()) &&
              absl::StrContains(r.status().message(), "ENOMEM"),
          "Sandbox::Run: " + (r.ok() ? std::string(SandboxStatusName(r->status))
                                     : Show(r.status())));
    }
    // The manager shut down: no child, group or descriptor is left.
    siginfo_t info = {};
    v.Check(waitid(P_ALL, 0, &info, WEXITED | WNOHANG) == -1 && errno == ECHILD,
            absl::StrCat("a child is left: pid ", info.si_pid));
    v.Check(OurGroupDirectories().empty(), "a manager directory was left");
    v.Check(
        OpenDescriptors() == fds_before,
        absl::StrCat(OpenDescriptors() - fds_before, " descriptors left open"));
  });
}

// The line of /proc/<pid>/cgroup for cgroup v2 ("0::/path"), or "".
std::string V2Line(const std::string& cgroup_file) {
  for (absl::string_view line : absl::StrSplit(cgroup_file, '\n')) {
    if (absl::StartsWith(line, "0::")) return std::string(line);
  }
  return "";
}

TEST(FaultTest, Clone3GoneAfterTheProbeChildrenJoinTheirGroupThemselves) {
  PROCSANDBOX_FAULT_CASE([](FaultVerdict& v) {
    // The probe said yes (a manager before the filter); the filter then
    // takes clone3 away (ENOSYS) and leaves clone.
    {
      absl::StatusOr<std::unique_ptr<Manager>> before = NewOsManager();
      if (!v.Check(before.ok(), "NewOsManager: " + Show(before.status()))) {
        return;
      }
    }
    if (!FilterClone(v, /*processes_fail=*/false)) return;
    const std::string own = V2Line(ReadWholeFile("/proc/self/cgroup"));
    {
      absl::StatusOr<std::unique_ptr<Manager>> manager = NewOsManager();
      if (!v.Check(manager.ok(), "NewOsManager: " + Show(manager.status()))) {
        return;
      }
      if (!(*manager)->capabilities().Has("cgroup_v2")) {
        v.Skip("no cgroup v2 group to start children in");
        return;
      }
      for (int i = 0; i < 2; ++i) {  // the first finds clone3 gone
        Command cmd("/bin/cat", {"/proc/self/cgroup"});
        cmd.stdout_ = Stdio::Capture();
        std::shared_ptr<Process> p = (*manager)->New(std::move(cmd));
        const absl::Status s = p->Start();
        if (!v.Check(s.ok(), absl::StrCat("Start #", i + 1, ": ", Show(s)))) {
          continue;
        }
        absl::StatusOr<Outcome> outcome = p->Wait();
        v.Check(outcome.ok() && outcome->ok(),
                "Wait: " + (outcome.ok() ? ToString(*outcome)
                                         : Show(outcome.status())));
        const std::string line = V2Line(p->Captured().stdout_);
        v.Check(!line.empty() && line != own,
                absl::StrCat("run #", i + 1, " not in its own group: ", line));
      }
    }
    v.Check(OurGroupDirectories().empty(), "a manager directory was left");
  });
}

}  // namespace
}  // namespace procsandbox
