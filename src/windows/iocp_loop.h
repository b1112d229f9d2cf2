// IocpLoop: the one thread of a Windows manager, over an I/O completion port.
//
// Every completion of the manager's children arrives on one port: the
// overlapped reads of their output pipes and writes of their stdin data
// (StartIo), the notifications of their jobs (a job's port is this one, its
// completion key one that AddJobTarget gave), and the wake-ups of Post().
// Timers are os/timer_queue.h's, the port's wait timing out at the first.
//
// Fairness, as the Linux reactor's: the loop takes one completion per wait
// and runs the due timers before it, so that a stop is never queued behind
// blocks of output; a reader issues its next read only when its completion
// has run, so a flooding child has one block in the queue at a time.
//
// Thread rules: Post(), StartIo(), AddJobTarget() and RemoveJobTarget()
// from any thread; AddTimer() and CancelTimer() on the loop thread only.
// Completion callbacks run on the loop thread without a lock of the loop.
#ifndef PROCSANDBOX_SRC_WINDOWS_IOCP_LOOP_H_
#define PROCSANDBOX_SRC_WINDOWS_IOCP_LOOP_H_

#include <windows.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "os/event_loop.h"
#include "os/timer_queue.h"
#include "windows/win_error.h"

namespace procsandbox::windows_internal {

class IocpLoop final : public os_internal::EventLoop {
 public:
  // An overlapped operation's end: bytes moved and the Win32 error (0 when
  // it succeeded; ERROR_OPERATION_ABORTED when its handle was closed or the
  // operation cancelled).
  using IoDone = std::function<void(DWORD bytes, DWORD error)>;
  // A job notification: the JOB_OBJECT_MSG_* and the process id it names.
  using JobMessage = std::function<void(DWORD message, DWORD pid)>;

  // An overlapped operation in flight: `overlapped` goes to ReadFile or
  // WriteFile on `file`, `done` runs when its completion is taken from the
  // port.
  struct Operation {
    OVERLAPPED overlapped{};
    HANDLE file = nullptr;
    IoDone done;
  };

  // Creates the port and starts the thread. ResourceExhausted when neither
  // can be had.
  static absl::StatusOr<std::unique_ptr<IocpLoop>> Create();
  ~IocpLoop() override;
  IocpLoop(const IocpLoop&) = delete;
  IocpLoop& operator=(const IocpLoop&) = delete;

  void Post(std::function<void()> fn) override;
  bool OnLoopThread() const override;
  TimerId AddTimer(int64_t at_ns, std::function<void()> fn) override;
  void CancelTimer(TimerId id) override;
  // Ends the thread and waits for it (from the loop thread: only marks it;
  // the destructor finishes); pending closures, timers and job targets are
  // dropped. The operations still in flight (a child reaped while its
  // output drained keeps its pipes open) are cancelled, and each is freed
  // once its completion is taken from the port, without `done`: the system
  // writes an OVERLAPPED until then. One not ended within kStopWaitMs stays
  // allocated for that reason.
  void Stop() override;

  HANDLE port() const { return port_.get(); }
  // Routes the completions of `file` (opened with FILE_FLAG_OVERLAPPED) to
  // this loop. Once per handle.
  absl::Status Associate(HANDLE file);
  // Starts an overlapped operation: `start` calls ReadFile/WriteFile on
  // `file`, a handle Associate()d with this loop, with the OVERLAPPED it is
  // given.
  // Returns 0 when the completion will come (`done` then runs on the loop
  // thread, the operation freed after it), or the error `start` met at once
  // (`done` never runs). `*op`, when given, receives the operation, valid
  // until `done` runs: its owner may cancel it (CancelIoEx) or wait for it
  // (GetOverlappedResult) meanwhile.
  DWORD StartIo(HANDLE file, const std::function<BOOL(OVERLAPPED*)>& start,
                IoDone done, Operation** op = nullptr);

  // A completion key for a job's notifications (JOBOBJECT_ASSOCIATE_
  // COMPLETION_PORT): they go to `on_message` on the loop thread until
  // RemoveJobTarget (a notification still in the port then is dropped).
  uint64_t AddJobTarget(JobMessage on_message);
  void RemoveJobTarget(uint64_t key);

 private:
  explicit IocpLoop(UniqueHandle port);
  void Loop();
  // Whether the loop stops; an I/O completion it took meanwhile frees its
  // operation (ended: nothing of it stays with the system).
  bool StopsAfter(ULONG_PTR key, OVERLAPPED* overlapped);
  // After the thread: drops what it would have run, ends what is in flight.
  void DropAfterThread();
  DWORD TimeoutMs() const;
  void RunPosted();
  void Dispatch(ULONG_PTR key, DWORD bytes, OVERLAPPED* overlapped,
                DWORD error);

  // Keys: posted work, overlapped I/O, and from kFirstJobKey on, jobs.
  static constexpr ULONG_PTR kWakeKey = 0;
  static constexpr ULONG_PTR kIoKey = 1;
  static constexpr uint64_t kFirstJobKey = 2;
  // How long Stop() waits for the operations it cancelled.
  static constexpr int64_t kStopWaitMs = 1000;

  const UniqueHandle port_;
  std::thread thread_;
  std::thread::id thread_id_;

  mutable absl::Mutex mu_;
  std::vector<std::function<void()>> posted_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_pending_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<uint64_t, std::shared_ptr<JobMessage>> jobs_
      ABSL_GUARDED_BY(mu_);
  uint64_t next_job_key_ ABSL_GUARDED_BY(mu_) = kFirstJobKey;
  absl::flat_hash_set<Operation*> in_flight_ ABSL_GUARDED_BY(mu_);

  // Loop-thread state.
  os_internal::TimerQueue timers_;
};

}  // namespace procsandbox::windows_internal

#endif  // PROCSANDBOX_SRC_WINDOWS_IOCP_LOOP_H_
