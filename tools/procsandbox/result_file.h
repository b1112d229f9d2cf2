// `procsandbox run --result`: where the JSON result goes.
//
// The file is opened (created, or emptied) before the program starts: a
// result that cannot be written stops the run before it begins, and a
// result an earlier run left is never taken for this one's.
//
//   ResultFile result;
//   if (absl::Status s = result.Open(path); !s.ok()) return Fail(s);
//   ... start, wait ...
//   if (absl::Status s = result.Write(json); !s.ok()) return Fail(s);
#ifndef PROCSANDBOX_TOOLS_PROCSANDBOX_RESULT_FILE_H_
#define PROCSANDBOX_TOOLS_PROCSANDBOX_RESULT_FILE_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace procsandbox::cli {

class ResultFile {
 public:
  ResultFile() = default;
  ~ResultFile();
  ResultFile(const ResultFile&) = delete;
  ResultFile& operator=(const ResultFile&) = delete;

  // A signal number, or 0: asked when a call fails with EINTR (SignalRelay
  // interrupts the thread once a signal asked the tool to stop).
  using StopSignal = std::function<int()>;

  // `path`: a file (created 0644, or truncated), "-" for stdout, empty for
  // no result. Unavailable naming the file and the cause. Opening a FIFO
  // waits for its reader, until `stop` says a signal came.
  absl::Status Open(const std::string& path, StopSignal stop = nullptr);
  // A result was asked for.
  bool wanted() const { return fd_ >= 0; }
  // Writes JsonText(json); nothing without a result. Unavailable naming the
  // file and the cause (a full disk, a closed pipe).
  absl::Status Write(const nlohmann::ordered_json& json);

 private:
  int fd_ = -1;
  bool owned_ = false;
  StopSignal stop_;
  std::string name_;  // for messages: "stdout" or the quoted path
};

// Writes all of `text` to `fd`, resuming after short writes and EINTR
// until `stop` (if any) says a signal came. Unavailable "write <what>:
// <cause>".
absl::Status WriteAll(int fd, absl::string_view text, absl::string_view what,
                      const ResultFile::StopSignal& stop = nullptr);

}  // namespace procsandbox::cli

#endif  // PROCSANDBOX_TOOLS_PROCSANDBOX_RESULT_FILE_H_
