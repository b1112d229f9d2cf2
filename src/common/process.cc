#include "procsandbox/process.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "procsandbox/command.h"
#include "procsandbox/manager.h"

namespace procsandbox {

Process::~Process() = default;

absl::StatusOr<Verification> Process::Verify() {
  return absl::UnimplementedError(
      "Verify: this Process implementation cannot read its limits back");
}

Manager::~Manager() = default;

std::shared_ptr<Process> Manager::New(std::string program,
                                      std::vector<std::string> args) {
  return New(Command(std::move(program), std::move(args)));
}

absl::string_view ProcessStateName(ProcessState state) {
  switch (state) {
    case ProcessState::kNew:
      return "new";
    case ProcessState::kRunning:
      return "running";
    case ProcessState::kSuspended:
      return "suspended";
    case ProcessState::kEnded:
      return "ended";
  }
  return "unknown";
}

}  // namespace procsandbox
