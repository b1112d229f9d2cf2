// Capture of a run's stdout and stderr under the output caps: lines arrive
// through Stdio::Lines callbacks (tagged with their stream), are kept while
// both caps allow, and handed on to the request's callback.
#ifndef PROCSANDBOX_SRC_SANDBOX_OUTPUT_COLLECTOR_H_
#define PROCSANDBOX_SRC_SANDBOX_OUTPUT_COLLECTOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "procsandbox/process.h"
#include "procsandbox/sandbox.h"
#include "procsandbox/stdio.h"

namespace procsandbox::sandbox_internal {

struct CollectedOutput {
  std::string stdout_;
  std::string stderr_;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  OutputCap cap = OutputCap::kNone;
  int64_t stdout_lines = 0;
  int64_t stderr_lines = 0;
  // The collector stopped the process at the line cap (kStop).
  bool stopped = false;
};

// Shared: the callbacks keep it alive as long as the manager keeps the
// command (the fake's history does).
class OutputCollector : public std::enable_shared_from_this<OutputCollector> {
 public:
  using LineCallback = std::function<void(Stream, absl::string_view)>;
  OutputCollector(const OutputPolicy& policy, LineCallback on_line)
      : policy_(policy), on_line_(std::move(on_line)) {}

  // The sink for `stream` (stdout or stderr).
  Stdio Sink(Stream stream);
  // The process to stop at the line cap under kStop.
  void SetProcess(const std::shared_ptr<Process>& process);
  // Everything kept. `received_bytes` is Usage().output_bytes: more than the
  // byte cap means the manager dropped output no line callback saw.
  CollectedOutput Finish(int64_t received_bytes);

 private:
  void OnLine(Stream stream, absl::string_view line);

  const OutputPolicy policy_;
  const LineCallback on_line_;
  absl::Mutex mu_;
  CollectedOutput out_ ABSL_GUARDED_BY(mu_);
  int64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t lines_ ABSL_GUARDED_BY(mu_) = 0;
  std::weak_ptr<Process> process_ ABSL_GUARDED_BY(mu_);
};

}  // namespace procsandbox::sandbox_internal

#endif  // PROCSANDBOX_SRC_SANDBOX_OUTPUT_COLLECTOR_H_
