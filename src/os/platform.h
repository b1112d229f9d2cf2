// Platform and Child: what the neutral OS manager (src/os) asks of a backend.
//
// The neutral code (os_manager.cc, os_process.cc) is written once: the
// Process state machine, validation, merged limits and the enforcement
// list, deadlines and kill graces, the cause of death, the drain after the
// exit, the output cap, lines/chunks/capture, the host's pipe buffers, the
// live table and the manager's shutdown. A backend (src/linux, src/darwin)
// supplies one Platform per manager and one Child per process tree:
//
//   Platform  the manager's EventLoop, its Capabilities, and Spawn(): the
//             platform middle of Start() — resolve the program, open the
//             stdio, contain the tree (cgroups), spawn — between the neutral
//             prologue (validation, merged limits, enforcement, strict
//             refusal) and the neutral epilogue (live table, arming).
//   Child     one started tree: signals to it, freezing, usage, the host's
//             pipes; and the source of its ChildEvents.
//
// The event model reports what happened — bytes arrived, an output ended,
// the child exited, the CPU budget is spent, the rest of the tree is gone —
// never "a descriptor is readable", so that a completion reactor (Windows
// IOCP) implements it as naturally as a readiness one (epoll, kqueue, poll).
// Timers are the EventLoop's (event_loop.h).
//
// Lifecycle of a child: Spawn() (a failure leaves nothing behind) → Arm()
// on the loop thread → events → OnExit() (the leader is reaped) →
// EndTree() (→ OnTreeGone() when it returned true) → FinalUsage() →
// Close() (nothing stays open; containers are removed after this turn).
// A child spawned while the manager shut down gets Discard() instead.
//
// Locks: each OsProcess has a mutex (its "lock"). The neutral side calls
// Child methods with that lock held, unless a method says otherwise; a
// Child therefore never calls into the neutral side from those methods.
// ChildEvents are called on the loop thread WITHOUT that lock (the neutral
// side takes it), and without any lock of the Child: a Child that guards
// its own state with a mutex releases it before it reports. Lock order:
// the process's lock, then the Child's own.
#ifndef PROCSANDBOX_SRC_OS_PLATFORM_H_
#define PROCSANDBOX_SRC_OS_PLATFORM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "os/event_loop.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/command.h"
#include "procsandbox/isolation.h"
#include "procsandbox/limits.h"
#include "procsandbox/os_manager.h"
#include "procsandbox/outcome.h"
#include "procsandbox/process.h"
#include "procsandbox/verification.h"

namespace procsandbox::os_internal {

// How the leader ended, read when the platform reaped it.
struct ChildExit {
  bool signaled = false;
  int exit_code = 0;  // not signaled
  int signal = 0;     // signaled: the signal that ended it
  // Windows: signaled by this exception status (common/exception_codes.h).
  uint32_t exception_code = 0;
  int64_t end_ns = 0;  // MonotonicNanos() at the reap
  // The leader's own figures (rusage): CPU times and peak resident memory.
  absl::Duration user_time;
  absl::Duration system_time;
  int64_t peak_memory_bytes = 0;
};

// What the platform reports of one child. Loop thread only, the process's
// lock not held; the neutral OsProcess implements it.
class ChildEvents {
 public:
  virtual ~ChildEvents() = default;
  // Bytes of a stream the library reads (capture, lines, chunks), in the
  // order they came; `bytes` is valid during the call only. A platform
  // reports bounded blocks (Linux: 256 KiB per stream per turn) so that
  // timers and exits are not queued behind a flood. Returns whether bytes
  // of this stream are still wanted: false once the output cap is reached
  // (nothing more is kept of any stream); the platform may then drop what
  // follows unread and report only how much (OnOutputDiscarded).
  virtual bool OnOutput(Stream stream, absl::string_view bytes) = 0;
  // `count` bytes of that stream, after OnOutput() returned false, were
  // dropped unread (Linux: spliced to /dev/null).
  virtual void OnOutputDiscarded(Stream stream, std::size_t count) = 0;
  // That stream is at its end (end of file, or an error: the same here).
  // Nothing more is reported of it.
  virtual void OnOutputEnd(Stream stream) = 0;
  // The leader has ended and is reaped: its pid may be reused from now on.
  virtual void OnExit(const ChildExit& exit) = 0;
  // The tree's CPU accounting (cgroups) says its budget ran out. Reported
  // while the leader is not reaped; the neutral side decides (SIGKILL,
  // ExitReason::kCpuTimeExceeded).
  virtual void OnCpuBudgetSpent() = 0;
  // A process of the tree made a call the seccomp filter kills for
  // (`syscall` by number on this architecture, `name` empty when unknown).
  // Reported while the leader is not reaped; the neutral side kills the
  // tree (ExitReason::kSeccompViolation). Only the first one counts.
  virtual void OnSeccompViolation(int syscall, std::string name) = 0;
  // After EndTree() returned true: the rest of the tree is gone (or the
  // platform stopped waiting for it).
  virtual void OnTreeGone() = 0;
};

// The host's end of a Stdio::Pipe stdin. Shared: a Write() in progress
// keeps it open while CloseStdin() drops the neutral side's reference.
class HostStdin {
 public:
  virtual ~HostStdin() = default;
  // Writes all of `data`, blocking, from a host thread without the
  // process's lock; a SIGPIPE never reaches the host. Sets `reader_gone`
  // (and returns an error) when nobody reads the pipe any more (EPIPE).
  virtual absl::Status Write(absl::string_view data, bool& reader_gone) = 0;
};

// What ReadHostPipe() found.
enum class HostRead {
  kData,     // appended to the buffer
  kNothing,  // nothing now (another reader took it, or an interruption)
  kEnd,      // end of file (or an error): nothing more will come
};

// Figures of the end of a tree that only the platform knows.
struct TreeEnd {
  bool oom_killed = false;  // the kernel's OOM killer ended it
  // An allocation over Limits::memory_bytes was refused (a Windows job's
  // memory-limit notification): the end is kMemoryExceeded even when the
  // program then exited by itself.
  bool memory_refused = false;
  int64_t forks_refused = 0;  // fork()s the process limit refused
};

// One started process tree. Every method with the process's lock held,
// from any thread, unless said otherwise.
class Child {
 public:
  virtual ~Child() = default;

  virtual Pid pid() const = 0;
  // MonotonicNanos() right after the spawn: the start of the wall time.
  virtual int64_t start_ns() const = 0;

  // Loop thread. Starts watching the exit, the library-read output and the
  // Stdio::Data stdin, and the tree's CPU budget. `events` is kept until
  // Close() (or Discard()): it receives this child's events.
  virtual void Arm(std::shared_ptr<ChildEvents> events) = 0;

  // Sends `signo` to the tree while the leader is not reaped (nothing
  // afterwards: its pid may belong to another process): the leader, its
  // process group, and for SIGKILL the container (the whole tree, also what
  // left the group). Does not wait.
  virtual void SignalTree(int signo) = 0;
  // Whether SignalTree() means anything for `signo` here (Signal() asks
  // first): OK, or Unimplemented saying why (Windows has no equivalent of
  // most POSIX signals).
  virtual absl::Status CheckSignal(int /*signo*/) const {
    return absl::OkStatus();
  }
  // The leader has ended by itself: reaped, or a zombie not reaped yet.
  virtual bool Exited() const = 0;

  // Freezing the whole tree (a cgroup freezer); false: Suspend() sends
  // SIGSTOP instead. Freeze() and Thaw() errors carry the platform's cause.
  virtual bool can_freeze() const = 0;
  virtual absl::Status Freeze() = 0;
  virtual absl::Status Thaw() = 0;

  // Loop thread, after OnExit(). Ends the rest of the tree (descendants
  // that outlive the leader), thawing it first when `frozen`. True: the
  // platform waits for them and reports OnTreeGone(); false: nothing left.
  virtual bool EndTree(bool frozen) = 0;

  // Live figures while the leader runs (CPU, memory, of the tree where the
  // platform can see it); leaves what it cannot read as it is.
  virtual void LiveUsage(ResourceUsage& usage) const = 0;
  // At the end (after OnExit, and OnTreeGone if awaited): raises the
  // outcome's CPU and memory figures to the whole tree's where the
  // platform accounts it, and says what else it knows.
  virtual TreeEnd FinalUsage(Outcome& outcome) const = 0;

  // Process::Verify(), while the leader is not reaped: reads back from the
  // OS what holds for the running tree. `verification` holds one check per
  // entry of `enforcement` (common/verify_checks.h); the platform fills
  // in found, source, result and detail of those awaiting a read-back
  // (internal::AwaitsReadBack) and may append checks (cgroup membership).
  // An error when the reads failed; the neutral side reports a leader that
  // ended meanwhile as such, whatever this returned. The default reads
  // nothing: each check stays unverified, "this platform cannot read it
  // back".
  virtual absl::Status ReadBack(const Limits& limits,
                                const Enforcement& enforcement,
                                const Isolation& isolation,
                                Verification& verification) const;

  // Host pipes (Stdio::Pipe). The neutral side keeps the buffers, the
  // end-of-file flag and the errors; the platform moves the bytes.
  //
  // The stdin pipe, once (null when stdin is not a pipe).
  virtual std::shared_ptr<HostStdin> TakeHostStdin() = 0;
  // Whether the stream's pipe is still open (DrainHostPipe() not called).
  virtual bool HostPipeOpen(Stream stream) const = 0;
  // WITHOUT the process's lock (a host thread; the process may end
  // meanwhile, and the pipe with it): waits up to `wait` for the pipe to
  // have something (or its end). True: ReadHostPipe() may find it; false:
  // nothing in time (or interrupted). Errors carry the platform's cause.
  virtual absl::StatusOr<bool> AwaitHostPipe(Stream stream,
                                             absl::Duration wait) = 0;
  // One read of what the pipe holds now, appended to `buffer`.
  virtual HostRead ReadHostPipe(Stream stream, std::string& buffer) = 0;
  // Loop thread, at the end: what the pipe still holds goes to `buffer`;
  // the pipe is closed (a descendant holding the write end is not waited
  // for).
  virtual void DrainHostPipe(Stream stream, std::string& buffer) = 0;

  // Loop thread, at the end: stops every watch and timer of this child,
  // closes everything it holds open (output, stdin, the leader's handle)
  // and drops `events`; its containers are removed after this turn, a
  // failure reported as an OsManagerEvent.
  virtual void Close() = 0;
  // Any thread, for a child spawned just as its manager shut down (never
  // armed): kills the tree, reaps the leader, removes the containers now
  // and closes everything.
  virtual void Discard() = 0;
};

// The platform middle of a Start(), and what it may change.
struct SpawnRequest {
  const Command* command = nullptr;  // stdio kinds as validated
  const Limits* limits = nullptr;    // merged with the manager's defaults
  // One entry per requested limit, from the capabilities; the platform may
  // degrade an entry (a cgroup it could not make: rlimits instead) — or
  // refuse, when OsManagerOptions::strict says so.
  Enforcement* enforcement = nullptr;
  // Events to emit once the Start() has released its lock.
  std::vector<OsManagerEvent>* events = nullptr;
};

// One per manager, owned by it; lives as long as any of its processes.
class Platform {
 public:
  virtual ~Platform() = default;

  // The manager's loop, until StopLoop().
  virtual EventLoop& loop() = 0;
  // What this manager enforces and how (fixed at creation).
  virtual const Capabilities& capabilities() const = 0;

  // Host state that rules out any start (POSIX: a host that ignores
  // SIGCHLD, whose children the kernel reaps at once). FailedPrecondition,
  // the message naming `label`.
  virtual absl::Status CheckHost(absl::string_view label) const = 0;
  // Starts `request.command`. Any thread; may block (a FIFO being opened).
  // On failure nothing is left behind: no descriptor, no container.
  virtual absl::StatusOr<std::shared_ptr<Child>> Spawn(
      const SpawnRequest& request) = 0;
  // After a successful Spawn() while the manager still runs (the manager's
  // lock held): work for later on the loop, such as spare containers.
  virtual void Started(const Child& child) = 0;

  // Memory of this process that is about to be written in bulk, in order:
  // hints, any thread; nothing happens where the system cannot take them,
  // or when they fail. A first touch of a 4 KiB page costs 8-17 µs on the
  // project's VM, ~0.6 µs per 4 KiB in a huge page (bench/README.md).
  //
  // A new block of `size` bytes at `block`, before it is written: huge
  // pages for what it spans of them (Linux: MADV_HUGEPAGE, one fault per
  // 2 MiB).
  virtual void AdviseBulkWrite(char* /*block*/, std::size_t /*size*/) {}
  // The pages of [begin, begin + size), about to be written: present and
  // writable in one call instead of a fault per page (Linux 5.14+:
  // MADV_POPULATE_WRITE).
  virtual void Prefault(char* /*begin*/, std::size_t /*size*/) {}

  // At shutdown, every process ended: stops the loop for good (loop() must
  // not be called afterwards; posted work is dropped).
  virtual void StopLoop() = 0;
  // Once, after StopLoop() and once no Start() is under way: removes the
  // manager's containers; failures reported as OsManagerEvents.
  virtual void RemoveContainers() = 0;
};

}  // namespace procsandbox::os_internal

#endif  // PROCSANDBOX_SRC_OS_PLATFORM_H_
