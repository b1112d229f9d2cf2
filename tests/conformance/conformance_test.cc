// The conformance suite: one set of tests, run against every manager (the
// in-memory fake with the helper's twin, and the OS manager with the real
// helper), through the public API only. A difference between them is a bug in
// the fake. Tests assert order and outcome, never durations: real time is
// not the fake's virtual time.
//
// On Windows the suite runs the fake and the Windows manager; what Windows
// has no equivalent for is skipped on the Windows manager with the reason
// (the list is at the INSTANTIATE_TEST_SUITE_P below).
//
// Built with PROCSANDBOX_CONFORMANCE_SLURM
// (procsandbox_slurm_conformance_tests) the suite runs the Slurm manager alone,
// on a one-node cluster the binary starts (tests/slurm/shared_cluster.h); what
// Slurm cannot express is skipped there with the reason (the list is at
// INSTANTIATE_TEST_SUITE_P).
#if defined(_WIN32)
#include <windows.h>
// <windows.h> first.
#include <tlhelp32.h>
#else
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "conformance/helper_twin.h"
#include "conformance/posix_signals.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/command.h"
#include "procsandbox/manager.h"
#include "procsandbox/memory_manager.h"
#include "procsandbox/os_manager.h"
#include "procsandbox/outcome.h"
#include "procsandbox/process.h"
#include "procsandbox/run.h"
#include "procsandbox/stdio.h"
#include "procsandbox_testing/matchers.h"
#include "real_time.h"
#if defined(PROCSANDBOX_CONFORMANCE_SLURM)
#include "slurm/shared_cluster.h"
#endif

namespace procsandbox::conformance {
namespace {

using ::procsandbox_testing::Cancelled;
using ::procsandbox_testing::EndedWith;
using ::procsandbox_testing::ExceededCpuTime;
using ::procsandbox_testing::ExceededFileSize;
using ::procsandbox_testing::ExitedWith;
using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::IsOkAndHolds;
using ::procsandbox_testing::KilledBy;
using ::procsandbox_testing::KilledByException;
using ::procsandbox_testing::StatusIs;
using ::procsandbox_testing::TimedOut;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::ResultOf;

constexpr char kHelper[] = PROCSANDBOX_TEST_HELPER;
// How long a test waits for a line it expects: only a bound on a hang.
constexpr absl::Duration kLineTimeout = absl::Seconds(10);
// A wall_time that only turns a hang into a failing outcome.
constexpr absl::Duration kSafetyNet = absl::Seconds(60);

// One manager the suite runs against.
struct ManagerParam {
  std::string name;
  // The manager, or the reason it cannot run here (the tests are skipped).
  std::function<absl::StatusOr<std::unique_ptr<Manager>>()> factory;
  // The helper program's path (the fake registers its twin there).
  std::string helper;
};

void PrintTo(const ManagerParam& param, std::ostream* os) { *os << param.name; }

[[maybe_unused]] absl::StatusOr<std::unique_ptr<Manager>> NewFake() {
  auto fake = std::make_unique<MemoryManager>();
  RegisterHelperTwin(*fake, kHelper);
  return std::unique_ptr<Manager>(std::move(fake));
}

#if defined(_WIN32)
absl::StatusOr<std::unique_ptr<Manager>> NewWindows() { return NewOsManager(); }
#else
[[maybe_unused]] absl::StatusOr<std::unique_ptr<Manager>> NewLinux() {
  return NewOsManager();
}

[[maybe_unused]] absl::StatusOr<std::unique_ptr<Manager>> NewPosix() {
  return NewPosixManager();
}

// The Linux manager on rlimits and process groups alone.
[[maybe_unused]] absl::StatusOr<std::unique_ptr<Manager>> NewLinuxNoCgroup() {
  OsManagerOptions options;
  options.cgroups = false;
  return NewOsManager(options);
}
#endif

#if defined(PROCSANDBOX_CONFORMANCE_SLURM)
constexpr bool kSlurmSuite = true;
// The Slurm manager over the binary's one-node cluster.
absl::StatusOr<std::unique_ptr<Manager>> NewSlurm() {
  return slurm_testing::NewClusterManager();
}
#else
constexpr bool kSlurmSuite = false;
#endif

// The helper's write-* pattern: byte i is 'a' + i % 26.
std::string Pattern(std::size_t size) {
  std::string pattern(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    pattern[i] = static_cast<char>('a' + i % 26);
  }
  return pattern;
}

// `size` bytes of every value, newlines and NULs included.
std::string BinaryData(std::size_t size) {
  std::string data(size, '\0');
  uint32_t state = 12345;
  for (char& c : data) {
    state = state * 1103515245u + 12345u;
    c = static_cast<char>(state >> 24);
  }
  return data;
}

#if defined(_WIN32)
// Nothing to compare on Windows: handles cannot be listed, and their count
// (GetProcessHandleCount; always 0 under Wine) moves with the system thread
// pool whose waits the backend uses, whatever the test leaks.
std::vector<int> OpenFds() { return {}; }

// True when a process this one started is still there.
bool HasChildren() {
  HANDLE snapshot = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
  if (snapshot == INVALID_HANDLE_VALUE) return false;
  PROCESSENTRY32W entry = {};
  entry.dwSize = sizeof(entry);
  bool found = false;
  for (BOOL more = Process32FirstW(snapshot, &entry); more && !found;
       more = Process32NextW(snapshot, &entry)) {
    found = entry.th32ParentProcessID == GetCurrentProcessId();
  }
  CloseHandle(snapshot);
  return found;
}
#else
// The descriptors this process has open (without the one listing them).
std::vector<int> OpenFds() {
  std::vector<int> fds;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return fds;  // Not Linux: nothing to compare.
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const int fd = std::atoi(entry->d_name);
    if (fd != dirfd(dir)) fds.push_back(fd);
  }
  closedir(dir);
  std::sort(fds.begin(), fds.end());
  return fds;
}

#if defined(PROCSANDBOX_CONFORMANCE_SLURM)
// True when this process has a child, running or a zombie, other than the
// cluster's daemons (which this process started and keeps for the run).
bool HasChildren() {
  std::vector<pid_t> daemons;
  if (slurm_testing::SlurmCluster* cluster = slurm_testing::SharedCluster()) {
    daemons = cluster->daemon_pids();
  }
  std::error_code error;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc", error)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), {});
    // "pid (comm) state ppid ...": comm may hold spaces, not ')'.
    const std::size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    char state = 0;
    int ppid = 0;
    if (std::sscanf(stat.c_str() + paren + 1, " %c %d", &state, &ppid) != 2) {
      continue;
    }
    const pid_t pid = static_cast<pid_t>(std::stoi(name));
    if (ppid == getpid() &&
        std::find(daemons.begin(), daemons.end(), pid) == daemons.end()) {
      return true;
    }
  }
  return false;
}
#else
// True when this process has a child, running or a zombie (none is reaped).
bool HasChildren() {
  siginfo_t info = {};
  return waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}
#endif
#endif

#if defined(_WIN32)
constexpr bool kWindowsHost = true;

// Wine, which the `windows` build runs the suite under: its ntdll says so.
bool UnderWine() {
  const HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  return ntdll != nullptr && GetProcAddress(ntdll, "wine_get_version");
}

// Windows delivers CTRL_BREAK only to programs on the host's console: without
// one, Terminate() ends a program by the kill after kill_grace.
bool HasConsole() { return GetConsoleCP() != 0; }
#else
constexpr bool kWindowsHost = false;
bool UnderWine() { return false; }
bool HasConsole() { return true; }
#endif

// `output` without the lines whose variable the platform adds to every
// process's environment: Wine's (SystemDrive, SystemRoot, WINE...) under
// Wine, Slurm's (SLURM_*, SLURMD_NODENAME, TMPDIR) on the Slurm manager.
std::string WithoutPlatformVariables(const std::string& output) {
  if (!UnderWine() && !kSlurmSuite) return output;
  const std::vector<std::string> added =
      kSlurmSuite
          ? std::vector<std::string>{"SLURM", "TMPDIR="}
          : std::vector<std::string>{"WINE", "SystemDrive=", "SystemRoot="};
  std::string kept;
  for (std::size_t at = 0, end; at < output.size(); at = end + 1) {
    end = std::min(output.find('\n', at), output.size());
    const std::string line = output.substr(at, end + 1 - at);
    if (std::none_of(added.begin(), added.end(), [&](const std::string& p) {
          return line.rfind(p, 0) == 0;
        })) {
      kept += line;
    }
  }
  return kept;
}

class ConformanceTest : public ::testing::TestWithParam<ManagerParam> {
 protected:
  void SetUp() override {
    fds_before_ = OpenFds();
    absl::StatusOr<std::unique_ptr<Manager>> manager = GetParam().factory();
    if (!manager.ok()) {
      GTEST_SKIP() << "no " << GetParam().name
                   << " manager here: " << manager.status();
    }
    manager_ = *std::move(manager);
  }

  // Nothing is left: no child, no descriptor, no temp dir of ours.
  void TearDown() override {
    manager_.reset();
    if (!temp_dir_.empty()) {
      std::error_code error;
      std::filesystem::remove_all(temp_dir_, error);
      EXPECT_FALSE(error) << "remove " << temp_dir_ << ": " << error.message();
    }
    if (IsSkipped()) return;
    EXPECT_EQ(OpenFds(), fds_before_) << "a descriptor is left open";
    EXPECT_FALSE(HasChildren()) << "a child process is left";
  }

  Manager& manager() { return *manager_; }
  void DestroyManager() { manager_.reset(); }
  // The fake, when this run is on it.
  MemoryManager* fake() { return dynamic_cast<MemoryManager*>(manager_.get()); }

  // True on a real manager of Windows (not on the fake, whose twin models
  // the POSIX helper on every platform).
  bool OnWindows() { return kWindowsHost && fake() == nullptr; }
  // True on the Slurm manager (procsandbox_slurm_conformance_tests).
  bool OnSlurm() { return kSlurmSuite; }

  // The helper running `steps`.
  Command Helper(std::vector<std::string> steps) const {
    return Command(GetParam().helper, std::move(steps));
  }

  // A directory of this test (its real path), removed in TearDown().
  const std::string& TempDir() {
#if defined(_WIN32)
    // No mkdtemp: a name of this process, made unique by a counter.
    static int made = 0;
    while (temp_dir_.empty()) {
      const std::filesystem::path path =
          std::filesystem::path(::testing::TempDir()) /
          ("conformance." + std::to_string(GetCurrentProcessId()) + "." +
           std::to_string(++made));
      std::error_code error;
      if (std::filesystem::create_directory(path, error)) {
        temp_dir_ = std::filesystem::canonical(path, error).u8string();
        if (error) temp_dir_ = path.u8string();
      } else if (error) {
        ADD_FAILURE() << "create " << path.u8string() << ": "
                      << error.message();
        break;
      }
    }
#else
    if (temp_dir_.empty()) {
      std::string pattern = ::testing::TempDir() + "conformance.XXXXXX";
      if (mkdtemp(pattern.data()) == nullptr) {
        ADD_FAILURE() << "mkdtemp " << pattern << ": " << std::strerror(errno);
        return temp_dir_;
      }
      char resolved[PATH_MAX];
      temp_dir_ = realpath(pattern.c_str(), resolved) != nullptr
                      ? std::string(resolved)
                      : pattern;
    }
#endif
    return temp_dir_;
  }

  // The contents of a file the child wrote: the fake file system on the fake,
  // the disk otherwise.
  std::optional<std::string> WrittenFile(const std::string& path) {
    if (MemoryManager* memory = fake()) return memory->GetFile(path);
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  std::unique_ptr<Manager> manager_;
  std::vector<int> fds_before_;
  std::string temp_dir_;
};

// --- Exit and death ----------------------------------------------------------

TEST_P(ConformanceTest, ReportsTheExitCodeTheProgramExitedWith) {
  for (int code : {0, 1, 42, 255}) {
    EXPECT_THAT(procsandbox::RunCommand(manager(),
                                        Helper({"exit", std::to_string(code)})),
                ExitedWith(code))
        << "exit " << code;
  }
}

TEST_P(ConformanceTest, ReportsDeathByASignalTheProgramRaisedAsSignaled) {
  if (OnWindows()) {
    GTEST_SKIP() << "Windows has no signals to raise (the helper's `signal` "
                    "step is POSIX only); ReportsACrashAsDeathBySigsegv "
                    "covers kSignaled there";
  }
  const std::pair<const char*, int> kSignals[] = {{"SEGV", SIGSEGV},
                                                  {"ABRT", SIGABRT},
                                                  {"KILL", SIGKILL},
                                                  {"TERM", SIGTERM}};
  for (const auto& [name, signo] : kSignals) {
    EXPECT_THAT(procsandbox::RunCommand(manager(), Helper({"signal", name})),
                AllOf(EndedWith(ExitReason::kSignaled), KilledBy(signo)))
        << "signal " << name;
  }
}

TEST_P(ConformanceTest, ReportsAbortAsDeathBySigabrt) {
  EXPECT_THAT(procsandbox::RunCommand(manager(), Helper({"abort"})),
              AllOf(EndedWith(ExitReason::kSignaled), KilledBy(SIGABRT)));
}

// An access violation: SIGSEGV on POSIX; on Windows the exception code
// 0xC0000005, which the Outcome reports as SIGSEGV too.
TEST_P(ConformanceTest, ReportsACrashAsDeathBySigsegv) {
  EXPECT_THAT(procsandbox::RunCommand(manager(), Helper({"crash"})),
              AllOf(EndedWith(ExitReason::kSignaled), KilledBy(SIGSEGV)));
}

// Windows: an exit code is 32 bits, and a known exception status ends the
// program as a crash, with its code. The fake models it on every platform.
TEST_P(ConformanceTest, ReportsWindowsExceptionStatusesWithTheirCodes) {
  if (fake() == nullptr && !kWindowsHost) {
    GTEST_SKIP() << "exit codes are 8 bits on POSIX (exit-code-hex is a "
                    "Windows step)";
  }
  EXPECT_THAT(
      procsandbox::RunCommand(manager(), Helper({"exit-code-hex", "0x107"})),
      ExitedWith(0x107));
  EXPECT_THAT(procsandbox::RunCommand(manager(),
                                      Helper({"exit-code-hex", "4294967295"})),
              ExitedWith(-1));
  EXPECT_THAT(procsandbox::RunCommand(manager(),
                                      Helper({"exit-code-hex", "0xC0000005"})),
              AllOf(EndedWith(ExitReason::kSignaled), KilledBy(SIGSEGV),
                    KilledByException(0xC0000005)));
  EXPECT_THAT(procsandbox::RunCommand(manager(),
                                      Helper({"exit-code-hex", "0xC00000FD"})),
              AllOf(KilledBy(SIGSEGV), KilledByException(0xC00000FD)));
  if (OnWindows()) {  // The real thing, not ExitProcess: the twin has none.
    EXPECT_THAT(procsandbox::RunCommand(manager(), Helper({"crash"})),
                KilledByException(0xC0000005));
    EXPECT_THAT(procsandbox::RunCommand(manager(), Helper({"abort"})),
                AllOf(KilledBy(SIGABRT), KilledByException(0xC0000409)));
  }
}

TEST_P(ConformanceTest, RejectsAnUnknownHelperStepWithExitCode125) {
  absl::StatusOr<RunResult> r =
      procsandbox::RunCommand(manager(), Helper({"exit", "0", "no-such-step"}));
  EXPECT_THAT(r, ExitedWith(125));
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r->stderr_, HasSubstr("unknown step 'no-such-step'"));
}

// --- Streams -----------------------------------------------------------------

TEST_P(ConformanceTest, EchoesTenMegabytesOfStdinData) {
  const std::string data = BinaryData(10 << 20);
  Command cmd = Helper({"echo-stdin"});
  cmd.stdin_ = Stdio::Data(data);
  cmd.limits.wall_time = kSafetyNet;
  absl::StatusOr<RunResult> r =
      procsandbox::RunCommand(manager(), std::move(cmd));
  ASSERT_THAT(r, ExitedWith(0));
  EXPECT_EQ(r->stdout_.size(), data.size());
  EXPECT_TRUE(r->stdout_ == data) << "stdout differs from stdin";
  EXPECT_FALSE(r->stdout_truncated);
}

TEST_P(ConformanceTest, CapturesTwentyMegabytesOnBothStreamsWithoutDeadlock) {
  constexpr std::size_t kSize = 20 << 20;
  Command cmd = Helper({"write-both", std::to_string(kSize)});
  cmd.limits.wall_time = kSafetyNet;
  absl::StatusOr<RunResult> r =
      procsandbox::RunCommand(manager(), std::move(cmd));
  ASSERT_THAT(r, ExitedWith(0));
  const std::string expected = Pattern(kSize);
  EXPECT_EQ(r->stdout_.size(), kSize);
  EXPECT_EQ(r->stderr_.size(), kSize);
  EXPECT_TRUE(r->stdout_ == expected) << "stdout is not the pattern";
  EXPECT_TRUE(r->stderr_ == expected) << "stderr is not the pattern";
}

TEST_P(ConformanceTest, TruncatesCapturedStdoutAtTheOutputLimit) {
  Command cmd = Helper({"write-stdout", "100000"});
  cmd.limits.output_bytes = 1000;
  absl::StatusOr<RunResult> r =
      procsandbox::RunCommand(manager(), std::move(cmd));
  ASSERT_THAT(r, ExitedWith(0));
  EXPECT_EQ(r->stdout_, Pattern(1000));
  EXPECT_TRUE(r->stdout_truncated);
  EXPECT_FALSE(r->stderr_truncated);
}

TEST_P(ConformanceTest, DeliversEveryLineOfStdoutToALinesCallback) {
  struct Lines {
    std::mutex mu;
    std::vector<std::string> lines;
  };
  auto lines = std::make_shared<Lines>();
  Command cmd = Helper({"print", "a", "print", "b", "print", "c"});
  cmd.stdout_ = Stdio::Lines([lines](absl::string_view line) {
    std::lock_guard<std::mutex> lock(lines->mu);
    lines->lines.emplace_back(line);
  });
  EXPECT_THAT(procsandbox::RunCommand(manager(), std::move(cmd)),
              ExitedWith(0));
  std::lock_guard<std::mutex> lock(lines->mu);
  EXPECT_THAT(lines->lines, ElementsAre("a", "b", "c"));
}

TEST_P(ConformanceTest, AnswersJsonRpcRequestsOverInteractivePipes) {
  std::shared_ptr<Process> p = manager().New(Helper({"json-rpc"}));
  ASSERT_THAT(p->SetStdin(Stdio::Pipe()), IsOk());
  ASSERT_THAT(p->SetStdout(Stdio::Pipe()), IsOk());
  ASSERT_THAT(p->Start(), IsOk());

  const std::string first = R"({"jsonrpc":"2.0","id":1,"method":"echo"})";
  ASSERT_THAT(p->Write(first + "\n"), IsOk());
  EXPECT_THAT(
      p->ReadLine(Stream::kStdout, kLineTimeout),
      IsOkAndHolds(R"({"jsonrpc":"2.0","id":1,"result":)" + first + "}"));
  // A notification (no id) gets no reply: the next line answers request 2.
  ASSERT_THAT(p->Write(R"({"jsonrpc":"2.0","method":"note"})"
                       "\n"),
              IsOk());
  const std::string second = R"({"jsonrpc":"2.0","id":2,"method":"echo"})";
  ASSERT_THAT(p->Write(second + "\n"), IsOk());
  EXPECT_THAT(
      p->ReadLine(Stream::kStdout, kLineTimeout),
      IsOkAndHolds(R"({"jsonrpc":"2.0","id":2,"result":)" + second + "}"));

  ASSERT_THAT(p->CloseStdin(), IsOk());
  EXPECT_THAT(p->ReadLine(Stream::kStdout, kLineTimeout),
              StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(p->Wait(), ExitedWith(0));
}

// --- Environment and working directory ---------------------------------------

TEST_P(ConformanceTest, GivesTheProgramExactlyTheGivenEnvironment) {
  Command cmd = Helper({"print-env"});
  ASSERT_THAT(cmd.env.Set("GAMMA", "x=y"), IsOk());
  ASSERT_THAT(cmd.env.Set("ALPHA", "1"), IsOk());
  ASSERT_THAT(cmd.env.Set("EMPTY", ""), IsOk());
  ASSERT_THAT(cmd.env.Set("BETA", "two words"), IsOk());
  absl::StatusOr<RunResult> r =
      procsandbox::RunCommand(manager(), std::move(cmd));
  ASSERT_THAT(r, ExitedWith(0));
  // Nothing of the host's (PATH, HOME, ...) is inherited.
  EXPECT_EQ(WithoutPlatformVariables(r->stdout_),
            "ALPHA=1\nBETA=two words\nEMPTY=\nGAMMA=x=y\n");
}

TEST_P(ConformanceTest, RunsTheProgramInTheGivenWorkingDirectory) {
  const std::string dir = TempDir();
  ASSERT_FALSE(dir.empty());
  Command cmd = Helper({"print-cwd"});
  cmd.working_dir = dir;
  absl::StatusOr<RunResult> r =
      procsandbox::RunCommand(manager(), std::move(cmd));
  ASSERT_THAT(r, ExitedWith(0));
  EXPECT_EQ(r->stdout_, dir + "\n");
}

// --- Start failures
// ------------------------------------------------------------

TEST_P(ConformanceTest, FailsToStartAProgramNotOnThePathWithNotFoundNamingIt) {
  Command cmd("procsandbox-conformance-no-such-program");
  ASSERT_THAT(cmd.env.Set("PATH", "/usr/bin:/bin"), IsOk());
  std::shared_ptr<Process> p = manager().New(std::move(cmd));
  EXPECT_THAT(p->Start(),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("procsandbox-conformance-no-such-program")));
  EXPECT_EQ(p->state(), ProcessState::kNew);
}

TEST_P(ConformanceTest, FailsToStartAMissingAbsolutePathWithNotFoundNamingIt) {
  const std::string path = TempDir() + "/no-such-program";
  EXPECT_THAT(procsandbox::RunCommand(manager(), Command(path)),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(path)));
}

// Windows has no execute permission: there a file that is not a program is
// ERROR_BAD_EXE_FORMAT, and a bare name is searched with PATHEXT.
constexpr char kNoExecuteBit[] =
    "Windows has no execute permission bit (a file that is not a program is "
    "ERROR_BAD_EXE_FORMAT; a bare name is searched with PATHEXT)";

TEST_P(ConformanceTest, FailsToStartANonExecutableFileWithPermissionDenied) {
  if (OnWindows()) GTEST_SKIP() << kNoExecuteBit;
  const std::string path = TempDir() + "/not-executable";
  {
    std::ofstream out(path);
    out << "#!/bin/sh\nexit 0\n";
  }
#if !defined(_WIN32)
  ASSERT_EQ(chmod(path.c_str(), 0644), 0) << std::strerror(errno);
#endif
  if (MemoryManager* memory = fake()) memory->RegisterNotExecutable(path);
  EXPECT_THAT(procsandbox::RunCommand(manager(), Command(path)),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr(path)));
}

// A secret PATH (Environment::SetSecret) shows neither itself nor where on it
// a program was found.
TEST_P(ConformanceTest, NotFoundOnASecretPathNamesTheProgramOnly) {
  Command cmd("procsandbox-conformance-no-such-program");
  ASSERT_THAT(cmd.env.SetSecret("PATH", "/opt/S3cr3t/bin:/usr/bin"), IsOk());
  std::shared_ptr<Process> p = manager().New(std::move(cmd));
  EXPECT_THAT(p->Start(),
              StatusIs(absl::StatusCode::kNotFound,
                       "exec \"procsandbox-conformance-no-such-program\": "
                       "not found in PATH <redacted> (ENOENT)"));
}

TEST_P(ConformanceTest, NotExecutableOnASecretPathNamesTheProgramOnly) {
  if (OnWindows()) GTEST_SKIP() << kNoExecuteBit;
  if (kWindowsHost) {
    GTEST_SKIP() << "the fake searches a POSIX PATH (':' between entries) on "
                    "every platform: a Windows directory (C:\\...) is not one";
  }
  const std::string dir = TempDir() + "/S3cr3t-bin";
  ASSERT_TRUE(std::filesystem::create_directory(dir)) << dir;
  const std::string path = dir + "/tool";
  {
    std::ofstream out(path);
    out << "#!/bin/sh\nexit 0\n";
  }
#if !defined(_WIN32)
  ASSERT_EQ(chmod(path.c_str(), 0644), 0) << std::strerror(errno);
#endif
  if (MemoryManager* memory = fake()) memory->RegisterNotExecutable(path);
  Command cmd("tool");
  ASSERT_THAT(cmd.env.SetSecret("PATH", dir), IsOk());
  EXPECT_THAT(procsandbox::RunCommand(manager(), std::move(cmd)),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       "exec \"tool\" in PATH <redacted>: permission denied "
                       "(EACCES)"));
}

// --- Limits
// ----------------------------------------------------------------------

constexpr char kNoConsole[] =
    "no console here (Wine without one): Windows delivers no CTRL_BREAK, so "
    "no program can catch TERM";

TEST_P(ConformanceTest,
       KillsAProgramIgnoringTermWhenItsWallTimeAndGraceRunOut) {
  Command cmd = Helper({"ignore", "TERM", "print", "ready", "sleep-forever"});
  cmd.kill_grace = absl::Milliseconds(200);
  absl::StatusOr<RunResult> r =
      RunReadyUnderWallTime(manager(), cmd, absl::Milliseconds(300));
  EXPECT_THAT(r, AllOf(TimedOut(), KilledBy(SIGKILL)));
  EXPECT_EQ(r->stdout_, "ready\n");
}

TEST_P(ConformanceTest,
       LetsATermCatchingProgramExitWithinTheGraceAfterItsWallTime) {
  if (OnWindows() && !HasConsole()) GTEST_SKIP() << kNoConsole;
  Command cmd =
      Helper({"catch-term-exit", "0", "50", "print", "ready", "sleep-forever"});
  cmd.kill_grace = absl::Seconds(5);
  absl::StatusOr<RunResult> r =
      RunReadyUnderWallTime(manager(), cmd, absl::Milliseconds(300));
  ASSERT_THAT(r, TimedOut());
  EXPECT_EQ(r->stdout_, "ready\n");
  EXPECT_EQ(r->outcome.exit_code, 0);
  EXPECT_EQ(r->outcome.signal, 0);
}

// Windows has no SIGXCPU: the library kills the job once it has used its
// CPU time.
TEST_P(ConformanceTest, EndsAProgramOverItsCpuTimeWithSigxcpu) {
  if (OnWindows() && UnderWine()) {
    GTEST_SKIP() << "Wine reports no CPU time of other processes (job "
                    "accounting and GetProcessTimes read 0): verified only on "
                    "real Windows";
  }
  Command cmd = Helper({"burn-forever"});
  cmd.limits.cpu_time = absl::Seconds(1);
  cmd.limits.wall_time = kSafetyNet;
  EXPECT_THAT(
      procsandbox::RunCommand(manager(), std::move(cmd)),
      AllOf(ExceededCpuTime(), KilledBy(OnWindows() ? SIGKILL : SIGXCPU)));
}

TEST_P(ConformanceTest, EndsAProgramWritingPastTheFileSizeLimitWithSigxfsz) {
  if (OnWindows()) {
    GTEST_SKIP() << "Windows has no file size limit (a Job Object has none)";
  }
  const std::string path = TempDir() + "/f";
  Command cmd = Helper({"write-file", path, "1000000"});
  cmd.limits.file_size_bytes = 1000;
  EXPECT_THAT(procsandbox::RunCommand(manager(), std::move(cmd)),
              AllOf(ExceededFileSize(), KilledBy(SIGXFSZ)));
  // The kernel writes up to the limit before the signal.
  EXPECT_EQ(WrittenFile(path), Pattern(1000));
}

// --- Stopping, suspending, waiting
// -----------------------------------------------

// On Windows TERM is CTRL_BREAK: a program on the host's console dies of it
// (STATUS_CONTROL_C_EXIT); one without a console gets the kill after the
// grace.
TEST_P(ConformanceTest, TerminateCancelsASleepingProgramWithSigterm) {
  std::shared_ptr<Process> p = manager().New(Helper({"sleep-forever"}));
  ASSERT_THAT(p->Start(), IsOk());
  ASSERT_THAT(p->Terminate(), IsOk());
  if (!OnWindows()) {
    EXPECT_THAT(p->Wait(), AllOf(Cancelled(), KilledBy(SIGTERM)));
  } else if (HasConsole()) {
    EXPECT_THAT(p->Wait(), AllOf(Cancelled(), KilledByException(0xC000013A)));
  } else {
    EXPECT_THAT(p->Wait(), AllOf(Cancelled(), KilledBy(SIGKILL)));
  }
}

TEST_P(ConformanceTest, KillCancelsASleepingProgramWithSigkill) {
  std::shared_ptr<Process> p = manager().New(Helper({"sleep-forever"}));
  ASSERT_THAT(p->Start(), IsOk());
  ASSERT_THAT(p->Kill(), IsOk());
  EXPECT_THAT(p->Wait(), AllOf(Cancelled(), KilledBy(SIGKILL)));
}

// The program ends only once stdin is closed: nothing but the test decides
// when (a timed program could end before Suspend() on a slow machine). On
// the Windows manager under Wine a suspended program blocked reading stdin
// did not go on after Resume() (the test hung; not investigated further):
// there it sleeps 200 ms, as before.
TEST_P(ConformanceTest, ASuspendedProgramFinishesOnceResumed) {
  if (OnWindows()) {
    std::shared_ptr<Process> p = manager().New(Helper({"sleep-ms", "200"}));
    ASSERT_THAT(p->Start(), IsOk());
    ASSERT_THAT(p->Suspend(), IsOk());
    EXPECT_EQ(p->state(), ProcessState::kSuspended);
    ASSERT_THAT(p->Resume(), IsOk());
    EXPECT_THAT(p->Wait(), ExitedWith(0));
    return;
  }
  std::shared_ptr<Process> p = manager().New(Helper({"count-stdin"}));
  ASSERT_THAT(p->SetStdin(Stdio::Pipe()), IsOk());
  ASSERT_THAT(p->SetStdout(Stdio::Capture()), IsOk());
  ASSERT_THAT(p->Start(), IsOk());
  ASSERT_THAT(p->Suspend(), IsOk());
  EXPECT_EQ(p->state(), ProcessState::kSuspended);
  EXPECT_TRUE(p->Running());
  ASSERT_THAT(p->Write("abc"), IsOk());
  ASSERT_THAT(p->Resume(), IsOk());
  ASSERT_THAT(p->CloseStdin(), IsOk());
  EXPECT_THAT(p->Wait(), ExitedWith(0));
  EXPECT_EQ(p->state(), ProcessState::kEnded);
  EXPECT_EQ(p->Captured().stdout_, "3\n");
}

TEST_P(ConformanceTest, WaitForRunsOutOnASleepingProgramThenKillEndsIt) {
  std::shared_ptr<Process> p = manager().New(Helper({"sleep-forever"}));
  ASSERT_THAT(p->Start(), IsOk());
  EXPECT_THAT(p->WaitFor(absl::Milliseconds(50)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_TRUE(p->Running());
  ASSERT_THAT(p->Kill(), IsOk());
  EXPECT_THAT(p->Wait(), AllOf(Cancelled(), KilledBy(SIGKILL)));
}

// --- Usage samples (Command::monitor) ----------------------------------------

TEST_P(ConformanceTest, SamplesEveryIntervalAndOnceAtTheEnd) {
  std::mutex mu;
  std::vector<UsageSample> delivered;
  Command command = Helper({"sleep-ms", "500"});
  command.monitor.enabled = true;
  command.monitor.interval = absl::Milliseconds(10);
  command.monitor.on_sample = [&](const UsageSample& s) {
    std::lock_guard<std::mutex> lock(mu);
    delivered.push_back(s);
  };
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(manager(), command);
  ASSERT_THAT(r, IsOk());
  ASSERT_THAT(r->outcome, ExitedWith(0));
  const std::vector<UsageSample>& s = r->outcome.samples;
  // At least one sample while it ran (500 ms at 10 ms; fewer than 1000, so
  // none is dropped), and the end.
  ASSERT_GE(s.size(), 2u);
  // Never more than one per interval of the run (a slow machine's run is
  // longer than 500 ms: bounded by its own wall time), and the end.
  EXPECT_LE(static_cast<int64_t>(s.size()),
            r->outcome.wall_time / command.monitor.interval + 1);
  EXPECT_GE(s.front().elapsed, command.monitor.interval);
  EXPECT_GE(s.front().processes, 1);  // a 500 ms program, sampled at 10 ms
  for (std::size_t i = 0; i + 1 < s.size(); ++i) {
    EXPECT_EQ(s[i].state, ProcessState::kRunning) << i;
    // Samples taken after the program exited and before the manager saw
    // it count no process in a Windows job (seen under load under Wine),
    // while the state still says running: once 0, the count stays 0.
    if (i > 0 && s[i - 1].processes == 0) {
      EXPECT_EQ(s[i].processes, 0) << i;
    }
    if (i > 0) {
      EXPECT_GT(s[i].elapsed, s[i - 1].elapsed) << i;
    }
  }
  const UsageSample& end = s.back();
  EXPECT_EQ(end.state, ProcessState::kEnded);
  EXPECT_EQ(end.elapsed, r->outcome.wall_time);
  EXPECT_EQ(end.user_time, r->outcome.user_time);
  EXPECT_EQ(end.system_time, r->outcome.system_time);
  EXPECT_EQ(end.peak_memory_bytes, r->outcome.peak_memory_bytes);
  EXPECT_EQ(end.memory_bytes, 0);
  EXPECT_EQ(end.processes, 0);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(delivered, s);  // each one, in order, before Run() returned
}

TEST_P(ConformanceTest, CountsTheBytesOfEachStreamItReads) {
  Command command = Helper({"write-stdout", "3000", "write-stderr", "700"});
  command.stdout_ = Stdio::Capture();
  command.stderr_ = Stdio::Capture();
  command.monitor.enabled = true;
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(manager(), command);
  ASSERT_THAT(r, IsOk());
  ASSERT_FALSE(r->outcome.samples.empty());
  EXPECT_EQ(r->outcome.samples.back().stdout_bytes, 3000);
  EXPECT_EQ(r->outcome.samples.back().stderr_bytes, 700);
}

TEST_P(ConformanceTest, CountsTheBytesItDropsPastTheOutputLimit) {
  // Megabytes past the cap on both streams: what a platform drops unread
  // (Linux splices it to /dev/null) is counted as read, and marks the
  // stream truncated.
  Command command =
      Helper({"write-stdout", "3000000", "write-stderr", "2000000"});
  command.stdout_ = Stdio::Capture();
  command.stderr_ = Stdio::Capture();
  command.limits.output_bytes = 1000;
  command.monitor.enabled = true;
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(manager(), command);
  ASSERT_THAT(r, ExitedWith(0));
  EXPECT_EQ(r->stdout_, Pattern(1000));
  EXPECT_TRUE(r->stdout_truncated);
  EXPECT_EQ(r->stderr_, "");
  EXPECT_TRUE(r->stderr_truncated);
  ASSERT_FALSE(r->outcome.samples.empty());
  EXPECT_EQ(r->outcome.samples.back().stdout_bytes, 3000000);
  EXPECT_EQ(r->outcome.samples.back().stderr_bytes, 2000000);
}

TEST_P(ConformanceTest, NoSamplesWithoutMonitoring) {
  absl::StatusOr<RunResult> r =
      procsandbox::RunCommand(manager(), Helper({"sleep-ms", "50"}));
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(r->outcome.samples.empty());
}

// --- The manager
// ---------------------------------------------------------------

TEST_P(ConformanceTest, ListsAndGetsARunningProcessButNotAFinishedOne) {
  auto id = [](const std::shared_ptr<Process>& process) {
    return process->Id();
  };
  absl::StatusOr<RunResult> finished =
      procsandbox::RunCommand(manager(), Helper({"exit", "0"}));
  ASSERT_THAT(finished, ExitedWith(0));
  std::shared_ptr<Process> p = manager().New(Helper({"sleep-forever"}));
  ASSERT_THAT(p->Start(), IsOk());

  EXPECT_THAT(manager().Get(p->Id()), IsOkAndHolds(ResultOf(id, p->Id())));
  EXPECT_THAT(manager().List(), Contains(ResultOf(id, p->Id())));
  EXPECT_THAT(manager().Get(finished->pid),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(manager().List(), Not(Contains(ResultOf(id, finished->pid))));

  ASSERT_THAT(p->Kill(), IsOk());
  ASSERT_THAT(p->Wait(), Cancelled());
  EXPECT_THAT(manager().Get(p->Id()), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(manager().List(), Not(Contains(ResultOf(id, p->Id()))));
}

// A FIFO given as a file waits for its other end at most the wall time
// (OsManagerOptions::fifo_open_timeout without one), on every OS backend:
// open(2) alone would block Start() for ever. The fake has no FIFOs.
#if defined(_WIN32)
constexpr char kNoFifos[] =
    "Windows has no FIFOs in the file system (its named pipes are not files "
    "a Stdio::File opens)";
#endif

TEST_P(ConformanceTest, FifoFilesWithoutTheirOtherEndFailWithinTheWallTime) {
  if (fake() != nullptr) GTEST_SKIP() << "the fake file system has no FIFOs";
#if defined(_WIN32)
  GTEST_SKIP() << kNoFifos;
#else
  const std::string fifo = TempDir() + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  for (Stream stream : {Stream::kStdin, Stream::kStdout}) {
    Command command = stream == Stream::kStdin ? Helper({"count-stdin"})
                                               : Helper({"print", "hi"});
    (stream == Stream::kStdin ? command.stdin_ : command.stdout_) =
        Stdio::File(fifo);
    command.limits.wall_time = absl::Milliseconds(200);
    std::shared_ptr<Process> p = manager().New(command);
    const absl::Status started = p->Start();
    EXPECT_TRUE(absl::IsDeadlineExceeded(started)) << started;
    EXPECT_THAT(std::string(started.message()),
                HasSubstr(std::string(StreamName(stream)) + " file \"" + fifo));
    EXPECT_EQ(p->state(), ProcessState::kNew);
  }
#endif
}

// A FIFO whose other end is opened while Start() waits works as with a
// shell's `<` and `>`: the program reads the writer's bytes (not an early end
// of file), and the reader gets the program's output.
TEST_P(ConformanceTest, FifoFilesWhoseOtherEndComesDuringStartWork) {
  if (fake() != nullptr) GTEST_SKIP() << "the fake file system has no FIFOs";
#if defined(_WIN32)
  GTEST_SKIP() << kNoFifos;
#else
  const std::string fifo = TempDir() + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  std::thread writer([&fifo] {
    const int fd = open(fifo.c_str(), O_WRONLY | O_CLOEXEC);  // waits
    if (fd < 0) return;
    (void)!write(fd, "hello\n", 6);
    close(fd);
  });
  Command reading = Helper({"echo-stdin"});
  reading.stdin_ = Stdio::File(fifo);
  reading.stdout_ = Stdio::Capture();
  reading.limits.wall_time = kSafetyNet;
  std::shared_ptr<Process> p = manager().New(reading);
  absl::Status started = p->Start();
  if (!started.ok()) {  // release the writer before failing
    (void)close(open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  }
  writer.join();
  ASSERT_THAT(started, IsOk());
  absl::StatusOr<Outcome> outcome = p->Wait();
  ASSERT_THAT(outcome.status(), IsOk());
  EXPECT_EQ(p->Captured().stdout_, "hello\n");

  std::string read_back;
  std::thread reader([&fifo, &read_back] {
    const int fd = open(fifo.c_str(), O_RDONLY | O_CLOEXEC);  // waits
    if (fd < 0) return;
    char buffer[64];
    for (ssize_t n; (n = read(fd, buffer, sizeof(buffer))) > 0;) {
      read_back.append(buffer, static_cast<std::size_t>(n));
    }
    close(fd);
  });
  Command writing = Helper({"print", "hi"});
  writing.stdout_ = Stdio::File(fifo);
  writing.limits.wall_time = kSafetyNet;
  p = manager().New(writing);
  started = p->Start();
  if (!started.ok()) {  // release the reader before failing
    (void)close(open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  }
  if (started.ok()) outcome = p->Wait();
  reader.join();
  ASSERT_THAT(started, IsOk());
  ASSERT_THAT(outcome.status(), IsOk());
  EXPECT_EQ(read_back, "hi\n");
#endif
}

// A child of the program that keeps its stdout and stderr (the classic hang
// of a Wait() for end of file) is ended with the program's tree, so Run()
// returns when the program exits. The fake has no grandchildren.
TEST_P(ConformanceTest, RunReturnsAlthoughAGrandchildHoldsThePipes) {
  if (fake() != nullptr) GTEST_SKIP() << "the fake models no grandchildren";
  Command cmd = Helper({"grandchild-holds-pipe", "print", "done"});
  cmd.limits.wall_time = kSafetyNet;
  absl::StatusOr<RunResult> r =
      procsandbox::RunCommand(manager(), std::move(cmd));
  EXPECT_THAT(r, ExitedWith(0));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->stdout_, "done\n");
}

TEST_P(ConformanceTest, DestroyingTheManagerCancelsItsRunningProcess) {
  std::shared_ptr<Process> p = manager().New(Helper({"sleep-forever"}));
  ASSERT_THAT(p->Start(), IsOk());
  DestroyManager();
  EXPECT_THAT(p->Wait(), Cancelled());
  EXPECT_FALSE(p->Running());
}

// --- Verification ------------------------------------------------------------

TEST_P(ConformanceTest, VerifyFindsNoMismatchAndNamesWhatIsNotEnforced) {
  Command cmd = Helper({"print", "ready", "sleep-forever"});
  cmd.limits.wall_time = absl::Seconds(600);
  cmd.limits.memory_bytes = int64_t{256} << 20;
  cmd.limits.processes = 64;
  cmd.limits.open_files = 64;
  cmd.limits.file_size_bytes = int64_t{1} << 20;
  cmd.limits.cpu_weight = 200;
  std::shared_ptr<Process> p = manager().New(std::move(cmd));
  ASSERT_THAT(p->SetStdout(Stdio::Pipe()), IsOk());
  ASSERT_THAT(p->Start(), IsOk());
  ASSERT_THAT(p->ReadLine(Stream::kStdout, kLineTimeout),
              IsOkAndHolds("ready"));
  absl::StatusOr<Verification> v = p->Verify();
  ASSERT_THAT(v, IsOk());
  EXPECT_TRUE(v->ok()) << *v;
  // Not enforced exactly where the enforcement report says so.
  const Enforcement e = p->enforcement();
  for (const LimitEnforcement& limit : e.limits) {
    const VerificationCheck* c = v->Find(limit.limit);
    ASSERT_NE(c, nullptr) << limit;
    EXPECT_EQ(c->result == CheckResult::kNotEnforced, !limit.enforced()) << *c;
  }
  for (const IsolationEnforcement& isolation : e.isolation) {
    const VerificationCheck* c = v->Find(isolation.kind);
    ASSERT_NE(c, nullptr) << isolation;
    EXPECT_EQ(c->result == CheckResult::kNotEnforced, !isolation.enforced)
        << *c;
  }
  for (const VerificationCheck& c : v->checks) {
    if (c.result != CheckResult::kNotEnforced) continue;
    EXPECT_TRUE((c.limit && e.Find(*c.limit) != nullptr) ||
                (c.isolation && e.Find(*c.isolation) != nullptr))
        << c;
  }
  ASSERT_THAT(p->Kill(), IsOk());
  EXPECT_THAT(p->Wait(), IsOk());
}

TEST_P(ConformanceTest, VerifyFailsBeforeStartAndOnceEnded) {
  std::shared_ptr<Process> p = manager().New(Helper({"exit", "0"}));
  EXPECT_THAT(p->Verify(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                    HasSubstr("not started")));
  ASSERT_THAT(p->Start(), IsOk());
  ASSERT_THAT(p->Wait(), ExitedWith(0));
  EXPECT_THAT(p->Verify(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("ended before it could be verified")));
}

// On Windows: the fake, and the Windows manager (NewOsManager), run under
// Wine by the `windows` build. Skipped on the Windows manager, with the
// reason in each skip:
// - ReportsDeathByASignalTheProgramRaisedAsSignaled: no signals to raise
//   (ReportsACrashAsDeathBySigsegv and the exception statuses cover it).
// - FailsToStartANonExecutableFileWithPermissionDenied,
//   NotExecutableOnASecretPathNamesTheProgramOnly: no execute permission.
// - EndsAProgramWritingPastTheFileSizeLimitWithSigxfsz: no file size limit.
// - FifoFilesWithoutTheirOtherEndFailWithinTheWallTime,
//   FifoFilesWhoseOtherEndComesDuringStartWork: no FIFOs.
// - LetsATermCatchingProgramExitWithinTheGraceAfterItsWallTime: only without
//   a console (Wine here), which no CTRL_BREAK reaches.
// - EndsAProgramOverItsCpuTimeWithSigxcpu: only under Wine, which reports no
//   CPU time of other processes; verified only on real Windows.
// Adapted there: Terminate (0xC000013A on a console, the kill after the
// grace without one), the CPU limit (the kill, no SIGXCPU), the environment
// (under Wine, less the variables Wine adds to every process). Skipped on the
// fake on Windows: NotExecutableOnASecretPathNamesTheProgramOnly (the fake's
// PATH is POSIX).
std::vector<ManagerParam> Managers() {
#if defined(PROCSANDBOX_CONFORMANCE_SLURM)
  return {ManagerParam{"Slurm", NewSlurm, kHelper}};
#elif defined(_WIN32)
  return {ManagerParam{"Fake", NewFake, kHelper},
          ManagerParam{"Windows", NewWindows, kHelper}};
#else
  return {ManagerParam{"Fake", NewFake, kHelper},
          ManagerParam{"Linux", NewLinux, kHelper},
          ManagerParam{"LinuxNoCgroup", NewLinuxNoCgroup, kHelper},
          ManagerParam{"Posix", NewPosix, kHelper}};
#endif
}

INSTANTIATE_TEST_SUITE_P(
    Managers, ConformanceTest, ::testing::ValuesIn(Managers()),
    [](const ::testing::TestParamInfo<ManagerParam>& param_info) {
      return param_info.param.name;
    });

}  // namespace
}  // namespace procsandbox::conformance
