// The Linux OS manager against its floors, each measured in the same run.
//
//   build/release/bench/procsandbox_os_bench "[spawn]"     # vs posix_spawn
//   build/release/bench/procsandbox_os_bench "[many]"      # 2,000 children
//   build/release/bench/procsandbox_os_bench "[capture]"   # vs raw read loops
//   build/release/bench/procsandbox_os_bench "[deadline]"  # timeout precision
//   build/release/bench/procsandbox_os_bench "[cgroup]"    # vs no cgroup
//   build/release/bench/procsandbox_os_bench "[monitor]"   # vs no samples
//
// Variants that are compared run interleaved (round-robin, rotating the
// first), and ratios are ratios of medians from the same run.
#define CATCH_CONFIG_MAIN
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "bench_util.h"
#include "catch2/catch.hpp"
#include "procsandbox/procsandbox.h"

namespace {

using procsandbox::Command;
using procsandbox::Manager;
using procsandbox::Stdio;
using procsandbox::bench::Interleave;
using procsandbox::bench::Median;
using procsandbox::bench::Percentile;
using procsandbox::bench::PosixSpawnWait;
using procsandbox::bench::TouchedMemory;
using procsandbox::bench::Variant;

constexpr char kHelper[] = PROCSANDBOX_TEST_HELPER;
constexpr char kTiny[] = PROCSANDBOX_TINY_HELPER;

std::unique_ptr<Manager> NewManager(
    procsandbox::OsManagerOptions options = {}) {
  auto m = procsandbox::NewOsManager(options);
  if (!m.ok()) FAIL(std::string(m.status().message()));
  return *std::move(m);
}

double Now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool ManagerSpawnWait(Manager& m, const char* path,
                      const procsandbox::Limits& limits = {}) {
  Command cmd(path);
  cmd.limits = limits;
  // Capture off, no limits: the streams are the host's, as posix_spawn's.
  cmd.stdin_ = Stdio::Inherit();
  cmd.stdout_ = Stdio::Inherit();
  cmd.stderr_ = Stdio::Inherit();
  std::shared_ptr<procsandbox::Process> p = m.New(std::move(cmd));
  return p->Start().ok() && p->Wait().ok();
}

long StatusField(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0)
      return std::stol(line.substr(std::strlen(field)));
  }
  return -1;
}

// This process's CPU time (user + system), in seconds.
double SelfCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int OpenFds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) ++n;
    closedir(d);
  }
  return n - 3;  // ".", "..", and the DIR's own descriptor
}

// --- Floors written out raw --------------------------------------------------

// clone3's argument (linux/sched.h, spelled out: that header clashes with
// glibc's <sched.h>).
struct CloneArgs {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size,
      tls, set_tid, set_tid_size, cgroup;
};
constexpr uint64_t kCloneIntoCgroup = 0x200000000ULL;

struct ExecArgs {
  const char* path;
};

[[noreturn]] void ExecChild(void* arg) {
  const char* path = static_cast<ExecArgs*>(arg)->path;
  char* argv[] = {const_cast<char*>(path), nullptr};
  execve(path, argv, environ);
  _exit(127);
}

// clone3 with CLONE_VM | CLONE_VFORK, as posix_spawn: the child runs
// ExecChild on `stack` (the parent waits until it execs or exits).
long Clone3Vfork(CloneArgs* args, ExecArgs* exec) {
#if defined(__x86_64__)
  long ret;
  // The child starts on the new stack with the parent's registers: r12 and
  // r13 (kept by syscall) carry the function and its argument.
  register void (*fn)(void*) asm("r12") = ExecChild;
  register void* arg asm("r13") = exec;
  asm volatile(
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      "xor %%ebp, %%ebp\n\t"
      "mov %%r13, %%rdi\n\t"
      "call *%%r12\n\t"
      "ud2\n"
      "1:"
      : "=a"(ret)
      : "0"(static_cast<long>(SYS_clone3)), "D"(args), "S"(sizeof(*args)),
        "r"(fn), "r"(arg)
      : "rcx", "r11", "memory");
  return ret;
#else
  // Elsewhere a plain fork-style clone3.
  args->flags &= ~static_cast<uint64_t>(CLONE_VM | CLONE_VFORK);
  const long pid = syscall(SYS_clone3, args, sizeof(*args));
  if (pid == 0) ExecChild(exec);
  return pid;
#endif
}

// Spawns `path` as posix_spawn does (clone3 CLONE_VM | CLONE_VFORK on a
// stack of its own, then execve), in the cgroup v2 directory `cgroup_fd`
// when it is not -1; waits for it.
bool Clone3SpawnWait(const char* path, int cgroup_fd) {
  static std::vector<char> stack(256 * 1024);
  CloneArgs args{};
  args.flags = CLONE_VM | CLONE_VFORK;
  args.exit_signal = SIGCHLD;
  args.stack = reinterpret_cast<uint64_t>(stack.data());
  args.stack_size = stack.size();
  if (cgroup_fd >= 0) {
    args.flags |= kCloneIntoCgroup;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
  }
  ExecArgs exec{path};
  const long pid = Clone3Vfork(&args, &exec);
  if (pid < 0) return false;
  int status = 0;
  return waitpid(static_cast<pid_t>(pid), &status, 0) == pid &&
         WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// A cgroup v2 directory of the benchmark's own under this process's v2
// group (where the manager makes its own), removed at the end. Each Run()
// is what the kernel does for a tree's group: mkdir, a spawn placed with
// CLONE_INTO_CGROUP, rmdir of the then empty group.
class RawGroups {
 public:
  RawGroups() {
    std::string mount;
    std::ifstream mounts("/proc/self/mounts");
    for (std::string dev, dir, type, rest;
         mounts >> dev >> dir >> type && std::getline(mounts, rest);) {
      if (type == "cgroup2") mount = dir;
    }
    std::string own;
    std::ifstream cgroup("/proc/self/cgroup");
    for (std::string line; std::getline(cgroup, line);) {
      if (line.rfind("0::", 0) == 0) own = line.substr(3);
    }
    if (mount.empty() || own.empty()) return;
    path_ = mount + (own == "/" ? "" : own) + "/procsandbox-bench-raw-" +
            std::to_string(getpid());
    if (mkdir(path_.c_str(), 0755) != 0) {
      path_.clear();
      return;
    }
    dir_ = open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }
  ~RawGroups() {
    if (dir_ >= 0) close(dir_);
    if (!path_.empty()) rmdir(path_.c_str());
  }
  RawGroups(const RawGroups&) = delete;
  RawGroups& operator=(const RawGroups&) = delete;

  bool ok() const { return dir_ >= 0; }
  const std::string& path() const { return path_; }

  bool Run(const char* program) {
    if (mkdirat(dir_, "g", 0755) != 0) return false;
    const int g = openat(dir_, "g", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const bool ran = g >= 0 && Clone3SpawnWait(program, g);
    if (g >= 0) close(g);
    return unlinkat(dir_, "g", AT_REMOVEDIR) == 0 && ran;
  }

 private:
  std::string path_;
  int dir_ = -1;
};

// The deadline floor: posix_spawn, pidfd_open, one timerfd (absolute
// CLOCK_MONOTONIC) and one epoll in a loop; SIGKILL to the pid when the
// timer fires, waitid on the pidfd when it is readable. Seconds past
// `limit` at the reap.
std::optional<double> RawDeadline(absl::Duration limit) {
  pid_t pid = 0;
  char* argv[] = {const_cast<char*>("/bin/sleep"), const_cast<char*>("10"),
                  nullptr};
  if (posix_spawn(&pid, "/bin/sleep", nullptr, nullptr, argv, environ) != 0)
    return std::nullopt;
  timespec start{};
  clock_gettime(CLOCK_MONOTONIC, &start);
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  const int timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  const int64_t limit_ns = absl::ToInt64Nanoseconds(limit);
  itimerspec at{};
  at.it_value.tv_sec = start.tv_sec + limit_ns / 1'000'000'000;
  at.it_value.tv_nsec = start.tv_nsec + limit_ns % 1'000'000'000;
  if (at.it_value.tv_nsec >= 1'000'000'000) {
    at.it_value.tv_sec += 1;
    at.it_value.tv_nsec -= 1'000'000'000;
  }
  timerfd_settime(timer, TFD_TIMER_ABSTIME, &at, nullptr);
  for (int fd : {pidfd, timer}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  std::optional<double> late;
  while (!late) {
    epoll_event ev[2];
    const int n = epoll_wait(ep, ev, 2, -1);
    for (int i = 0; i < n; ++i) {
      if (ev[i].data.fd == timer) {
        uint64_t count;
        (void)!read(timer, &count, sizeof(count));
        kill(pid, SIGKILL);
      } else {
        siginfo_t info{};
        waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info,
               WEXITED);
        timespec end{};
        clock_gettime(CLOCK_MONOTONIC, &end);
        late = static_cast<double>(end.tv_sec - start.tv_sec) +
               static_cast<double>(end.tv_nsec - start.tv_nsec) / 1e9 -
               absl::ToDoubleSeconds(limit);
      }
    }
  }
  close(ep);
  close(timer);
  close(pidfd);
  return late;
}

}  // namespace

TEST_CASE("spawn+wait through the manager vs posix_spawn", "[spawn]") {
  // The spawn path itself: no cgroup (they cost extra, see "[cgroup]").
  procsandbox::OsManagerOptions off;
  off.cgroups = false;
  auto m = NewManager(off);
  auto grouped = NewManager();
  std::vector<Variant> v = {
      {"posix_spawn+waitpid /bin/true",
       [] { return PosixSpawnWait("/bin/true"); },
       {}},
      {"manager New+Start+Wait /bin/true",
       [&] { return ManagerSpawnWait(*m, "/bin/true"); },
       {}},
      {"posix_spawn+waitpid tiny", [] { return PosixSpawnWait(kTiny); }, {}},
      {"manager New+Start+Wait tiny",
       [&] { return ManagerSpawnWait(*m, kTiny); },
       {}},
  };
  v.push_back({"manager with cgroups (default) /bin/true",
               [&] { return ManagerSpawnWait(*grouped, "/bin/true"); },
               {}});
  // The kernel's own cost of a group per tree: the same clone3 spawn with
  // and without mkdir + CLONE_INTO_CGROUP + rmdir of the emptied group.
  RawGroups raw_groups;
  if (raw_groups.ok()) {
    v.push_back({"clone3+waitpid /bin/true",
                 [] { return Clone3SpawnWait("/bin/true", -1); },
                 {}});
    v.push_back({"mkdir, clone3 into it, waitpid, rmdir",
                 [&] { return raw_groups.Run("/bin/true"); },
                 {}});
  }
  Interleave(v, 1000);
  const double small = Median(v[1].samples);
  const double posix = Median(v[0].samples);
  const double with_groups = Median(v[4].samples);
  std::printf("\n%-40s %8.1f us  %.3fx posix_spawn\n", v[4].name.c_str(),
              with_groups * 1e6, with_groups / posix);
  std::printf(
      "\n%-40s %8.1f us\n%-40s %8.1f us  %.3fx\n%-40s %8.1f us\n%-40s %8.1f us "
      " %.3fx\n",
      v[0].name.c_str(), posix * 1e6, v[1].name.c_str(), small * 1e6,
      small / posix, v[2].name.c_str(), Median(v[2].samples) * 1e6,
      v[3].name.c_str(), Median(v[3].samples) * 1e6,
      Median(v[3].samples) / Median(v[2].samples));
  if (raw_groups.ok()) {
    const double kernel = Median(v[6].samples) - Median(v[5].samples);
    const double library = with_groups - small;
    std::printf(
        "%-40s %8.1f us\n%-40s %8.1f us\n"
        "group per tree: library %.1f us (default - no cgroups), kernel %.1f "
        "us (raw group - raw clone3): %.2fx the kernel's\n"
        "posix_spawn + the kernel's group: %.1f us (%.3fx posix_spawn)\n",
        v[5].name.c_str(), Median(v[5].samples) * 1e6, v[6].name.c_str(),
        Median(v[6].samples) * 1e6, library * 1e6, kernel * 1e6,
        library / kernel, (posix + kernel) * 1e6, (posix + kernel) / posix);
  } else {
    WARN("no cgroup v2 directory of our own here: no raw group figure");
  }

  std::optional<TouchedMemory> big(std::in_place, std::size_t{4} << 30);
  std::vector<Variant> large = {
      {"posix_spawn+waitpid /bin/true, 4 GiB parent",
       [] { return PosixSpawnWait("/bin/true"); },
       {}},
      {"manager /bin/true, 4 GiB parent",
       [&] { return ManagerSpawnWait(*m, "/bin/true"); },
       {}},
  };
  Interleave(large, 400);
  big.reset();
  std::printf(
      "%-40s %8.1f us\n%-40s %8.1f us  %.3fx posix_spawn, %.3fx its "
      "small-parent figure\n\n",
      large[0].name.c_str(), Median(large[0].samples) * 1e6,
      large[1].name.c_str(), Median(large[1].samples) * 1e6,
      Median(large[1].samples) / Median(large[0].samples),
      Median(large[1].samples) / small);
  CHECK(small > 0);
}

TEST_CASE("2,000 concurrent sleeping children", "[many]") {
  auto m = NewManager();
  constexpr int kChildren = 2000;
  const long threads_before = StatusField("Threads:");
  const long rss_before = StatusField("VmRSS:");
  const int fds_before = OpenFds();
  std::vector<std::shared_ptr<procsandbox::Process>> children;
  const double t0 = Now();
  for (int i = 0; i < kChildren; ++i) {
    Command cmd(kHelper, {"sleep-forever"});
    auto p = m->New(std::move(cmd));
    REQUIRE(p->Start().ok());
    children.push_back(std::move(p));
  }
  const double spawned = Now() - t0;
  const long threads = StatusField("Threads:");
  const long rss = StatusField("VmRSS:");
  const int fds = OpenFds();
  const double k0 = Now();
  for (auto& p : children) REQUIRE(p->Kill().ok());
  for (auto& p : children) REQUIRE(p->Wait().ok());
  const double killed = Now() - k0;
  std::printf(
      "\n%d children: spawned in %.3f s (%.0f/s); threads %ld -> %ld; parent "
      "RSS +%ld KiB "
      "(%.1f KiB/child); descriptors %.2f per child; kill+reap all %.1f ms\n\n",
      kChildren, spawned, kChildren / spawned, threads_before, threads,
      rss - rss_before, static_cast<double>(rss - rss_before) / kChildren,
      static_cast<double>(fds - fds_before) / kChildren, killed * 1e3);
  CHECK(threads == threads_before);
}

// The capture benchmarks' writer: the test helper writing `bytes` of its
// pattern into a pipe as large as the manager's (OsManagerOptions'
// capture_pipe_bytes, 1 MiB), read by `drain`. The same program and pipe
// for the raw loops and for the manager.
constexpr long long kCaptureBytes = 1LL << 30;
constexpr int kCapturePipe = 1 << 20;

template <typename Drain>
bool RawCapture(long long bytes, Drain drain) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return false;
  fcntl(fds[0], F_SETPIPE_SZ, kCapturePipe);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  const std::string count = std::to_string(bytes);
  pid_t pid = 0;
  char* argv[] = {const_cast<char*>(kHelper), const_cast<char*>("write-stdout"),
                  const_cast<char*>(count.c_str()), nullptr};
  const bool spawned =
      posix_spawn(&pid, kHelper, &actions, nullptr, argv, environ) == 0;
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  const long long total = spawned ? drain(fds[0]) : -1;
  close(fds[0]);
  int status = 0;
  if (spawned) waitpid(pid, &status, 0);
  return total == bytes;
}

// Runs `v` `rounds` times after one warm-up round, round-robin, rotating
// the first variant; prints the medians and v[k]'s ratio to v[0]'s.
void CaptureRounds(std::vector<Variant>& v, int rounds) {
  for (int i = -1; i < rounds; ++i) {
    for (std::size_t k = 0; k < v.size(); ++k) {
      Variant& x = v[(k + static_cast<std::size_t>(i + 1)) % v.size()];
      const double t0 = Now();
      REQUIRE(x.run());
      if (i >= 0) x.samples.push_back(Now() - t0);
    }
  }
  const double gib = static_cast<double>(kCaptureBytes) / (1 << 30);
  std::printf("\n");
  for (const Variant& x : v) {
    std::printf("%-44s %6.2f GiB/s  %.2fx %s (medians of %d; %.2f-%.2f s)\n",
                x.name.c_str(), gib / Median(x.samples),
                Median(v[0].samples) / Median(x.samples), v[0].name.c_str(),
                rounds, *std::min_element(x.samples.begin(), x.samples.end()),
                *std::max_element(x.samples.begin(), x.samples.end()));
  }
  std::printf("\n");
}

TEST_CASE("capture 1 GiB, 64 MiB kept, vs a raw loop with one 1 MiB buffer",
          "[capture][capture-bounded]") {
  auto m = NewManager();
  auto raw = [] {
    return RawCapture(kCaptureBytes, [](int fd) {
      static std::vector<char> block(kCapturePipe);
      long long total = 0;
      for (ssize_t n; (n = read(fd, block.data(), block.size())) > 0;)
        total += n;
      return total;
    });
  };
  auto managed = [&] {
    Command cmd(kHelper, {"write-stdout", std::to_string(kCaptureBytes)});
    cmd.limits.output_bytes = 64 << 20;  // keep 64 MiB, read and drop the rest
    auto r = procsandbox::RunCommand(*m, std::move(cmd));
    return r.ok() && r->stdout_truncated && r->stdout_.size() == 64 << 20;
  };
  // The same with nothing kept: the path that reads and drops alone.
  auto dropped = [&] {
    Command cmd(kHelper, {"write-stdout", std::to_string(kCaptureBytes)});
    cmd.limits.output_bytes = 1;
    auto r = procsandbox::RunCommand(*m, std::move(cmd));
    return r.ok() && r->stdout_truncated && r->stdout_.size() == 1;
  };
  std::vector<Variant> v = {
      {"raw read loop, one reused 1 MiB buffer", raw, {}},
      {"manager capture (Run), 64 MiB kept", managed, {}},
      {"manager capture (Run), 1 byte kept", dropped, {}}};
  CaptureRounds(v, 15);
  CHECK(Median(v[1].samples) > 0);
}

TEST_CASE("capture 1 GiB, all kept, vs a raw loop into a growing string",
          "[capture][capture-all]") {
  auto m = NewManager();
  auto raw = [] {
    return RawCapture(kCaptureBytes, [](int fd) {
      // Fresh memory, as the manager's: the string the caller gets, grown
      // by resize() (geometric) as the reads need room.
      std::string out;
      std::size_t size = 0;
      for (;;) {
        if (out.size() - size < kCapturePipe) out.resize(size + kCapturePipe);
        const ssize_t n = read(fd, out.data() + size, out.size() - size);
        if (n <= 0) break;
        size += static_cast<std::size_t>(n);
      }
      out.resize(size);
      return static_cast<long long>(out.size());
    });
  };
  auto managed = [&] {
    Command cmd(kHelper, {"write-stdout", std::to_string(kCaptureBytes)});
    auto r = procsandbox::RunCommand(*m, std::move(cmd));
    return r.ok() && !r->stdout_truncated &&
           static_cast<long long>(r->stdout_.size()) == kCaptureBytes;
  };
  std::vector<Variant> v = {
      {"raw read loop into a growing std::string", raw, {}},
      {"manager capture (Run), all kept", managed, {}}};
  CaptureRounds(v, 5);
  CHECK(Median(v[1].samples) > 0);
}

// One run of `/bin/sleep 10` under `limit` (grace 0) through `m`: how late
// the reap was (the outcome's wall time past the limit) and how late Wait()
// returned, both from the instant the manager took as the start.
struct Late {
  double reaped = 0;
  double returned = 0;
};
std::optional<Late> ManagerDeadline(Manager& m, absl::Duration limit,
                                    bool tree = false) {
  // A tree: a shell whose two sleeps are still dying when it is reaped.
  Command cmd =
      tree ? Command("/bin/sh", {"-c", "/bin/sleep 10 & /bin/sleep 10"})
           : Command("/bin/sleep", {"10"});
  cmd.limits.wall_time = limit;
  cmd.kill_grace = absl::ZeroDuration();  // SIGKILL at the deadline
  cmd.stdin_ = Stdio::Inherit();
  cmd.stdout_ = Stdio::Inherit();
  cmd.stderr_ = Stdio::Inherit();
  std::shared_ptr<procsandbox::Process> p = m.New(std::move(cmd));
  if (!p->Start().ok()) return std::nullopt;
  // The manager's start instant on the same clock (steady_clock is
  // CLOCK_MONOTONIC, as the manager's): now minus the wall time so far.
  const double before = Now();
  const double start = before - absl::ToDoubleSeconds(p->Usage().wall_time);
  absl::StatusOr<procsandbox::Outcome> outcome = p->Wait();
  const double returned = Now();
  if (!outcome.ok() || outcome->reason != procsandbox::ExitReason::kTimedOut)
    return std::nullopt;
  Late late;
  late.reaped = absl::ToDoubleSeconds(outcome->wall_time - limit);
  late.returned = returned - start - absl::ToDoubleSeconds(limit);
  return late;
}

void PrintLate(const char* name, const std::vector<double>& late,
               double floor_median, double floor_p99) {
  std::printf("  %-40s median %7.0f us  p99 %7.0f us  max %7.0f us", name,
              Median(late) * 1e6, Percentile(late, 0.99) * 1e6,
              Percentile(late, 1.0) * 1e6);
  if (floor_median > 0) {
    std::printf("  (%.2fx / %.2fx raw)", Median(late) / floor_median,
                Percentile(late, 0.99) / floor_p99);
  }
  std::printf("\n");
}

TEST_CASE("deadline precision", "[deadline]") {
  // `sleep 10` under a 100 ms limit, grace 0: the library with its default
  // cgroups, the library without, and the raw timerfd + pidfd + waitid
  // loop, interleaved (rotating the first).
  auto grouped = NewManager();
  procsandbox::OsManagerOptions off;
  off.cgroups = false;
  auto plain = NewManager(off);
  const absl::Duration limit = absl::Milliseconds(100);
  const int n = 100;
  std::vector<double> raw, grouped_reaped, grouped_returned, plain_reaped,
      plain_returned, tree_reaped, tree_returned;
  for (int i = -3; i < n; ++i) {  // three warm-up rounds
    for (int k = 0; k < 4; ++k) {
      const int which = (k + (i < 0 ? 0 : i)) % 4;
      if (which == 0) {
        std::optional<double> late = RawDeadline(limit);
        REQUIRE(late);
        if (i >= 0) raw.push_back(*late);
        continue;
      }
      if (which == 3) {
        std::optional<Late> late = ManagerDeadline(*grouped, limit, true);
        REQUIRE(late);
        if (i >= 0) tree_reaped.push_back(late->reaped);
        if (i >= 0) tree_returned.push_back(late->returned);
        continue;
      }
      std::optional<Late> late =
          ManagerDeadline(which == 1 ? *grouped : *plain, limit);
      REQUIRE(late);
      if (i < 0) continue;
      (which == 1 ? grouped_reaped : plain_reaped).push_back(late->reaped);
      (which == 1 ? grouped_returned : plain_returned)
          .push_back(late->returned);
    }
  }
  const double raw_median = Median(raw);
  const double raw_p99 = Percentile(raw, 0.99);
  std::printf("\ndeadline %s, /bin/sleep 10, grace 0 (n=%d each):\n",
              absl::FormatDuration(limit).c_str(), n);
  PrintLate("raw timerfd+pidfd+waitid: reaped", raw, 0, 0);
  PrintLate("library, cgroups (default): reaped", grouped_reaped, raw_median,
            raw_p99);
  PrintLate("library, cgroups (default): Wait()", grouped_returned, raw_median,
            raw_p99);
  PrintLate("library, no cgroups: reaped", plain_reaped, raw_median, raw_p99);
  PrintLate("library, no cgroups: Wait()", plain_returned, raw_median, raw_p99);
  std::printf("a tree (sh -c 'sleep 10 & sleep 10'), cgroups:\n");
  PrintLate("library, cgroups: leader reaped", tree_reaped, raw_median,
            raw_p99);
  PrintLate("library, cgroups: Wait() (tree gone)", tree_returned, raw_median,
            raw_p99);
  std::printf("\n");
  CHECK(raw_median > 0);
}

TEST_CASE("spawn+wait with cgroups vs the plain path", "[cgroup]") {
  procsandbox::OsManagerOptions off;
  off.cgroups = false;
  auto plain = NewManager(off);
  auto grouped = NewManager();
  const procsandbox::Capabilities caps = grouped->capabilities();
  std::printf("\n%s\n", procsandbox::ToString(caps).c_str());
  if (!caps.Has("cgroups")) {
    WARN("no usable cgroup here: nothing to compare");
    return;
  }
  procsandbox::Limits limits;
  limits.memory_bytes = 64 << 20;
  limits.processes = 32;
  std::vector<Variant> v = {
      {"plain: no cgroup, no limits",
       [&] { return ManagerSpawnWait(*plain, "/bin/true"); },
       {}},
      {"plain: no cgroup, memory+pids as rlimits",
       [&] { return ManagerSpawnWait(*plain, "/bin/true", limits); },
       {}},
      {"cgroups: tree group only (no limits)",
       [&] { return ManagerSpawnWait(*grouped, "/bin/true"); },
       {}},
      {"cgroups: memory+pids limits",
       [&] { return ManagerSpawnWait(*grouped, "/bin/true", limits); },
       {}},
      {"cgroups: memory+pids limits, tiny",
       [&] { return ManagerSpawnWait(*grouped, kTiny, limits); },
       {}},
      {"plain: no cgroup, no limits, tiny",
       [&] { return ManagerSpawnWait(*plain, kTiny); },
       {}},
  };
  Interleave(v, 1000);
  const double base = Median(v[0].samples);
  const double tiny_base = Median(v[5].samples);
  std::printf("\n/bin/true:\n");
  for (std::size_t i = 0; i < 4; ++i) {
    std::printf("  %-44s %8.1f us  %.3fx\n", v[i].name.c_str(),
                Median(v[i].samples) * 1e6, Median(v[i].samples) / base);
  }
  std::printf(
      "tiny static helper:\n  %-44s %8.1f us\n  %-44s %8.1f us  "
      "%.3fx\n\n",
      v[5].name.c_str(), tiny_base * 1e6, v[4].name.c_str(),
      Median(v[4].samples) * 1e6, Median(v[4].samples) / tiny_base);
  CHECK(base > 0);
}

TEST_CASE("spawn+wait of a busy program, sampled every 10 ms vs not",
          "[monitor]") {
  auto m = NewManager();
  int64_t samples = 0;
  // 100 ms of CPU: ~10 samples in each monitored run.
  auto run = [&m, &samples](bool monitored) {
    Command cmd(kHelper, {"burn-ms", "100"});
    cmd.stdin_ = Stdio::Inherit();
    cmd.stdout_ = Stdio::Inherit();
    cmd.stderr_ = Stdio::Inherit();
    cmd.monitor.enabled = monitored;
    cmd.monitor.interval = absl::Milliseconds(10);
    std::shared_ptr<procsandbox::Process> p = m->New(std::move(cmd));
    if (!p->Start().ok()) return false;
    absl::StatusOr<procsandbox::Outcome> outcome = p->Wait();
    if (outcome.ok()) samples += static_cast<int64_t>(outcome->samples.size());
    return outcome.ok() && outcome->ok() &&
           outcome->samples.empty() != monitored;
  };
  std::vector<Variant> v = {
      {"not monitored", [&] { return run(false); }, {}},
      {"monitored every 10 ms", [&] { return run(true); }, {}},
  };
  // The host's own CPU (the loop thread's sampling shows here), per run.
  const double cpu_before = SelfCpuSeconds();
  Interleave(v, 100);
  const double cpu = SelfCpuSeconds() - cpu_before;
  // Each variant's host CPU, measured alone after the interleaved timing.
  int64_t monitored_samples = 0;
  auto host_cpu_per_run = [&](bool monitored) {
    samples = 0;
    const double before = SelfCpuSeconds();
    for (int i = 0; i < 50; ++i) {
      if (!run(monitored)) FAIL("benchmark step failed");
    }
    monitored_samples = samples;
    return (SelfCpuSeconds() - before) / 50;
  };
  const double off_cpu = host_cpu_per_run(false);
  const double on_cpu = host_cpu_per_run(true);
  const double off = Median(v[0].samples);
  const double on = Median(v[1].samples);
  std::printf(
      "\nburn-ms 100 (spawn+wait):\n  %-24s %8.2f ms wall  %6.0f us host CPU\n"
      "  %-24s %8.2f ms wall  %6.0f us host CPU  (%.3fx wall, +%.0f us "
      "host CPU per run, ~%.1f us per sample)\n  (host CPU in the "
      "interleaved runs: %.2f s)\n\n",
      v[0].name.c_str(), off * 1e3, off_cpu * 1e6, v[1].name.c_str(), on * 1e3,
      on_cpu * 1e6, on / off, (on_cpu - off_cpu) * 1e6,
      (on_cpu - off_cpu) * 1e6 * 50 /
          static_cast<double>(std::max<int64_t>(monitored_samples, 1)),
      cpu);
  CHECK(off > 0);
}
