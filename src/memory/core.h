// The in-memory manager's engine: a deterministic scheduler of scripted
// programs on a virtual clock.
//
// Every piece of state sits behind one mutex, `Core::mu`. A scripted program
// runs on a thread (its own, or inline on the host thread that Wait()s for it)
// but only while it holds the *baton*: `Core::baton == its pid`. It gives the
// baton back in each blocking call and when it ends; `Schedule()` hands it to
// the lowest-pid program that can go on. So at most one program runs at a
// time, in a fixed order, and "nothing can run" (quiescence) is simply
// `baton == 0`.
//
// Time moves only in `AdvanceToLocked()`: from `VirtualClock::Advance()`, or
// by auto-advance inside `AwaitLocked()` when the clock auto-advances, a host
// thread is waiting on the fake, and nothing can run.
//
// A started program does not run until something needs it to ("lazy"): a
// host that calls Start() then Wait() runs the program inline on its own
// thread, with no thread created; any other look at the process, or a clock
// advance, first gives it a thread and runs it up to its first blocking call
// ("materialize"). The two orders are indistinguishable to the host.
#ifndef PROCSANDBOX_SRC_MEMORY_CORE_H_
#define PROCSANDBOX_SRC_MEMORY_CORE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/usage_timeline.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/command.h"
#include "procsandbox/limits.h"
#include "procsandbox/memory_manager.h"
#include "procsandbox/outcome.h"
#include "procsandbox/process.h"

namespace procsandbox::memory_internal {

// Thrown inside a scripted program to unwind it when it must end (killed,
// Exit(), Die()); caught by Core::Execute.
struct UnwindScript {};

enum class Phase {
  kNew,      // not started (or Start() failed)
  kLazy,     // started; its program has not run yet and has no thread
  kReady,    // has a thread (or an inline host) and wants the baton
  kRunning,  // holds the baton
  kBlocked,  // in a blocking call, waiting for `wait_until`
  kEnded,
};

// Where one output stream goes, and what went through it.
struct OutputSink {
  Stdio::Kind kind = Stdio::Kind::kNull;
  // kCapture: what was kept. kPipe: bytes in the pipe (at most
  // MemoryManagerOptions::pipe_capacity).
  std::string buffer;
  // kPipe: bytes the host took out of the pipe and has not returned yet.
  std::string host_buffer;
  bool truncated = false;
  // kLines: the unterminated tail, and the callback (kChunks: the callback).
  std::string partial_line;
  Stdio::LineCallback callback;
  // kFile: the fake file's path.
  std::string path;
  // kPipe: the writer is gone (the program ended).
  bool closed = false;
};

struct ProgramState {
  // Set at New(); the setters change it until Start().
  Command command;
  absl::Status start_status;
  Phase phase = Phase::kNew;
  bool inline_run = false;  // run on the host thread that Wait()s

  // Fixed at Start().
  Pid pid = 0;
  std::string resolved;
  std::vector<std::string> argv;
  // The command's limits merged over the defaults; of those, the ones
  // applied (without the unenforced ones: GetLimits(), the outcome, the
  // history); and the ones in force, which FakeProcess::AlterLimits()
  // changes from outside (what the program is held to, what Verify() finds).
  Limits asked;
  Limits applied;
  Limits limits;
  Enforcement enforcement;
  std::shared_ptr<const FakeProgram> program;
  absl::Time start_time;

  // Blocking: the program may go on when this holds (and it is not
  // suspended). wake_time is the clock wake-up of Sleep().
  std::function<bool()> wait_until;
  absl::Time wake_time = absl::InfiniteFuture();

  // Resources.
  bool suspended = false;
  absl::Duration cpu_used;   // up to cpu_since when burning
  bool in_burn = false;      // in UseCpu()
  bool burning = false;      // in UseCpu() and not suspended
  absl::Time cpu_since;      // when the current burn (re)started
  absl::Duration burn_left;  // of the current UseCpu() at cpu_since
  int64_t memory = 0;
  int64_t peak_memory = 0;
  int64_t open_files = 0;
  int64_t children = 0;
  int64_t forks_refused = 0;  // SpawnChildren over Limits::processes
  int64_t output_bytes = 0;   // received from stdout and stderr
  int64_t kept_bytes = 0;     // captured or delivered as lines
  // Written to the sink of each stream the library reads (capture, lines,
  // chunks), before the output cap: what an OS manager receives.
  int64_t stdout_bytes = 0;
  int64_t stderr_bytes = 0;

  // Command::monitor: the timeline (set at Start()), the next sample's
  // instant (a clock event), samples taken and not given to on_sample yet
  // (one thread delivers them, in order: `delivering`), and the timeline
  // once the end was sampled.
  std::optional<internal::UsageTimeline> timeline;
  absl::Time next_sample = absl::InfiniteFuture();
  std::deque<UsageSample> samples_due;
  bool delivering = false;
  std::optional<std::vector<UsageSample>> samples;

  // Signals.
  std::deque<int> pending;  // caught or default-fatal, not yet acted on
  std::map<int, std::function<void()>> handlers;
  std::set<int> ignored;
  std::set<int> in_handler;     // blocked while their handler runs
  bool host_signalled = false;  // the host sent a signal (Signal())

  // Stopping.
  std::optional<ExitReason> cause;  // first cause we gave it to end
  absl::Time deadline = absl::InfiniteFuture();   // wall_time expiry
  absl::Time kill_time = absl::InfiniteFuture();  // grace expiry: SIGKILL
  bool deadline_fired = false;
  bool dying = false;             // must unwind at its next library call
  int death_signal = 0;           // the signal that ends it, if any
  uint32_t death_exception = 0;   // FakeProcess::Raise's exception status
  std::string violation_syscall;  // FakeProcess::Syscall's kill
  std::optional<int> exit_code;   // Exit() or return
  // The program has run to its end and is being recorded: signals and kills
  // from a callback delivered meanwhile find nothing to stop.
  bool exited = false;

  // Streams.
  std::string stdin_buffer;
  std::size_t stdin_pos = 0;
  bool stdin_closed = true;  // the host's end (EOF once drained)
  OutputSink out;
  OutputSink err;
  bool err_to_out = false;

  // The end.
  std::optional<Outcome> outcome;
  absl::Time end_time;

  // History.
  std::string stdin_seen, stdout_seen, stderr_seen;

  // The host's handle, so that Get() and List() return the same object.
  std::weak_ptr<Process> handle;

  // Signalled when this program gets the baton; its thread waits here, so a
  // change wakes only the program it concerns (2,000 sleeping programs do
  // not all wake at every tick).
  absl::CondVar turn;
};

// One MemoryManager::HostWait: a host thread blocked on the host's own
// queue, counted as a host waiting on the fake until released or until the
// clock reaches `deadline`.
struct HostWaiter {
  bool released = false;
  absl::Time deadline = absl::InfiniteFuture();
  std::function<bool()> done;  // released or past the deadline
  // The thread was busy in a HostCall of this core (paused while waiting).
  bool paused_busy = false;
};

struct Registration {
  std::shared_ptr<const FakeProgram> program;
  absl::Status error;  // a registered start failure
  // RegisterNotExecutable: the error is made at Start(), naming the program
  // as the OS manager does (never on a secret PATH).
  bool not_executable = false;
};

// Unsets the field `kind` of `limits`.
void ClearLimit(Limits& limits, LimitKind kind);

// How the fake enforces `kind` when nothing is configured otherwise.
LimitEnforcement VirtualEnforcement(LimitKind kind);
// Every isolation mechanism as the fake reports it: enforced ("virtual")
// but those in options.unenforced_isolation.
std::vector<IsolationEnforcement> VirtualIsolation(
    const MemoryManagerOptions& options);

class Core : public std::enable_shared_from_this<Core> {
 public:
  explicit Core(MemoryManagerOptions opts);

  absl::Mutex mu;
  absl::CondVar changed;  // signalled on every change of state

  // --- Host side ---------------------------------------------------------
  absl::Status StartLocked(const std::shared_ptr<ProgramState>& p)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Runs a lazy program to its first blocking call on a thread of its own.
  void MaterializeLocked(const std::shared_ptr<ProgramState>& p)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void MaterializeAllLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Waits until nothing can run (without moving time), unless called from a
  // program's own thread (a callback), where that would wait for itself.
  void QuiesceLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Waits until `done()`; with `host_wait`, counts as a host thread waiting
  // (so the clock may auto-advance) and `deadline` is a clock event.
  void AwaitLocked(const std::function<bool()>& done, bool host_wait,
                   absl::Time deadline = absl::InfiniteFuture())
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // MemoryManager::WaitIdle: see memory_manager.h.
  absl::Status WaitIdle(std::size_t waiting_hosts, absl::Duration timeout)
      ABSL_LOCKS_EXCLUDED(mu);
  // MemoryManager::HostCall: the calling thread works on the fake's behalf
  // (counted in `busy_hosts` while in the outermost scope and not waiting).
  void EnterHostCall() ABSL_LOCKS_EXCLUDED(mu);
  void LeaveHostCall() ABSL_LOCKS_EXCLUDED(mu);
  // While this thread waits as a host (a host wait, an inline run, a
  // HostWait), it no longer counts as busy: PauseBusyLocked() says whether it
  // was, for ResumeBusyLocked().
  bool PauseBusyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void ResumeBusyLocked(bool paused) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // MemoryManager::HostWait.
  void EnterHostWait(HostWaiter& w) ABSL_LOCKS_EXCLUDED(mu);
  // Starts the clock driver unless it runs: a thread that auto-advances
  // time (AwaitLocked) while any HostWait scope exists.
  void StartClockDriverLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // The clock driver's thread body.
  void DriveClock() ABSL_LOCKS_EXCLUDED(mu);
  // Runs `body` (which takes `mu` itself) on a new thread, counted in
  // `workers` until it returns. False when no thread could be made.
  bool StartWorkerLocked(std::function<void()> body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void LeaveHostWait(HostWaiter& w) ABSL_LOCKS_EXCLUDED(mu);
  // Runs `p`'s program on this thread (inline) for a host that waits for it
  // to end, and returns when it has.
  void RunInline(const std::shared_ptr<ProgramState>& p)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  // Signals from the host. `cause` is what the death counts as.
  void SendSignalLocked(ProgramState& p, int signo)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void TerminateLocked(ProgramState& p, ExitReason cause)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void KillLocked(ProgramState& p, ExitReason cause, int signo)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  // Hands the baton on if it is free, and wakes every waiter: after any
  // change a program or host may be waiting for.
  void NotifyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  absl::Status AdvanceBy(absl::Duration duration) ABSL_LOCKS_EXCLUDED(mu);

  // Command::monitor: takes `p`'s sample now (queued for its callback), and
  // at the end the last one (once; the timeline is then in p.samples).
  void SampleLocked(ProgramState& p) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void SampleEndLocked(ProgramState& p) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Gives `p`'s queued samples to its callback, the lock released around
  // each call; time stands still meanwhile (`sampling`).
  void DeliverSamplesLocked(const std::shared_ptr<ProgramState>& p)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // The program of this manager running on the calling thread, or null (a
  // host thread, or a program of another manager).
  ProgramState* CurrentProgram() const;
  void Shutdown() ABSL_LOCKS_EXCLUDED(mu);

  // --- Program side (the baton holder) -----------------------------------
  // Gives up the baton until `until()` holds (or a signal/kill needs acting
  // on), then acts on pending signals. May throw UnwindScript.
  void BlockLocked(ProgramState& p, std::function<bool()> until)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Acts on a pending death or signal. May throw UnwindScript (after
  // releasing `lock`) or run a handler (unlocked).
  void PollLocked(ProgramState& p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Routes bytes a program writes to a sink that is not a pipe; complete
  // lines for a Stdio::Lines sink (the bytes, for a Stdio::Chunks sink) go to
  // `lines`, for the caller to deliver outside the lock.
  void WriteLocked(ProgramState& p, Stream stream, absl::string_view data,
                   std::vector<std::string>* lines)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // The sink `stream` writes to (stderr may go to stdout's).
  static OutputSink& SinkFor(ProgramState& p, Stream stream);
  absl::Status WriteFileLocked(ProgramState& p, absl::string_view path,
                               absl::string_view contents, bool append)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  absl::Duration CpuUsedLocked(const ProgramState& p) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void StartBurnLocked(ProgramState& p, absl::Duration d)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void StopBurnLocked(ProgramState& p) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  // --- State ---------------------------------------------------------------
  const MemoryManagerOptions options;
  absl::Time now ABSL_GUARDED_BY(mu);
  bool auto_advance ABSL_GUARDED_BY(mu);
  Limits defaults ABSL_GUARDED_BY(mu);
  bool shut_down ABSL_GUARDED_BY(mu) = false;
  Pid next_pid ABSL_GUARDED_BY(mu);
  Pid baton ABSL_GUARDED_BY(mu) = 0;
  // What each host thread waiting on the fake waits for. Time auto-advances
  // only while none of them holds yet.
  std::vector<const std::function<bool()>*> host_waits ABSL_GUARDED_BY(mu);
  int force_advance ABSL_GUARDED_BY(mu) = 0;
  // Host threads inside a MemoryManager::HostCall and not waiting: time does
  // not auto-advance and the fake is not idle while there are any.
  int busy_hosts ABSL_GUARDED_BY(mu) = 0;
  // Host calls waiting for the programs to block (QuiesceLocked).
  int host_calls ABSL_GUARDED_BY(mu) = 0;
  // WaitIdle() callers: auto-advance is held while they wait.
  int idle_holds ABSL_GUARDED_BY(mu) = 0;
  // HostWait scopes, and whether the thread that auto-advances the clock
  // for them runs (a HostWait thread blocks outside the fake, so it cannot
  // move time itself as a host waiting in a call does).
  int host_wait_scopes ABSL_GUARDED_BY(mu) = 0;
  bool clock_driver ABSL_GUARDED_BY(mu) = false;
  // Threads in DeliverSamplesLocked: the clock waits for their callbacks.
  int sampling ABSL_GUARDED_BY(mu) = 0;
  // The threads this core started (program threads, the clock driver), by
  // id until their body returns; then in `ended_workers` until joined, by
  // the next thread started or by Shutdown(). None outlives the manager:
  // a thread still ending while the host process exits can deadlock it
  // (MinGW's winpthreads: a thread's TLS cleanup against exit()'s
  // pthread_key_delete).
  absl::flat_hash_map<std::thread::id, std::thread> workers ABSL_GUARDED_BY(mu);
  std::vector<std::thread> ended_workers ABSL_GUARDED_BY(mu);
  int lazy ABSL_GUARDED_BY(mu) = 0;
  // Started, not ended; ordered by pid, which is the scheduling order.
  std::map<Pid, std::shared_ptr<ProgramState>> live ABSL_GUARDED_BY(mu);
  std::multiset<absl::Time> host_deadlines ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<std::string, Registration> programs ABSL_GUARDED_BY(mu);
  std::map<std::string, std::string, std::less<>> files ABSL_GUARDED_BY(mu);
  std::deque<std::shared_ptr<ProgramState>> history ABSL_GUARDED_BY(mu);

 private:
  // True when some host thread waits on the fake and none of their waits is
  // over: the condition for time to auto-advance.
  bool AllHostsStillWaitLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Why the fake is not idle with `waiting_hosts` expected, or "" when it
  // is (see MemoryManager::WaitIdle).
  std::string NotIdleLocked(std::size_t waiting_hosts) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // `handler` must outlive the call (not an entry of p.handlers: it runs
  // unlocked).
  void RunHandlerLocked(ProgramState& p, int signo,
                        const std::function<void()>& handler)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  bool HasDeliverableSignalLocked(const ProgramState& p) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  bool CanProceedLocked(const ProgramState& p) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void ScheduleLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  absl::Time NextEventLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void AdvanceToLocked(absl::Time t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Waits until `p` holds the baton.
  void AwaitTurnLocked(ProgramState& p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Runs the program of `p` on the calling thread, from taking the baton to
  // recording its end.
  void Execute(const std::shared_ptr<ProgramState>& p)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void FinishLocked(ProgramState& p, std::optional<int> returned)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  absl::Status ResolveLocked(ProgramState& p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  absl::Status OpenStreamsLocked(ProgramState& p)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void RecordLocked(const std::shared_ptr<ProgramState>& p)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
};

}  // namespace procsandbox::memory_internal

#endif  // PROCSANDBOX_SRC_MEMORY_CORE_H_
