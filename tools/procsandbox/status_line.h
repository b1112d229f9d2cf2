// `procsandbox run` on a terminal: one live line on stderr while the
// program runs, redrawn in place at each sample and erased at the end:
//
//   procsandbox: 12.5s  cpu 98%  mem 120 MiB / 256 MiB  3 processes
//
// Each update is "\r" ESC "[K" (back to the start of the line, erase to its
// end) and the text, without a newline; Clear() writes "\r" ESC "[K" alone.
// Only for a terminal (the caller checks isatty and --quiet).
//
//   StatusLine status(2, limits.memory_bytes);
//   command.monitor.on_sample = [&](const UsageSample& s) { status.Show(s); };
//   ... Start(), the warnings ...; status.Arm();
//   ... Wait() ...; status.Clear();   // before anything else is printed
//
// Thread-safe: Show() comes from the library's thread. The line is written
// through its own non-blocking descriptor of the terminal: an update a
// stopped terminal (^S) has no room for is dropped, never waited for.
#ifndef PROCSANDBOX_TOOLS_PROCSANDBOX_STATUS_LINE_H_
#define PROCSANDBOX_TOOLS_PROCSANDBOX_STATUS_LINE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "procsandbox/procsandbox.h"

namespace procsandbox::cli {

class StatusLine {
 public:
  // `fd`: the terminal (not owned); `memory_limit`: shown after the memory.
  StatusLine(int fd, std::optional<int64_t> memory_limit);
  ~StatusLine();
  StatusLine(const StatusLine&) = delete;
  StatusLine& operator=(const StatusLine&) = delete;

  // Samples are shown from now on (not before: the lines printed at the
  // start come first).
  void Arm();
  void Show(const UsageSample& sample);
  // Erases the line if one is shown, for other output to the terminal; the
  // next sample draws it again.
  void Interrupt();
  // Erases the line if one is shown; nothing is drawn after.
  void Clear();

 private:
  void WriteLocked(const std::string& bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  int fd_;
  bool owned_ = false;
  const std::optional<int64_t> memory_limit_;
  absl::Mutex mu_;
  bool armed_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool shown_ ABSL_GUARDED_BY(mu_) = false;
};

// The text of the line, without the "\r" ESC "[K" (what Show() draws, cut
// to `columns` - 1 characters so that it never wraps; 0: not cut).
std::string StatusText(const UsageSample& sample,
                       std::optional<int64_t> memory_limit, int columns = 0);

}  // namespace procsandbox::cli

#endif  // PROCSANDBOX_TOOLS_PROCSANDBOX_STATUS_LINE_H_
