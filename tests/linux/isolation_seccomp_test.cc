// Isolation::seccomp on Linux, for real: the filter as the program sees it
// (the test helper's `syscall` step prints what a call returned), and a
// kill rule's report.
#include <sys/syscall.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox_testing/matchers.h"

namespace procsandbox {
namespace {

using ::procsandbox_testing::ExitedWith;
using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::KilledBySeccomp;
using ::procsandbox_testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kHelper[] = PROCSANDBOX_TEST_HELPER;

class SeccompTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Manager>> m = NewOsManager({});
    ASSERT_THAT(m, IsOk());
    manager_ = *std::move(m);
    const IsolationEnforcement* e =
        manager_->capabilities().Find(IsolationKind::kSeccomp);
    ASSERT_NE(e, nullptr);
    if (!e->enforced) GTEST_SKIP() << "no seccomp here: " << e->detail;
  }

  // Runs `cmd` under `filter`, with a wall-time bound far above what it
  // needs (a hang guard only).
  absl::StatusOr<RunResult> RunFiltered(Command cmd, SeccompFilter filter) {
    cmd.isolation.seccomp = std::move(filter);
    cmd.limits.wall_time = absl::Seconds(30);
    return procsandbox::RunCommand(*manager_, cmd);
  }

  static Command Helper(std::vector<std::string> steps) {
    return Command(kHelper, std::move(steps));
  }

  std::unique_ptr<Manager> manager_;
};

std::vector<std::string> Calls(const std::vector<std::string>& names) {
  std::vector<std::string> steps;
  for (const std::string& name : names) {
    steps.push_back("syscall");
    steps.push_back(name);
  }
  return steps;
}

TEST_F(SeccompTest, WithoutAFilterTheCallsReachTheKernel) {
  // The baseline the tests below differ from: the kernel's own answers.
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(
      *manager_, Helper(Calls({"ptrace", "bpf", "getpid"})));
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(*r, ExitedWith(0));
  EXPECT_EQ(r->stdout_, "ptrace ESRCH\nbpf EINVAL\ngetpid ok\n");
}

TEST_F(SeccompTest, TheDefaultDenyListFailsKernelWideCallsWithEperm) {
  absl::StatusOr<RunResult> r =
      RunFiltered(Helper(Calls({"ptrace", "mount", "bpf", "unshare", "setns",
                                "clone-newuser", "clone3", "getpid"})),
                  SeccompFilter::DefaultDenyList());
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(*r, ExitedWith(0)) << r->stderr_;
  EXPECT_EQ(r->stdout_,
            "ptrace EPERM\nmount EPERM\nbpf EPERM\nunshare EPERM\n"
            "setns EPERM\nclone-newuser EPERM\nclone3 ENOSYS\ngetpid ok\n");
  const IsolationEnforcement* e = r->enforcement.Find(IsolationKind::kSeccomp);
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->enforced) << e->detail;
}

TEST_F(SeccompTest, AShellPipelineRunsUnderTheDefaultDenyList) {
  Command cmd("/bin/sh", {"-c",
                          "echo hello | tr a-z A-Z; ls / >/dev/null; "
                          "date +%Y >/dev/null && echo done"});
  absl::StatusOr<RunResult> r =
      RunFiltered(cmd, SeccompFilter::DefaultDenyList());
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(*r, ExitedWith(0)) << r->stderr_;
  EXPECT_EQ(r->stdout_, "HELLO\ndone\n");
}

TEST_F(SeccompTest, AnAllowListFailsEveryCallItDoesNotName) {
  // What the static helper needs to start, print and exit; no ptrace,
  // mount or bpf.
  absl::StatusOr<SeccompFilter> filter = ParseSeccompFilter(R"(
    default eperm
    allow brk mmap munmap mprotect arch_prctl set_tid_address
    allow set_robust_list rseq prlimit64 readlink readlinkat getrandom
    allow newfstatat fstat write read close exit getpid futex uname
    allow rt_sigaction rt_sigprocmask clock_gettime
  )");
  ASSERT_THAT(filter, IsOk());
  absl::StatusOr<RunResult> r =
      RunFiltered(Helper(Calls({"getpid", "ptrace", "mount", "bpf"})), *filter);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(*r, ExitedWith(0)) << r->stderr_;
  EXPECT_EQ(r->stdout_, "getpid ok\nptrace EPERM\nmount EPERM\nbpf EPERM\n");
}

TEST_F(SeccompTest, AnAllowedCallStillHonoursTheDenyListsArgumentRule) {
  // `allow clone` in an allow list that includes the deny list: clone with
  // a CLONE_NEW* flag still falls to the default (EPERM), although that
  // rule's action is the default one and adds no instruction by itself.
  absl::StatusOr<SeccompFilter> filter = ParseSeccompFilter(R"(
    default eperm
    include default-deny-list
    allow brk mmap munmap mprotect arch_prctl set_tid_address
    allow set_robust_list rseq prlimit64 readlink readlinkat getrandom
    allow newfstatat fstat write read close exit getpid futex uname
    allow rt_sigaction rt_sigprocmask clock_gettime clone wait4
  )");
  ASSERT_THAT(filter, IsOk());
  absl::StatusOr<RunResult> r =
      RunFiltered(Helper(Calls({"clone-newuser", "getpid"})), *filter);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(*r, ExitedWith(0)) << r->stderr_;
  EXPECT_EQ(r->stdout_, "clone-newuser EPERM\ngetpid ok\n");
}

TEST_F(SeccompTest, AKillRuleEndsTheRunNamingTheCall) {
  SeccompFilter filter;
  filter.rules.push_back({"ptrace", SeccompAction::kKill, 0});
  absl::StatusOr<RunResult> r = RunFiltered(
      Helper({"print", "before", "syscall", "ptrace", "print", "after"}),
      filter);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(*r, KilledBySeccomp("ptrace"));
  EXPECT_EQ(r->outcome.syscall, SYS_ptrace);
  EXPECT_EQ(r->stdout_, "before\n");
}

TEST_F(SeccompTest, AGrandchildsViolationEndsTheWholeRun) {
  SeccompFilter filter = SeccompFilter::DefaultDenyList(SeccompAction::kKill);
  Command cmd("/bin/sh", {"-c", absl::StrCat("(\"", kHelper,
                                             "\" syscall bpf; echo survived); "
                                             "echo survived")});
  absl::StatusOr<RunResult> r = RunFiltered(cmd, filter);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(*r, KilledBySeccomp("bpf"));
  EXPECT_EQ(r->outcome.syscall, SYS_bpf);
  EXPECT_EQ(r->stdout_, "");
}

TEST_F(SeccompTest, AKillDefaultNamesTheFirstCallNotAllowed) {
  absl::StatusOr<SeccompFilter> filter = ParseSeccompFilter(R"(
    default kill
    allow brk mmap munmap mprotect arch_prctl set_tid_address
    allow set_robust_list rseq prlimit64 readlink readlinkat getrandom
    allow newfstatat fstat write read close exit getpid futex uname
  )");
  ASSERT_THAT(filter, IsOk());
  absl::StatusOr<RunResult> r =
      RunFiltered(Helper(Calls({"getpid", "setns"})), *filter);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(*r, KilledBySeccomp("setns"));
  EXPECT_EQ(r->stdout_, "getpid ok\n");
}

TEST_F(SeccompTest, TheProgramHoldsNeitherTheListenerNorItsSocket) {
  SeccompFilter filter;
  filter.rules.push_back({"ptrace", SeccompAction::kKill, 0});
  absl::StatusOr<RunResult> r = RunFiltered(Helper({"print-fds"}), filter);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(*r, ExitedWith(0));
  EXPECT_EQ(r->stdout_, "0\n1\n2\n");
}

TEST_F(SeccompTest, AKillRuleIsNamedWhenTheHostHasNoStdin) {
  // The listener's socket would otherwise be descriptor 0, which the
  // child's stdio step replaces.
  const int saved = dup(0);
  ASSERT_GE(saved, 0);
  close(0);
  SeccompFilter filter;
  filter.rules.push_back({"ptrace", SeccompAction::kKill, 0});
  absl::StatusOr<RunResult> r =
      RunFiltered(Helper({"syscall", "ptrace"}), filter);
  ASSERT_EQ(dup2(saved, 0), 0);
  close(saved);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(*r, KilledBySeccomp("ptrace"));
}

TEST_F(SeccompTest, AKillWithoutAListenerIsStillAViolation) {
  // A filter that rules on sendmsg cannot send its listener: kill rules
  // kill the process (SIGSYS), and the kernel does not say which call.
  SeccompFilter filter;
  filter.rules.push_back({"ptrace", SeccompAction::kKill, 0});
  filter.rules.push_back({"sendmsg", SeccompAction::kEperm, 0});
  absl::StatusOr<RunResult> r =
      RunFiltered(Helper({"syscall", "ptrace"}), filter);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(*r, KilledBySeccomp());
  EXPECT_EQ(r->outcome.signal, SIGSYS);
  EXPECT_EQ(r->outcome.syscall, -1);
  EXPECT_EQ(r->outcome.syscall_name, "");
}

TEST_F(SeccompTest, AnUnknownCallFailsStartNamingIt) {
  SeccompFilter filter;
  filter.rules.push_back({"ptrace", SeccompAction::kEperm, 0});
  filter.rules.push_back({"no_such_call", SeccompAction::kEperm, 0});
  filter.rules.push_back({"neither_this", SeccompAction::kKill, 0});
  EXPECT_THAT(RunFiltered(Helper({"exit", "0"}), filter),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("\"no_such_call\", \"neither_this\"")));
}

}  // namespace
}  // namespace procsandbox
