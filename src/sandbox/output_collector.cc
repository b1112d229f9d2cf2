// OutputCollector: the byte and line caps (see output_collector.h).
#include "sandbox/output_collector.h"

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace procsandbox::sandbox_internal {

Stdio OutputCollector::Sink(Stream stream) {
  std::weak_ptr<OutputCollector> self = weak_from_this();
  return Stdio::Lines([self, stream](absl::string_view line) {
    if (std::shared_ptr<OutputCollector> c = self.lock()) {
      c->OnLine(stream, line);
    }
  });
}

void OutputCollector::SetProcess(const std::shared_ptr<Process>& process) {
  absl::MutexLock lock(&mu_);
  process_ = process;
}

void OutputCollector::OnLine(Stream stream, absl::string_view line) {
  std::shared_ptr<Process> to_stop;
  bool forward = false;
  std::string kept_line;
  {
    absl::MutexLock lock(&mu_);
    const bool is_out = stream == Stream::kStdout;
    std::string& text = is_out ? out_.stdout_ : out_.stderr_;
    bool& truncated = is_out ? out_.stdout_truncated : out_.stderr_truncated;
    if (out_.cap != OutputCap::kNone) {
      truncated = true;
      return;
    }
    const auto size = static_cast<int64_t>(line.size());
    if (lines_ >= policy_.max_lines) {
      out_.cap = OutputCap::kLines;
      truncated = true;
    } else if (unterminated_ != nullptr ||
               bytes_ + std::max<int64_t>(size, 1) > policy_.max_bytes) {
      // Keep what fits of the line that crosses, without its newline. (A
      // line after one that filled the cap: that one's '\n' did not fit.)
      const auto room = static_cast<std::size_t>(policy_.max_bytes - bytes_);
      text.append(line.data(), std::min(room, line.size()));
      bytes_ = policy_.max_bytes;
      out_.cap = OutputCap::kBytes;
      truncated = true;
      unterminated_ = nullptr;
    } else {
      // A line costs its bytes plus its '\n'; a line that fills the cap
      // exactly is kept whole, its '\n' charged only if the program wrote
      // it (see Finish()).
      text.append(line.data(), line.size());
      if (bytes_ + size + 1 > policy_.max_bytes) {
        bytes_ = policy_.max_bytes;
        unterminated_ = &text;
      } else {
        text.push_back('\n');
        bytes_ += size + 1;
      }
      ++lines_;
      ++(is_out ? out_.stdout_lines : out_.stderr_lines);
      forward = static_cast<bool>(on_line_);
      if (forward) kept_line.assign(line.data(), line.size());
    }
    if (out_.cap != OutputCap::kNone &&
        policy_.on_limit == OutputLimitAction::kStop) {
      to_stop = process_.lock();
      out_.stopped = to_stop != nullptr;
    }
  }
  // Outside the lock: the callback may be slow, and Terminate() may call
  // back into the manager.
  if (forward) on_line_(stream, kept_line);
  if (to_stop != nullptr) (void)to_stop->Terminate();
}

CollectedOutput OutputCollector::Finish(int64_t received_bytes) {
  absl::MutexLock lock(&mu_);
  if (out_.cap == OutputCap::kNone && received_bytes > policy_.max_bytes) {
    // The manager cut at the byte cap exactly, past what any line showed:
    // either stream may have lost output (at least the '\n' of a line that
    // filled the cap).
    out_.cap = OutputCap::kBytes;
    out_.stdout_truncated = out_.stderr_truncated = true;
  } else if (out_.cap == OutputCap::kNone && unterminated_ != nullptr) {
    // Every byte fit: a last line without a '\n' gets one, as any other.
    unterminated_->push_back('\n');
  }
  unterminated_ = nullptr;
  return out_;
}

}  // namespace procsandbox::sandbox_internal
