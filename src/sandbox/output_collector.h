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
#include "procsandbox/sandbox/policy.h"
#include "procsandbox/sandbox/result.h"
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
  // The byte cap in force (the policy's, or the request's when lower).
  int64_t max_bytes = 0;
};

// Shared: the callbacks keep it alive as long as the manager keeps the
// command (the fake's history does).
class OutputCollector : public std::enable_shared_from_this<OutputCollector> {
 public:
  using LineCallback = std::function<void(Stream, absl::string_view)>;
  // `policy.max_bytes` is the byte cap in force: the same number the
  // manager is given as Limits::output_bytes.
  OutputCollector(const OutputPolicy& policy, LineCallback on_line)
      : policy_(policy), on_line_(std::move(on_line)) {
    out_.max_bytes = policy_.max_bytes;
  }

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
  // A line that filled the byte cap exactly without its '\n': the callback
  // does not say whether the program wrote one, so whether anything was
  // dropped is known only in Finish() (from what the manager received).
  std::string* unterminated_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::weak_ptr<Process> process_ ABSL_GUARDED_BY(mu_);
};

}  // namespace procsandbox::sandbox_internal

#endif  // PROCSANDBOX_SRC_SANDBOX_OUTPUT_COLLECTOR_H_
