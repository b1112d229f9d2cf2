// MemoryProcess: the host's view of one fake process (a procsandbox::Process).
#ifndef PROCSANDBOX_SRC_MEMORY_MEMORY_PROCESS_H_
#define PROCSANDBOX_SRC_MEMORY_MEMORY_PROCESS_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "memory/core.h"
#include "procsandbox/process.h"

namespace procsandbox::memory_internal {

class MemoryProcess final : public Process {
 public:
  MemoryProcess(std::shared_ptr<Core> core, std::shared_ptr<ProgramState> state)
      : core_(std::move(core)), p_(std::move(state)) {}

  absl::Status SetStdin(Stdio stdio) override;
  absl::Status SetStdout(Stdio stdio) override;
  absl::Status SetStderr(Stdio stdio) override;
  absl::Status SetLimits(const Limits& limits) override;
  Limits GetLimits() const override;
  Command command() const override;

  absl::Status Start() override;
  absl::StatusOr<Outcome> Wait() override;
  absl::StatusOr<Outcome> WaitFor(absl::Duration timeout) override;

  absl::Status Signal(int signo) override;
  absl::Status Terminate() override;
  absl::Status Kill() override;
  absl::Status Suspend() override;
  absl::Status Resume() override;

  absl::Status Write(absl::string_view data) override;
  absl::Status CloseStdin() override;
  absl::StatusOr<std::string> ReadLine(Stream stream,
                                       absl::Duration timeout) override;
  absl::StatusOr<std::string> Read(Stream stream, std::size_t max_bytes,
                                   absl::Duration timeout) override;

  Pid Id() const override;
  procsandbox::ProcessState state() const override;
  bool Running() const override;
  std::optional<int> ExitCode() const override;
  ResourceUsage Usage() const override;
  Enforcement enforcement() const override;
  CapturedOutput Captured() const override;
  absl::StatusOr<Verification> Verify() override;

 private:
  using State = ProgramState;

  absl::Status SetStream(Stream stream, Stdio stdio);
  // FailedPrecondition naming `action` when the manager is gone and the
  // process never started.
  absl::Status CheckManagerLocked(absl::string_view action) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(core_->mu);
  // FailedPrecondition naming `action` unless the process was started.
  absl::Status CheckStartedLocked(absl::string_view action) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(core_->mu);
  // A lazy program runs up to its first blocking call before the host looks.
  void SettleLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(core_->mu);
  absl::Status SignalLocked(absl::string_view action, int signo)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(core_->mu);
  absl::StatusOr<std::string> ReadPipe(Stream stream, std::size_t max_bytes,
                                       bool line, absl::Duration timeout);

  std::shared_ptr<Core> core_;
  std::shared_ptr<State> p_;
};

}  // namespace procsandbox::memory_internal

#endif  // PROCSANDBOX_SRC_MEMORY_MEMORY_PROCESS_H_
