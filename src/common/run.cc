#include "procsandbox/run.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/captured_handover.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"
#include "procsandbox/process.h"

namespace procsandbox {

absl::StatusOr<RunResult> RunCommand(Manager& manager, Command command) {
  for (const Stdio* stdio :
       {&command.stdin_, &command.stdout_, &command.stderr_}) {
    if (stdio->kind() == Stdio::Kind::kPipe) {
      return absl::FailedPreconditionError(fmt::format(
          "run \"{}\": RunCommand() cannot drive a Stdio::Pipe(); use "
          "Manager::New and "
          "Process::Write/ReadLine",
          command.label()));
    }
  }
  if (command.stdout_.kind() == Stdio::Kind::kDefault) {
    command.stdout_ = Stdio::Capture();
  }
  if (command.stderr_.kind() == Stdio::Kind::kDefault) {
    command.stderr_ = Stdio::Capture();
  }
  std::shared_ptr<Process> process = manager.New(std::move(command));
  if (absl::Status s = process->Start(); !s.ok()) return s;
  absl::StatusOr<Outcome> outcome = process->Wait();
  if (!outcome.ok()) return outcome.status();
  RunResult result;
  result.outcome = *std::move(outcome);
  result.pid = process->Id();
  // The process is ours and dropped after this: what it captured is moved
  // out where the process can (a GiB copied touches a GiB of fresh memory).
  auto* handover = dynamic_cast<internal::CapturedHandover*>(process.get());
  CapturedOutput captured =
      handover != nullptr ? handover->TakeCaptured() : process->Captured();
  result.stdout_ = std::move(captured.stdout_);
  result.stderr_ = std::move(captured.stderr_);
  result.stdout_truncated = captured.stdout_truncated;
  result.stderr_truncated = captured.stderr_truncated;
  result.enforcement = process->enforcement();
  return result;
}

bool operator==(const RunResult& a, const RunResult& b) {
  return a.outcome == b.outcome && a.pid == b.pid && a.stdout_ == b.stdout_ &&
         a.stderr_ == b.stderr_ && a.stdout_truncated == b.stdout_truncated &&
         a.stderr_truncated == b.stderr_truncated &&
         a.enforcement == b.enforcement;
}

std::string ToString(const RunResult& result) {
  std::string text =
      fmt::format("{}, stdout {} bytes", result.outcome, result.stdout_.size());
  if (result.stdout_truncated) text += " (truncated)";
  text += fmt::format(", stderr {} bytes", result.stderr_.size());
  if (result.stderr_truncated) text += " (truncated)";
  return text;
}

}  // namespace procsandbox
