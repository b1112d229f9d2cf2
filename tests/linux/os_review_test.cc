// Review of the Linux OS manager: races between host threads and the reactor,
// descriptors, pids and documented behaviour. Every test here failed against
// the code it was written for; each names the bug it shows.
//
// Tests that hang or crash run their body in a child (gtest death test) with a
// watchdog that _exit(3)s, so the suite stays runnable.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox/testing/matchers.h"

namespace procsandbox {
namespace {

using ::procsandbox::testing::IsOk;

constexpr char kHelper[] = PROCSANDBOX_TEST_HELPER;

Command Helper(std::vector<std::string> steps) {
  return Command(kHelper, std::move(steps));
}

// Runs `body` in a re-executed child with a watchdog: a hang exits 3, a crash
// dies by its signal, `body` returning a non-empty string (what went wrong)
// exits 1. All of them fail the test; only "" passes.
void ExpectCompletesWithin(int secs, const std::function<std::string()>& body) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        std::thread([secs] {
          std::this_thread::sleep_for(std::chrono::seconds(secs));
          std::fputs("watchdog: the body hung\n", stderr);
          std::_Exit(3);
        }).detach();
        const std::string error = body();
        std::fputs(error.c_str(), stderr);
        std::_Exit(error.empty() ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// Whether thread `tid` of this process sits blocked in system call `nr`
// (/proc/self/task/<tid>/syscall starts with its number), polled for at most
// 30 s: a test waits for that, not for a guess of how long getting there takes.
bool AwaitBlockedIn(const std::atomic<pid_t>& tid, long nr) {
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (absl::Now() < give_up) {
    if (tid.load() != 0) {
      const std::string text = ReadWholeFile(
          absl::StrCat("/proc/self/task/", tid.load(), "/syscall"));
      if (absl::StartsWith(text, absl::StrCat(nr, " "))) return true;
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
  return false;
}

// Open descriptors, except the manager's on cgroup files: it keeps some on
// groups made ahead of time, and how many varies with when the reactor
// refills them.
int CountOpenFds() {
  int n = 0;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  while (const struct dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    char target[512] = {};
    const std::string link = absl::StrCat("/proc/self/fd/", e->d_name);
    if (readlink(link.c_str(), target, sizeof(target) - 1) > 0 &&
        std::string(target).rfind("/sys/fs/cgroup", 0) == 0) {
      continue;
    }
    ++n;
  }
  closedir(dir);
  return n - 1;  // opendir's own
}

// A fresh directory under gtest's temp dir, removed with everything in it
// when it goes out of scope. Bodies run by ExpectCompletesWithin make their
// own (the child re-runs the test and leaves through _Exit).
class ScopedTempDir {
 public:
  ScopedTempDir() {
    std::string pattern = ::testing::TempDir() + "os_review_XXXXXX";
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~ScopedTempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The descriptor of this process whose /proc link equals `link`, or -1.
int FindFdWithLink(const std::string& link) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int found = -1;
  while (const struct dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    char target[256] = {};
    const std::string path = absl::StrCat("/proc/self/fd/", e->d_name);
    const ssize_t n = readlink(path.c_str(), target, sizeof(target) - 1);
    if (n > 0 && link == target) found = std::atoi(e->d_name);
  }
  closedir(dir);
  return found;
}

std::string LinkOf(const std::string& path) {
  char target[256] = {};
  const ssize_t n = readlink(path.c_str(), target, sizeof(target) - 1);
  return n > 0 ? std::string(target, static_cast<std::size_t>(n)) : "";
}

// Pids whose command line is the helper's and holds `marker`.
std::vector<pid_t> HelpersWithMarker(const std::string& marker) {
  std::vector<pid_t> pids;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return pids;
  while (const struct dirent* e = readdir(proc)) {
    const std::string name = e->d_name;
    if (name.empty() ||
        name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    const std::string raw = ReadWholeFile("/proc/" + name + "/cmdline");
    std::vector<std::string> args =
        absl::StrSplit(raw, '\0', absl::SkipEmpty());
    if (!args.empty() && args[0] == kHelper &&
        std::find(args.begin(), args.end(), marker) != args.end()) {
      pids.push_back(static_cast<pid_t>(std::stol(name)));
    }
  }
  closedir(proc);
  return pids;
}

class ScopedSubreaper {
 public:
  ScopedSubreaper() { prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }
  ~ScopedSubreaper() { prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0); }
  ScopedSubreaper(const ScopedSubreaper&) = delete;
  ScopedSubreaper& operator=(const ScopedSubreaper&) = delete;
};

void KillAndReapMarked(const std::string& marker) {
  for (pid_t pid : HelpersWithMarker(marker)) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
}

std::string Unique(absl::string_view what) {
  return absl::StrCat(what, "-", getpid(), "-", absl::ToUnixNanos(absl::Now()));
}

// ---------------------------------------------------------------------------
// 1. Two threads reading one Pipe stream: the loser of the race blocks in
// read(2) while holding the process mutex, so Kill() (and the reactor, for
// every process of the manager) waits for output that never comes.
TEST(OsReviewTest, ConcurrentReadLineNeverBlocksKillOrIgnoresItsTimeout) {
  ExpectCompletesWithin(120, []() -> std::string {
    auto m = NewOsManager();
    if (!m.ok()) return m.status().ToString();
    Command cmd = Helper({"echo-lines"});
    cmd.stdin_ = Stdio::Pipe();
    cmd.stdout_ = Stdio::Pipe();
    std::shared_ptr<Process> p = (*m)->New(cmd);
    if (absl::Status s = p->Start(); !s.ok()) return s.ToString();
    // Several readers wake from poll() on one line; all but the first find
    // the pipe empty and block in read(2) holding the mutex.
    for (int round = 0; round < 20; ++round) {
      constexpr int kReaders = 8;
      std::atomic<int> done{0};
      std::vector<std::thread> readers;
      for (int i = 0; i < kReaders; ++i) {
        readers.emplace_back([&] {
          (void)p->ReadLine(Stream::kStdout, absl::Milliseconds(300));
          ++done;
        });
      }
      absl::SleepFor(absl::Milliseconds(50));  // all in poll()
      // Usage() holds the process mutex while it reads /proc: the readers
      // that leave poll() meanwhile queue on the mutex instead of reading.
      std::atomic<bool> stop{false};
      std::thread hammer([&] {
        while (!stop.load()) (void)p->Usage();
      });
      absl::SleepFor(absl::Milliseconds(5));
      if (absl::Status s = p->Write("one line\n"); !s.ok()) {
        return s.ToString();
      }
      absl::SleepFor(absl::Milliseconds(5));
      stop = true;
      // Every reader has a 300 ms timeout: all must be back. The 10 s bound
      // only tells a stuck reader from a loaded machine.
      const absl::Time limit = absl::Now() + absl::Seconds(10);
      while (done.load() < kReaders && absl::Now() < limit) {
        absl::SleepFor(absl::Milliseconds(5));
      }
      if (done.load() < kReaders) {
        // Show that Kill() is stuck too (the reader holds the mutex; so is
        // the Usage() thread).
        std::atomic<bool> killed{false};
        std::thread([&] {
          (void)p->Kill();
          killed = true;
        }).detach();
        absl::SleepFor(absl::Seconds(1));
        std::fprintf(stderr,
                     "round %d: %d of %d ReadLine(300ms) calls still blocked "
                     "after 10 s; Kill() %s\n",
                     round, kReaders - done.load(), kReaders,
                     killed ? "returned" : "blocked too (1 s)");
        std::_Exit(1);
      }
      hammer.join();
      for (std::thread& t : readers) t.join();
    }
    (void)p->Kill();
    if (!p->WaitFor(absl::Seconds(30)).ok()) return "not ended after Kill()";
    return "";
  });
}

// ---------------------------------------------------------------------------
// 2. Start() checks shut_down, then (without the core lock) opens files and
// spawns; a manager destroyed meanwhile has reset core->reactor, and Start()
// then calls core->reactor->Post() through a null pointer.
TEST(OsReviewTest, StartRacingManagerDestructionDoesNotCrashOrLeak) {
  ExpectCompletesWithin(60, []() -> std::string {
    ScopedTempDir tmp;  // in the child, which runs the body
    const std::string fifo = tmp.path() + "/stdin.fifo";
    if (mkfifo(fifo.c_str(), 0600) != 0) return "mkfifo failed";
    auto m = NewOsManager();
    if (!m.ok()) return m.status().ToString();
    Command cmd = Helper({"sleep-forever"});
    cmd.stdin_ = Stdio::File(fifo);  // Start() blocks opening it
    std::shared_ptr<Process> p = (*m)->New(cmd);
    absl::Status started = absl::UnknownError("not returned");
    std::thread starter([&] { started = p->Start(); });
    absl::SleepFor(absl::Milliseconds(300));  // Start() is inside open()
    m->reset();                               // the manager goes away
    const int w = open(fifo.c_str(), O_WRONLY | O_CLOEXEC);  // let it go on
    if (w >= 0) close(w);
    starter.join();
    unlink(fifo.c_str());
    if (started.ok()) {
      // Started after all: the gone manager must still not leave it running.
      if (!p->WaitFor(absl::Seconds(3)).ok()) {
        kill(static_cast<pid_t>(p->Id()), SIGKILL);
        return "Start() succeeded after the manager was destroyed and the "
               "child runs on, unmanaged";
      }
      return "";
    }
    if (started.code() != absl::StatusCode::kFailedPrecondition) {
      return "Start(): " + started.ToString();
    }
    return "";
  });
}

// ---------------------------------------------------------------------------
// 3. A Start() that fails after the stdin/stdout pipes were made keeps them
// open in the Process ("a Start() that fails ... leaves nothing behind").
TEST(OsReviewTest, AFailedStartLeavesNoDescriptorBehind) {
  auto m = NewOsManager();
  ASSERT_THAT(m, IsOk());
  const int before = CountOpenFds();
  Command cmd = Helper({"exit", "0"});
  cmd.stdin_ = Stdio::Pipe();
  cmd.stdout_ = Stdio::Capture();
  cmd.stderr_ = Stdio::File("/nonexistent-dir/for/stderr.log");
  std::shared_ptr<Process> p = (*m)->New(cmd);
  ASSERT_FALSE(p->Start().ok());
  EXPECT_EQ(CountOpenFds(), before)
      << "descriptors left open by a failed Start() (process handle alive)";
}

// ---------------------------------------------------------------------------
// 4. Invariant 5 ("after Wait() returns ... no descriptor"): the write end of
// a Stdio::Pipe() stdin stays open until the handle is destroyed.
TEST(OsReviewTest, WaitLeavesNoDescriptorForAPipeStdin) {
  auto m = NewOsManager();
  ASSERT_THAT(m, IsOk());
  const int before = CountOpenFds();
  Command cmd = Helper({"sleep-forever"});
  cmd.stdin_ = Stdio::Pipe();
  std::shared_ptr<Process> p = (*m)->New(cmd);
  ASSERT_THAT(p->Start(), IsOk());
  ASSERT_THAT(p->Kill(), IsOk());
  ASSERT_THAT(p->Wait(), IsOk());
  EXPECT_EQ(CountOpenFds(), before) << "a descriptor is left after Wait()";
}

// ---------------------------------------------------------------------------
// 5a. Write() copies the descriptor number out of the lock and loops on it.
// CloseStdin() + Kill() from another thread while Write() blocks: the
// partial write raised SIGPIPE (blocked), the next write(2) fails EBADF, so
// the SIGPIPE is never consumed and kills the host when Write() unblocks it.
TEST(OsReviewTest, CloseStdinAndKillDuringABlockedWriteDoNotKillTheHost) {
  ExpectCompletesWithin(60, []() -> std::string {
    auto m = NewOsManager();
    if (!m.ok()) return m.status().ToString();
    Command cmd = Helper({"sleep-forever"});
    cmd.stdin_ = Stdio::Pipe();
    std::shared_ptr<Process> p = (*m)->New(cmd);
    if (absl::Status s = p->Start(); !s.ok()) return s.ToString();
    absl::Status written;
    std::atomic<pid_t> writer_tid{0};
    std::thread writer([&] {
      writer_tid = gettid();
      written = p->Write(std::string(1 << 20, 'x'));
    });
    if (!AwaitBlockedIn(writer_tid, SYS_write)) {
      return "Write() never blocked on the full pipe";
    }
    (void)p->CloseStdin();
    (void)p->Kill();
    writer.join();
    (void)p->Wait();
    if (written.ok()) return "Write() returned OK";
    return "";
  });
}

// 5b. The same race: CloseStdin() closed the descriptor number Write() was
// still writing to, so the host's next open() could take it and receive the
// rest of the data. Now Write() holds the descriptor for the whole call.
TEST(OsReviewTest, WriteRacingCloseStdinNeverWritesToAReusedDescriptor) {
  ExpectCompletesWithin(60, []() -> std::string {
    ScopedTempDir tmp;  // in the child, which runs the body
    const std::string victim = tmp.path() + "/victim.txt";
    signal(SIGPIPE, SIG_IGN);  // see 5a; here only the data matters
    auto m = NewOsManager();
    if (!m.ok()) return m.status().ToString();
    Command cmd = Helper({"sleep-forever"});
    cmd.stdin_ = Stdio::Pipe();
    std::shared_ptr<Process> p = (*m)->New(cmd);
    if (absl::Status s = p->Start(); !s.ok()) return s.ToString();
    const int stdin_fd =
        FindFdWithLink(LinkOf(absl::StrCat("/proc/", p->Id(), "/fd/0")));
    if (stdin_fd < 0) return "cannot find the stdin pipe's descriptor";
    absl::Status written;
    std::atomic<pid_t> writer_tid{0};
    std::thread writer([&] {
      writer_tid = gettid();
      written = p->Write(std::string(1 << 20, 'x'));
    });
    if (!AwaitBlockedIn(writer_tid, SYS_write)) {
      return "Write() never blocked on the full pipe";
    }
    (void)p->CloseStdin();
    // The host opens a file; it gets the number stdin had.
    const int file =
        open(victim.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (file < 0) return "open victim";
    // The fix keeps the descriptor open while Write() runs, so its number
    // cannot be reused by the host: the file gets another one.
    if (file == stdin_fd)
      return "CloseStdin() released the descriptor Write() uses";
    close(file);
    (void)p->Kill();
    writer.join();
    (void)p->Wait();
    const std::size_t size = ReadWholeFile(victim).size();
    if (size != 0) {
      return absl::StrCat("Write() wrote ", size,
                          " bytes into an unrelated file; it returned ",
                          written.ToString());
    }
    return "";
  });
}

// ---------------------------------------------------------------------------
// 6. With a process group, every stop is kill(-pid): a program that moves
// itself to another group of its session escapes Kill(), Terminate(), the
// wall-time limit and the manager's destructor (which then hangs).
TEST(OsReviewTest, KillCannotBeEscapedByLeavingTheProcessGroup) {
  if (access("/usr/bin/perl", X_OK) != 0) GTEST_SKIP() << "needs perl";
  ExpectCompletesWithin(120, []() -> std::string {
    auto m = NewOsManager();
    if (!m.ok()) return m.status().ToString();
    Command cmd("/usr/bin/perl",
                {"-e",
                 "$| = 1; setpgrp(0, getpgrp(getppid())) or die; "
                 "print qq(moved\\n); sleep 1000;"});
    cmd.stdout_ = Stdio::Pipe();
    std::shared_ptr<Process> p = (*m)->New(cmd);
    if (absl::Status s = p->Start(); !s.ok()) return s.ToString();
    absl::StatusOr<std::string> line =
        p->ReadLine(Stream::kStdout, absl::Seconds(60));
    if (!line.ok() || *line != "moved") return "perl did not move its group";
    (void)p->Kill();
    const bool ended = p->WaitFor(absl::Seconds(30)).ok();
    if (!ended) {
      // Clean up through our own pidfd so the destructor does not hang.
      const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, p->Id(), 0U));
      syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0U);
      close(pidfd);
      (void)p->Wait();
      return "Kill() did not kill a child that left its process group";
    }
    return "";
  });
}

// ---------------------------------------------------------------------------
// 7. Kill() of a child that already exited by itself (a zombie the reactor has
// not reaped yet, e.g. while it serves another process's output) records
// kCancelled over the real exit: "exit 0" becomes a cancelled run.
TEST(OsReviewTest, KillAfterTheChildExitedByItselfKeepsItsOwnExit) {
  auto m = NewOsManager();
  ASSERT_THAT(m, IsOk());
  absl::Notification in_callback, release;
  Command busy = Helper({"print", "x", "sleep-forever"});
  busy.stdout_ = Stdio::Lines([&](absl::string_view) {
    in_callback.Notify();
    release.WaitForNotificationWithTimeout(absl::Seconds(5));
  });
  std::shared_ptr<Process> b = (*m)->New(busy);
  ASSERT_THAT(b->Start(), IsOk());
  ASSERT_TRUE(in_callback.WaitForNotificationWithTimeout(absl::Seconds(5)));
  // The reactor is busy; this one exits 0 on its own.
  std::shared_ptr<Process> p = (*m)->New(Helper({"exit", "0"}));
  ASSERT_THAT(p->Start(), IsOk());
  siginfo_t info = {};
  ASSERT_EQ(waitid(P_PID, static_cast<id_t>(p->Id()), &info, WEXITED | WNOWAIT),
            0);                    // it has exited (not reaped)
  ASSERT_THAT(p->Kill(), IsOk());  // "OK when already ended"
  release.Notify();
  absl::StatusOr<Outcome> o = p->Wait();
  ASSERT_THAT(o, IsOk());
  EXPECT_EQ(o->reason, ExitReason::kExited)
      << "it exited 0 before Kill(): " << ToString(*o);
  EXPECT_EQ(o->exit_code, 0);
  (void)b->Kill();
  (void)b->Wait();
}

// ---------------------------------------------------------------------------
// 8. Stderr ToStdout with stdout Inherit: "the same sink as stdout (2>&1)",
// but plan.stdio[2] = plan.stdio[1] = kKeepFd leaves stderr on the host's 2.
TEST(OsReviewTest, StderrToStdoutFollowsAnInheritedStdout) {
  ExpectCompletesWithin(60, []() -> std::string {
    ScopedTempDir tmp;  // in the child, which runs the body
    const std::string& dir = tmp.path();
    const std::string out = dir + "/out", err = dir + "/err";
    const int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (o < 0 || e < 0) return "open";
    const int saved_err = dup(2);
    dup2(o, 1);
    dup2(e, 2);
    auto m = NewOsManager();
    if (!m.ok()) return m.status().ToString();
    Command cmd = Helper({"print-stderr", "to-stdout"});
    cmd.stdout_ = Stdio::Inherit();
    cmd.stderr_ = Stdio::ToStdout();
    absl::StatusOr<RunResult> r = procsandbox::Run(**m, cmd);
    dup2(saved_err, 2);
    if (!r.ok()) return r.status().ToString();
    if (ReadWholeFile(out) != "to-stdout\n") {
      return absl::StrCat("host stdout got \"", ReadWholeFile(out),
                          "\", host stderr got \"", ReadWholeFile(err), "\"");
    }
    return "";
  });
}

// ---------------------------------------------------------------------------
// 9. The table is keyed by pid, and FinishLocked erases live[pid] after the
// drain. The pid is free from the reap on: a process started meanwhile that
// gets the same pid is not inserted (emplace onto A's entry) and then erased
// with A: it is missing from Get/List and the manager's destructor leaves it
// running.
TEST(OsReviewTest, APidReusedDuringTheDrainStaysManaged) {
  if (geteuid() != 0 || access("/proc/sys/kernel/ns_last_pid", W_OK) != 0) {
    GTEST_SKIP() << "forcing pid reuse needs ns_last_pid (root)";
  }
  ScopedSubreaper subreaper;
  const std::string marker = Unique("REUSE");
  OsManagerOptions options;
  // Long enough for A's reap and B's start on a loaded machine.
  options.drain_after_exit = absl::Seconds(10);
  options.cgroups = false;  // a cgroup would end the grandchild with A
  auto m = NewOsManager(options);
  ASSERT_THAT(m, IsOk());
  // A exits at once; its daemonised grandchild holds the pipes: drain.
  Command a_cmd = Helper({"daemonize", "print-stderr", marker});
  a_cmd.stdout_ = Stdio::Capture();
  a_cmd.stderr_ = Stdio::Capture();
  std::shared_ptr<Process> a = (*m)->New(a_cmd);
  ASSERT_THAT(a->Start(), IsOk());
  const pid_t pid = static_cast<pid_t>(a->Id());
  const std::string proc = absl::StrCat("/proc/", pid);
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (access(proc.c_str(), F_OK) == 0 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_NE(access(proc.c_str(), F_OK), 0) << "A was not reaped";
  ASSERT_TRUE(a->Running()) << "A should still be draining";
  {
    std::ofstream last("/proc/sys/kernel/ns_last_pid");
    last << (pid - 1);
  }
  std::shared_ptr<Process> b = (*m)->New(Helper({"sleep-forever"}));
  ASSERT_THAT(b->Start(), IsOk());
  if (b->Id() != pid) {
    (void)b->Kill();
    (void)b->Wait();
    (void)a->Wait();
    KillAndReapMarked(marker);
    GTEST_SKIP() << "could not force the pid's reuse";
  }
  ASSERT_THAT(a->Wait(), IsOk());  // the drain ends
  absl::StatusOr<std::shared_ptr<Process>> got = (*m)->Get(pid);
  EXPECT_TRUE(got.ok() && got->get() == b.get())
      << "B (pid " << pid << ") runs but Get() says " << got.status();
  std::vector<std::shared_ptr<Process>> list = (*m)->List();
  EXPECT_NE(std::find(list.begin(), list.end(), b), list.end())
      << "B missing from List()";
  m->reset();  // must stop B
  absl::StatusOr<Outcome> ob = b->WaitFor(absl::Seconds(30));
  EXPECT_TRUE(ob.ok()) << "B still runs after its manager was destroyed";
  if (!ob.ok()) {
    // Nothing watches B any more (the reactor is gone): Wait() would hang.
    // Kill and reap it here; it is this process's child.
    const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0U));
    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0U);
    siginfo_t info = {};
    waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info,
           WEXITED);
    close(pidfd);
  }
  KillAndReapMarked(marker);
}

// ---------------------------------------------------------------------------
// 10. The SIGKILL timer Terminate() arms holds a strong reference to the
// process for the whole kill_grace, even after it ended: with a long grace
// every terminated process (and its captured output) stays in memory.
TEST(OsReviewTest, AnEndedProcessIsNotHeldByItsKillTimer) {
  auto m = NewOsManager();
  ASSERT_THAT(m, IsOk());
  Command cmd = Helper({"sleep-forever"});
  cmd.kill_grace = absl::Hours(1);
  std::shared_ptr<Process> p = (*m)->New(cmd);
  ASSERT_THAT(p->Start(), IsOk());
  ASSERT_THAT(p->Terminate(), IsOk());
  ASSERT_THAT(p->Wait(), IsOk());
  std::weak_ptr<Process> weak = p;
  p.reset();
  // Polled (the reactor may hold it for a moment on a loaded machine); the
  // bound is far below the hour the timer would keep it.
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (!weak.expired() && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_TRUE(weak.expired())
      << "the ended process is kept alive (use_count " << weak.use_count()
      << ") by the kill timer for kill_grace";
}

// ---------------------------------------------------------------------------
// 11. Lines: "a last line without a newline is delivered at end of file".
// When the drain gives up (a grandchild holds the pipe), FinishLocked closes
// the pipe and drops the unterminated tail.
TEST(OsReviewTest, TheLastPartialLineIsDeliveredWhenTheDrainEnds) {
  ScopedSubreaper subreaper;
  const std::string marker = Unique("PARTIAL");
  auto m = NewOsManager();
  ASSERT_THAT(m, IsOk());
  std::vector<std::string> lines;
  Command cmd =
      Helper({"daemonize", "write-stdout", "5", "print-stderr", marker});
  cmd.stdout_ =
      Stdio::Lines([&lines](absl::string_view l) { lines.emplace_back(l); });
  absl::StatusOr<RunResult> r = procsandbox::Run(**m, cmd);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(lines, ::testing::ElementsAre("abcde"));
  KillAndReapMarked(marker);
}

}  // namespace
}  // namespace procsandbox
