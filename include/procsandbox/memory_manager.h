// procsandbox/memory_manager.h: the in-memory manager, a fake for host tests.
//
// `MemoryManager` is a complete `Manager` that runs *scripted programs* on a
// virtual clock instead of spawning anything. A host's unit tests inject it
// where production injects an OS manager and exercise all their process logic
// (timeouts, limits, failures, streaming, interactive servers) in
// microseconds, without privileges, on any platform.
//
// Example:
//   procsandbox::MemoryManager fake;
//   fake.Register("go", [](procsandbox::FakeProcess& p) {
//     p.WriteStdout("building\n");
//     p.Sleep(absl::Seconds(3));      // virtual time: returns at once
//     p.UseMemory(200 << 20);         // over a 100M limit -> kMemoryExceeded
//     return 0;                       // the exit code
//   });
//   procsandbox::Command cmd("go", {"build"});
//   cmd.limits.memory_bytes = 100 << 20;
//   auto result = procsandbox::RunCommand(fake, cmd);  // memory, at t=3s
//   fake.History();                   // every command: argv, env, outcome...
//
// The model. A scripted program is a function run on its own thread; it
// takes no virtual time except in its blocking calls (Sleep, UseCpu, reading
// stdin, writing to a full pipe, waiting while suspended). Only one program
// runs at a time, in a fixed order, and every host call (Start, Write,
// Signal, Advance, ...) returns only when every program it woke is blocked
// again, so a test sees the same interleaving on every run. Signals, limits
// and deadlines reach a program in its blocking calls.
//
// The clock. By default it auto-advances: when every live program is blocked
// and some host thread waits on the fake (Wait, WaitFor, ReadLine, Read),
// time jumps to the next wake-up or deadline. So a program sleeping 10
// virtual minutes under a 1 s wall_time ends kTimedOut at once, while host
// calls between Start() and a wait all happen at the same virtual instant.
// With `auto_advance` off only `clock().Advance()` moves time. A host thread
// blocked on something of its own that the fake's programs release (the
// Sandbox's queue) counts as waiting inside a `MemoryManager::HostWait`;
// one working for the fake between its calls (the Sandbox's steps) holds
// time still inside a `MemoryManager::HostCall`.
//
// Idle. `WaitIdle(n)` waits, without moving time, until every program is
// blocked, no host thread is busy and exactly `n` wait: the deterministic
// way for a test with several host threads to reach a known state (see
// WaitIdle below), instead of polling in real time.
//
// Fidelity. Start failures (program not found, not executable), causes of
// death, output capping, the TERM/grace/KILL sequence and the outcome
// reporting follow the OS manager; the conformance suite runs one set of
// tests against both. A difference between the fake and the real thing is a
// bug in the fake.
//
// Verification. Process::Verify() checks each limit and isolation mechanism
// asked for against the fake's own records, as the OS managers read them
// back from the kernel: a limit listed in `unenforced` (a mechanism in
// `unenforced_isolation`) is kNotEnforced, wall_time and output_bytes are
// kUnverified (the library holds them), everything else a match whose
// source is "memory manager (virtual)". FakeProcess::AlterLimits() changes
// a limit from outside, so that a host can test its handling of a
// mismatch.
//
// What it does not model: Command::isolation (accepted and recorded, with
// nothing to isolate), CPU contention (cpu_weight is recorded), directories
// (any working_dir is accepted), real
// files (Stdio::File and WriteFile use a fake file system, SetFile/GetFile),
// and child processes as programs (SpawnChildren only counts them; a program
// may start another through the manager, see the tests). History() keeps each
// Command, so a Stdio::Lines callback stays alive there with what it
// captured: capture by value or shared_ptr, not references to locals.
//
// Thread-safety: MemoryManager and its processes may be used from any thread.
// A FakeProcess may be used only by its own program, on its own thread.
#ifndef PROCSANDBOX_MEMORY_MANAGER_H_
#define PROCSANDBOX_MEMORY_MANAGER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/command.h"
#include "procsandbox/export.h"
#include "procsandbox/limits.h"
#include "procsandbox/manager.h"
#include "procsandbox/outcome.h"
#include "procsandbox/process.h"

namespace procsandbox {

namespace memory_internal {
class Core;
struct HostWaiter;
struct ProgramState;
}  // namespace memory_internal

// The handle a scripted program gets: its arguments, its streams, and the
// resources it "uses". Only the program's own thread may call it.
class PROCSANDBOX_EXPORT FakeProcess {
 public:
  FakeProcess(const FakeProcess&) = delete;
  FakeProcess& operator=(const FakeProcess&) = delete;

  // --- What the program was started with. ----------------------------------
  Pid pid() const;
  // argv: the program as given, then the arguments.
  const std::vector<std::string>& argv() const;
  const std::vector<std::string>& args() const;
  // The registered name or path that matched.
  const std::string& resolved_program() const;
  const Environment& env() const;
  const std::string& working_dir() const;
  // The limits it runs under (merged over the manager's defaults, as
  // AlterLimits() left them).
  const Limits& limits() const;
  // Virtual time now.
  absl::Time Now() const;

  // --- Streams. -------------------------------------------------------------
  // Writes to stdout / stderr. Blocks (in virtual time) while a Stdio::Pipe
  // is full and the host does not read, as a real pipe does.
  void WriteStdout(absl::string_view data);
  void WriteStderr(absl::string_view data);
  // The next stdin line without '\n' (a last partial line at end of file);
  // nullopt at end of file. Blocks until the host writes or closes stdin.
  std::optional<std::string> ReadLine();
  // Up to `max_bytes` bytes of stdin as soon as any are there; "" at end of
  // file.
  std::string Read(std::size_t max_bytes);
  // All of stdin up to end of file.
  std::string ReadAll();

  // --- Time and resources. --------------------------------------------------
  // Sleeps `duration` of virtual time (wall time passes, CPU time does not).
  void Sleep(absl::Duration duration);
  // Burns `duration` of CPU (user time): takes that much virtual wall time
  // while not suspended, and trips Limits::cpu_time (kCpuTimeExceeded).
  void UseCpu(absl::Duration duration);
  // Allocates and touches `bytes` more memory. Over Limits::memory_bytes the
  // program is OOM-killed (SIGKILL, kMemoryExceeded).
  void UseMemory(int64_t bytes);
  // Frees `bytes` (down to zero).
  void FreeMemory(int64_t bytes);
  // Opens `count` more descriptors beyond the three standard ones.
  // ResourceExhausted (EMFILE, as open(2) reports it) over Limits::open_files;
  // nothing is opened then.
  absl::Status OpenFiles(int64_t count);
  void CloseFiles(int64_t count);
  // Forks `count` child processes that live until this program ends.
  // ResourceExhausted (EAGAIN, as fork(2) reports it) when the tree would
  // exceed Limits::processes; none is forked then.
  absl::Status SpawnChildren(int64_t count);
  // Writes a file of the fake file system (see MemoryManager::SetFile).
  // Past Limits::file_size_bytes the file is cut at the limit and the program
  // gets SIGXFSZ (kFileSizeExceeded); when it ignores or catches SIGXFSZ,
  // the write fails with OutOfRange (EFBIG) instead, as write(2) would.
  absl::Status WriteFile(absl::string_view path, absl::string_view contents,
                         bool append = false);
  // A file of the fake file system, nullopt when there is none.
  std::optional<std::string> ReadFile(absl::string_view path) const;
  // Makes the system call `name` ("ptrace") with first argument `arg0` as
  // Isolation::seccomp sees it (the same rules as on Linux: the most severe
  // matching rule, else the default; execve and exit_group always pass):
  // OK when allowed or without a filter (the call itself is not simulated),
  // PermissionDenied for EPERM, Unimplemented for ENOSYS. A kill ends the
  // program now, killed by SIGKILL as kSeccompViolation with
  // Outcome::syscall_name = name (Outcome::syscall stays -1: the fake has
  // no syscall numbers). A filter listed in unenforced_isolation is not
  // applied.
  absl::Status Syscall(absl::string_view name, uint64_t arg0 = 0);

  // --- Limits changed from outside. -----------------------------------------
  // Changes the limits in force as an administrator changing the group's
  // limit files (or the process's rlimits) from outside would: each field
  // set in `altered` replaces the one in force. From then on the fake holds
  // the program to the new value (UseMemory() over it is OOM-killed, at
  // once when it already uses more) and Process::Verify() finds it: a value
  // weaker than asked is a kMismatch, a stricter one a match. What was
  // asked (GetLimits(), Outcome::limits, History()) does not change.
  // InvalidArgument for a value ValidateLimits() refuses, and for wall_time
  // and output_bytes (the library's own, nothing outside can change them);
  // FailedPrecondition for a limit listed in MemoryManagerOptions::unenforced.
  //
  // To unit-test how a host handles a mismatch, make the program change it
  // before its first blocking call: Verify() right after Start() sees it.
  //   fake.Register("tool", [](procsandbox::FakeProcess& p) {
  //     procsandbox::Limits raised;
  //     raised.memory_bytes = int64_t{1} << 30;
  //     p.AlterLimits(raised).IgnoreError();
  //     p.Sleep(absl::Seconds(1));
  //     return 0;
  //   });
  //   // With memory_bytes = 64 MiB asked, Verify() reports "memory_bytes:
  //   // mismatch: asked 64 MiB, found 1 GiB (memory manager (virtual))".
  absl::Status AlterLimits(const Limits& altered);
  // Removes limit `kind` from outside (memory.max set to "max"): Verify()
  // finds "unlimited", a mismatch. The same errors as AlterLimits().
  absl::Status RemoveLimit(LimitKind kind);

  // --- Signals and ending. --------------------------------------------------
  // Runs `handler` on this program's thread when `signo` arrives, inside the
  // blocking call it interrupts; the call resumes when the handler returns.
  // The handler may block (Sleep) and may Exit(). SIGKILL and SIGSTOP cannot
  // be caught: InvalidArgument. A program that does not catch SIGTERM dies
  // of it.
  absl::Status OnSignal(int signo, std::function<void()> handler);
  // Ignores `signo` (SIGTERM, SIGINT, SIGHUP, ...). InvalidArgument for
  // SIGKILL and SIGSTOP.
  absl::Status IgnoreSignal(int signo);
  // Ends the program now with `code` (as returning it would).
  [[noreturn]] void Exit(int code);
  // Ends the program now, killed by `signo` (as raise() would), e.g.
  // SIGSEGV or SIGABRT.
  [[noreturn]] void Die(int signo);
  // Ends the program now as an unhandled Windows exception does, on any
  // platform, to test a host's handling of Windows crashes: for a known
  // status (0xC0000005 access violation, 0xC00000FD stack overflow,
  // 0xC0000409 fail-fast, ...) the outcome is kSignaled with
  // Outcome::exception_code and the POSIX-numbered signal the Windows
  // manager reports (SIGSEGV, SIGABRT, ...); any other code is an exit with
  // that code, as Windows reports it (exit_code is its int value).
  [[noreturn]] void Raise(uint32_t exception_code);

  // Implementation details follow.
  FakeProcess(memory_internal::Core* core, memory_internal::ProgramState* state)
      : core_(core), state_(state) {}

 private:
  memory_internal::Core* core_;
  memory_internal::ProgramState* state_;
};

// A scripted program: returns its exit code (0..255). A program ends early
// through FakeProcess::Exit/Die, or when a signal or limit kills it; then the
// library unwinds its stack with an internal exception, so a program must not
// swallow exceptions with `catch (...)` without rethrowing. Any other
// exception escaping the program ends it as SIGABRT (as std::terminate
// would), with its what() on stderr.
using FakeProgram = std::function<int(FakeProcess&)>;

// The virtual clock of a MemoryManager.
class PROCSANDBOX_EXPORT VirtualClock {
 public:
  absl::Time Now() const;
  // Moves time forward by `duration`, firing every wake-up and deadline in
  // order, and returns when every program woken is blocked again.
  // InvalidArgument for a negative duration.
  absl::Status Advance(absl::Duration duration);
  // See the file comment. On by default.
  void SetAutoAdvance(bool on);
  bool auto_advance() const;

  // Implementation details follow.
  explicit VirtualClock(memory_internal::Core* core) : core_(core) {}

 private:
  memory_internal::Core* core_;
};

// One command the fake was asked to start, and what became of it.
struct PROCSANDBOX_EXPORT FakeRun {
  Pid pid = 0;                   // 0 when Start() failed
  Command command;               // as started (secrets stay marked)
  std::string resolved_program;  // the registration that matched
  Limits limits;                 // as applied
  absl::Status start_status;     // Start()'s result
  absl::Time start_time;
  std::optional<absl::Time> end_time;
  std::optional<Outcome> outcome;
  std::string stdin_data;   // every byte the program received on stdin
  std::string stdout_data;  // every byte it wrote, whatever the sink
  std::string stderr_data;
};

// A program name or path registered with a MemoryManager, and what starting
// it does (MemoryManager::Registrations()).
struct PROCSANDBOX_EXPORT FakeRegistration {
  enum class Kind {
    kProgram,        // Register(): runs the scripted program
    kStartError,     // RegisterStartError(): Start() fails with that error
    kNotExecutable,  // RegisterNotExecutable(): PermissionDenied (EACCES)
  };
  std::string name_or_path;
  Kind kind = Kind::kProgram;

  friend bool operator==(const FakeRegistration& a, const FakeRegistration& b) {
    return a.name_or_path == b.name_or_path && a.kind == b.kind;
  }
  friend bool operator!=(const FakeRegistration& a, const FakeRegistration& b) {
    return !(a == b);
  }
};

struct PROCSANDBOX_EXPORT MemoryManagerOptions {
  // The clock's first reading.
  absl::Time start_time = absl::FromUnixSeconds(1'700'000'000);
  bool auto_advance = true;
  // The first pid handed out; each start takes the next one.
  Pid first_pid = 1000;
  // Strict mode: Start() fails with FailedPrecondition when a requested
  // limit is listed in `unenforced`.
  bool strict = false;
  // Limits this fake pretends it cannot enforce here, with the reason (to
  // test how a host handles a degraded machine). They are reported by
  // capabilities() and enforcement() and not applied.
  std::vector<LimitEnforcement> unenforced;
  // Isolation mechanisms this fake pretends it cannot have here (every
  // other one reads as enforced, "virtual"): reported by capabilities() and
  // enforcement(), refused at Start() in strict mode.
  std::vector<IsolationEnforcement> unenforced_isolation;
  // Capacity of a Stdio::Pipe() stream before the writer blocks.
  std::size_t pipe_capacity = std::size_t{64} * 1024;
  // Keep at most this many FakeRun entries (the oldest go first).
  std::size_t history_limit = 10'000;
};

class PROCSANDBOX_EXPORT MemoryManager final : public Manager {
 public:
  explicit MemoryManager(MemoryManagerOptions options = {});
  // Terminates, kills and reaps (in virtual time) everything still running,
  // then joins every thread the fake started: none outlives it. Not from a
  // scripted program or a callback of this manager (it would wait for its
  // own thread).
  ~MemoryManager() override;

  MemoryManager(const MemoryManager&) = delete;
  MemoryManager& operator=(const MemoryManager&) = delete;

  // Registers a scripted program. `name_or_path` is either a bare name
  // ("go": found by a command "go" whatever its PATH) or a path
  // ("/usr/bin/go": found by the command "/usr/bin/go", and by "go" when
  // "/usr/bin" is on the command's PATH). A later registration replaces an
  // earlier one of the same key.
  void Register(std::string name_or_path, FakeProgram program);
  // Makes starting `name_or_path` fail with `error` (nothing runs), e.g.
  // absl::PermissionDeniedError(...).
  void RegisterStartError(std::string name_or_path, absl::Status error);
  // Makes starting `name_or_path` fail as a file that is not executable does
  // on the OS manager (PermissionDenied, EACCES).
  void RegisterNotExecutable(std::string name_or_path);

  // The fake file system seen by Stdio::File, FakeProcess::WriteFile and
  // ReadFile (the real one is never touched).
  void SetFile(std::string path, std::string contents);
  std::optional<std::string> GetFile(absl::string_view path) const;

  // Every registration, sorted by name_or_path (a snapshot: later
  // registrations are not in it). For tools that mirror the fake, such as
  // the Sandbox's MemoryProgramResolver() (sandbox/policy.h).
  std::vector<FakeRegistration> Registrations() const;

  VirtualClock& clock() { return clock_; }

  // --- Waiting for the fake to be idle ---------------------------------------
  //
  // A test that drives the fake from several host threads (a Sandbox queue,
  // a server loop) needs a moment where nothing moves: every started
  // program blocked in a virtual-time call, and each host thread either
  // waiting or known to be elsewhere. WaitIdle() waits for that moment.
  //
  // Which threads the fake sees. A host thread is *waiting* while it is
  // blocked in a call of the fake (Process::Wait, WaitFor, ReadLine, Read)
  // or inside a HostWait scope that is not released; it is *busy* while it
  // is in another call of the fake, or inside a HostCall scope and not
  // waiting. A thread doing anything else is invisible to the fake: that is
  // why WaitIdle() is told how many waiting threads to expect.
  //
  // Example (a Sandbox of one slot; runs "a" and "b" on their own threads):
  //   fake.clock().SetAutoAdvance(false);
  //   std::thread ta([&] { ra = sandbox.Run(a); });
  //   ASSERT_THAT(fake.WaitIdle(1), IsOk());   // "a" runs, ta in Wait()
  //   std::thread tb([&] { rb = sandbox.Run(b); });
  //   ASSERT_THAT(fake.WaitIdle(2), IsOk());   // "b" queued behind "a"
  //   EXPECT_THAT(sandbox.Position("b"), IsOkAndHolds(1u));   // no polling
  //
  // Waits (in real time, at most `timeout`, a guard against a hang) until
  // the fake is idle with exactly `waiting_hosts` host threads waiting:
  //   - every started program has run up to a blocking call (Sleep, UseCpu,
  //     reading stdin, a full pipe, suspended) and none can go on; no
  //     on_sample callback runs;
  //   - no host thread is busy (in a call of the fake, or in a HostCall
  //     scope without waiting);
  //   - exactly `waiting_hosts` host threads wait, and every one of them
  //     still waits (a wait that is over but has not returned is busy).
  // It never moves time; while it waits, auto-advance is held, so the idle
  // moment it finds is at one instant (with auto_advance on, time moves on
  // as soon as it returns: a test that inspects state afterwards turns
  // auto-advance off and moves time with clock().Advance()).
  // OK when idle; DeadlineExceeded after `timeout` saying what was not idle
  // ("1 host thread(s) wait on the fake, expected 2; program 1001 ("a")
  // runs"); InvalidArgument for a negative timeout; FailedPrecondition from
  // a scripted program or an on_sample callback. Thread-safe.
  absl::Status WaitIdle(std::size_t waiting_hosts,
                        absl::Duration timeout = absl::Seconds(10)) const;

  // A scope in which the calling thread is blocked on something of the
  // host's own (a queue, a semaphore) that only the fake's programs or its
  // clock can release: the fake counts it as a waiting host, for
  // auto-advance and for WaitIdle(). With a `deadline` (the fake's clock),
  // that instant is a clock event auto-advance moves to, and from then on
  // the thread no longer counts as waiting (it is about to time out).
  // Release() says the wait is over (from any thread, e.g. the one that
  // admits it): from then on it counts as busy until the scope ends, so
  // time does not move while it wakes. The Sandbox enters one while a run is
  // queued on a MemoryManager.
  //   {
  //     procsandbox::MemoryManager::HostWait waiting(fake, deadline);
  //     my_queue.WaitForSlot();   // released by a run the fake ends
  //   }
  // No effect on a scripted program's own thread. The scope must end on the
  // thread that began it, before the manager is destroyed.
  class PROCSANDBOX_EXPORT HostWait {
   public:
    explicit HostWait(const MemoryManager& fake,
                      absl::Time deadline = absl::InfiniteFuture());
    ~HostWait();
    HostWait(const HostWait&) = delete;
    HostWait& operator=(const HostWait&) = delete;
    void Release();

   private:
    memory_internal::Core* core_;
    std::unique_ptr<memory_internal::HostWaiter> waiter_;
  };

  // A scope in which the calling thread works on the fake's behalf outside
  // its calls (a Sandbox between queueing, starting and waiting for a run):
  // while it is in one and not waiting, the fake is not idle and time does
  // not auto-advance, so it moves only once every such thread waits. Scopes
  // nest (the outermost counts). A thread in a HostCall that blocks on
  // something other than the fake or a HostWait (a lock held by a thread
  // waiting for time to move) would stop auto-advance: enter HostWait
  // around such waits. No effect on a scripted program's own thread. The
  // scope must end on the thread that began it, before the manager is
  // destroyed.
  class PROCSANDBOX_EXPORT HostCall {
   public:
    explicit HostCall(const MemoryManager& fake);
    ~HostCall();
    HostCall(const HostCall&) = delete;
    HostCall& operator=(const HostCall&) = delete;

   private:
    memory_internal::Core* core_;
  };

  // Every command started (or refused at start), oldest first.
  std::vector<FakeRun> History() const;
  void ClearHistory();

  // Manager.
  using Manager::New;
  std::shared_ptr<Process> New(Command command) override;
  absl::StatusOr<std::shared_ptr<Process>> Get(Pid pid) const override;
  std::vector<std::shared_ptr<Process>> List() const override;
  absl::Status SetDefaultLimits(const Limits& limits) override;
  Limits GetDefaultLimits() const override;
  Capabilities capabilities() const override;
  absl::Time Now() const override;

 private:
  std::shared_ptr<memory_internal::Core> core_;
  VirtualClock clock_;
};

}  // namespace procsandbox

#endif  // PROCSANDBOX_MEMORY_MANAGER_H_
