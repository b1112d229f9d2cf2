// The in-memory manager: what programs use — CPU, output, files.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/line_buffer.h"
#include "common/output_cap.h"
#include "common/signals.h"
#include "memory/core.h"

namespace procsandbox::memory_internal {
namespace {

// History keeps the first this many bytes of each stream of a run.
constexpr std::size_t kHistoryStreamBytes = 1 << 20;

void AppendCapped(std::string& to, absl::string_view data) {
  if (to.size() >= kHistoryStreamBytes) return;
  to.append(data.data(),
            std::min(data.size(), kHistoryStreamBytes - to.size()));
}

}  // namespace

// --- Resources
// ----------------------------------------------------------------

absl::Duration Core::CpuUsedLocked(const ProgramState& p) const {
  return p.burning ? p.cpu_used + (now - p.cpu_since) : p.cpu_used;
}

void Core::StartBurnLocked(ProgramState& p, absl::Duration d) {
  StopBurnLocked(p);  // count what an interrupted burn used so far
  p.in_burn = true;
  p.burn_left = d;
  if (!p.suspended) {
    p.burning = true;
    p.cpu_since = now;
  }
  if (p.limits.cpu_time.has_value() && p.cpu_used >= *p.limits.cpu_time) {
    StopBurnLocked(p);
    KillLocked(p, ExitReason::kCpuTimeExceeded, internal::kSigXcpu);
  }
}

void Core::StopBurnLocked(ProgramState& p) const {
  if (!p.burning) return;
  const absl::Duration ran = now - p.cpu_since;
  p.cpu_used += ran;
  p.burn_left = std::max(absl::ZeroDuration(), p.burn_left - ran);
  p.burning = false;
}

// --- Output
// -------------------------------------------------------------------

OutputSink& Core::SinkFor(ProgramState& p, Stream stream) {
  if (stream == Stream::kStderr && !p.err_to_out) return p.err;
  return p.out;
}

void Core::WriteLocked(ProgramState& p, Stream stream, absl::string_view data,
                       std::vector<std::string>* lines) {
  AppendCapped(stream == Stream::kStdout ? p.stdout_seen : p.stderr_seen, data);
  p.output_bytes += static_cast<int64_t>(data.size());
  OutputSink& sink = SinkFor(p, stream);
  switch (sink.kind) {
    case Stdio::Kind::kFile:
      // stdout redirected to a file counts against the file size limit too.
      (void)WriteFileLocked(p, sink.path, data, /*append=*/true);
      return;
    case Stdio::Kind::kCapture:
    case Stdio::Kind::kLines:
    case Stdio::Kind::kChunks:
      break;
    default:  // null, inherit, a descriptor: nothing to keep
      return;
  }
  (&sink == &p.out ? p.stdout_bytes : p.stderr_bytes) +=
      static_cast<int64_t>(data.size());
  const internal::OutputCap cap =
      internal::CapOutput(p.limits.output_bytes, p.kept_bytes, data.size(),
                          p.command.on_output_limit);
  const absl::string_view kept = data.substr(0, cap.keep);
  if (cap.truncated) sink.truncated = true;
  if (cap.stop) TerminateLocked(p, ExitReason::kOutputExceeded);
  p.kept_bytes += static_cast<int64_t>(kept.size());
  if (sink.kind == Stdio::Kind::kCapture) {
    sink.buffer.append(kept.data(), kept.size());
    return;
  }
  if (sink.kind == Stdio::Kind::kChunks) {
    if (!kept.empty()) lines->emplace_back(kept);
    return;
  }
  sink.partial_line.append(kept.data(), kept.size());
  internal::TakeCompleteLines(sink.partial_line, *lines);
}

absl::Status Core::WriteFileLocked(ProgramState& p, absl::string_view path,
                                   absl::string_view contents, bool append) {
  std::string& file = files[std::string(path)];
  if (!append) file.clear();
  if (p.limits.file_size_bytes.has_value()) {
    const auto limit = static_cast<std::size_t>(*p.limits.file_size_bytes);
    if (file.size() + contents.size() > limit) {
      // The kernel writes up to the limit, then raises SIGXFSZ; a program
      // that ignores or catches it sees the write fail with EFBIG.
      if (file.size() < limit) {
        file.append(contents.data(), limit - file.size());
      }
      const bool ignored = p.ignored.count(internal::kSigXfsz) != 0;
      const bool caught = p.handlers.count(internal::kSigXfsz) != 0;
      if (!ignored && !caught) {
        KillLocked(p, ExitReason::kFileSizeExceeded, internal::kSigXfsz);
        return absl::OkStatus();  // the caller's poll unwinds the program
      }
      if (caught) p.pending.push_back(internal::kSigXfsz);
      return absl::OutOfRangeError(
          absl::StrCat("write \"", path,
                       "\": file too large (EFBIG): limit "
                       "file_size_bytes ",
                       *p.limits.file_size_bytes));
    }
  }
  file.append(contents.data(), contents.size());
  return absl::OkStatus();
}

}  // namespace procsandbox::memory_internal
