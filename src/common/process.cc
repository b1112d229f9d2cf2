#include "procsandbox/process.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "procsandbox/command.h"
#include "procsandbox/manager.h"

namespace procsandbox {

Process::~Process() = default;

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
