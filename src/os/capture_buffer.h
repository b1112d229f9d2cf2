// CaptureBuffer: the text Stdio::Capture keeps of one stream.
//
// It grows for the block that comes: geometrically, never past what the
// output cap still allows. Each new block gets huge pages where the
// platform has them, and the pages about to be written are made present
// ahead of the writes, a few MiB per call, instead of a page fault per
// 4 KiB (Platform::AdviseBulkWrite, Prefault): a first touch is what
// capturing a GiB costs most. The text is handed over by moving it out
// (Take()), not copied.
//
// Example (the loop thread, the process's lock held):
//   buffer.Append(data, room, *manager->platform);
//   ...
//   captured.stdout_ = buffer.Take();  // once, at the end
#ifndef PROCSANDBOX_SRC_OS_CAPTURE_BUFFER_H_
#define PROCSANDBOX_SRC_OS_CAPTURE_BUFFER_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "os/platform.h"

namespace procsandbox::os_internal {

class CaptureBuffer {
 public:
  // Appends `data`. `room`: how many bytes may still come after it (the
  // output cap's rest; nullopt: no cap), so that growth stops at the cap.
  void Append(absl::string_view data, std::optional<std::size_t> room,
              Platform& platform);

  const std::string& text() const { return text_; }
  // Moves the text out; the buffer is empty afterwards.
  std::string Take();

 private:
  std::string text_;
  // The first `present_` bytes of text_'s capacity are prefaulted.
  std::size_t present_ = 0;
};

}  // namespace procsandbox::os_internal

#endif  // PROCSANDBOX_SRC_OS_CAPTURE_BUFFER_H_
