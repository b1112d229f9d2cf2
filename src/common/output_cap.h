// The output_bytes rule every manager applies to what a program writes to a
// stream the library keeps (capture, lines, chunks): one budget for stdout
// and stderr together, counted in the bytes kept; past it the rest of each
// block is dropped, the stream is marked truncated, and a command whose
// on_output_limit is kStop is stopped (ExitReason::kOutputExceeded).
//
// Example:
//   internal::OutputCap cap = internal::CapOutput(limits.output_bytes,
//                                                 kept, data.size(),
//                                                 command.on_output_limit);
//   data = data.substr(0, cap.keep);
//   kept += cap.keep;
//   if (cap.truncated) stream.truncated = true;
//   if (cap.stop) Terminate(ExitReason::kOutputExceeded);
#ifndef PROCSANDBOX_SRC_COMMON_OUTPUT_CAP_H_
#define PROCSANDBOX_SRC_COMMON_OUTPUT_CAP_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "procsandbox/command.h"

namespace procsandbox::internal {

// What to do with one block of output.
struct OutputCap {
  std::size_t keep = 0;    // the first this many bytes of the block are kept
  bool truncated = false;  // the block went past the cap: the rest is dropped
  bool stop = false;       // ... and the command asked to be stopped for it
};

// The cap `limit` (none: keep everything), `kept` bytes kept so far from the
// process, a block of `block` bytes, and the command's on_output_limit.
OutputCap CapOutput(std::optional<int64_t> limit, int64_t kept,
                    std::size_t block, OutputLimitAction on_limit);

}  // namespace procsandbox::internal

#endif  // PROCSANDBOX_SRC_COMMON_OUTPUT_CAP_H_
