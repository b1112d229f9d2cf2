// The C++ side of bench/peers: one batch of one variant per call, timed
// here, printed as JSON for scripts/bench-peers, which interleaves the
// batches of every variant (C++, Python, Node, whole commands) in rounds.
//
//   peers_driver spawn VARIANT N            spawn + wait /bin/true N times
//   peers_driver deadline VARIANT N         /bin/sleep 10 under a 100 ms
//                                           limit: end minus 100 ms
//   peers_driver capture-bounded VARIANT N  CHILD write 1 GiB, 64 MiB kept
//   peers_driver capture-all VARIANT N      CHILD write 1 GiB, all kept
//   peers_driver exec N OFFSET_S -- ARGV    a whole command, posix_spawn'ed
//                                           (streams /dev/null) and waited:
//                                           wall minus OFFSET_S
//   peers_driver facts                      page-touch cost
//
// Output: {"samples": [seconds, ...], "exit": [distinct exit statuses]}.
// VARIANT: posix_spawn, vfork, raw, raw_huge, library, library_no_cgroups,
// boost, boost_vfork (which measure has which: see Run() below). Unknown input
// exits 2 with a message.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/process.hpp>
#include <boost/process/posix.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "procsandbox/procsandbox.h"

extern "C" char** environ;

namespace {

namespace bp = boost::process;

constexpr char kChild[] = PROCSANDBOX_PEERS_CHILD;
constexpr char kTrue[] = "/bin/true";
constexpr char kSleep[] = "/bin/sleep";
constexpr double kDeadlineSeconds = 0.1;
constexpr long long kCaptureBytes = 1LL << 30;
constexpr std::size_t kKeptBytes = 64 << 20;
constexpr std::size_t kPipeBytes = 1 << 20;

double Now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "peers_driver: %s\n", why.c_str());
  std::exit(2);
}

// A step's exit status, collected so that the script can say what ran.
std::set<int> exits;

int StatusCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

pid_t Spawn(const std::vector<std::string>& args,
            posix_spawn_file_actions_t* actions = nullptr) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.data()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int err =
      posix_spawnp(&pid, argv[0], actions, nullptr, argv.data(), environ);
  if (err != 0) Die("posix_spawn " + args[0] + ": " + std::strerror(err));
  return pid;
}

void Reap(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) Die("waitpid failed");
  exits.insert(StatusCode(status));
}

void VforkWait(const char* path) {
  char* argv[] = {const_cast<char*>(path), nullptr};
  const pid_t pid = vfork();
  if (pid == 0) {
    execve(path, argv, environ);
    _exit(127);
  }
  if (pid < 0) Die("vfork failed");
  Reap(pid);
}

std::unique_ptr<procsandbox::Manager> NewManager(bool cgroups) {
  procsandbox::OsManagerOptions options;
  options.cgroups = cgroups;
  auto m = procsandbox::NewOsManager(options);
  if (!m.ok()) Die(std::string(m.status().message()));
  return *std::move(m);
}

void Record(const procsandbox::Outcome& outcome) {
  exits.insert(outcome.reason == procsandbox::ExitReason::kExited
                   ? outcome.exit_code
                   : 128 + outcome.signal);
}

// The floor of the deadline measure: posix_spawn, then a timerfd and the
// child's pidfd in one poll; at the timer SIGKILL through the pidfd, then
// waitid on it.
void RawDeadline() {
  const pid_t pid = Spawn({kSleep, "10"});
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  const int timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  if (pidfd < 0 || timer < 0) Die("pidfd_open or timerfd_create failed");
  itimerspec at{};
  at.it_value.tv_nsec = static_cast<long>(kDeadlineSeconds * 1e9);
  timerfd_settime(timer, 0, &at, nullptr);
  pollfd fds[2] = {{pidfd, POLLIN, 0}, {timer, POLLIN, 0}};
  while (poll(fds, 2, -1) < 0) {
  }
  if (fds[1].revents & POLLIN)
    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
  siginfo_t info{};
  waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info,
         WEXITED);
  exits.insert(info.si_code == CLD_EXITED ? info.si_status
                                          : 128 + info.si_status);
  close(timer);
  close(pidfd);
}

// Runs the writer into a 1 MiB pipe (the manager's capture_pipe_bytes) and
// hands the read end to `drain`; returns the bytes it read.
template <typename Drain>
long long RawCapture(Drain drain) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) Die("pipe2 failed");
  fcntl(fds[0], F_SETPIPE_SZ, static_cast<int>(kPipeBytes));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  const pid_t pid =
      Spawn({kChild, "write", std::to_string(kCaptureBytes)}, &actions);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  const long long total = drain(fds[0]);
  close(fds[0]);
  Reap(pid);
  return total;
}

long long GrowingString(int fd) {
  // Fresh memory, as a caller gets it: a std::string grown by resize().
  std::string out;
  std::size_t size = 0;
  for (;;) {
    if (out.size() - size < kPipeBytes) out.resize(size + kPipeBytes);
    const ssize_t n = read(fd, out.data() + size, out.size() - size);
    if (n <= 0) break;
    size += static_cast<std::size_t>(n);
  }
  out.resize(size);
  return static_cast<long long>(out.size());
}

// Address space for `bytes`, backed by huge pages where the kernel gives
// them (MADV_HUGEPAGE: one fault per 2 MiB instead of one per 4 KiB), as
// the library's capture buffer is; unmapped by the deleter.
std::unique_ptr<char, std::function<void(char*)>> HugePages(std::size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) Die("mmap failed");
  madvise(p, bytes, MADV_HUGEPAGE);
  return {static_cast<char*>(p), [bytes](char* q) { munmap(q, bytes); }};
}

// Reads all of `fd` into `buffer` (its first `keep` bytes; the rest into
// one reused 1 MiB block); returns the bytes read.
long long ReadInto(int fd, char* buffer, std::size_t keep) {
  static std::vector<char> block(kPipeBytes);
  std::size_t size = 0;
  long long total = 0;
  for (;;) {
    const bool keeping = size < keep;
    const ssize_t n = read(fd, keeping ? buffer + size : block.data(),
                           keeping ? keep - size : block.size());
    if (n <= 0) break;
    if (keeping) size += static_cast<std::size_t>(n);
    total += n;
  }
  return total;
}

long long BoundedLoop(int fd) {
  // The first 64 MiB kept, the rest read into one reused 1 MiB buffer.
  std::string kept(kKeptBytes, '\0');
  return ReadInto(fd, kept.data(), kKeptBytes);
}

procsandbox::Command ChildWrite() {
  return procsandbox::Command(kChild, {"write", std::to_string(kCaptureBytes)});
}

// One step of `measure` for `variant`; empty when there is no such pair.
std::function<void()> Step(const std::string& measure,
                           const std::string& variant) {
  static std::unique_ptr<procsandbox::Manager> manager;
  if (variant == "library" || variant == "library_no_cgroups")
    manager = NewManager(variant == "library");
  if (measure == "spawn") {
    if (variant == "posix_spawn") return [] { Reap(Spawn({kTrue})); };
    if (variant == "vfork") return [] { VforkWait(kTrue); };
    if (manager) {
      return [] {
        procsandbox::Command cmd(kTrue);
        // No capture: the streams are the host's, as every other variant's.
        cmd.stdin_ = procsandbox::Stdio::Inherit();
        cmd.stdout_ = procsandbox::Stdio::Inherit();
        cmd.stderr_ = procsandbox::Stdio::Inherit();
        std::shared_ptr<procsandbox::Process> p = manager->New(std::move(cmd));
        if (!p->Start().ok()) Die("Start failed");
        auto outcome = p->Wait();
        if (!outcome.ok()) Die(std::string(outcome.status().message()));
        Record(*outcome);
      };
    }
    if (variant == "boost") {
      return [] {
        bp::child c(kTrue);
        c.wait();
        exits.insert(c.exit_code());
      };
    }
    if (variant == "boost_vfork") {
      return [] {
        bp::child c(kTrue, bp::posix::use_vfork);
        c.wait();
        exits.insert(c.exit_code());
      };
    }
  }
  if (measure == "deadline") {
    if (variant == "raw") return RawDeadline;
    if (manager) {
      return [] {
        procsandbox::Command cmd(kSleep, {"10"});
        cmd.limits.wall_time = absl::Seconds(kDeadlineSeconds);
        auto r = procsandbox::RunCommand(*manager, std::move(cmd));
        if (!r.ok()) Die(std::string(r.status().message()));
        Record(r->outcome);
      };
    }
  }
  if (measure == "capture-bounded") {
    if (variant == "raw") {
      return [] {
        if (RawCapture(BoundedLoop) != kCaptureBytes) Die("short read");
      };
    }
    if (variant == "raw_huge") {
      return [] {
        if (RawCapture([](int fd) {
              return ReadInto(fd, HugePages(kKeptBytes).get(), kKeptBytes);
            }) != kCaptureBytes)
          Die("short read");
      };
    }
    if (manager) {
      return [] {
        procsandbox::Command cmd = ChildWrite();
        cmd.limits.output_bytes = kKeptBytes;  // keep 64 MiB, drop the rest
        auto r = procsandbox::RunCommand(*manager, std::move(cmd));
        if (!r.ok() || r->stdout_.size() != kKeptBytes || !r->stdout_truncated)
          Die("library capture did not keep 64 MiB");
        Record(r->outcome);
      };
    }
  }
  if (measure == "capture-all") {
    if (variant == "raw") {
      return [] {
        if (RawCapture(GrowingString) != kCaptureBytes) Die("short read");
      };
    }
    if (variant == "raw_huge") {
      return [] {
        // Address space for twice what comes, filled in order.
        const std::size_t room = 2 * kCaptureBytes;
        if (RawCapture([room](int fd) {
              return ReadInto(fd, HugePages(room).get(), room);
            }) != kCaptureBytes)
          Die("short read");
      };
    }
    if (manager) {
      return [] {
        procsandbox::Command cmd = ChildWrite();
        cmd.limits.output_bytes = 2 * kCaptureBytes;  // above what comes
        auto r = procsandbox::RunCommand(*manager, std::move(cmd));
        if (!r.ok() ||
            static_cast<long long>(r->stdout_.size()) != kCaptureBytes)
          Die("library capture did not keep 1 GiB");
        Record(r->outcome);
      };
    }
    if (variant == "boost") {
      return [] {
        // Boost.Process's pipe, read into a growing string as above.
        bp::pipe pipe;
        bp::child c(kChild, "write", std::to_string(kCaptureBytes),
                    bp::std_out > pipe);
        // std_out > pipe took the write end: the parent holds none.
        std::string out;
        std::size_t size = 0;
        for (;;) {
          if (out.size() - size < kPipeBytes) out.resize(size + kPipeBytes);
          const int n =
              pipe.read(out.data() + size, static_cast<int>(out.size() - size));
          if (n <= 0) break;
          size += static_cast<std::size_t>(n);
        }
        c.wait();
        exits.insert(c.exit_code());
        if (static_cast<long long>(size) != kCaptureBytes) Die("short read");
      };
    }
  }
  return {};
}

// The first touch of fresh anonymous memory (a page fault and a zeroed
// page each 4 KiB) against a second write to the same pages.
void Facts() {
  constexpr std::size_t bytes = 256 << 20;
  constexpr std::size_t page = 4096;
  std::vector<double> first, second;
  for (int round = 0; round < 5; ++round) {
    char* p = static_cast<char*>(mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (p == MAP_FAILED) Die("mmap failed");
    madvise(p, bytes, MADV_NOHUGEPAGE);  // 4 KiB pages, as a default heap
    for (std::vector<double>* into : {&first, &second}) {
      const double t0 = Now();
      for (std::size_t i = 0; i < bytes; i += page) p[i] = 1;
      into->push_back((Now() - t0) / (bytes / page));
    }
    munmap(p, bytes);
  }
  std::sort(first.begin(), first.end());
  std::sort(second.begin(), second.end());
  std::printf(
      "{\"page_first_touch_s\": %.9g, \"page_second_write_s\": %.9g, "
      "\"pages\": %zu, \"rounds\": 5}\n",
      first[first.size() / 2], second[second.size() / 2], bytes / page);
}

void Print(const std::vector<double>& samples) {
  std::printf("{\"samples\": [");
  for (std::size_t i = 0; i < samples.size(); ++i)
    std::printf("%s%.9g", i ? ", " : "", samples[i]);
  std::printf("], \"exit\": [");
  bool comma = false;
  for (int e : exits) {
    std::printf("%s%d", comma ? ", " : "", e);
    comma = true;
  }
  std::printf("]}\n");
}

int Count(const char* text) {
  const int n = std::atoi(text);
  if (n < 1) Die(std::string("want a count above 0, got ") + text);
  return n;
}

int Exec(int argc, char** argv) {
  // exec N OFFSET_S -- ARGV...
  if (argc < 6 || std::strcmp(argv[4], "--") != 0)
    Die("usage: exec N OFFSET_S -- ARGV...");
  const int n = Count(argv[2]);
  const double offset = std::atof(argv[3]);
  std::vector<std::string> args(argv + 5, argv + argc);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (int fd = 0; fd <= 2; ++fd)
    posix_spawn_file_actions_addopen(&actions, fd, "/dev/null",
                                     fd == 0 ? O_RDONLY : O_WRONLY, 0);
  std::vector<double> samples;
  for (int i = 0; i < n; ++i) {
    const double t0 = Now();
    Reap(Spawn(args, &actions));
    samples.push_back(Now() - t0 - offset);
  }
  posix_spawn_file_actions_destroy(&actions);
  Print(samples);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc == 2 && std::strcmp(argv[1], "facts") == 0) {
    Facts();
    return 0;
  }
  if (argc >= 2 && std::strcmp(argv[1], "exec") == 0) return Exec(argc, argv);
  if (argc != 4) Die("usage: peers_driver MEASURE VARIANT N (see the source)");
  const std::string measure = argv[1];
  const std::string variant = argv[2];
  const int n = Count(argv[3]);
  const std::function<void()> step = Step(measure, variant);
  if (!step) Die("no variant " + variant + " of " + measure);
  const double offset = measure == "deadline" ? kDeadlineSeconds : 0;
  std::vector<double> samples;
  for (int i = 0; i < n; ++i) {
    const double t0 = Now();
    step();
    samples.push_back(Now() - t0 - offset);
  }
  Print(samples);
  return 0;
}
