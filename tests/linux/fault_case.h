// One fault-injection case in a forked child: what a case does to its
// process (rlimits, uid, namespaces, mounts, cgroup membership) never
// reaches the test process or the machine. The child sends its verdict back
// through a pipe as one line: "ok", "skip: <why>", or what went wrong.
//
//   TEST(FaultTest, Something) {
//     PROCSANDBOX_FAULT_CASE([](FaultVerdict& v) {
//       setrlimit(...);                       // only the child has it
//       v.Check(s.code() == kResourceExhausted, "...");
//     });
//   }
//
// Fork it only from a process with one thread (the test process between
// tests: every manager it made is gone).
#ifndef PROCSANDBOX_TESTS_LINUX_FAULT_CASE_H_
#define PROCSANDBOX_TESTS_LINUX_FAULT_CASE_H_

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace procsandbox {

// What a case found, built up in the child.
class FaultVerdict {
 public:
  // Records `what` when `ok` is false; returns `ok`.
  bool Check(bool ok, const std::string& what) {
    if (!ok) failures_.push_back(what);
    return ok;
  }
  // The case cannot run here (no root, no cgroup): the test is skipped.
  void Skip(const std::string& why) { skip_ = why; }
  bool skipped() const { return !skip_.empty(); }

  std::string Line() const {
    std::string line;
    if (!failures_.empty()) {
      line = absl::StrJoin(failures_, "; ");
    } else if (!skip_.empty()) {
      line = absl::StrCat("skip: ", skip_);
    } else {
      line = "ok";
    }
    return absl::StrReplaceAll(line, {{"\n", " | "}});
  }

 private:
  std::vector<std::string> failures_;
  std::string skip_;
};

// The descriptor a case's verdict goes to in the child. A case that closes
// descriptors keeps this one (it is 3 after KeepOnlyVerdictDescriptor).
inline int& FaultVerdictFd() {
  static int fd = -1;
  return fd;
}

// In the child: closes every descriptor but 0, 1, 2 and the verdict's, which
// becomes 3 — so that a lowered RLIMIT_NOFILE counts only what the case
// opens.
inline void KeepOnlyVerdictDescriptor() {
  int& fd = FaultVerdictFd();
  if (fd != 3) {
    if (dup2(fd, 3) < 0) _exit(120);
    fd = 3;
  }
  syscall(SYS_close_range, 4U, ~0U, 0U);
}

// Runs `body` in a forked child and returns its verdict line; "" when the
// child ended without one (it crashed, or was killed after `guard` — a
// guard against a hang, far beyond what a case needs).
inline std::string RunFaultCase(const std::function<void(FaultVerdict&)>& body,
                                absl::Duration guard = absl::Seconds(120)) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return absl::StrCat("pipe2: ", std::strerror(errno));
  }
  const pid_t pid = fork();
  if (pid < 0) return absl::StrCat("fork: ", std::strerror(errno));
  if (pid == 0) {
    close(pipe_fds[0]);
    FaultVerdictFd() = pipe_fds[1];
    FaultVerdict verdict;
    body(verdict);
    const std::string line = verdict.Line() + "\n";
    (void)!write(FaultVerdictFd(), line.data(), line.size());
    _exit(0);
  }
  close(pipe_fds[1]);
  std::string line;
  const absl::Time give_up = absl::Now() + guard;
  for (;;) {
    pollfd p = {pipe_fds[0], POLLIN, 0};
    const int64_t left = absl::ToInt64Milliseconds(give_up - absl::Now());
    if (left <= 0) {
      kill(pid, SIGKILL);
      line = absl::StrCat("no verdict after ", absl::FormatDuration(guard),
                          ": killed; ", line);
      break;
    }
    if (poll(&p, 1, static_cast<int>(left)) < 0 && errno != EINTR) break;
    char block[512];
    const ssize_t n = read(pipe_fds[0], block, sizeof(block));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;
    line.append(block, static_cast<std::size_t>(n));
  }
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!line.empty() && line.back() == '\n') line.pop_back();
  if (line.empty()) {
    line = absl::StrCat(
        "the case's process ended without a verdict (wait "
        "status ",
        status, ")");
  }
  return line;
}

}  // namespace procsandbox

// Runs the case; a "skip: " verdict skips the test, anything but "ok"
// fails it.
// (Variadic: a lambda's captures hold commas.)
#define PROCSANDBOX_FAULT_CASE(...)                    \
  do {                                                 \
    const std::string procsandbox_verdict =            \
        ::procsandbox::RunFaultCase(__VA_ARGS__);      \
    if (procsandbox_verdict.rfind("skip: ", 0) == 0) { \
      GTEST_SKIP() << procsandbox_verdict.substr(6);   \
    }                                                  \
    EXPECT_EQ(procsandbox_verdict, "ok");              \
  } while (false)

#endif  // PROCSANDBOX_TESTS_LINUX_FAULT_CASE_H_
