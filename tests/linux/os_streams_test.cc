// The Linux OS manager's standard streams under races: readers and writers
// on other threads than the one that stops or closes, drains that give up,
// stderr merged into an inherited stdout. Bodies that could hang or kill the
// host run in a child with a watchdog (real_time.h).
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "process_inspection.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox_testing/matchers.h"
#include "real_time.h"

namespace procsandbox {
namespace {

using ::procsandbox_testing::IsOk;

constexpr char kHelper[] = PROCSANDBOX_TEST_HELPER;

Command Helper(std::vector<std::string> steps) {
  return Command(kHelper, std::move(steps));
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

// Several threads reading one Pipe stream at once: each ReadLine() keeps its
// own timeout, none blocks in read(2) holding the process (so Kill() and the
// reactor go on), however the wake-ups and the process's lock interleave.
TEST(OsStreamsTest, ConcurrentReadLineNeverBlocksKillOrIgnoresItsTimeout) {
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

// CloseStdin() and Kill() from another thread while Write() blocks on a full
// pipe: Write() fails, and no SIGPIPE is left pending to kill the host.
TEST(OsStreamsTest, CloseStdinAndKillDuringABlockedWriteDoNotKillTheHost) {
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

// Write() holds stdin's descriptor for the whole call: a CloseStdin() racing
// it does not free the number for the host's next open() to take, so no byte
// meant for the child lands in an unrelated file.
TEST(OsStreamsTest, WriteRacingCloseStdinNeverWritesToAReusedDescriptor) {
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

// Stdio::ToStdout() for stderr with stdout inherited is 2>&1: stderr goes to
// the host's stdout, not to the host's stderr.
TEST(OsStreamsTest, StderrToStdoutFollowsAnInheritedStdout) {
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
    absl::StatusOr<RunResult> r = procsandbox::RunCommand(**m, cmd);
    dup2(saved_err, 2);
    if (!r.ok()) return r.status().ToString();
    if (ReadWholeFile(out) != "to-stdout\n") {
      return absl::StrCat("host stdout got \"", ReadWholeFile(out),
                          "\", host stderr got \"", ReadWholeFile(err), "\"");
    }
    return "";
  });
}

// A last line without a newline reaches the Lines callback also when the
// drain gives up on the pipe (a grandchild holds it open).
TEST(OsStreamsTest, TheLastPartialLineIsDeliveredWhenTheDrainEnds) {
  ScopedSubreaper subreaper;
  const std::string marker = Unique("PARTIAL");
  auto m = NewOsManager();
  ASSERT_THAT(m, IsOk());
  std::vector<std::string> lines;
  Command cmd =
      Helper({"daemonize", "write-stdout", "5", "print-stderr", marker});
  cmd.stdout_ =
      Stdio::Lines([&lines](absl::string_view l) { lines.emplace_back(l); });
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(**m, cmd);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(lines, ::testing::ElementsAre("abcde"));
  KillAndReapMarked(marker);
}

}  // namespace
}  // namespace procsandbox
