#include "os/capture_buffer.h"

#include <algorithm>
#include <cstddef>
#include <new>
#include <optional>
#include <string>
#include <utility>

namespace procsandbox::os_internal {
namespace {

// The first capacity, and how far ahead of the writes pages are prefaulted:
// one Prefault() per 4 MiB keeps each call ~1 ms on a slow VM (the loop
// thread serves every process's timers) while amortising the call.
constexpr std::size_t kFirstCapacity = std::size_t{64} * 1024;
constexpr std::size_t kPrefaultStep = std::size_t{4} << 20;
// Growth goes straight to the cap from a text this large, when the cap is
// at most kJumpFactor times it.
constexpr std::size_t kJumpFrom = std::size_t{4} << 20;
constexpr std::size_t kJumpFactor = 16;

}  // namespace

void CaptureBuffer::Append(absl::string_view data,
                           std::optional<std::size_t> room,
                           Platform& platform) {
  if (data.empty()) return;
  const std::size_t need = text_.size() + data.size();
  if (need > text_.capacity()) {
    // Doubling, so that the copies add up to less than the text; at most
    // what the cap still allows. Once the text is large and the cap within
    // kJumpFactor of it, the whole cap at once: its pages are touched only
    // as the text reaches them, and the doublings' copies are saved.
    const std::size_t doubled =
        std::max({need, 2 * text_.capacity(), kFirstCapacity});
    std::size_t capacity = doubled;
    if (room.has_value()) {
      const std::size_t most = need + *room;
      const bool jump = need >= kJumpFrom && most / kJumpFactor <= need;
      capacity = jump ? most : std::min(doubled, most);
    }
    std::string bigger;
    try {
      bigger.reserve(capacity);
    } catch (const std::bad_alloc&) {
      if (capacity <= doubled) throw;
      bigger.reserve(doubled);  // the address space for the jump is refused
    }
    // reserve() leaves the new block untouched: huge pages for it, made
    // present before the copy writes them.
    platform.AdviseBulkWrite(bigger.data(), bigger.capacity());
    present_ = std::min(bigger.capacity(), need + kPrefaultStep);
    platform.Prefault(bigger.data(), present_);
    bigger.append(text_);
    text_.swap(bigger);
  } else if (need > present_) {
    const std::size_t end =
        std::min(text_.capacity(), std::max(need, present_ + kPrefaultStep));
    platform.Prefault(text_.data() + present_, end - present_);
    present_ = end;
  }
  text_.append(data.data(), data.size());
}

std::string CaptureBuffer::Take() {
  present_ = 0;
  return std::exchange(text_, std::string());
}

}  // namespace procsandbox::os_internal
