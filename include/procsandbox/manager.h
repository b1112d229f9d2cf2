// procsandbox/manager.h: the interface a host application depends on.
//
// A host takes a `procsandbox::Manager&` wherever it needs processes. In
// production it passes an OS-backed manager; in unit tests the in-memory
// `MemoryManager` (memory_manager.h) or a gmock `MockManager`
// (testing/mocks.h). Code written against this interface behaves the same on
// every implementation; the conformance suite holds them to it.
//
// Example:
//   class ToolRunner {
//    public:
//     explicit ToolRunner(procsandbox::Manager& manager) : manager_(manager) {}
//     absl::StatusOr<procsandbox::RunResult> Build() {
//       procsandbox::Command cmd("make", {"-j2"});
//       cmd.limits.wall_time = absl::Minutes(5);
//       return procsandbox::RunCommand(manager_, std::move(cmd));
//     }
//    private:
//     procsandbox::Manager& manager_;
//   };
//
// Thread-safety: every method may be called from any thread.
#ifndef PROCSANDBOX_MANAGER_H_
#define PROCSANDBOX_MANAGER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/command.h"
#include "procsandbox/export.h"
#include "procsandbox/limits.h"
#include "procsandbox/process.h"

namespace procsandbox {

class PROCSANDBOX_EXPORT Manager {
 public:
  // Stops (Terminate, then Kill after the grace) and reaps every process it
  // still runs, and releases everything it holds. Never hangs: bounded by the
  // largest kill_grace plus a short time to reap.
  virtual ~Manager();

  // A process for `command`, not started. Never fails: Start() reports a bad
  // command.
  virtual std::shared_ptr<Process> New(Command command) = 0;
  // New(Command(program, args)).
  std::shared_ptr<Process> New(std::string program,
                               std::vector<std::string> args = {});

  // A started, not yet ended process of this manager; NotFound otherwise.
  virtual absl::StatusOr<std::shared_ptr<Process>> Get(Pid pid) const = 0;
  // Every started, not yet ended process, in start order.
  virtual std::vector<std::shared_ptr<Process>> List() const = 0;

  // Limits merged under every command's own from now on. InvalidArgument
  // (naming the field) for an invalid value; the old defaults stay then.
  virtual absl::Status SetDefaultLimits(const Limits& limits) = 0;
  virtual Limits GetDefaultLimits() const = 0;

  // What this manager can enforce here (probed once).
  virtual Capabilities capabilities() const = 0;

  // The manager's clock: real time for OS managers, virtual time for the
  // fake. Deadlines, WaitFor and Outcome durations are in this time.
  virtual absl::Time Now() const = 0;
};

}  // namespace procsandbox

#endif  // PROCSANDBOX_MANAGER_H_
