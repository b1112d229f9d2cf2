// `procsandbox run --timeline FILE`: the run as JSON lines, written while
// it runs, one write(2) per record, so that a reader (`tail -f`, a
// dashboard) sees each as it comes:
//
//   {"type":"start","version":1,"time":"...","program":"make","pid":42,
//    "interval_ms":2000,"limits":{"memory_bytes":268435456}}
//   {"type":"sample","elapsed_ms":2000,...}      one per sample (SampleJson)
//   {"type":"end","status":"exited","exit_code":0,...,"peak_memory_bytes":N}
//
// README documents the fields; `procsandbox plot` (plot.h) draws them.
//
//   TimelineFile timeline;
//   if (absl::Status s = timeline.Open(path, stop); !s.ok()) ... not started
//   command.monitor.on_sample = [&](const UsageSample& s) {
//     timeline.Sample(s);
//   };
//   ... Start() ...; timeline.Start(command, pid);
//   ... Wait() ...;  timeline.End(ResultJson(...));
//   if (!timeline.status().ok()) ... records were lost
//
// Thread-safe: samples come from the library's thread. A sample taken
// before Start() is held until the start record is written; one after End()
// is dropped.
#ifndef PROCSANDBOX_TOOLS_PROCSANDBOX_TIMELINE_H_
#define PROCSANDBOX_TOOLS_PROCSANDBOX_TIMELINE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"
#include "procsandbox/procsandbox.h"
#include "result_file.h"

namespace procsandbox::cli {

class TimelineFile {
 public:
  TimelineFile() = default;
  ~TimelineFile();
  TimelineFile(const TimelineFile&) = delete;
  TimelineFile& operator=(const TimelineFile&) = delete;

  // Creates or empties `path` (nothing is written without: an empty path).
  // The errno's code naming the file and the cause (`open the timeline file
  // "<path>": ...`); a FIFO waits for its reader until `stop` says a signal
  // came. Anything but a regular file is written without blocking: a
  // record the reader has no room for is dropped and counted (see status()),
  // so that a stalled reader never holds the run.
  absl::Status Open(const std::string& path,
                    const ResultFile::StopSignal& stop = nullptr);
  bool wanted() const { return fd_ >= 0; }

  // The start record; `pid` null for a run that did not start.
  void Start(const Command& command, std::optional<Pid> pid);
  void Sample(const UsageSample& sample);
  // The end record: the outcome's fields of `result` (ResultJson or
  // StartFailureJson).
  void End(const nlohmann::ordered_json& result);

  // OK, or Unavailable naming the file and what was lost: the first write
  // error, or the records a non-blocking reader had no room for.
  absl::Status status() const;

 private:
  void WriteLocked(const nlohmann::ordered_json& record)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  int fd_ = -1;
  std::string name_;  // the quoted path, for messages
  mutable absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<UsageSample> early_ ABSL_GUARDED_BY(mu_);
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  int64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace procsandbox::cli

#endif  // PROCSANDBOX_TOOLS_PROCSANDBOX_TIMELINE_H_
